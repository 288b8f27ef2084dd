// The high-level API the chat orchestrator uses, over real loopback sockets: SDP offer/answer, COMEDIA roles,
// CPIM-wrapped text, is-composing, and msrps (TLS) with a throwaway self-signed certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMsrpSession,
  decodeCpim,
  cpimText,
  encodeCpim,
  negotiateSetup,
  parseMsrpSdp,
  shouldUseCpim,
  buildIsComposing,
  parseIsComposing,
  DEFAULT_ACCEPT_TYPES,
  type LocalMsrpSession,
  type MsrpIncomingMessage,
} from '../../src/msrp/index.js';
import { ISCOMPOSING_CONTENT_TYPE } from '../../src/msrp/iscomposing.js';

function nextMessage(s: LocalMsrpSession, ms = 5000): Promise<MsrpIncomingMessage> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('no message')), ms);
    s.once('message', (m) => {
      clearTimeout(t);
      res(m);
    });
  });
}

/** Runs an offer/answer between two sessions and starts each in the role RFC 6135 gives it. */
async function negotiate(
  offerer: LocalMsrpSession,
  answerer: LocalMsrpSession,
  prefer: 'active' | 'passive',
  tlsClient?: import('node:tls').ConnectionOptions,
) {
  const offer = parseMsrpSdp(offerer.sdp('actpass'));
  const mine = negotiateSetup('answerer', offer.setup, prefer);
  const answer = parseMsrpSdp(answerer.sdp(mine.answer!));
  const theirs = negotiateSetup('offerer', answer.setup);
  assert.notEqual(mine.local, theirs.local, 'exactly one side is active');
  const start = (s: LocalMsrpSession, role: 'active' | 'passive', remote: readonly string[]) =>
    role === 'active'
      ? s.startActive(remote, tlsClient ? { tls: tlsClient } : {})
      : s.startPassive({ remotePath: remote, timeoutMs: 5000 });
  await Promise.all([start(answerer, mine.local, offer.path), start(offerer, theirs.local, answer.path)]);
  return { offer, answer };
}

for (const prefer of ['active', 'passive'] as const) {
  test(`offer/answer with the answerer ${prefer}: CPIM text and is-composing both ways`, async () => {
    const alice = await createMsrpSession({ blinkFeatures: ['history-control'] });
    const bob = await createMsrpSession();
    try {
      const { offer, answer } = await negotiate(alice, bob, prefer);
      assert.deepEqual(offer.features, ['history-control']);
      assert.ok(shouldUseCpim(DEFAULT_ACCEPT_TYPES, answer));
      assert.ok(alice.bound && bob.bound);
      const got = nextMessage(bob);
      const body = encodeCpim({
        from: 'sip:alice@example.org',
        to: ['sip:bob@example.org'],
        contentType: 'text/plain',
        body: 'grüße, bob',
      });
      await alice.send('message/cpim', body);
      const m = await got;
      assert.equal(m.contentType, 'message/cpim');
      const c = decodeCpim(m.body);
      assert.equal(c.from?.uri, 'sip:alice@example.org');
      assert.equal(cpimText(c), 'grüße, bob');
      const typing = nextMessage(alice);
      await bob.send(ISCOMPOSING_CONTENT_TYPE, buildIsComposing({ state: 'active', refresh: 60 }), {
        failureReport: 'no',
      });
      const t = await typing;
      assert.equal(parseIsComposing(t.body).state, 'active');
      assert.equal(t.headers.find(([n]) => n === 'Failure-Report')?.[1], 'no');
    } finally {
      alice.close();
      bob.close();
    }
  });
}

test('closing one side ends the other with a reason', async () => {
  const a = await createMsrpSession();
  const b = await createMsrpSession();
  await negotiate(a, b, 'active');
  const closed = new Promise<{ reason: string }>((res) => a.once('close', res));
  b.close('user hung up');
  assert.match((await closed).reason, /peer closed|connection closed/);
  assert.ok(a.closed);
});

