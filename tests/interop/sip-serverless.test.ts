// Two sip.js user agents on our transports, calling each other directly on loopback (no server).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SipUserAgent } from '../../src/sip/ua.js';
import { SipTransportError } from '../../src/sip/errors.js';
import type { IncomingCall, OutgoingCall, CallEnded, CallFailed } from '../../src/sip/call.js';
import type { SipTransportProtocol } from '../../src/sip/resolve.js';
import { FakeNegotiator, fakeSdp, waitEvent } from '../helpers/sip-fakes.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';
import { RawUdpPeer, buildRequest, buildResponse } from '../helpers/sip-raw.js';
import { parseHead, firstHeader } from '../../src/sip/wire.js';
import type { TestCert } from '../helpers/tls-cert.js';

let cert: TestCert;
const consoleOutput: string[] = [];
const saved = { log: console.log, warn: console.warn, error: console.error, debug: console.debug, info: console.info };
before(() => {
  cert = makeSelfSignedCert();
  // sip.js logs to the console by default, which would corrupt the TUI: none of it may get through
  for (const k of ['log', 'warn', 'error', 'debug', 'info'] as const) {
    console[k] = (...args: unknown[]) => void consoleOutput.push(`${k}: ${args.map(String).join(' ')}`);
  }
});
after(() => {
  Object.assign(console, saved);
  assert.deepEqual(consoleOutput, []);
});

test('a second agent on a port in use fails to start with a clear error, and can retry elsewhere', async () => {
  const first = new SipUserAgent({ user: 'carol', transport: 'udp', log: () => undefined });
  await first.start();
  const second = new SipUserAgent({ user: 'dave', transport: 'udp', port: first.localPort, log: () => undefined });
  try {
    await assert.rejects(
      second.start(),
      (err: unknown) => err instanceof SipTransportError && /cannot listen on udp 127\.0\.0\.1:\d+/.test(err.message),
    );
  } finally {
    await first.stop();
  }
  // the port is free again now: the same agent starts on it
  await second.start();
  await second.stop();
});

function makeUa(user: string, transport: SipTransportProtocol, logs: string[]): SipUserAgent {
  return new SipUserAgent({
    user,
    transport,
    displayName: user === 'alice' ? 'Alice A.' : undefined,
    ...(transport === 'tls' ? { tls: { key: cert.key, cert: cert.cert, ca: cert.cert } } : {}),
    timers: { t1: 100, t2: 400 },
    log: (level, category, message) => logs.push(`${level} ${user} ${category} ${message}`),
  });
}

