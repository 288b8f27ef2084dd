// The UDP transport's RFC 3261 17 timers, against real dgram sockets on loopback (T1 shortened).
import { describe, mock, test as plainTest } from 'node:test';
import type { Socket } from 'node:dgram';
import assert from 'node:assert/strict';
import { UdpTransport } from '../../src/sip/udp-transport.js';
import { parseHead, topVia } from '../../src/sip/wire.js';
import { RawUdpPeer, buildRequest, buildResponse } from '../helpers/sip-raw.js';
import { delay } from '../helpers/sip-fakes.js';

const T1 = 20;
const T2 = 80;

async function transport(t1 = T1): Promise<{ t: UdpTransport; delivered: string[] }> {
  const t = new UdpTransport(undefined, { timers: { t1, t2: T2 } });
  const delivered: string[] = [];
  t.onMessage = (m) => delivered.push(m);
  await t.connect();
  return { t, delivered };
}

/** A request as sip.js would hand it over: Via without a port. */
function outgoing(method: string, peerPort: number, branch: string): string {
  return buildRequest({ method, uri: `sip:peer@127.0.0.1:${peerPort}`, viaPort: 1, branch, callId: branch }).replace(
    /Via: SIP\/2\.0\/UDP 127\.0\.0\.1:1;/,
    'Via: SIP/2.0/UDP 127.0.0.1;',
  );
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] ?? t));
}

