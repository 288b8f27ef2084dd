// RFC 4975 7.3 over real loopback sockets: a request whose To-Path names another URI (same session-id, other
// host, port, scheme or transport) is answered 481 and never shown; one naming us in another case is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MsrpSession, type MsrpIncomingMessage } from '../../src/msrp/session.js';
import { MsrpListener } from '../../src/msrp/listener.js';
import { MsrpConnection } from '../../src/msrp/connection.js';
import { makeMsrpUri } from '../../src/msrp/uri.js';
import { newSessionId } from '../../src/msrp/ids.js';
import type { MsrpFrame } from '../../src/msrp/frame.js';
import { serializeSend } from '../../src/msrp/serializer.js';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))),
  ]).finally(() => clearTimeout(t));
}

async function rawPeer(port: number) {
  const conn = await MsrpConnection.connect({ host: '127.0.0.1', port });
  const me = `msrp://127.0.0.1:9/${newSessionId()};tcp`;
  const frames: MsrpFrame[] = [];
  const waiters: Array<() => void> = [];
  conn.on('frame', (f) => {
    frames.push(f);
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (): Promise<MsrpFrame> => {
    while (frames.length === 0) await withTimeout(new Promise<void>((r) => waiters.push(r)), 5000, 'frame');
    return frames.shift()!;
  };
  const send = async (toPath: string, text: string, failureReport?: 'no') => {
    const body = Buffer.from(text);
    const { bytes, transactionId } = serializeSend({
      toPath: [toPath],
      fromPath: [me],
      messageId: newSessionId(),
      range: { start: 1, end: body.length, total: body.length },
      contentType: 'text/plain',
      body,
      endFlag: '$',
      ...(failureReport ? { failureReport } : {}),
    });
    await conn.write(bytes);
    return transactionId;
  };
  return { conn, me, next, send, frames };
}

async function session() {
  const listener = await MsrpListener.listen({ host: '127.0.0.1', port: 0 });
  const sid = newSessionId();
  // We advertise a host name; the peer reaches us on 127.0.0.1 but must address the URI we gave it.
  const s = new MsrpSession({
    localUri: { ...makeMsrpUri('bob.example.test', listener.port, sid), host: 'bob.example.test' },
    listener,
    ownsListener: true,
  });
  const messages: MsrpIncomingMessage[] = [];
  s.on('message', (m) => messages.push(m));
  s.on('error', () => undefined);
  return { listener, s, sid, messages, port: listener.port };
}

test('a SEND whose To-Path matches only our session-id gets 481 and no message event', async () => {
  const { s, sid, messages, port } = await session();
  try {
    const peer = await rawPeer(port);
    const passive = s.startPassive({ remotePath: [peer.me], timeoutMs: 5000 });
    const ours = `msrp://bob.example.test:${port}/${sid};tcp`;
    // Bind with our exact URI.
    let tid = await peer.send(ours, 'hello 0');
    let r = await peer.next();
    assert.ok(r.kind === 'response' && r.transactionId === tid && r.status === 200, 'bind accepted');
    await passive;
    const wrong = [
      `msrp://127.0.0.1:${port}/${sid};tcp`, // the address we listen on, not the one we advertised
      `msrp://bob.example.test:${port + 1}/${sid};tcp`, // other port
      `msrp://bob.example.test/${sid};tcp`, // no port
      `msrp://bob.example.test:${port}/${sid};ws`, // other transport
      `msrps://bob.example.test:${port}/${sid};tcp`, // other scheme
      `msrp://bob.example.test:${port}/${sid.toUpperCase()}x;tcp`, // other session-id
    ];
    for (const to of wrong) {
      tid = await peer.send(to, `not for you: ${to}`);
      r = await peer.next();
      assert.ok(r.kind === 'response', to);
      assert.equal(r.transactionId, tid, to);
      assert.equal(r.status, 481, to);
    }
    // Failure-Report: no: ignored without an answer (the next response is for the following request).
    await peer.send(`msrp://127.0.0.1:${port}/${sid};tcp`, 'quietly not for you', 'no');
    // Case-insensitive host, scheme and transport: that is still us.
    tid = await peer.send(`MSRP://Bob.Example.TEST:${port}/${sid};TCP`, 'for you');
    r = await peer.next();
    assert.ok(r.kind === 'response' && r.transactionId === tid && r.status === 200, 'case-insensitive host accepted');
    await withTimeout(
      new Promise<void>((res) => (messages.length >= 2 ? res() : s.on('message', () => messages.length >= 2 && res()))),
      5000,
      'messages',
    );
    assert.deepEqual(
      messages.map((m) => Buffer.from(m.body).toString()),
      ['hello 0', 'for you'],
    );
    peer.conn.close();
  } finally {
    s.close();
  }
});

test('a binding SEND for another URI with our session-id is refused (481) and the session keeps waiting', async () => {
  const { s, sid, messages, port } = await session();
  try {
    const intruder = await rawPeer(port);
    const passive = s.startPassive({ timeoutMs: 5000 });
    const tid = await intruder.send(`msrp://127.0.0.1:${port}/${sid};tcp`, 'bind?');
    const r = await intruder.next();
    assert.ok(r.kind === 'response' && r.transactionId === tid && r.status === 481);
    assert.equal(s.bound, false);
    const peer = await rawPeer(port);
    const tid2 = await peer.send(`msrp://bob.example.test:${port}/${sid};tcp`, 'real');
    const r2 = await peer.next();
    assert.ok(r2.kind === 'response' && r2.transactionId === tid2 && r2.status === 200);
    await passive;
    assert.deepEqual(
      messages.map((m) => Buffer.from(m.body).toString()),
      ['real'],
    );
    intruder.conn.close();
    peer.conn.close();
  } finally {
    s.close();
  }
});
