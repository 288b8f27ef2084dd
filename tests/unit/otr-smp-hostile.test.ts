// Hostile SMP input: every malformed or forged TLV must end in a 'cheated' event, an abort TLV to send,
// and SMPSTATE_EXPECT1 — never an exception out of receive().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Smp,
  smpSecret,
  encodeSmpPayload,
  decodeSmpPayload,
  TLV_SMP1,
  TLV_SMP1Q,
  TLV_SMP2,
  TLV_SMP3,
  TLV_SMP4,
  TLV_SMP_ABORT,
  type Tlv,
} from '../../src/otr/smp.js';
import { P, Q, G, modPow, randomBytes } from '../../src/otr/crypto/group.js';
import { bigintToBytes, concatBytes } from '../../src/bytes/bytes.js';

const secret = (s: string): Uint8Array =>
  smpSecret(
    new Uint8Array(20).fill(0xaa),
    new Uint8Array(20).fill(0xbb),
    new Uint8Array(8).fill(1),
    new TextEncoder().encode(s),
  );

type Stage = 1 | 2 | 3 | 4;
interface Layout {
  type: number;
  count: number;
  elements: number[];
  exponents: number[];
  hashes: number[];
}
const LAYOUT: Record<Stage, Layout> = {
  1: { type: TLV_SMP1, count: 6, elements: [0, 3], exponents: [2, 5], hashes: [1, 4] },
  2: { type: TLV_SMP2, count: 11, elements: [0, 3, 6, 7], exponents: [2, 5, 9, 10], hashes: [1, 4, 8] },
  3: { type: TLV_SMP3, count: 8, elements: [0, 1, 5], exponents: [3, 4, 7], hashes: [2, 6] },
  4: { type: TLV_SMP4, count: 3, elements: [0], exponents: [2], hashes: [1] },
};

/** A receiver in the state that expects the stage's message, and a valid such message from its peer. */
function setup(stage: Stage): { receiver: Smp; tlv: Tlv } {
  const a = new Smp();
  const b = new Smp();
  const t1 = a.start(secret('s'));
  if (stage === 1) return { receiver: b, tlv: t1 };
  b.receive(t1);
  const t2 = b.respond(secret('s'));
  if (stage === 2) return { receiver: a, tlv: t2 };
  const t3 = a.receive(t2).reply!;
  if (stage === 3) return { receiver: b, tlv: t3 };
  const t4 = b.receive(t3).reply!;
  return { receiver: a, tlv: t4 };
}

function expectCheated(receiver: Smp, tlv: Tlv, why: string, reason?: RegExp): void {
  let out: ReturnType<Smp['receive']> | undefined;
  assert.doesNotThrow(() => {
    out = receiver.receive(tlv);
  }, why);
  assert.equal(out!.event?.type, 'cheated', why);
  if (reason) assert.match((out!.event as { reason: string }).reason, reason, why);
  assert.deepEqual(out!.reply, { type: TLV_SMP_ABORT, value: new Uint8Array(0) }, why);
  assert.equal(receiver.inProgress, false, why);
  assert.equal(receiver.state, 'expect1', why);
}

function withValue(stage: Stage, idx: number, value: bigint): { receiver: Smp; tlv: Tlv } {
  const { receiver, tlv } = setup(stage);
  const mpis = decodeSmpPayload(tlv.value, LAYOUT[stage].count);
  mpis[idx] = value;
  return { receiver, tlv: { type: tlv.type, value: encodeSmpPayload(mpis) } };
}