for (const transport of ['udp', 'tcp', 'tls'] as const) {
  describe(`serverless over ${transport}`, () => {
    let alice: SipUserAgent;
    let bob: SipUserAgent;
    const logs: string[] = [];
    before(async () => {
      alice = makeUa('alice', transport, logs);
      bob = makeUa('bob', transport, logs);
      await alice.start();
      await bob.start();
    });
    after(async () => {
      await alice.stop();
      await bob.stop();
      // the failing-negotiator test makes sip.js log its (expected) rejection
      const errors = logs.filter((l) => l.startsWith('error') && !/no MSRP for you|setOfferAndGetAnswer/.test(l));
      assert.deepEqual(errors, [], 'no sip.js errors were logged');
    });

    const target = (ua: SipUserAgent, user: string): string =>
      `sip:${user}@127.0.0.1:${ua.localPort};transport=${transport}`;

    async function callAndBye(
      from: SipUserAgent,
      to: SipUserAgent,
      fromUser: string,
      toUser: string,
      byeBy: 'caller' | 'callee',
    ): Promise<void> {
      const answerer = new FakeNegotiator(fakeSdp(4001, toUser));
      const incoming = waitEvent<[IncomingCall]>(to, 'invite');
      const offerer = new FakeNegotiator(fakeSdp(4000, fromUser));
      const call = from.call(target(to, toUser), offerer, { extraHeaders: ['X-Blink-Test: 1'] });
      const progress = waitEvent(call, 'progress');
      const established = waitEvent(call, 'established');
      const [inCall] = await incoming;
      assert.equal(inCall.remoteIdentity.user, fromUser);
      assert.equal(inCall.remoteIdentity.aor, `${fromUser}@127.0.0.1`);
      assert.equal(inCall.header('X-Blink-Test'), '1');
      assert.equal(inCall.isFocus, false);
      assert.match(
        inCall.remoteContact ?? '',
        new RegExp(`^sip:${fromUser}@127\\.0\\.0\\.1:${from.localPort};transport=${transport}`),
      );
      assert.equal(inCall.remoteOffer, offerer.sdp);
      const inEstablished = waitEvent(inCall, 'established');
      await inCall.accept(answerer);
      await Promise.all([established, inEstablished, progress]);
      assert.equal(call.state, 'established');
      assert.equal(call.isFocus, false);
      assert.match(call.remoteContact ?? '', new RegExp(`^sip:${toUser}@127\\.0\\.0\\.1:${to.localPort}`));
      assert.deepEqual(offerer.calls, ['createOffer', 'applyAnswer']);
      assert.equal(offerer.remoteAnswer, answerer.sdp);
      assert.deepEqual(answerer.calls, ['createAnswer']);
      assert.equal(answerer.remoteOffer, offerer.sdp);

      const endedOut = waitEvent<[CallEnded]>(call, 'ended');
      const endedIn = waitEvent<[CallEnded]>(inCall, 'ended');
      if (byeBy === 'caller') await call.hangup();
      else await inCall.hangup();
      const [[eo], [ei]] = await Promise.all([endedOut, endedIn]);
      assert.deepEqual(eo, { reason: 'bye', by: byeBy === 'caller' ? 'local' : 'remote' });
      assert.deepEqual(ei, { reason: 'bye', by: byeBy === 'callee' ? 'local' : 'remote' });
      assert.equal(offerer.closed, 1);
      assert.equal(answerer.closed, 1);
    }

    test('alice calls bob, 200, ACK, alice hangs up', () => callAndBye(alice, bob, 'alice', 'bob', 'caller'));
    test('bob calls alice, bob is hung up on by alice', () => callAndBye(bob, alice, 'bob', 'alice', 'callee'));

    for (const code of [486, 603] as const) {
      test(`reject ${code}`, async () => {
        const incoming = waitEvent<[IncomingCall]>(bob, 'invite');
        const n = new FakeNegotiator(fakeSdp(4000, 'alice'));
        const call: OutgoingCall = alice.call(target(bob, 'bob'), n);
        const failed = waitEvent<[CallFailed]>(call, 'failed');
        const [inCall] = await incoming;
        assert.equal(inCall.remoteIdentity.displayName, 'Alice A.');
        const inEnded = waitEvent<[CallEnded]>(inCall, 'ended');
        await inCall.reject(code);
        const [[f]] = await Promise.all([failed]);
        assert.equal(f.statusCode, code);
        assert.ok(f.reason.length > 0);
        const [e] = await inEnded;
        assert.deepEqual(e, { reason: 'rejected', by: 'local', statusCode: code });
        assert.equal(call.state, 'failed');
        assert.equal(n.closed, 1);
      });
    }

    test('CANCEL before answer', async () => {
      const incoming = waitEvent<[IncomingCall]>(bob, 'invite');
      const call = alice.call(target(bob, 'bob'), new FakeNegotiator(fakeSdp(4000, 'alice')));
      const [inCall] = await incoming;
      await waitEvent(call, 'progress');
      const inEnded = waitEvent<[CallEnded]>(inCall, 'ended');
      const outEnded = waitEvent<[CallEnded]>(call, 'ended');
      await call.hangup();
      const [[o], [i]] = await Promise.all([outEnded, inEnded]);
      assert.deepEqual(o, { reason: 'cancelled', by: 'local' });
      assert.deepEqual(i, { reason: 'cancelled', by: 'remote' });
      assert.equal(bob.activeCalls, 0);
    });

    test('a call to a user that is not there gets 404', async () => {
      const call = alice.call(`sip:nobody@127.0.0.1:${bob.localPort};transport=${transport}`, new FakeNegotiator('x'));
      const [f] = await waitEvent<[CallFailed]>(call, 'failed');
      assert.equal(f.statusCode, 404);
    });

    test('an incoming call with no listener is refused with 486', async () => {
      const listeners = bob.listeners('invite');
      bob.removeAllListeners('invite');
      try {
        const call = alice.call(target(bob, 'bob'), new FakeNegotiator('x'));
        const [f] = await waitEvent<[CallFailed]>(call, 'failed');
        assert.equal(f.statusCode, 486);
      } finally {
        for (const l of listeners) bob.on('invite', l as (c: IncomingCall) => void);
      }
    });

    test('a negotiator that cannot answer makes the call fail, not hang', async () => {
      const incoming = waitEvent<[IncomingCall]>(bob, 'invite');
      const call = alice.call(target(bob, 'bob'), new FakeNegotiator(fakeSdp(4000, 'alice')));
      const failed = waitEvent<[CallFailed]>(call, 'failed');
      const [inCall] = await incoming;
      await assert.rejects(inCall.accept(new FakeNegotiator('', new Error('no MSRP for you'))));
      const [f] = await failed;
      assert.ok(f.statusCode >= 400, `status ${f.statusCode}`);
    });
  });
}