test('msrps: TLS listener and client with a self-signed certificate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'msrp-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) {
      // openssl is part of the base system here; say so loudly rather than pass quietly.
      assert.fail(`openssl could not make a test certificate: ${r.error?.message ?? r.stderr}`);
    }
    const cert = readFileSync(join(dir, 'cert.pem'));
    const key = readFileSync(join(dir, 'key.pem'));
    const server = await createMsrpSession({ tls: { cert, key } });
    const client = await createMsrpSession({ tls: { cert, key } });
    t.after(() => {
      server.close();
      client.close();
    });
    assert.match(server.localUriString, /^msrps:\/\//);
    assert.match(server.sdp('actpass'), /m=message \d+ TCP\/TLS\/MSRP \*/);
    const got = nextMessage(server);
    const passive = server.startPassive({ remotePath: client.localPath, timeoutMs: 5000 });
    await client.startActive(server.localPath, { tls: { ca: cert, checkServerIdentity: () => undefined } });
    await passive;
    await client.send('text/plain', Buffer.from('over TLS'));
    assert.equal(Buffer.from((await got).body).toString(), 'over TLS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a message the receiver refuses while handling it gets a failure REPORT, not a success one; the sender is told', async () => {
  const alice = await createMsrpSession();
  const bob = await createMsrpSession();
  try {
    await negotiate(alice, bob, 'active');
    const reports: { code: number; comment: string }[] = [];
    alice.on('report', (r) => reports.push({ code: r.code, comment: r.comment }));
    bob.on('message', (m) => {
      if (new TextDecoder().decode(m.body) === 'cannot read this')
        m.refuse?.(400, 'OTR message could not be decrypted');
    });
    await assert.rejects(
      alice.send('text/plain', new TextEncoder().encode('cannot read this'), {
        successReport: true,
        failureReport: 'yes',
      }),
      (e: Error & { code?: number; comment?: string }) =>
        e.code === 400 && e.comment === 'OTR message could not be decrypted',
    );
    // An ordinary message still gets its success report and resolves.
    await alice.send('text/plain', new TextEncoder().encode('fine'), { successReport: true, failureReport: 'yes' });
    assert.deepEqual(
      reports.map((r) => r.code),
      [400, 200],
    );
    // With Failure-Report: no nothing comes back, refused or not (RFC 4975 7.1.2): the send resolves once written.
    await alice.send('text/plain', new TextEncoder().encode('cannot read this'), {
      successReport: false,
      failureReport: 'no',
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reports.length, 2);
  } finally {
    alice.close();
    bob.close();
  }
});

test('messages sent at once reach the receiver whole and in the order they were sent (no interleaved chunks)', async () => {
  const alice = await createMsrpSession();
  const bob = await createMsrpSession();
  try {
    await negotiate(alice, bob, 'active');
    const order: string[] = [];
    bob.on('message', (m) => order.push(new TextDecoder().decode(m.body).slice(0, 8)));
    const big = 'big-one:' + 'x'.repeat(300_000);
    const sends = [
      alice.send('text/plain', new TextEncoder().encode(big), { chunkSize: 2048 }),
      alice.send('text/plain', new TextEncoder().encode('small-1:'), { chunkSize: 2048 }),
      alice.send('text/plain', new TextEncoder().encode('mid-two:' + 'y'.repeat(20_000)), { chunkSize: 2048 }),
      alice.send('text/plain', new TextEncoder().encode('small-3:'), { chunkSize: 2048 }),
    ];
    await Promise.all(sends);
    assert.deepEqual(order, ['big-one:', 'small-1:', 'mid-two:', 'small-3:']);
  } finally {
    alice.close();
    bob.close();
  }
});

test("an active session also takes a connection opened to its own URI (a relay in the peer's path forwarding to it) and answers on it", async () => {
  const { MsrpConnection } = await import('../../src/msrp/connection.js');
  const { serializeSend } = await import('../../src/msrp/serializer.js');
  const { parseMsrpUri } = await import('../../src/msrp/uri.js');
  const alice = await createMsrpSession();
  const bob = await createMsrpSession();
  try {
    // Bob is active: he connects to Alice. A relay on Alice's side would then open its own connection to Bob's URI.
    await negotiate(alice, bob, 'active');
    const bobUri = bob.localPath[bob.localPath.length - 1]!;
    const aliceUri = alice.localPath[alice.localPath.length - 1]!;
    const u = parseMsrpUri(bobUri);
    const relayConn = await MsrpConnection.connect({ host: u.host, port: u.port! });
    const got = nextMessage(bob);
    const answers: string[] = [];
    relayConn.on('frame', (f) => answers.push(f.kind === 'response' ? String(f.status) : f.method));
    const { bytes } = serializeSend({
      toPath: [bobUri],
      fromPath: ['msrp://127.0.0.1:9999/relayhop;tcp', aliceUri],
      messageId: 'm-relayed',
      range: { start: 1, end: 7, total: 7 },
      contentType: 'text/plain',
      body: new TextEncoder().encode('relayed'),
      endFlag: '$',
    });
    await relayConn.write(bytes);
    const m = await got;
    assert.equal(new TextDecoder().decode(m.body), 'relayed');
    for (let i = 0; i < 50 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(answers, ['200'], 'answered on the connection it came in on');
    // Someone else guessing Bob's session id on such a connection is refused (403), as on a passive session.
    const intruder = await MsrpConnection.connect({ host: u.host, port: u.port! });
    const refused: string[] = [];
    intruder.on('frame', (f) => refused.push(f.kind === 'response' ? String(f.status) : f.method));
    await intruder.write(
      serializeSend({
        toPath: [bobUri],
        fromPath: ['msrp://127.0.0.1:1/mallory;tcp'],
        messageId: 'x',
        range: { start: 1, end: 1, total: 1 },
        contentType: 'text/plain',
        body: new Uint8Array([0x78]),
        endFlag: '$',
      }).bytes,
    );
    for (let i = 0; i < 50 && refused.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(refused, ['403']);
    relayConn.close('done');
    intruder.close('done');
  } finally {
    alice.close();
    bob.close();
  }
});