for (const stage of [1, 2, 3, 4] as const) {
  const L = LAYOUT[stage];

  test(`SMP${stage}: the unmodified message is accepted (control)`, () => {
    const { receiver, tlv } = setup(stage);
    const out = receiver.receive(tlv);
    assert.notEqual(out.event?.type, 'cheated');
    assert.notEqual(out.reply?.type, TLV_SMP_ABORT);
  });

  test(`SMP${stage}: group elements 0, 1, p-1, p are refused`, () => {
    for (const idx of L.elements) {
      for (const v of [0n, 1n, P - 1n, P]) {
        const { receiver, tlv } = withValue(stage, idx, v);
        expectCheated(receiver, tlv, `element #${idx} = ${v === P ? 'p' : v}`, /group element out of range|oversized/);
      }
    }
  });

  test(`SMP${stage}: exponents 0, q, q+1, p are refused`, () => {
    for (const idx of L.exponents) {
      for (const v of [0n, Q, Q + 1n, P]) {
        const { receiver, tlv } = withValue(stage, idx, v);
        expectCheated(receiver, tlv, `exponent #${idx}`, /exponent out of range/);
      }
    }
  });

  test(`SMP${stage}: forged proofs (changed c, D, or an in-range element) are refused`, () => {
    const { tlv: original } = setup(stage);
    const mpis = decodeSmpPayload(original.value, L.count);
    for (const idx of L.hashes) {
      const { receiver, tlv } = withValue(stage, idx, mpis[idx]! ^ 1n);
      expectCheated(receiver, tlv, `hash #${idx}`, /does not verify/);
    }
    for (const idx of L.exponents) {
      const { receiver, tlv } = withValue(stage, idx, (mpis[idx]! + 1n) % Q || 1n);
      expectCheated(receiver, tlv, `D #${idx}`, /does not verify/);
    }
    for (const idx of L.elements) {
      const { receiver, tlv } = withValue(stage, idx, modPow(G, 12345n));
      expectCheated(receiver, tlv, `element #${idx}`, /does not verify/);
    }
  });

  test(`SMP${stage}: wrong MPI counts, truncation, trailing bytes, bad MPI encodings`, () => {
    const { tlv: original } = setup(stage);
    const v = original.value;
    const mpis = decodeSmpPayload(v, L.count);
    const cases: [string, Uint8Array][] = [
      ['one MPI too few', encodeSmpPayload(mpis.slice(0, -1))],
      ['one MPI too many', encodeSmpPayload([...mpis, 5n])],
      ['count field says one more', concatBytes(bigintToBytes(BigInt(L.count + 1), 4), v.subarray(4))],
      ['count field says 2^32-1', concatBytes(Uint8Array.of(0xff, 0xff, 0xff, 0xff), v.subarray(4))],
      ['empty payload', new Uint8Array(0)],
      ['three bytes', v.subarray(0, 3)],
      ['count only', v.subarray(0, 4)],
      ['cut inside the first MPI length', v.subarray(0, 6)],
      ['cut inside the first MPI value', v.subarray(0, 20)],
      ['one byte short', v.subarray(0, v.length - 1)],
      ['trailing byte', concatBytes(v, Uint8Array.of(0))],
      ['first MPI claims 4 GB', concatBytes(v.subarray(0, 4), Uint8Array.of(0xff, 0xff, 0xff, 0xff), v.subarray(8))],
      ['first MPI of 193 bytes', concatBytes(v.subarray(0, 4), Uint8Array.of(0, 0, 0, 193, 1), new Uint8Array(192))],
      ['non-minimal MPI', encodeNonMinimalFirst(mpis)],
    ];
    for (const [why, value] of cases) {
      const { receiver } = setup(stage);
      expectCheated(receiver, { type: original.type, value }, why, /malformed SMP message/);
    }
  });

  test(`SMP${stage}: random bytes never throw`, () => {
    for (let i = 0; i < 4; i++) {
      const { receiver, tlv } = setup(stage);
      const junk = i % 2 === 0 ? randomBytes(i * 37) : concatBytes(tlv.value.subarray(0, 4), randomBytes(i * 50));
      expectCheated(receiver, { type: tlv.type, value: junk }, `junk ${i}`);
    }
  });
}

function encodeNonMinimalFirst(mpis: bigint[]): Uint8Array {
  const rest = encodeSmpPayload(mpis.slice(1)).subarray(4);
  const first = bigintToBytes(mpis[0]!);
  return concatBytes(
    bigintToBytes(BigInt(mpis.length), 4),
    bigintToBytes(BigInt(first.length + 1), 4),
    Uint8Array.of(0),
    first,
    rest,
  );
}

test('SMP1Q: a question without its NUL terminator is refused; garbage after the NUL too', () => {
  const { tlv } = setup(1);
  expectCheated(new Smp(), { type: TLV_SMP1Q, value: new TextEncoder().encode('no terminator here') }, 'no NUL', /NUL/);
  expectCheated(
    new Smp(),
    { type: TLV_SMP1Q, value: concatBytes(new TextEncoder().encode('q'), Uint8Array.of(0), randomBytes(40)) },
    'junk',
  );
  // An SMP1 payload sent as 1Q whose first byte is not NUL: the question runs to the first NUL inside the count.
  const out = new Smp().receive({ type: TLV_SMP1Q, value: concatBytes(Uint8Array.of(0x41), tlv.value) });
  assert.equal(out.event?.type, 'cheated');
  // Invalid UTF-8 in the question is shown with replacement characters, not refused.
  const ok = new Smp().receive({ type: TLV_SMP1Q, value: concatBytes(Uint8Array.of(0xff, 0xfe, 0), tlv.value) });
  assert.deepEqual(ok.event, { type: 'asked', question: '\ufffd\ufffd' });
});

test('a cheating peer cannot make the receiver report success: abort state is clean afterwards', () => {
  // After a cheated event the same instance runs a clean exchange.
  const { receiver, tlv } = withValue(1, 0, 1n);
  expectCheated(receiver, tlv, 'g2a = 1');
  const a = new Smp();
  receiver.receive(a.start(secret('k')));
  const r3 = receiver.receive(a.receive(receiver.respond(secret('k'))).reply!);
  assert.deepEqual(r3.event, { type: 'success' });
});