describe('scripted peers (conference focus)', () => {
  let ua: SipUserAgent;
  let peer: RawUdpPeer;
  before(async () => {
    ua = makeUa('alice', 'udp', []);
    await ua.start();
    peer = await RawUdpPeer.open();
  });
  after(async () => {
    await ua.stop();
    await peer.close();
  });

  test('a UAS that answers with Contact ;isfocus is detected as a focus', async () => {
    const roomSdp = fakeSdp(4100, 'room');
    peer.onDatagram = (d) => {
      if (d.text.startsWith('INVITE ')) {
        void peer.send(buildResponse(d.text, 100, 'Trying'), d.port);
        const ok = buildResponse(
          d.text,
          200,
          'OK',
          [`Contact: <sip:sylkserver@127.0.0.1:${peer.port}>;isfocus`],
          roomSdp,
        );
        void peer.send(ok, d.port);
      } else if (d.text.startsWith('BYE ')) {
        void peer.send(buildResponse(d.text, 200, 'OK'), d.port);
      }
    };
    const n = new FakeNegotiator(fakeSdp(4000, 'alice'));
    const call = ua.call(`sip:room@127.0.0.1:${peer.port}`, n);
    await waitEvent(call, 'established');
    assert.equal(call.isFocus, true);
    assert.equal(call.remoteContact, `sip:sylkserver@127.0.0.1:${peer.port}`);
    assert.equal(call.remoteIdentity.aor, 'room@127.0.0.1');
    assert.equal(n.remoteAnswer, roomSdp);
    await peer.waitFor((all) => all.some((d) => d.text.startsWith('ACK sip:sylkserver@127.0.0.1')));
    const ended = waitEvent<[CallEnded]>(call, 'ended');
    await call.hangup();
    await ended;
    // the in-dialog BYE goes to the focus's Contact
    await peer.waitFor((all) => all.some((d) => d.text.startsWith(`BYE sip:sylkserver@127.0.0.1:${peer.port}`)));
  });

  test('an incoming INVITE whose Contact carries ;isfocus is flagged', async () => {
    peer.received.length = 0;
    peer.onDatagram = (d) => {
      if (/^SIP\/2\.0 [3-6]\d\d/.test(d.text)) {
        const head = parseHead(d.text);
        const ack = buildRequest({
          method: 'ACK',
          uri: `sip:alice@127.0.0.1:${ua.localPort}`,
          viaPort: peer.port,
          branch: 'z9hG4bKfocusin',
          callId: 'focus-call',
          toTag: /tag=([^;\s]+)/.exec(firstHeader(head, 'to') ?? '')?.[1] ?? '',
        });
        void peer.send(ack, ua.localPort);
      }
    };
    const incoming = waitEvent<[IncomingCall]>(ua, 'invite');
    const invite = buildRequest({
      method: 'INVITE',
      uri: `sip:alice@127.0.0.1:${ua.localPort}`,
      viaPort: peer.port,
      branch: 'z9hG4bKfocusin',
      callId: 'focus-call',
      fromUser: 'conference',
      extra: [`Contact: <sip:conference@127.0.0.1:${peer.port}>;isfocus`],
      body: fakeSdp(4200, 'conf'),
    });
    await peer.send(invite, ua.localPort);
    const [call] = await incoming;
    assert.equal(call.isFocus, true);
    assert.equal(call.remoteContact, `sip:conference@127.0.0.1:${peer.port}`);
    assert.equal(call.remoteIdentity.user, 'conference');
    await call.reject(603);
    await peer.waitFor((all) => all.some((d) => d.text.startsWith('SIP/2.0 603')));
    // a retransmitted INVITE is answered from the cache, not seen as a new call
    let second = 0;
    const count = (): void => {
      second++;
    };
    ua.on('invite', count);
    await peer.send(invite, ua.localPort);
    await peer.waitFor((all) => all.filter((d) => d.text.startsWith('SIP/2.0 603')).length >= 2);
    ua.off('invite', count);
    assert.equal(second, 0);
  });
});

