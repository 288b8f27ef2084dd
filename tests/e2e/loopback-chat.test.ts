// Two real blink-tui processes in headless mode, serverless on 127.0.0.1: SIP (UDP and TCP) + MSRP + OTR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { findFreePort } from '../../src/sip/free-port.js';

async function twoClients(
  transport: 'udp' | 'tcp' | 'tls',
  extra: string[] = [],
  extraB: string[] = extra,
  host = '127.0.0.1',
) {
  const pa = await findFreePort(transport, host, 20000 + Math.floor(Math.random() * 20000));
  const a = await HeadlessClient.start({
    args: ['--user', 'alice', '--host', host, '--port', String(pa), '--transport', transport, ...extra],
  });
  const pb = await findFreePort(transport, host, pa + 1);
  const b = await HeadlessClient.start({
    args: ['--user', 'bob', '--host', host, '--port', String(pb), '--transport', transport, ...extraB],
  });
  return { a, b, pa, pb };
}

/** Alice calls Bob, Bob accepts; resolves with both session ids once both are active. */
async function connect(a: HeadlessClient, b: HeadlessClient, pb: number, transport: string, host = '127.0.0.1') {
  a.send({ cmd: 'chat', to: `sip:bob@${host}:${pb};transport=${transport}` });
  const inc = await b.waitFor((e) => e.ev === 'incoming');
  assert.equal(String(inc.from).replace(/^sips?:/, ''), `alice@${host}`);
  const sb = String(inc.session);
  b.send({ cmd: 'accept', session: sb });
  const actA = await a.waitFor((e) => e.ev === 'session' && e.state === 'active');
  await b.waitFor((e) => e.ev === 'session' && e.state === 'active' && e.session === sb);
  return { sa: String(actA.session), sb };
}

const isMsg = (dir: string, text: string) => (e: Ev) => e.ev === 'message' && e.direction === dir && e.text === text;

for (const transport of ['udp', 'tcp', 'tls'] as const) {
  test(
    `serverless chat over ${transport}: both ways, OTR on by default, hang-up ends both`,
    { timeout: 60000 },
    async () => {
      const { a, b, pb } = await twoClients(transport);
      try {
        const { sa, sb } = await connect(a, b, pb, transport);
        // OTR starts by itself on both sides.
        const otrA = await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
        const otrB = await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
        assert.equal(otrA.trust, 'unverified');
        assert.match(String(otrA.fingerprint), /^[0-9A-F]{40}$/);
        assert.notEqual(otrA.fingerprint, otrB.fingerprint);

        a.send({ cmd: 'send', session: sa, text: 'hello bob ✓' });
        const got = await b.waitFor(isMsg('in', 'hello bob ✓'));
        assert.equal(got.encryption, 'unverified');
        const out = await a.waitFor(isMsg('out', 'hello bob ✓'));
        await a.waitFor((e) => e.ev === 'delivery' && e.message === out.id && e.status === 'delivered');

        b.send({ cmd: 'send', session: sb, text: 'hi alice' });
        await a.waitFor(isMsg('in', 'hi alice'));

        b.send({ cmd: 'hangup', session: sb });
        const endA = await a.waitFor((e) => e.ev === 'session' && e.state === 'ended');
        assert.match(String(endA.reason), /ended by/);
        await b.waitFor((e) => e.ev === 'session' && e.state === 'ended');
      } finally {
        await Promise.all([a.quit(), b.quit()]);
      }
    },
  );
}

