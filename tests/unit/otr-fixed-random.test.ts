// OtrSession's injectable randomness (opts.random): with a fixed source an exchange is a byte-exact fixture,
// as coyim/otr3's tests do with a fixed reader. The AKE's r, x, y and signature nonce input, the new D-H keys of
// the data phase and SMP's exponents all come from it; the default stays node:crypto's CSPRNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { OtrSession, type OtrEvent } from '../../src/otr/index.js';
import { modPowBigint } from '../../src/bytes/bytes.js';
import { parsePublicKey, type DsaKeyParams } from '../../src/keys/dsa-key.js';

// The DSA domain and x of the "fingerprint" vector in shared/reference/otr3-test-vectors.json (as in
// otr-crypto-dsa.test.ts); Bob's key shares the domain with an x of our own, so both keys are fixed too.
const VECTOR_PUBKEY =
  '000000000080c81c2cb2eb729b7e6fd48e975a932c638b3a9055478583afa46755683e30102447f6da2d8bec9f386bbb5da6403b0040fee8650b6ab2d7f32c55ab017ae9b6aec8c324ab5844784e9a80e194830d548fb7f09a0410df2c4d5c8bc2b3e9ad484e65412be689cf0834694e0839fb2954021521ffdffb8f5c32c14dbf2020b3ce7500000014da4591d58def96de61aea7b04a8405fe1609308d000000808ddd5cb0b9d66956e3dea5a915d9aba9d8a6e7053b74dadb2fc52f9fe4e5bcc487d2305485ed95fed026ad93f06ebb8c9e8baf693b7887132c7ffdd3b0f72f4002ff4ed56583ca7c54458f8c068ca3e8a4dfa309d1dd5d34e2a4b68e6f4338835e5e0fb4317c9e4c7e4806dafda3ef459cd563775a586dd91b1319f72621bf3f00000080b8147e74d8c45e6318c37731b8b33b984a795b3653c2cd1d65cc99efe097cb7eb2fa49569bab5aab6e8a1c261a27d0f7840a5e80b317e6683042b59b6dceca2879c6ffc877a465be690c15e4a42f9a7588e79b10faac11b1ce3741fcef7aba8ce05327a2c16d279ee1b3d77eb783fb10e3356caa25635331e26dd42b8396c4d0';
const VECTOR_X = 0x20bec691fea37ecea58a5c717142f0b804452f57n;
const { key: domain } = parsePublicKey(Uint8Array.from(Buffer.from(VECTOR_PUBKEY, 'hex')), 0);
const keyA: DsaKeyParams = { ...domain, x: VECTOR_X };
const xB = 0x1234567890abcdef1234567890abcdef12345678n % domain.q;
const keyB: DsaKeyParams = { p: domain.p, q: domain.q, g: domain.g, x: xB, y: modPowBigint(domain.g, xB, domain.p) };

/** A deterministic byte stream: SHA-256(seed || block counter), block after block. */
function fixedRandom(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    while (pool.length < n) {
      const block = createHash('sha256').update(seed).update(String(counter++)).digest();
      const next = new Uint8Array(pool.length + block.length);
      next.set(pool);
      next.set(block, pool.length);
      pool = next;
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}

interface Run {
  transcript: string[];
  events: OtrEvent[];
}

/**
 * Alice queries, the AKE runs, one message goes each way, then an SMP run with a question: every wire string
 * either side sends, in order. `seed` null: the default CSPRNG.
 */
function exchange(seed: string | null): Run {
  const opts = (who: string) => ({
    now: () => 0, // no heartbeats: the clock never moves
    ...(seed === null ? {} : { random: fixedRandom(`${seed}/${who}`) }),
  });
  const alice = new OtrSession({ key: keyA, instanceTag: 0x101, ...opts('alice') });
  const bob = new OtrSession({ key: keyB, instanceTag: 0x202, ...opts('bob') });
  const transcript: string[] = [];
  const events: OtrEvent[] = [];
  const queue: { to: OtrSession; wire: string }[] = [];
  const out = (from: OtrSession, evs: OtrEvent[]) => {
    for (const e of evs) {
      events.push(e);
      if (e.type !== 'send') continue;
      for (const w of e.wire) {
        transcript.push(`${from === alice ? 'A' : 'B'} ${w}`);
        queue.push({ to: from === alice ? bob : alice, wire: w });
      }
    }
  };
  const pump = () => {
    for (let i = 0; queue.length > 0; i++) {
      assert.ok(i < 100, 'the exchange must settle');
      const { to, wire } = queue.shift()!;
      out(to, to.receive(wire));
    }
  };
  out(alice, alice.start());
  pump();
  assert.equal(alice.state, 'encrypted');
  assert.equal(bob.state, 'encrypted');
  out(alice, alice.send('hello bob'));
  pump();
  out(bob, bob.send('hello alice'));
  pump();
  out(alice, alice.smpStart('shared secret', 'what do we share?'));
  pump();
  out(bob, bob.smpRespond('shared secret'));
  pump();
  assert.ok(
    events.some((e) => e.type === 'smp' && e.event.type === 'success'),
    'SMP succeeds',
  );
  return { transcript, events };
}

const digest = (t: string[]): string => createHash('sha256').update(t.join('\n')).digest('hex');

test('fixed randomness: two runs give byte-identical transcripts (AKE, data, SMP), another seed differs', () => {
  const one = exchange('seed-1');
  const two = exchange('seed-1');
  assert.deepEqual(two.transcript, one.transcript);
  // Query, D-H Commit, D-H Key, Reveal Signature, Signature, then data and SMP messages.
  assert.ok(one.transcript.length >= 9, `transcript has ${one.transcript.length} messages`);
  const other = exchange('seed-2');
  assert.equal(other.transcript.length, one.transcript.length);
  assert.equal(other.transcript[0], one.transcript[0], 'the Query Message has no randomness');
  // Every later message carries something random (r, g^x, g^y, the signatures, D-H keys, SMP values).
  for (let i = 1; i < one.transcript.length; i++)
    assert.notEqual(other.transcript[i], one.transcript[i], `message ${i}`);
});

test('fixed randomness: the transcript is a fixture (same digest in every process)', () => {
  // Pinned: if this changes, something in the wire format, key derivation or use of randomness changed.
  assert.equal(digest(exchange('seed-1').transcript), FIXTURE_DIGEST);
});

test('without opts.random the CSPRNG is used: two runs differ', () => {
  const a = exchange(null);
  const b = exchange(null);
  assert.notEqual(a.transcript[1], b.transcript[1], 'D-H Commits');
  assert.notDeepEqual(a.transcript, b.transcript);
});

const FIXTURE_DIGEST = 'c99acd3756d0f80b6ac603afbad021898e08e6592dea625a2b50c31b54cdce57';
