// Registration with digest auth and a call through a real Kamailio 5.6 registrar/proxy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SipUserAgent } from '../../src/sip/ua.js';
import type { CallEnded, CallFailed, IncomingCall } from '../../src/sip/call.js';
import type { RegistrationStatus } from '../../src/sip/ua.js';
import { SipRegistrationError } from '../../src/sip/errors.js';
import { startKamailio } from '../helpers/kamailio.js';
import type { KamailioInstance } from '../helpers/kamailio.js';
import { FakeNegotiator, fakeSdp, waitEvent } from '../helpers/sip-fakes.js';

const USERS = { alice: 'alice-secret', bob: 'b0b "quoted" \\ pw' };

let kam: KamailioInstance;
before(async () => {
  kam = await startKamailio({ users: USERS });
  assert.ok(kam.startupMs < 10000);
});
after(async () => {
  await kam?.stop();
  let alive = true;
  try {
    process.kill(kam.pid, 0);
  } catch {
    alive = false;
  }
  assert.equal(alive, false, 'Kamailio is gone after stop()');
});

for (const transport of ['udp', 'tcp'] as const) {
  describe(`through Kamailio over ${transport}`, () => {
    const proxy = (): string =>
      `sip:127.0.0.1:${transport === 'udp' ? kam.udpPort : kam.tcpPort};transport=${transport}`;
    const makeUa = (user: string, password: string): SipUserAgent =>
      new SipUserAgent({
        user,
        password,
        registrar: `sip:${kam.domain}`,
        outboundProxy: proxy(),
        transport,
        registerExpires: 120,
        log: () => undefined,
      });

    test('register both, call through the proxy, BYE, unregister, then the callee is unknown', async () => {
      const alice = makeUa('alice', USERS.alice);
      const bob = makeUa('bob', USERS.bob);
      const states: RegistrationStatus['state'][] = [];
      alice.on('registration', (s) => states.push(s.state));
      try {
        await alice.start();
        await bob.start();
        assert.equal(alice.registrationStatus.state, 'registered');
        assert.equal(bob.registrationStatus.state, 'registered');
        assert.ok((alice.registrationStatus.expires ?? 0) > 0);

        const incoming = waitEvent<[IncomingCall]>(bob, 'invite');
        const offerer = new FakeNegotiator(fakeSdp(4000, 'alice'));
        const call = alice.call(`sip:bob@${kam.domain}`, offerer);
        const established = waitEvent(call, 'established');
        const [inCall] = await incoming;
        assert.equal(inCall.remoteIdentity.aor, `alice@${kam.domain}`);
        await inCall.accept(new FakeNegotiator(fakeSdp(4001, 'bob')));
        await established;
        assert.match(call.remoteContact ?? '', /^sip:bob@127\.0\.0\.1:\d+/);
        assert.ok(offerer.remoteAnswer?.includes('s=bob'));

        const endedIn = waitEvent<[CallEnded]>(inCall, 'ended');
        const endedOut = waitEvent<[CallEnded]>(call, 'ended');
        await inCall.hangup();
        const [[i], [o]] = await Promise.all([endedIn, endedOut]);
        assert.deepEqual(i, { reason: 'bye', by: 'local' });
        assert.deepEqual(o, { reason: 'bye', by: 'remote' });

        await bob.stop();
        assert.equal(bob.registrationStatus.state, 'unregistered');
        const again = alice.call(`sip:bob@${kam.domain}`, new FakeNegotiator(fakeSdp(4000, 'alice')));
        const [f] = await waitEvent<[CallFailed]>(again, 'failed');
        assert.ok(f.statusCode === 404 || f.statusCode === 480, `got ${f.statusCode}`);
      } finally {
        await alice.stop();
        await bob.stop();
      }
      assert.deepEqual(states, ['registering', 'registered', 'unregistered']);
    });

    test('a wrong password fails fast with a clear error', async () => {
      const ua = makeUa('alice', 'not-the-password');
      const events: RegistrationStatus[] = [];
      ua.on('registration', (s) => events.push(s));
      const t0 = Date.now();
      try {
        await assert.rejects(ua.start(), (err: unknown) => {
          assert.ok(err instanceof SipRegistrationError);
          assert.match(err.message, /^authentication failed \((401|403|407)/);
          return true;
        });
      } finally {
        await ua.stop();
      }
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      assert.deepEqual(
        events.map((e) => e.state),
        ['registering', 'failed', 'unregistered'],
      );
      assert.ok([401, 403, 407].includes(events[1]?.error?.statusCode ?? 0));
    });

    test('an unknown user is refused too', async () => {
      const ua = makeUa('mallory', 'whatever');
      try {
        await assert.rejects(ua.start(), /authentication failed/);
      } finally {
        await ua.stop();
      }
    });
  });
}

test('registration is refreshed before it expires (udp)', async () => {
  const sent: string[] = [];
  const bob = new SipUserAgent({
    user: 'bob',
    password: USERS.bob,
    registrar: `sip:${kam.domain}`,
    outboundProxy: `sip:127.0.0.1:${kam.udpPort}`,
    registerExpires: 3,
    logLevel: 'debug',
    log: (_level, category, message) => {
      if (category === 'sip.Transport' && / REGISTER sip:/.test(message)) sent.push(message);
    },
  });
  const alice = new SipUserAgent({
    user: 'alice',
    password: USERS.alice,
    registrar: `sip:${kam.domain}`,
    outboundProxy: `sip:127.0.0.1:${kam.udpPort}`,
    log: () => undefined,
  });
  try {
    await bob.start();
    await alice.start();
    const afterStart = sent.length;
    // 3 s lifetime: without a refresh the binding is gone after 3 s
    await new Promise((r) => setTimeout(r, 4500));
    assert.ok(sent.length > afterStart, 'a refresh REGISTER was sent');
    assert.equal(bob.registrationStatus.state, 'registered');
    const incoming = waitEvent<[IncomingCall]>(bob, 'invite');
    const call = alice.call(`sip:bob@${kam.domain}`, new FakeNegotiator(fakeSdp(4000, 'alice')));
    const [inCall] = await incoming;
    const failed = waitEvent<[CallFailed]>(call, 'failed');
    await inCall.reject(486);
    assert.equal((await failed)[0].statusCode, 486);
  } finally {
    await alice.stop();
    await bob.stop();
  }
});
