// AudioStream behaviour over real sockets on 127.0.0.1, without a relay: re-offers through the same object (hold
// by SDP and resume), the ZRTP seam (cookie packets handed over, raw sends, keys set from outside), symmetric RTP,
// close. Waits are for conditions, never for a timing figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createAudioStream, RtpAudioStream, type AudioStream, type AudioStreamState } from '../../src/rtp/index.js';
import { parseRtp, serializeRtp } from '../../src/rtp/packet.js';
import { parseAudioSection } from '../../src/rtp/sdp.js';
import { newMasterKey } from '../../src/rtp/sdes.js';
import { SrtpContext } from '../../src/rtp/srtp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const make = (o: { sdes?: boolean; codecs?: string[] } = {}) =>
  createAudioStream({
    host: '127.0.0.1',
    input: { kind: 'tone', hz: 440 },
    output: { kind: 'none' },
    log: () => {},
    ...o,
  });

async function connect(a: AudioStream, b: AudioStream, dirA = 'sendrecv' as const): Promise<void> {
  await a.applyAnswer(await b.createAnswer(await a.createOffer(dirA), 'sendrecv'));
  a.start();
  b.start();
}

test('re-offer for hold and resume goes through the same objects; SRTP and the codec carry on', async () => {
  const a = await make({ codecs: ['G722'] });
  const b = await make();
  const states: AudioStreamState[] = [];
  a.on('state', (s) => states.push(s));
  try {
    await connect(a, b);
    assert.deepEqual(states, ['active']);
    await until('media both ways', () => a.stats().rxPackets > 10 && b.stats().rxPackets > 10);
    // A holds: re-offer sendonly, B answers recvonly: B stops sending, A goes on
    const holdAnswer = await b.createAnswer(await a.createOffer('sendonly'), 'sendrecv');
    assert.equal(parseAudioSection(holdAnswer).direction, 'recvonly');
    await a.applyAnswer(holdAnswer);
    a.start();
    b.start();
    await sleep(300);
    const aRx = a.stats().rxPackets;
    const bRx = b.stats().rxPackets;
    await until('B still receiving', () => b.stats().rxPackets > bRx + 10);
    assert.ok(a.stats().rxPackets <= aRx + 3, 'B sends nothing while A holds (a packet or two were in flight)');
    // resume
    await a.applyAnswer(await b.createAnswer(await a.createOffer('sendrecv'), 'sendrecv'));
    const aRx2 = a.stats().rxPackets;
    await until('A receiving again', () => a.stats().rxPackets > aRx2 + 10);
    assert.equal(a.codec, 'G722/8000');
    assert.equal((a as RtpAudioStream).srtpFailures, 0, 'no packet failed SRTP across the re-offers');
    assert.equal((b as RtpAudioStream).srtpFailures, 0);
  } finally {
    a.close();
    b.close();
    a.close();
  }
  assert.deepEqual(states, ['active', 'closed']);
});

test('ZRTP seam: cookie packets reach the handler, sendRaw reaches the peer, keys set from outside work', async () => {
  const a = (await make({ sdes: false, codecs: ['PCMU'] })) as RtpAudioStream;
  const b = (await make({ sdes: false })) as RtpAudioStream;
  try {
    await connect(a, b);
    assert.equal(a.encryption, 'none');
    const seen: Uint8Array[] = [];
    b.onZrtpPacket((p) => seen.push(p));
    const hello = new Uint8Array([0x10, 0, 0, 1, 0x5a, 0x52, 0x54, 0x50, 1, 2, 3, 4, 0x50, 0x5a, 0, 0]);
    a.sendRaw(hello);
    await until('the ZRTP packet', () => seen.length > 0);
    assert.deepEqual(seen[0], hello);
    await until('clear media', () => b.stats().rxPackets > 5);
    // both sides switch to keys agreed elsewhere, each one's tx being the other's rx
    const ka = newMasterKey();
    const kb = newMasterKey();
    a.setSrtpKeys({ tx: ka, rx: kb });
    b.setSrtpKeys({ tx: kb, rx: ka });
    assert.equal(a.encryption, 'zrtp');
    const before = b.stats().rxPackets;
    await until('SRTP media', () => b.stats().rxPackets > before + 10);
    // clear packets still in flight at the switch fail authentication; after that, none may
    const settled = b.srtpFailures;
    const later = b.stats().rxPackets;
    await until('more SRTP media', () => b.stats().rxPackets > later + 10);
    assert.equal(b.srtpFailures, settled);
  } finally {
    a.close();
    b.close();
  }
});

