import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modPowBigint, bigintToBytes, bytesToBigint } from '../../src/bytes/bytes.js';
import {
  P,
  G,
  Q,
  modPow,
  modInv,
  isValidGroupElement,
  randomExponent,
  randomBytes,
  randomBelow,
  constantTimeEqual,
  opensslModulusFor,
  opensslCheckCodesFor,
} from '../../src/otr/crypto/group.js';

// Known answers from shared/reference/otr3-test-vectors.json ("group", "ake"), inlined so the test has no outside file.
const AKE = {
  x: 'bbcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd',
  y: 'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd',
  gx: '75dfab5a1eab059052d0ad881c4938d52669630d61833a367155d67d03a457f619683d0fa829781e974fd24f6865e8128a9312a167b77326a87dea032fc31784d05b18b9cbafebe162ae9b5369f8b0c5911cf1be757f45f2a674be5126a714a6366c28086b3c7088911dcc4e5fb1481ad70a5237b8e4a6aff4954c2ca6df338b9f08691e4c0defe12689b37d4df30ddef2687f789fcf623c5d0cf6f09b7e5e69f481d5fd1b24a77636fb676e6d733d129eb93e81189340233044766a36eb07d',
  gy: '2cdacabb00e63d8949aa85f7e6a095b1ee81a60779e58f8938ff1a7ed1e651d954bd739162e699cc73b820728af53aae60a46d529620792ddf839c5d03d2d4e92137a535b27500e3b3d34d59d0cd460d1f386b5eb46a7404b15c1ef84840697d2d3d2405dcdda351014d24a8717f7b9c51f6c84de365fea634737ae18ba22253a8e15249d9beb2dded640c6c0d74e4f7e19161cf828ce3ffa9d425fb68c0fddcaa7cbe81a7a5c2c595cce69a255059d9e5c04b49fb15901c087e225da850ff27',
  s: 'b15e9eb80f16f4beabcf7ac44c06f0b69b9f890a86a11b6cc2fd29e0f7cd15d9af7c052c4c55dfce929783e339ef094eedcfcaeb9edf896b7e201d46f16ba42dbec0a9738daa37c47a598849735b8b9ac8c98578431f8c7a6a54944ec6d830cb0ffcdf31d39cb8414bd3ddae0c483daf4e80a5990f7618edf648e68935126639d1752f49b2b8a83b170f39dd7d2a2c4ab99cb28684df2c6ee1feff9d171c25059eb6920bdf4cdab2fc0aed4aafeb66a51e938db8ca80881ad219413ecf7e0257',
};
const Q_HEX =
  '7fffffffffffffffe487ed5110b4611a62633145c06e0e68948127044533e63a0105df531d89cd9128a5043cc71a026ef7ca8cd9e69d218d98158536f92f8a1ba7f09ab6b6a8e122f242dabb312f3f637a262174d31bf6b585ffae5b7a035bf6f71c35fdad44cfd2d74f9208be258ff324943328f6722d9ee1003e5c50b1df82cc6d241b0e2ae9cd348b1fd47e9267afc1b2ae91ee51d6cb0e3179ab1042a95dcf6a9483b84b4b36b3861aa7255e4c0278ba36046511b993ffffffffffffffff';
const h = (s: string): bigint => BigInt('0x' + s);

test('group constants match RFC 3526 group 5 and the vector file', () => {
  assert.equal(
    P.toString(16),
    'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca237327ffffffffffffffff',
  );
  assert.equal(G, 2n);
  assert.equal(Q, h(Q_HEX));
  assert.equal(P.toString(2).length, 1536);
  assert.equal(2n * Q + 1n, P);
});

test('modPow: D-H known answers from the AKE vector (g^x, g^y, shared secret)', () => {
  const x = h(AKE.x);
  const y = h(AKE.y);
  assert.equal(modPow(G, x), h(AKE.gx));
  assert.equal(modPow(G, y), h(AKE.gy));
  assert.equal(modPow(h(AKE.gy), x), h(AKE.s));
  assert.equal(modPowBigint(h(AKE.gx), y, P), h(AKE.s));
});