describe('offerless INVITE', () => {
  test('an INVITE without SDP gets our offer in the 200 and the answer from the ACK', async () => {
    const ua = makeUa('alice', 'udp', []);
    await ua.start();
    const peer = await RawUdpPeer.open();
    try {
      const incoming = waitEvent<[IncomingCall]>(ua, 'invite');
      const invite = buildRequest({
        method: 'INVITE',
        uri: `sip:alice@127.0.0.1:${ua.localPort}`,
        viaPort: peer.port,
        branch: 'z9hG4bKnooffer',
        callId: 'nooffer',
        extra: [`Contact: <sip:raw@127.0.0.1:${peer.port}>`],
      });
      await peer.send(invite, ua.localPort);
      const [call] = await incoming;
      assert.equal(call.remoteOffer, undefined);
      const n = new FakeNegotiator(fakeSdp(4300, 'alice'));
      const established = waitEvent(call, 'established');
      await call.accept(n);
      await peer.waitFor((all) => all.some((d) => d.text.startsWith('SIP/2.0 200')));
      const ok = peer.received.find((d) => d.text.startsWith('SIP/2.0 200'))?.text ?? '';
      assert.ok(ok.endsWith(n.sdp), '200 OK carries our offer');
      const toTag = /tag=([^;\s]+)/.exec(firstHeader(parseHead(ok), 'to') ?? '')?.[1] ?? '';
      const answer = fakeSdp(4400, 'raw');
      await peer.send(
        buildRequest({
          method: 'ACK',
          uri: `sip:alice@127.0.0.1:${ua.localPort}`,
          viaPort: peer.port,
          branch: 'z9hG4bKnoofferack',
          callId: 'nooffer',
          toTag,
          body: answer,
        }),
        ua.localPort,
      );
      await established;
      const deadline = Date.now() + 2000;
      while (n.remoteAnswer === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(n.calls, ['createOffer', 'applyAnswer']);
      assert.equal(n.remoteAnswer, answer);
    } finally {
      await ua.stop();
      await peer.close();
    }
  });
});
