// RFC 4976 against a real relay: Kamailio's msrp module (tests/helpers/kamailio-msrp.ts) on 127.0.0.1, started
// for this file and stopped at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { authenticateRelay } from '../../src/msrp/relay.js';
import { MsrpSession, type MsrpIncomingMessage } from '../../src/msrp/session.js';
import { makeMsrpUri } from '../../src/msrp/uri.js';
import { newSessionId } from '../../src/msrp/ids.js';
import { MsrpAuthError } from '../../src/msrp/errors.js';
import { createMsrpSession } from '../../src/msrp/index.js';
import { startMsrpRelay, type MsrpRelayInstance } from '../helpers/kamailio-msrp.js';

const PASSWORD = 'xyz123';
let relay: MsrpRelayInstance;
let port = 0;

before(async () => {
  relay = await startMsrpRelay({ password: PASSWORD, authExpires: 3600 });
  port = relay.port;
});

after(async () => {
  await relay.stop();
});

const relayCfg = () => ({
  uri: `msrp://127.0.0.1:${port};tcp`,
  username: 'alice',
  password: PASSWORD,
  timeoutMs: 5000,
});

test('AUTH with digest yields a Use-Path; a wrong password is refused', async () => {
  const local = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const b = await authenticateRelay(local, relayCfg());
  assert.equal(b.usePath.length, 1);
  assert.match(b.usePath[0]!, new RegExp(`^msrp://127\\.0\\.0\\.1:${port}/\\S+;tcp$`));
  b.connection.close();
  await assert.rejects(authenticateRelay(local, { ...relayCfg(), password: 'wrong' }), MsrpAuthError);
});

test('two sessions talk through the relay: bind, both directions, chunked, success report', async () => {
  const ua = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const ub = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const ra = await authenticateRelay(ua, relayCfg());
  const rb = await authenticateRelay(ub, relayCfg());
  const a = new MsrpSession({
    localUri: ua,
    relayPath: ra.usePath,
    relayConnection: ra.connection,
    transactionTimeoutMs: 5000,
    reportTimeoutMs: 5000,
  });
  const b = new MsrpSession({
    localUri: ub,
    relayPath: rb.usePath,
    relayConnection: rb.connection,
    transactionTimeoutMs: 5000,
  });
  try {
    assert.deepEqual(a.localPath, [...ra.usePath, `msrp://127.0.0.1:9/${ua.sessionId};tcp`]);
    const bMsgs: MsrpIncomingMessage[] = [];
    const aMsgs: MsrpIncomingMessage[] = [];
    b.on('message', (m) => bMsgs.push(m));
    a.on('message', (m) => aMsgs.push(m));
    await b.startPassive({ remotePath: a.localPath });
    await a.startActive(b.localPath);
    assert.equal(bMsgs.length, 0);
    const big = Buffer.alloc(20_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const r1 = await a.send('application/octet-stream', big, { successReport: true });
    await b.send('text/plain', Buffer.from('pong ✓'));
    const until = Date.now() + 5000;
    while ((bMsgs.length < 1 || aMsgs.length < 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(bMsgs[0]?.messageId, r1.messageId);
    assert.ok(Buffer.from(bMsgs[0]!.body).equals(big));
    assert.equal(Buffer.from(aMsgs[0]!.body).toString(), 'pong ✓');
  } finally {
    a.close();
    b.close();
  }
});

test('createMsrpSession with a relay: the high-level API end to end', async () => {
  const a = await createMsrpSession({ host: '127.0.0.1', relay: relayCfg() });
  const b = await createMsrpSession({ host: '127.0.0.1', relay: relayCfg() });
  try {
    assert.equal(a.localPath.length, 2);
    assert.match(a.sdp('actpass'), /a=path:msrp:\/\/127\.0\.0\.1:\d+\/\S+;tcp msrp:\/\/127\.0\.0\.1:\d+\/\S+;tcp\r\n/);
    const got = new Promise<MsrpIncomingMessage>((res) => b.on('message', res));
    await b.startPassive({ remotePath: a.localPath });
    await a.startActive(b.localPath);
    await a.send('text/plain', Buffer.from('via the high-level API'));
    assert.equal(Buffer.from((await got).body).toString(), 'via the high-level API');
  } finally {
    a.close();
    b.close();
  }
});