describe('UDP transport timers', { concurrency: true }, () => {
  const test = plainTest;

  test('late responder: INVITE retransmissions stop on a provisional response', async () => {
    const peer = await RawUdpPeer.open();
    const { t, delivered } = await transport();
    try {
      peer.onDatagram = (d) => {
        if (peer.received.length === 3) void peer.send(buildResponse(d.text, 100, 'Trying'), d.port);
      };
      await t.send(outgoing('INVITE', peer.port, 'z9hG4bKlate1'));
      await peer.waitFor((all) => all.length >= 3);
      await delay(16 * T1);
      assert.equal(peer.received.length, 3, 'no retransmission after the 100');
      assert.equal(delivered.length, 1);
      assert.match(delivered[0] ?? '', /^SIP\/2\.0 100 Trying/);
      // sip.js requires the Via of a response without a port
      assert.equal(topVia(parseHead(delivered[0] ?? '')).port, undefined);
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  test('late responder: non-INVITE goes to T2 after a provisional and stops on the final', async () => {
    const peer = await RawUdpPeer.open();
    const { t } = await transport();
    try {
      let req = '';
      peer.onDatagram = (d) => {
        req = d.text;
        if (peer.received.length === 2) void peer.send(buildResponse(d.text, 180, 'Ringing'), d.port);
      };
      await t.send(outgoing('MESSAGE', peer.port, 'z9hG4bKlate2'));
      await peer.waitFor((all) => all.length >= 5, 3000);
      const g = gaps(peer.received.map((d) => d.at)).slice(2);
      for (const x of g) assert.ok(x >= T2 * 0.8, `gap ${x} < T2 while proceeding`);
      await peer.send(buildResponse(req, 200, 'OK'), peer.received[0]?.port ?? 0);
      await delay(50);
      const n = peer.received.length;
      await delay(3 * T2);
      assert.equal(peer.received.length, n, 'stopped after the final response');
      assert.equal(t.pendingClientTransactions, 0);
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  test('ACK is never retransmitted', async () => {
    const peer = await RawUdpPeer.open();
    const { t } = await transport();
    try {
      await t.send(outgoing('ACK', peer.port, 'z9hG4bKack'));
      await delay(10 * T1);
      assert.equal(peer.received.length, 1);
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  test('retransmitted non-2xx final to our INVITE: the ACK is repeated, sip.js sees the response once', async () => {
    const peer = await RawUdpPeer.open();
    const { t, delivered } = await transport();
    try {
      const invite = outgoing('INVITE', peer.port, 'z9hG4bKbusy');
      await t.send(invite);
      await peer.waitFor((all) => all.length >= 1);
      const sent = peer.received[0]?.text ?? '';
      const busy = buildResponse(sent, 486, 'Busy Here');
      await peer.send(busy, peer.received[0]?.port ?? 0);
      await delay(30);
      assert.equal(delivered.length, 1);
      // what sip.js would send: an ACK with the INVITE's branch
      await t.send(outgoing('ACK', peer.port, 'z9hG4bKbusy'));
      await peer.waitFor((all) => all.some((d) => d.text.startsWith('ACK')));
      await peer.send(busy, peer.received[0]?.port ?? 0);
      await peer.waitFor((all) => all.filter((d) => d.text.startsWith('ACK')).length === 2);
      assert.equal(delivered.length, 1, 'the retransmitted 486 was absorbed');
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  test('server side: a retransmitted request gets the cached response and reaches sip.js once', async () => {
    const peer = await RawUdpPeer.open();
    const { t, delivered } = await transport();
    try {
      const req = buildRequest({
        method: 'OPTIONS',
        uri: `sip:me@127.0.0.1:${t.localPort}`,
        viaPort: peer.port,
        branch: 'z9hG4bKsrv1',
        callId: 'c1',
      });
      await peer.send(req, t.localPort);
      await delay(30);
      assert.equal(delivered.length, 1);
      // received/rport are stamped on the way in (RFC 3261 18.2.1, RFC 3581)
      const via = topVia(parseHead(delivered[0] ?? ''));
      assert.equal(via.params.get('rport'), String(peer.port));
      await t.send(buildResponse(delivered[0] ?? '', 200, 'OK'));
      await peer.waitFor((all) => all.length === 1);
      await peer.send(req, t.localPort);
      await peer.waitFor((all) => all.length === 2);
      assert.equal(peer.received[1]?.text, peer.received[0]?.text);
      assert.equal(delivered.length, 1, 'the retransmission did not reach sip.js');
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  test('server side: a non-2xx final to INVITE is retransmitted (timer G) until the ACK', async () => {
    const peer = await RawUdpPeer.open();
    const { t, delivered } = await transport();
    try {
      const inv = buildRequest({
        method: 'INVITE',
        uri: `sip:me@127.0.0.1:${t.localPort}`,
        viaPort: peer.port,
        branch: 'z9hG4bKsrv2',
        callId: 'c2',
      });
      await peer.send(inv, t.localPort);
      await delay(30);
      await t.send(buildResponse(delivered[0] ?? '', 603, 'Decline'));
      await peer.waitFor((all) => all.length >= 3, 2000);
      const g = gaps(peer.received.map((d) => d.at));
      assert.ok((g[0] ?? 0) >= T1 * 0.8 && (g[1] ?? 0) >= 2 * T1 * 0.8, `gaps ${g.join(',')}`);
      const ack = buildRequest({
        method: 'ACK',
        uri: `sip:me@127.0.0.1:${t.localPort}`,
        viaPort: peer.port,
        branch: 'z9hG4bKsrv2',
        callId: 'c2',
      });
      await peer.send(ack, t.localPort);
      await delay(T1);
      const n = peer.received.length;
      await delay(3 * T2);
      assert.equal(peer.received.length, n, 'timer G stopped at the ACK');
      await peer.send(ack, t.localPort);
      await delay(30);
      assert.deepEqual(
        delivered.map((m) => m.slice(0, 6)),
        ['INVITE', 'ACK si'],
        'duplicate ACK absorbed',
      );
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  test('malformed datagrams are dropped without a crash; keep-alives are ignored', async () => {
    const peer = await RawUdpPeer.open();
    const warnings: string[] = [];
    const t = new UdpTransport(
      { error: (m) => warnings.push(m), warn: (m) => warnings.push(m), log() {}, debug() {} },
      {},
    );
    const delivered: string[] = [];
    t.onMessage = (m) => delivered.push(m);
    await t.connect();
    try {
      for (const junk of [
        '\r\n\r\n',
        'GARBAGE',
        'INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n',
        '\u0000\u00ff',
        'SIP/2.0 200 OK\r\nTo: x\r\n\r\n',
      ]) {
        await peer.send(junk, t.localPort);
      }
      await delay(50);
      assert.deepEqual(delivered, []);
      assert.equal(warnings.length, 4, warnings.join('\n'));
      // a malformed message sip.js throws on is contained too
      t.onMessage = () => {
        throw new Error('boom');
      };
      await peer.send(
        buildRequest({
          method: 'OPTIONS',
          uri: 'sip:x@127.0.0.1',
          viaPort: peer.port,
          branch: 'z9hG4bKb',
          callId: 'b',
        }),
        t.localPort,
      );
      await delay(30);
      assert.match(warnings.at(-1) ?? '', /boom/);
    } finally {
      await t.dispose();
      await peer.close();
    }
  });
});

/**
 * Drives a transport's timers on a mocked clock (setTimeout and Date), letting real socket I/O run between steps,
 * and records the mocked time of every datagram it sends: the schedule is checked exactly, whatever the load.
 */
async function sendTimes(
  t: UdpTransport,
  send: () => Promise<void>,
  totalMs: number,
  ctx: { mock: typeof mock },
): Promise<number[]> {
  const sock = (t as unknown as { socket: Socket }).socket;
  const times: number[] = [];
  const orig = sock.send.bind(sock) as (...a: unknown[]) => void;
  (sock as unknown as { send: (...a: unknown[]) => void }).send = (...a: unknown[]) => {
    times.push(Date.now());
    orig(...a);
  };
  ctx.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    await send();
    for (let ms = 0; ms < totalMs; ms += 5) {
      ctx.mock.timers.tick(5);
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    ctx.mock.timers.reset();
  }
  return times;
}

describe('UDP transport timers on a mocked clock', () => {
  plainTest('INVITE to a silent peer: T1-doubling retransmissions, stop at 64*T1', async (ctx) => {
    const t1 = 100;
    const peer = await RawUdpPeer.open();
    const { t } = await transport(t1);
    try {
      const times = await sendTimes(
        t,
        () => t.send(outgoing('INVITE', peer.port, 'z9hG4bKsilent1')),
        64 * t1 + 8 * T2,
        ctx,
      );
      // sends at 0, 1, 3, 7, 15, 31, 63 T1 (the next would be at 127 T1, past timer B)
      const first = times[0] ?? 0;
      assert.deepEqual(
        times.map((at) => at - first),
        [0, 1, 3, 7, 15, 31, 63].map((x) => x * t1),
      );
      for (let i = 0; i < 50 && peer.received.length < times.length; i++) await delay(10);
      assert.equal(peer.received.length, 7, 'each copy arrived');
      assert.ok(
        peer.received.every((d) => d.text === peer.received[0]?.text),
        'retransmissions are byte-identical',
      );
      const via = topVia(parseHead(peer.received[0]?.text ?? ''));
      assert.equal(via.port, t.localPort, 'Via carries our port');
      assert.equal(via.params.get('rport'), '');
      assert.equal(t.pendingClientTransactions, 0, 'timer B ended the transaction');
    } finally {
      await t.dispose();
      await peer.close();
    }
  });

  plainTest('non-INVITE to a silent peer: intervals capped at T2', async (ctx) => {
    const t1 = 100;
    const t2 = 400;
    const peer = await RawUdpPeer.open();
    const t = new UdpTransport(undefined, { timers: { t1, t2 } });
    await t.connect();
    try {
      const times = await sendTimes(
        t,
        () => t.send(outgoing('OPTIONS', peer.port, 'z9hG4bKsilent2')),
        64 * t1 + 4 * t1,
        ctx,
      );
      // planned: 0, 1, 3, 7 T1, then every T2 (4 T1) while below 64 T1: 11, 15, ..., 63 T1
      const planned = [0, 1, 3, 7];
      for (let x = 11; x < 64; x += 4) planned.push(x);
      const first = times[0] ?? 0;
      assert.deepEqual(
        times.map((at) => at - first),
        planned.map((x) => x * t1),
      );
      assert.equal(t.pendingClientTransactions, 0);
    } finally {
      await t.dispose();
      await peer.close();
    }
  });
});