test(
  'a 1 MiB message arrives intact (chunked MSRP, through OTR) and plaintext with --no-otr',
  { timeout: 90000 },
  async () => {
    for (const otr of [true, false]) {
      const { a, b, pb } = await twoClients('tcp', otr ? [] : ['--no-otr']);
      try {
        const { sa } = await connect(a, b, pb, 'tcp');
        if (otr) await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
        // 1 MiB of printable text (base64 of random bytes), so any corruption or truncation changes the hash.
        const text = randomBytes(786432).toString('base64');
        assert.equal(text.length, 1048576);
        a.send({ cmd: 'send', session: sa, text });
        const got = await b.waitFor((e) => e.ev === 'message' && e.direction === 'in', 60000);
        assert.equal(String(got.text).length, text.length);
        assert.equal(
          createHash('sha256').update(String(got.text)).digest('hex'),
          createHash('sha256').update(text).digest('hex'),
        );
        assert.equal(got.encryption, otr ? 'unverified' : 'none');
        // With OTR off, nothing OTR-ish reached the peer (no query text displayed).
        if (!otr) assert.ok(!b.events.some((e) => e.ev === 'message' && String(e.text).includes('?OTR')));
        a.send({ cmd: 'hangup', session: sa });
        await b.waitFor((e) => e.ev === 'session' && e.state === 'ended');
      } finally {
        await Promise.all([a.quit(), b.quit()]);
      }
    }
  },
);

test('reject: the caller sees the chat declined; a call to nobody fails cleanly', { timeout: 40000 }, async () => {
  const { a, b, pb } = await twoClients('tcp');
  try {
    a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
    const inc = await b.waitFor((e) => e.ev === 'incoming');
    b.send({ cmd: 'reject', session: inc.session });
    const end = await a.waitFor((e) => e.ev === 'session' && e.state === 'ended');
    assert.match(String(end.reason), /603|declin|reject/i);
    // Nobody listens on this TCP port: the chat ends with a reason instead of hanging.
    const dead = await findFreePort('tcp', '127.0.0.1', 40000);
    a.send({ cmd: 'chat', to: `sip:carol@127.0.0.1:${dead};transport=tcp` });
    const end2 = await a.waitFor((e) => e.ev === 'session' && e.state === 'ended' && e.session !== end.session, 15000);
    assert.ok(String(end2.reason).length > 0);
    // Bad input gets an error event, not a crash.
    a.send({ cmd: 'send', session: '99', text: 'x' });
    await a.waitFor((e) => e.ev === 'error' && /no chat session/.test(String(e.message)));
    a.proc.stdin.write('this is not json\n');
    await a.waitFor((e) => e.ev === 'error' && /not JSON/.test(String(e.message)));
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }
});

test(
  'with SIP over TLS, MSRP runs over TLS too: not a byte of a plaintext (--no-otr) chat is readable on the wire',
  { timeout: 60000 },
  async () => {
    const { LoopbackCapture } = await import('../helpers/capture.js');
    // Both clients on an address of their own in 127/8, and only that address captured: other tests' traffic on the
    // machine (plaintext chats on 127.0.0.1) must not count against this one.
    const host = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const cap = await LoopbackCapture.start(`tcp and host ${host}`);
    let wire: Buffer = Buffer.alloc(0);
    const { a, b, pb } = await twoClients('tls', ['--no-otr'], ['--no-otr'], host);
    const secret = `plaintext but private ${randomBytes(6).toString('hex')}`;
    try {
      const { sa, sb } = await connect(a, b, pb, 'tls', host);
      a.send({ cmd: 'send', session: sa, text: secret });
      const got = await b.waitFor(isMsg('in', secret));
      assert.equal(got.encryption, 'none');
      b.send({ cmd: 'send', session: sb, text: `${secret} (reply)` });
      await a.waitFor(isMsg('in', `${secret} (reply)`));
    } finally {
      await Promise.all([a.quit(), b.quit()]);
      wire = await cap.stop();
    }
    assert.ok(wire.length > 0, 'something was captured');
    assert.ok(!wire.includes(secret), 'the message text never crossed the loopback in clear');
    assert.ok(!wire.includes('MSRP '), 'no MSRP frame in clear');
    assert.ok(!wire.includes('INVITE sip:'), 'no SIP in clear');
  },
);
