// Two real MSRP endpoints over loopback TCP, plus a hand-driven raw peer for the cases a well-behaved session
// never produces (garbage, out-of-order chunks, failure REPORTs, silence).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { MsrpSession, type MsrpIncomingMessage } from '../../src/msrp/session.js';
import { MsrpListener } from '../../src/msrp/listener.js';
import { MsrpConnection } from '../../src/msrp/connection.js';
import { makeMsrpUri } from '../../src/msrp/uri.js';
import { newSessionId } from '../../src/msrp/ids.js';
import { getHeader, splitPath, type MsrpFrame } from '../../src/msrp/frame.js';
import { serializeReport, serializeResponse, serializeSend } from '../../src/msrp/serializer.js';
import { MsrpStatusError, MsrpTimeoutError, MsrpClosedError } from '../../src/msrp/errors.js';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))),
  ]).finally(() => clearTimeout(t));
}

function nextEvent<T>(em: { once(ev: string, f: (x: T) => void): unknown }, ev: string, ms = 5000): Promise<T> {
  return withTimeout(new Promise<T>((res) => em.once(ev, res)), ms, ev);
}

async function pair(
  opts: {
    bOpts?: Partial<ConstructorParameters<typeof MsrpSession>[0]>;
    aOpts?: Partial<ConstructorParameters<typeof MsrpSession>[0]>;
  } = {},
) {
  const listener = await MsrpListener.listen({ host: '127.0.0.1', port: 0 });
  const b = new MsrpSession({
    localUri: makeMsrpUri('127.0.0.1', listener.port, newSessionId()),
    listener,
    ownsListener: true,
    ...opts.bOpts,
  });
  const a = new MsrpSession({ localUri: makeMsrpUri('127.0.0.1', 9, newSessionId()), ...opts.aOpts });
  const bMessages: MsrpIncomingMessage[] = [];
  const aMessages: MsrpIncomingMessage[] = [];
  b.on('message', (m) => bMessages.push(m));
  a.on('message', (m) => aMessages.push(m));
  const passive = b.startPassive({ remotePath: a.localPath, timeoutMs: 5000 });
  await withTimeout(a.startActive(b.localPath), 5000, 'startActive');
  await passive;
  return { a, b, aMessages, bMessages, listener };
}

