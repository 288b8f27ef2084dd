// The start-up rehearsal (src/chat/rehearsal.ts) in-process: two throwaway SIP user agents on 127.0.0.1 call each
// other, the MSRP stream connects, OTR runs its AKE and one message each way, and everything is closed again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rehearseChat } from '../../src/chat/rehearsal.js';
import { generateDsaKey } from '../../src/keys/dsa-key.js';
import { SipUserAgent } from '../../src/sip/ua.js';

const key = generateDsaKey();

for (const transport of ['udp', 'tcp'] as const) {
  test(
    `rehearsal over ${transport}: a whole chat (SIP call, MSRP, OTR AKE, a message each way) and nothing left open`,
    { timeout: 30000 },
    async () => {
      const made: SipUserAgent[] = [];
      const logs: string[] = [];
      const r = await rehearseChat({
        key,
        host: '127.0.0.1',
        makeUa: (user) => {
          const ua = new SipUserAgent({ user, transport, host: '127.0.0.1', port: 0 });
          made.push(ua);
          return ua;
        },
        busy: () => false,
        log: (m) => logs.push(m),
      });
      assert.deepEqual(logs, []);
      assert.deepEqual(r.steps, ['sip+msrp', 'otr', 'data']);
      assert.equal(r.encrypted, true);
      assert.equal(made.length, 2);
      for (const ua of made) assert.equal(ua.activeCalls, 0, 'the rehearsal call is over');
      // Stopped user agents refuse new calls: the rehearsal stopped both.
      for (const ua of made) assert.throws(() => ua.call('sip:x@127.0.0.1:9', null as never));
    },
  );
}

test(
  'rehearsal gives way: nothing runs once a real chat has begun, and it stops between steps',
  { timeout: 30000 },
  async () => {
    let made = 0;
    const none = await rehearseChat({
      key,
      host: '127.0.0.1',
      makeUa: (user) => (made++, new SipUserAgent({ user, transport: 'tcp', host: '127.0.0.1', port: 0 })),
      busy: () => true,
      log: () => undefined,
    });
    assert.deepEqual(none.steps, []);
    assert.equal(made, 0);
    // Busy from the fourth check on (the checks: at the start, SIP started, the call up, MSRP bound): the call
    // runs, the OTR part does not.
    let checks = 0;
    const part = await rehearseChat({
      key,
      host: '127.0.0.1',
      makeUa: (user) => new SipUserAgent({ user, transport: 'tcp', host: '127.0.0.1', port: 0 }),
      busy: () => ++checks > 3,
      log: () => undefined,
    });
    assert.deepEqual(part.steps, ['sip+msrp']);
    assert.equal(part.encrypted, false);
  },
);

test('rehearsal answers only its own caller: another INVITE to its callee is refused', { timeout: 30000 }, async () => {
  const refused: number[] = [];
  let accepted = 0;
  const intruder = {
    callId: 'not-the-rehearsal-call',
    reject: async (code: number) => void refused.push(code),
    accept: async () => void accepted++,
  };
  const r = await rehearseChat({
    key,
    host: '127.0.0.1',
    makeUa: (user) => {
      const ua = new SipUserAgent({ user, transport: 'tcp', host: '127.0.0.1', port: 0 });
      if (user === 'rehearsal-b') {
        // Another caller's INVITE arrives first, as soon as the rehearsal listens for INVITEs.
        const emitter = ua as unknown as NodeJS.EventEmitter;
        emitter.on('newListener', (ev: string | symbol) => {
          if (ev === 'invite') setImmediate(() => emitter.emit('invite', intruder));
        });
      }
      return ua;
    },
    busy: () => false,
    log: () => undefined,
  });
  assert.deepEqual(refused, [603]);
  assert.equal(accepted, 0);
  assert.deepEqual(r.steps, ['sip+msrp', 'otr', 'data']);
});