test('modPow: fast path and bigint path agree on edge exponents and bases', () => {
  const bases = [0n, 1n, 2n, 3n, P - 2n, P - 1n, P, P + 1n, P + 2n, -1n, -5n, randomBelow(P), randomBelow(P)];
  const exps = [
    0n,
    1n,
    2n,
    Q - 1n,
    Q,
    Q + 1n,
    P - 2n,
    P - 1n,
    P,
    P + 1n,
    2n * P + 7n,
    1n << 1600n,
    randomBelow(Q),
    randomExponent(),
  ];
  for (const b of bases) {
    for (const e of exps) {
      assert.equal(
        modPow(b, e),
        modPowBigint(b, e, P),
        `base ${b.toString(16).slice(0, 8)} exp ${e.toString(16).slice(0, 8)}`,
      );
    }
  }
  assert.equal(modPow(5n, 0n), 1n);
  assert.equal(modPow(5n, 1n), 5n);
  assert.equal(modPow(2n, Q), 1n); // 2 is a quadratic residue mod P, so it lies in the order-q subgroup
  assert.equal(modPow(P - 1n, 2n), 1n);
  // Results of 1 through the OpenSSL path (a subgroup element raised to q) must not be mangled.
  const qr = modPow(randomBelow(P), 2n);
  assert.equal(modPow(qr, Q), 1n);
  assert.equal(modPow(4n, Q), 1n);
  assert.equal(modPow(P - 4n, Q), P - 1n); // -4 is a non-residue mod P (q is odd)
  assert.equal(modPow(7n, P - 1n), 1n);
});

test('modPow: random inputs agree between the two paths', () => {
  for (let i = 0; i < 25; i++) {
    const b = randomBelow(P);
    const e = bytesToBigint(randomBytes(1 + ((i * 9) % 200)));
    assert.equal(modPow(b, e), modPowBigint(b, e, P));
  }
});

test('modPow: other moduli (1024-bit prime, small, even) agree with the bigint path', () => {
  const p1024 = h(
    'c81c2cb2eb729b7e6fd48e975a932c638b3a9055478583afa46755683e30102447f6da2d8bec9f386bbb5da6403b0040fee8650b6ab2d7f32c55ab017ae9b6aec8c324ab5844784e9a80e194830d548fb7f09a0410df2c4d5c8bc2b3e9ad484e65412be689cf0834694e0839fb2954021521ffdffb8f5c32c14dbf2020b3ce75',
  );
  for (const m of [p1024, 1000003n, 1n << 1024n, Q, 97n, 1n, 2n]) {
    for (const [b, e] of [
      [3n, 12345n],
      [m - 2n, m],
      [randomBelow(m > 2n ? m : 3n), randomExponent()],
      [0n, 0n],
      [m - 1n, 3n],
    ] as const) {
      assert.equal(modPow(b, e, m), modPowBigint(b, e, m));
    }
  }
  assert.equal(modPow(3n, 4n, 7n), 4n);
  assert.throws(() => modPow(2n, -1n), RangeError);
  assert.throws(() => modPow(2n, 3n, 0n), RangeError);
});

test('modPow: no OpenSSL context pays a primality test (named group P; 3m for any other modulus)', () => {
  // DH_check ran ~64 Miller-Rabin rounds on a DSA key's p when its context was built (16-20 ms, the first
  // signature of a process). P is a named group, which DH_check accepts without testing; for another modulus
  // the context is built on 3m, which fails at trial division: DH_CHECK_P_NOT_PRIME (0x01) shows the test stopped
  // there. A context on the prime p itself would report DH_CHECK_P_NOT_SAFE_PRIME (0x02) after the full test.
  const p1024 = h(
    'c81c2cb2eb729b7e6fd48e975a932c638b3a9055478583afa46755683e30102447f6da2d8bec9f386bbb5da6403b0040fee8650b6ab2d7f32c55ab017ae9b6aec8c324ab5844784e9a80e194830d548fb7f09a0410df2c4d5c8bc2b3e9ad484e65412be689cf0834694e0839fb2954021521ffdffb8f5c32c14dbf2020b3ce75',
  );
  assert.equal(opensslModulusFor(P), P);
  assert.equal(opensslCheckCodesFor(P), 0);
  assert.equal(opensslModulusFor(p1024), 3n * p1024);
  assert.equal(opensslCheckCodesFor(p1024)! & 0x03, 0x01);
  // The answers are those of the modulus itself, for secret-sized and full-sized exponents and edge bases.
  for (const [b, e] of [
    [2n, randomExponent(20)],
    [p1024 - 2n, randomExponent(20)],
    [randomBelow(p1024), randomExponent(128)],
    [3n, p1024 - 1n],
  ] as const) {
    assert.equal(modPow(b, e, p1024), modPowBigint(b, e, p1024));
  }
});