/** A peer driven by hand with the real connection/serializer, connected to a listener. */
async function rawPeer(port: number, remoteSid: string) {
  const conn = await MsrpConnection.connect({ host: '127.0.0.1', port });
  const me = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const meStr = `msrp://127.0.0.1:9/${me.sessionId};tcp`;
  const them = `msrp://127.0.0.1:${port}/${remoteSid};tcp`;
  const frames: MsrpFrame[] = [];
  const waiters: Array<() => void> = [];
  conn.on('frame', (f) => {
    frames.push(f);
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (ms = 5000): Promise<MsrpFrame> => {
    while (frames.length === 0) await withTimeout(new Promise<void>((r) => waiters.push(r)), ms, 'raw frame');
    return frames.shift()!;
  };
  return { conn, me: meStr, them, next, frames };
}

test('bind SEND, messages in both directions, no message event for the bind', async () => {
  const { a, b, aMessages, bMessages } = await pair();
  try {
    assert.ok(a.bound && b.bound);
    assert.equal(bMessages.length, 0, 'the empty bind SEND is not a message');
    const got = nextEvent<MsrpIncomingMessage>(b, 'message');
    const r = await a.send('text/plain', Buffer.from('hello bob ✓'));
    const m = await got;
    assert.equal(m.messageId, r.messageId);
    assert.equal(m.contentType, 'text/plain');
    assert.equal(Buffer.from(m.body).toString(), 'hello bob ✓');
    const back = nextEvent<MsrpIncomingMessage>(a, 'message');
    await b.send('text/plain', Buffer.from('hi alice'));
    assert.equal(Buffer.from((await back).body).toString(), 'hi alice');
    assert.equal(aMessages.length, 1);
    assert.equal(bMessages.length, 1);
  } finally {
    a.close();
    b.close();
  }
});

test('a 1 MiB binary message arrives intact in 2048-byte chunks, with a success report', async () => {
  const { a, b } = await pair();
  try {
    let chunks = 0;
    b.connection!.on('frame', (f) => {
      if (f.kind === 'request' && f.method === 'SEND') chunks++;
    });
    const body = randomBytes(1024 * 1024);
    const got = nextEvent<MsrpIncomingMessage>(b, 'message', 20000);
    const reports: string[] = [];
    a.on('report', (r) => reports.push(`${r.messageId}:${r.status}:${r.code}`));
    const deliveries: string[] = [];
    a.on('delivery', (d) => deliveries.push(d.status));
    const { messageId } = await withTimeout(
      a.send('application/octet-stream', body, { successReport: true }),
      20000,
      'send 1MiB',
    );
    const m = await got;
    assert.equal(m.messageId, messageId);
    assert.equal(m.body.length, body.length);
    assert.ok(Buffer.from(m.body).equals(body));
    assert.equal(chunks, 512);
    assert.deepEqual(reports, [`${messageId}:delivered:200`]);
    assert.deepEqual(deliveries, ['delivered']);
  } finally {
    a.close();
    b.close();
  }
});

test('a message over the receiver limit is refused with 413 and both sides hear of it', async () => {
  const { a, b, bMessages } = await pair({ bOpts: { maxMessageSize: 10_000 } });
  try {
    const rejected = nextEvent<{ code: number; messageId: string }>(b, 'rejected');
    const failed = nextEvent<{ status: string; code: number }>(a, 'delivery');
    await assert.rejects(
      a.send('text/plain', Buffer.alloc(50_000, 0x41)),
      (e: unknown) => e instanceof MsrpStatusError && e.code === 413,
    );
    assert.equal((await rejected).code, 413);
    assert.deepEqual(await failed, { ...(await failed), status: 'failed', code: 413 });
    // Declared total under the limit but more bytes arriving (chunk by chunk) is caught too.
    await assert.rejects(
      a.send('text/plain', Buffer.alloc(12_000, 0x42), { chunkSize: 4000 }),
      (e: unknown) => e instanceof MsrpStatusError && e.code === 413,
    );
    // The session survives and still carries small messages.
    await a.send('text/plain', Buffer.from('small'));
    await withTimeout(
      (async () => {
        while (bMessages.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      3000,
      'small msg',
    );
    assert.equal(Buffer.from(bMessages[0]!.body).toString(), 'small');
  } finally {
    a.close();
    b.close();
  }
});

test('raw peer: out-of-order chunks, Blink miscounted ranges, Failure-Report no, failure REPORT, silence', async () => {
  const listener = await MsrpListener.listen();
  const s = new MsrpSession({
    localUri: makeMsrpUri('127.0.0.1', listener.port, newSessionId()),
    listener,
    ownsListener: true,
    transactionTimeoutMs: 300,
    reportTimeoutMs: 300,
  });
  const passive = s.startPassive({ timeoutMs: 5000 });
  const peer = await rawPeer(listener.port, s.sessionId);
  try {
    const send = (
      mid: string,
      range: string,
      body: string,
      flag: '$' | '+' | '#',
      extra: Array<[string, string]> = [],
    ) => {
      const [start, rest] = range.split('-');
      const [end, total] = rest!.split('/');
      const { bytes, transactionId } = serializeSend({
        toPath: [peer.them],
        fromPath: [peer.me],
        messageId: mid,
        range: {
          start: Number(start),
          end: end === '*' ? null : Number(end),
          total: total === '*' ? null : Number(total),
        },
        contentType: 'text/plain',
        body: Buffer.from(body),
        endFlag: flag,
        extraHeaders: extra,
      });
      return peer.conn.write(bytes).then(() => transactionId);
    };
    // Bind.
    const bindTid =
      (await peer.conn.write(
        serializeSend({
          toPath: [peer.them],
          fromPath: [peer.me],
          messageId: 'bindbind',
          range: { start: 1, end: 0, total: 0 },
          body: new Uint8Array(0),
          endFlag: '$',
        }).bytes,
      ),
      null);
    void bindTid;
    await passive;
    const ok0 = await peer.next();
    assert.ok(ok0.kind === 'response' && ok0.status === 200);
    assert.deepEqual(splitPath(getHeader(ok0.headers, 'To-Path')), [peer.me]);

    const messages: MsrpIncomingMessage[] = [];
    s.on('message', (m) => messages.push(m));
    // Chunks 2 then 1.
    await send('ooo12345', '6-10/10', 'world', '$');
    await send('ooo12345', '1-5/10', 'hello', '+');
    for (let i = 0; i < 2; i++) assert.equal(((await peer.next()) as { status: number }).status, 200);
    // Blink: each chunk declares characters; three chunks of 'é' text.
    const e3 = 'ééé'; // 3 chars, 6 bytes
    await send('blinkmid', '1-3/9', e3, '+');
    await send('blinkmid', '4-6/9', e3, '+');
    await send('blinkmid', '7-9/9', e3, '$');
    for (let i = 0; i < 3; i++) assert.equal(((await peer.next()) as { status: number }).status, 200);
    // Failure-Report: no gets no response at all; the next response we see belongs to the following SEND.
    await send('quietmid', '1-5/5', 'quiet', '$', [['Failure-Report', 'no']]);
    const loudTid = await send('loudmid1', '1-4/4', 'loud', '$');
    const resp = await peer.next();
    assert.equal(resp.transactionId, loudTid);
    // An aborted message is dropped.
    await send('abortmid', '1-*/*', 'partial', '#');
    await peer.next();
    // Unknown method: 501.
    await peer.conn.write(
      Buffer.from(`MSRP xmeth001 FOO\r\nTo-Path: ${peer.them}\r\nFrom-Path: ${peer.me}\r\n-------xmeth001$\r\n`),
    );
    assert.equal(((await peer.next()) as { status: number }).status, 501);
    assert.deepEqual(
      messages.map((m) => [m.messageId, Buffer.from(m.body).toString()]),
      [
        ['ooo12345', 'helloworld'],
        ['blinkmid', 'ééééééééé'],
        ['quietmid', 'quiet'],
        ['loudmid1', 'loud'],
      ],
    );

    // Our send with Failure-Report: no resolves without any response.
    s.setRemotePath([peer.me]);
    const quiet = await s.send('text/plain', Buffer.from('no report please'), { failureReport: 'no' });
    const qf = await peer.next();
    assert.equal(getHeader(qf.headers, 'Failure-Report'), 'no');
    assert.equal(getHeader(qf.headers, 'Message-ID'), quiet.messageId);

    // Success report requested, peer answers 200 then a failure REPORT.
    const reports: Array<{ status: string; code: number }> = [];
    s.on('report', (r) => reports.push({ status: r.status, code: r.code }));
    const pending = s.send('text/plain', Buffer.from('report me'), { successReport: true });
    pending.catch(() => undefined);
    const sf = await peer.next();
    assert.equal(getHeader(sf.headers, 'Success-Report'), 'yes');
    const mid = getHeader(sf.headers, 'Message-ID')!;
    await peer.conn.write(
      serializeResponse({ transactionId: sf.transactionId, status: 200, toPath: [peer.them], fromPath: [peer.me] }),
    );
    await peer.conn.write(
      serializeReport({
        toPath: [peer.them],
        fromPath: [peer.me],
        messageId: mid,
        range: { start: 1, end: 9, total: 9 },
        status: 415,
      }).bytes,
    );
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof MsrpStatusError && e.code === 415 && e.messageId === mid,
    );
    assert.deepEqual(reports, [{ status: 'failed', code: 415 }]);

    // Silence: the transaction times out.
    await assert.rejects(s.send('text/plain', Buffer.from('anyone?')), MsrpTimeoutError);
    await peer.next();
    // 200 but no success report: report timeout.
    const p2 = s.send('text/plain', Buffer.from('report?'), { successReport: true });
    p2.catch(() => undefined);
    const f2 = await peer.next();
    await peer.conn.write(
      serializeResponse({ transactionId: f2.transactionId, status: 200, toPath: [peer.them], fromPath: [peer.me] }),
    );
    await assert.rejects(p2, MsrpTimeoutError);
  } finally {
    peer.conn.close();
    s.close();
  }
});

test('a malformed frame closes that connection with a reason; the process and other sessions go on', async () => {
  const listener = await MsrpListener.listen();
  const s = new MsrpSession({
    localUri: makeMsrpUri('127.0.0.1', listener.port, newSessionId()),
    listener,
    ownsListener: true,
  });
  const passive = s.startPassive({ timeoutMs: 5000 });
  const peer = await rawPeer(listener.port, s.sessionId);
  await peer.conn.write(
    serializeSend({
      toPath: [peer.them],
      fromPath: [peer.me],
      messageId: 'bindbind',
      range: { start: 1, end: 0, total: 0 },
      body: new Uint8Array(0),
      endFlag: '$',
    }).bytes,
  );
  await passive;
  await peer.next();
  const closed = nextEvent<{ reason: string; error?: Error }>(s, 'close');
  await peer.conn.write(Buffer.from('MSRP abcd1234 SEND\r\nTo-Path: x\r\nByte-Range: 9-1/1\r\n\r\n'));
  const info = await closed;
  assert.match(info.reason, /malformed frame.*bad-byte-range/);
  assert.equal(info.error?.name, 'MsrpParseError');
  assert.ok(s.closed);
  await assert.rejects(s.send('text/plain', Buffer.from('x')), MsrpClosedError);
  await nextEvent(peer.conn, 'close');

  // Garbage as the very first frame: the listener drops the connection and says why.
  const l2 = await MsrpListener.listen();
  const rejected = nextEvent<{ reason: string }>(l2, 'reject');
  const sock = net.connect(l2.port, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.write('GET / HTTP/1.0\r\n\r\n');
  assert.match((await rejected).reason, /garbage-start-line/);
  sock.destroy();
  // Unknown session id: 481.
  const peer2 = await rawPeer(l2.port, 'nosuchsession');
  await peer2.conn.write(
    serializeSend({
      toPath: [peer2.them],
      fromPath: [peer2.me],
      messageId: 'bindbind',
      range: { start: 1, end: 0, total: 0 },
      body: new Uint8Array(0),
      endFlag: '$',
    }).bytes,
  );
  const r = await peer2.next();
  assert.ok(r.kind === 'response' && r.status === 481);
  peer2.conn.close();
  l2.close();

  // A fresh pair still works in the same process.
  const { a, b } = await pair();
  const got = nextEvent<MsrpIncomingMessage>(b, 'message');
  await a.send('text/plain', Buffer.from('still alive'));
  assert.equal(Buffer.from((await got).body).toString(), 'still alive');
  a.close();
  b.close();
});

test('startPassive times out when nobody connects, and close() rejects pending work', async () => {
  const listener = await MsrpListener.listen();
  const s = new MsrpSession({
    localUri: makeMsrpUri('127.0.0.1', listener.port, newSessionId()),
    listener,
    ownsListener: true,
  });
  await assert.rejects(s.startPassive({ timeoutMs: 100 }), MsrpTimeoutError);
  s.close();
  const s2 = new MsrpSession({ localUri: makeMsrpUri('127.0.0.1', 9, newSessionId()) });
  // Nothing listens on this port: connecting fails with the socket error.
  const free = await new Promise<number>((res) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => res(p));
    });
  });
  await assert.rejects(s2.startActive([`msrp://127.0.0.1:${free}/abcdef;tcp`]), /ECONNREFUSED/);
  s2.close();
});

test('a flood of never-finished messages is capped; a throwing listener closes only its connection', async () => {
  const listener = await MsrpListener.listen();
  const s = new MsrpSession({
    localUri: makeMsrpUri('127.0.0.1', listener.port, newSessionId()),
    listener,
    ownsListener: true,
  });
  const passive = s.startPassive({ timeoutMs: 5000 });
  const peer = await rawPeer(listener.port, s.sessionId);
  try {
    const rejected: number[] = [];
    s.on('rejected', (r) => rejected.push(r.code));
    let wire = Buffer.alloc(0);
    for (let i = 0; i < 300; i++) {
      const { bytes } = serializeSend({
        toPath: [peer.them],
        fromPath: [peer.me],
        messageId: `flood${i}`,
        range: { start: 1, end: 1, total: 2 },
        contentType: 'text/plain',
        body: Buffer.from('x'),
        endFlag: '+',
      });
      wire = Buffer.concat([wire, bytes]);
    }
    await peer.conn.write(wire);
    await passive;
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push(((await peer.next()) as { status: number }).status);
    assert.equal(statuses.filter((x) => x === 200).length, 256);
    assert.equal(statuses.filter((x) => x === 413).length, 44);
    assert.equal(rejected.length, 44);
  } finally {
    peer.conn.close();
    s.close();
  }
  const { a, b } = await pair();
  b.on('message', () => {
    throw new Error('bug in a listener');
  });
  const closed = nextEvent<{ reason: string }>(b, 'close');
  const aClosed = nextEvent<{ reason: string }>(a, 'close');
  await a.send('text/plain', Buffer.from('hi')).catch(() => undefined);
  assert.match((await closed).reason, /frame handler failed: bug in a listener/);
  await aClosed;
  a.close();
  b.close();
});

test('a passive session refuses a binding SEND from someone other than the SDP peer, then binds the real one', async () => {
  const listener = await MsrpListener.listen();
  const s = new MsrpSession({
    localUri: makeMsrpUri('127.0.0.1', listener.port, newSessionId()),
    listener,
    ownsListener: true,
  });
  const realPeer = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const realPeerStr = `msrp://127.0.0.1:9/${realPeer.sessionId};tcp`;
  const passive = s.startPassive({ remotePath: [realPeerStr], timeoutMs: 5000 });
  const intruder = await rawPeer(listener.port, s.sessionId);
  try {
    await intruder.conn.write(
      serializeSend({
        toPath: [intruder.them],
        fromPath: [intruder.me],
        messageId: 'bindbind',
        range: { start: 1, end: 0, total: 0 },
        body: new Uint8Array(0),
        endFlag: '$',
      }).bytes,
    );
    const r = await intruder.next();
    assert.ok(r.kind === 'response' && r.status === 403);
    assert.ok(!s.bound);
    const real = await rawPeer(listener.port, s.sessionId);
    await real.conn.write(
      serializeSend({
        toPath: [real.them],
        fromPath: [realPeerStr],
        messageId: 'bindbind',
        range: { start: 1, end: 0, total: 0 },
        body: new Uint8Array(0),
        endFlag: '$',
      }).bytes,
    );
    await passive;
    const ok = await real.next();
    assert.ok(ok.kind === 'response' && ok.status === 200);
    real.conn.close();
  } finally {
    intruder.conn.close();
    s.close();
  }
});

test('what a peer sends while the listener holds its connection for a session not started yet all reaches the session, in order', async () => {
  // The moment a relay creates: our session is still binding its own connection when the relay, which cannot know
  // that connection is ours, opens a new one to our listener and forwards the peer's first SENDs right away.
  const listener = await MsrpListener.listen();
  const sid = newSessionId();
  listener.reserve(sid);
  const s = new MsrpSession({ localUri: makeMsrpUri('127.0.0.1', listener.port, sid), listener, ownsListener: true });
  const got: MsrpIncomingMessage[] = [];
  s.on('message', (m) => got.push(m));
  const peer = await rawPeer(listener.port, sid);
  const send = (mid: string, body: string, failureReport?: 'no') =>
    serializeSend({
      toPath: [peer.them],
      fromPath: [peer.me],
      messageId: mid,
      range: { start: 1, end: Buffer.byteLength(body), total: Buffer.byteLength(body) },
      contentType: 'text/plain',
      body: Buffer.from(body),
      endFlag: '$',
      ...(failureReport ? { failureReport } : {}),
    });
  try {
    const first = send('m-query', 'first, quiet', 'no');
    const second = send('m-second', 'second, in the same write');
    await peer.conn.write(Buffer.concat([first.bytes, second.bytes]));
    const held = (listener as unknown as { held: Map<string, unknown[]> }).held;
    for (let i = 0; i < 200 && !held.get(sid); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(held.get(sid), 'the listener holds the connection for the reserved session');
    const third = send('m-third', 'third, written while held');
    await peer.conn.write(third.bytes);
    await new Promise((r) => setTimeout(r, 100));
    const passive = s.startPassive({ remotePath: [peer.me], timeoutMs: 5000 });
    await passive;
    for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      got.map((m) => Buffer.from(m.body).toString()),
      ['first, quiet', 'second, in the same write', 'third, written while held'],
    );
    // The two that asked for an answer got their 200s, on the connection they came in on.
    const answered = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const r = await peer.next();
      if (r.kind === 'response' && r.status === 200) answered.add(r.transactionId);
    }
    assert.deepEqual(answered, new Set([second.transactionId, third.transactionId]));
  } finally {
    peer.conn.close();
    s.close();
  }
});
