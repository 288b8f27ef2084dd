// The lossy relay and the SDP port rewrite, with real UDP sockets on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { LossyUdpRelay } from '../helpers/lossy-udp-relay.js';
import { rewriteSdpPorts } from '../helpers/sip-sdp-relay.js';

function bound(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** Sends n numbered packets from A through the relay to B and returns the numbers B got, in arrival order. */
async function pass(relay: LossyUdpRelay, n: number, settleMs = 300): Promise<number[]> {
  const a = await bound();
  const b = await bound();
  relay.setTargetA(a.address().port);
  relay.setTargetB(b.address().port);
  const got: number[] = [];
  b.on('message', (m) => got.push(m.readUInt32BE(0)));
  for (let i = 0; i < n; i++) {
    const m = Buffer.alloc(4);
    m.writeUInt32BE(i);
    a.send(m, relay.legA.rtpPort, '127.0.0.1');
    // pace a little so the kernel's socket buffer never drops anything itself
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, settleMs));
  a.close();
  b.close();
  return got;
}

test('no impairment: every packet arrives, in order, both directions wired', async () => {
  const relay = await LossyUdpRelay.start();
  try {
    const got = await pass(relay, 200);
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(relay.stats.aToB.forwarded, 200);
    // B -> A
    const a = await bound();
    const b = await bound();
    relay.setTargetA(a.address().port);
    relay.setTargetB(b.address().port);
    const back = new Promise<Buffer>((r) => a.once('message', r));
    b.send(Buffer.from('hi'), relay.legB.rtpPort, '127.0.0.1');
    assert.equal((await back).toString(), 'hi');
    a.close();
    b.close();
  } finally {
    relay.close();
  }
});

test('20 % loss drops about a fifth, and the same seed drops the same packets', async () => {
  const runs: number[][] = [];
  for (const seed of [42, 42, 43]) {
    const relay = await LossyUdpRelay.start({ seed, aToB: { loss: 0.2 } });
    try {
      runs.push(await pass(relay, 1000));
      assert.equal(relay.stats.aToB.dropped + relay.stats.aToB.forwarded, 1000);
    } finally {
      relay.close();
    }
  }
  const [r1, r2, r3] = runs as [number[], number[], number[]];
  const lost = 1000 - r1.length;
  assert.ok(lost > 150 && lost < 250, `lost ${lost} of 1000`);
  assert.deepEqual(r1, r2);
  assert.notDeepEqual(r1, r3);
});

test('reorder swaps a packet with the next one; delay holds packets back', async () => {
  const relay = await LossyUdpRelay.start({ seed: 7, aToB: { reorder: 0.1 } });
  try {
    const got = await pass(relay, 500);
    assert.equal(got.length >= 499, true, `${got.length} arrived`); // the very last may still be held
    const swaps = got.filter((x, i) => i > 0 && x < got[i - 1]!).length;
    assert.ok(swaps > 20, `${swaps} out-of-order arrivals`);
    assert.equal(swaps, relay.stats.aToB.reordered - (500 - got.length));
  } finally {
    relay.close();
  }
  const slow = await LossyUdpRelay.start({ aToB: { delayMs: 400 } });
  try {
    assert.deepEqual(await pass(slow, 10, 100), []);
  } finally {
    slow.close();
  }
});

test('rewriteSdpPorts swaps the audio and RTCP ports and reports the originals', () => {
  const sdp = 'v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/AVP 0\r\na=rtcp:40001\r\na=sendrecv\r\n';
  const r = rewriteSdpPorts(sdp, 20000, 20001);
  assert.equal(r.rtp, 40000);
  assert.equal(r.rtcp, 40001);
  assert.match(r.body, /^m=audio 20000 RTP\/AVP 0\r$/m);
  assert.match(r.body, /^a=rtcp:20001\r$/m);
  const none = rewriteSdpPorts('v=0\r\nm=message 9 TCP/MSRP *\r\n', 1, 2);
  assert.equal(none.rtp, undefined);
});