test('symmetric RTP: we answer to where the packets come from, not to the SDP address', async () => {
  const a = await make({ codecs: ['PCMU'], sdes: false });
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
  const got: Uint8Array[] = [];
  peer.on('message', (m) => got.push(new Uint8Array(m)));
  try {
    // the SDP names a port nobody listens on (as behind a NAT); the real peer sends from its own socket
    const offer = 'm=audio 9 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';
    await a.createAnswer(offer, 'sendrecv');
    a.start();
    const pkt = serializeRtp({
      payloadType: 0,
      marker: false,
      sequence: 1,
      timestamp: 0,
      ssrc: 5,
      payload: new Uint8Array(160).fill(0xff),
    });
    peer.send(pkt, a.localPort, '127.0.0.1');
    await until('packets at the real address', () => got.some((g) => g.length > 12 && (g[1]! & 0x7f) === 0));
    const rtp = parseRtp(got.find((g) => (g[1]! & 0x7f) === 0)!);
    assert.equal(rtp.payload.length, 160);
  } finally {
    a.close();
    peer.close();
  }
});

test('SRTP packets from someone without the key are dropped and counted, media goes on', async () => {
  const a = (await make({ codecs: ['PCMU'] })) as RtpAudioStream;
  const b = (await make()) as RtpAudioStream;
  const intruder = createSocket('udp4');
  await new Promise<void>((r) => intruder.bind(0, '127.0.0.1', r));
  try {
    await connect(a, b);
    await until('media', () => b.stats().rxPackets > 5);
    const forged = SrtpContext.fromKeys(newMasterKey()).protectRtp(
      serializeRtp({ payloadType: 0, marker: false, sequence: 9, timestamp: 0, ssrc: 1, payload: new Uint8Array(160) }),
    );
    for (let i = 0; i < 5; i++) intruder.send(forged, b.localPort, '127.0.0.1');
    intruder.send(new Uint8Array([1, 2, 3]), b.localPort, '127.0.0.1');
    await until('the forgeries counted', () => b.srtpFailures >= 5);
    const n = b.stats().rxPackets;
    await until('media still flowing', () => b.stats().rxPackets > n + 5);
  } finally {
    a.close();
    b.close();
    intruder.close();
  }
});

test('rtcp-mux: the answerer that got it in the offer sends RTCP on the RTP port, and the round trip is measured', async () => {
  const a = await make({ codecs: ['PCMU'] });
  const b = await make();
  try {
    const offer = (await a.createOffer('sendrecv')).replace('a=sendrecv', 'a=rtcp-mux\r\na=sendrecv');
    const answer = await b.createAnswer(offer, 'sendrecv');
    assert.match(answer, /^a=rtcp-mux$/m);
    await a.applyAnswer(answer);
    a.start();
    b.start();
    // A's RTT comes from B's reports, which B sends to A's RTP port
    await until('an RTT at A', () => a.stats().rttMs !== null);
    await until('an RTT at B', () => b.stats().rttMs !== null);
  } finally {
    a.close();
    b.close();
  }
});

test('IPv6: c=IN IP6 in the SDP, media over ::1', async () => {
  const mk = () =>
    createAudioStream({
      host: '::1',
      input: { kind: 'tone', hz: 440 },
      output: { kind: 'none' },
      log: () => {},
      codecs: ['PCMA'],
    });
  const a = await mk();
  const b = await mk();
  try {
    const offer = await a.createOffer('sendrecv');
    assert.match(offer, /^c=IN IP6 ::1$/m);
    await connect(a, b);
    await until('media both ways over IPv6', () => a.stats().rxPackets > 10 && b.stats().rxPackets > 10);
  } finally {
    a.close();
    b.close();
  }
});

test('device input and output on a machine without sound: two warnings, and the call goes on', async () => {
  const warnings: string[] = [];
  const a = await createAudioStream({
    host: '127.0.0.1',
    input: { kind: 'device' },
    output: { kind: 'device' },
    codecs: ['PCMU'],
    log: () => {},
  });
  a.on('warning', (w) => warnings.push(w));
  const b = await make();
  try {
    await connect(a, b);
    await until('both warnings', () => warnings.length >= 2);
    assert.ok(
      warnings.some((w) => /^no sound device for capture: .*pw-cat.*; the call goes on$/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /^no sound device for playback: .*aplay.*; the call goes on$/.test(w)),
      warnings.join('\n'),
    );
    const n = b.stats().rxPackets;
    await until('media still flowing (silence from A)', () => b.stats().rxPackets > n + 10 && a.stats().rxPackets > 10);
  } finally {
    a.close();
    b.close();
  }
});