test('modPow: many moduli at once (cache eviction) still agree', () => {
  let m = (1n << 700n) + 1n;
  for (let i = 0; i < 40; i++, m += 2n) assert.equal(modPow(12345n, 6789n, m), modPowBigint(12345n, 6789n, m));
  assert.equal(modPow(G, 5n), 32n);
});

test('modInv', () => {
  for (let i = 0; i < 10; i++) {
    const a = randomBelow(P);
    assert.equal((a * modInv(a, P)) % P, 1n);
  }
  assert.equal(modInv(3n, 7n), 5n);
  assert.equal(modInv(-3n, 7n), 2n);
  assert.throws(() => modInv(0n, P), RangeError);
  assert.throws(() => modInv(6n, 9n), RangeError);
});

test('isValidGroupElement: 2..p-2 only', () => {
  for (const bad of [-1n, 0n, 1n, P - 1n, P, P + 1n, 1n << 2000n]) assert.equal(isValidGroupElement(bad), false);
  for (const good of [2n, 3n, P - 2n, randomBelow(P - 3n) + 2n]) assert.equal(isValidGroupElement(good), true);
});

test('bigintToBytes / bytesToBigint', () => {
  assert.deepEqual(bigintToBytes(0n), new Uint8Array(0));
  assert.deepEqual(bigintToBytes(1n), Uint8Array.of(1));
  assert.deepEqual(bigintToBytes(0x1234n), Uint8Array.of(0x12, 0x34));
  assert.deepEqual(bigintToBytes(0x1234n, 4), Uint8Array.of(0, 0, 0x12, 0x34));
  assert.deepEqual(bigintToBytes(0n, 2), Uint8Array.of(0, 0));
  assert.equal(bigintToBytes(P).length, 192);
  assert.throws(() => bigintToBytes(0x123456n, 2), RangeError);
  assert.throws(() => bigintToBytes(-1n), RangeError);
  assert.equal(bytesToBigint(new Uint8Array(0)), 0n);
  assert.equal(bytesToBigint(Uint8Array.of(0, 0, 1, 2)), 0x102n);
  const r = randomBelow(P);
  assert.equal(bytesToBigint(bigintToBytes(r)), r);
  // A subarray view must be read at its own offset.
  const buf = Uint8Array.of(9, 9, 0xab, 0xcd, 9);
  assert.equal(bytesToBigint(buf.subarray(2, 4)), 0xabcdn);
});

test('randomness: lengths, range, non-zero, not repeating', () => {
  assert.equal(randomBytes(0).length, 0);
  assert.equal(randomBytes(33).length, 33);
  assert.notDeepEqual(randomBytes(16), randomBytes(16));
  const e = randomExponent();
  assert.ok(e > 0n && e < 1n << 320n);
  assert.ok(randomExponent(192) < 1n << 1536n);
  assert.notEqual(randomExponent(), randomExponent());
  for (let i = 0; i < 50; i++) {
    const v = randomBelow(5n);
    assert.ok(v >= 1n && v <= 4n);
  }
  assert.throws(() => randomBelow(1n), RangeError);
  assert.throws(() => randomExponent(0), RangeError);
});

test('constantTimeEqual', () => {
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)), true);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)), false);
  assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2)), false);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
});
