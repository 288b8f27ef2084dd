// Registration over UDP when the registrar goes away and comes back, against a real Kamailio that the test
// stops and starts: UDP has no connection to lose, so the first sign is a refresh that gets no answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipUserAgent } from '../../src/sip/ua.js';
import type { RegistrationStatus } from '../../src/sip/index.js';
import { startKamailio } from '../helpers/kamailio.js';

const USERS = { alice: 'alice-secret' };

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 30000): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    const v = find();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('UDP: a refresh the registrar does not answer is reported with the next try, retried with backoff, and registration comes back with the registrar', { timeout: 90000 }, async () => {
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
    assert.ok(lost.retryInMs !== undefined && lost.retryInMs > 0 && lost.retryAt !== undefined, 'the next try is announced');
    // Attempts go on while it is down, each failing with its reason and the time of the next one.
    const again = await until(() => states.slice(states.indexOf(lost) + 1).find((s) => s.state === 'failed'), 'a failed retry');
    assert.match(again.error?.message ?? '', /did not answer|408|failed/);
    assert.ok(again.retryInMs !== undefined);
    const before = states.length;
    await kam.up();
    await until(() => states.slice(before).find((s) => s.state === 'registered'), 'registered again');
    // Never a wrong-password verdict, and no retry without an announced time
    assert.ok(states.every((s) => s.state !== 'failed' || s.retryAt !== undefined));
  } finally {
    await ua.stop();
    await kam.stop();
  }
});

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
