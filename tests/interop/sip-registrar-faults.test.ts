// Registration over UDP when the registrar goes away and comes back, against a real Kamailio that the test
// stops and starts: UDP has no connection to lose, so the first sign is a refresh that gets no answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipUserAgent } from '../../src/sip/ua.js';
import type { RegistrationStatus } from '../../src/sip/ua.js';
import { startKamailio } from '../helpers/kamailio.js';

const USERS = { alice: 'alice-secret' };

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 30000): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    const v = find();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test(
  'UDP: a refresh the registrar does not answer is reported with the next try, retried with backoff, and registration comes back with the registrar',
  { timeout: 90000 },
  async () => {
    const kam = await startKamailio({ users: USERS });
    const states: RegistrationStatus[] = [];
    const ua = new SipUserAgent({
      user: 'alice',
      password: USERS.alice,
      registrar: `sip:${kam.domain}`,
      outboundProxy: `sip:127.0.0.1:${kam.udpPort}`,
      registerExpires: 2, // refreshed after 1.8 s
      timers: { t1: 20 }, // a REGISTER without answer gives up after 64*T1 = 1.3 s
      reRegisterBackoff: { baseMs: 200, maxMs: 800 },
      log: () => undefined,
    });
    ua.on('registration', (s) => states.push(s));
    try {
      await ua.start();
      assert.equal(ua.registrationStatus.state, 'registered');
      await kam.down();
      const lost = await until(() => states.find((s) => s.state === 'failed'), 'the failed refresh');
      assert.match(lost.error?.message ?? '', /refresh failed/);
      assert.ok(
        lost.retryInMs !== undefined && lost.retryInMs > 0 && lost.retryAt !== undefined,
        'the next try is announced',
      );
      // The next attempt goes out (sip.js lets it go once the unanswered refresh is given up or answered).
      await until(
        () => states.slice(states.indexOf(lost) + 1).find((s) => s.state === 'registering'),
        'the next attempt',
      );
      const before = states.length;
      await kam.up();
      await until(() => states.slice(before).find((s) => s.state === 'registered'), 'registered again', 60000);
      // every failure on the way announced its next try
      assert.ok(states.every((s) => s.state !== 'failed' || s.retryAt !== undefined));
    } finally {
      await ua.stop();
      await kam.stop();
    }
  },
);

test('a wrong password is not retried', { timeout: 30000 }, async () => {
  const kam = await startKamailio({ users: USERS });
  const states: RegistrationStatus[] = [];
  const ua = new SipUserAgent({
    user: 'alice',
    password: 'wrong',
    registrar: `sip:${kam.domain}`,
    outboundProxy: `sip:127.0.0.1:${kam.tcpPort};transport=tcp`,
    transport: 'tcp',
    reRegisterBackoff: { baseMs: 50, maxMs: 50 },
    log: () => undefined,
  });
  ua.on('registration', (s) => states.push(s));
  try {
    await assert.rejects(ua.start(), /authentication failed/);
    const failed = states.filter((s) => s.state === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.retryAt, undefined);
    // well past several 50 ms backoffs: still one attempt
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(states.filter((s) => s.state === 'registering').length, 1);
  } finally {
    await ua.stop();
    await kam.stop();
  }
});

test(
  'TCP: the connection dropped while a REGISTER waits for its answer is reported at once, and the next REGISTER follows',
  { timeout: 90000 },
  async () => {
    // A scripted registrar: the first connection is closed as soon as a REGISTER arrives (a registrar that dies
    // mid-transaction); later ones get 200 OK with our Contact.
    const { createServer } = await import('node:net');
    const { SipStreamFramer } = await import('../../src/sip/framer.js');
    const { buildResponse } = await import('../helpers/sip-raw.js');
    const { firstHeader, parseHead } = await import('../../src/sip/wire.js');
    let connections = 0;
    const server = createServer((sock) => {
      const first = ++connections === 1;
      const framer = new SipStreamFramer();
      sock.on('error', () => undefined);
      sock.on('data', (d: Buffer) => {
        for (const ev of framer.push(d)) {
          if (ev.type !== 'message' || !ev.text.startsWith('REGISTER ')) continue;
          if (first) {
            sock.destroy();
            return;
          }
          const contact = firstHeader(parseHead(ev.text), 'contact') ?? '';
          sock.write(buildResponse(ev.text, 200, 'OK', [`Contact: ${contact};expires=600`]));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const states: RegistrationStatus[] = [];
    const ua = new SipUserAgent({
      user: 'alice',
      password: 'x',
      registrar: `sip:127.0.0.1:${port};transport=tcp`,
      transport: 'tcp',
      reRegisterBackoff: { baseMs: 100, maxMs: 100 },
      log: () => undefined,
    });
    ua.on('registration', (s) => states.push(s));
    try {
      await ua.start({ register: false });
      await assert.rejects(ua.register(), /connection to the registrar lost/);
      const lost = states.find((s) => s.state === 'failed')!;
      assert.ok(lost.retryAt !== undefined, 'with the time of the next try');
      // sip.js keeps the lost REGISTER pending until its timer F (32 s over TCP too) and refuses another meanwhile:
      // the retry waits for it instead of failing again and again.
      await until(() => states.find((s) => s.state === 'registered'), 'registered over a new connection', 60000);
      assert.equal(states.filter((s) => s.state === 'failed').length, 1, 'one failure, not a retry storm');
      assert.equal(connections, 2);
    } finally {
      await ua.stop();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
);
