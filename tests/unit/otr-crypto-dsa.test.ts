import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { dsaSign, dsaVerify, parsePublicKey, encodeSignature, decodeSignature } from '../../src/otr/crypto/dsa.js';
import {
  generateDsaKey,
  serializePublicKey,
  fingerprint,
  fingerprintHex,
  fingerprintHuman,
  publicKeyOf,
  checkDsaKey,
  type DsaKeyParams,
} from '../../src/keys/dsa-key.js';
import { parsePkcs8DsaDer } from '../../src/keys/pkcs8.js';
import { OtrProtocolError } from '../../src/otr/errors.js';
import { modPow, modInv, randomBytes } from '../../src/otr/crypto/group.js';
import { bigintToBytes, concatBytes, encodeMpi, modPowBigint } from '../../src/bytes/bytes.js';

/** PKCS#8 parsed and checked, as key generation does it. */
function dsaKeyFromPkcs8(der: Uint8Array): DsaKeyParams {
  const key = parsePkcs8DsaDer(der);
  checkDsaKey(key);
  return key;
}

// Known answers from shared/reference/otr3-test-vectors.json ("fingerprint", "reveal_signature_B"), inlined.
const FP = {
  pubkey:
    '000000000080c81c2cb2eb729b7e6fd48e975a932c638b3a9055478583afa46755683e30102447f6da2d8bec9f386bbb5da6403b0040fee8650b6ab2d7f32c55ab017ae9b6aec8c324ab5844784e9a80e194830d548fb7f09a0410df2c4d5c8bc2b3e9ad484e65412be689cf0834694e0839fb2954021521ffdffb8f5c32c14dbf2020b3ce7500000014da4591d58def96de61aea7b04a8405fe1609308d000000808ddd5cb0b9d66956e3dea5a915d9aba9d8a6e7053b74dadb2fc52f9fe4e5bcc487d2305485ed95fed026ad93f06ebb8c9e8baf693b7887132c7ffdd3b0f72f4002ff4ed56583ca7c54458f8c068ca3e8a4dfa309d1dd5d34e2a4b68e6f4338835e5e0fb4317c9e4c7e4806dafda3ef459cd563775a586dd91b1319f72621bf3f00000080b8147e74d8c45e6318c37731b8b33b984a795b3653c2cd1d65cc99efe097cb7eb2fa49569bab5aab6e8a1c261a27d0f7840a5e80b317e6683042b59b6dceca2879c6ffc877a465be690c15e4a42f9a7588e79b10faac11b1ce3741fcef7aba8ce05327a2c16d279ee1b3d77eb783fb10e3356caa25635331e26dd42b8396c4d0',
  x: '20bec691fea37ecea58a5c717142f0b804452f57',
  fp: '0bb01c360424522e94ee9c346ce877a1a4288b2f',
  human: '0BB01C36 0424522E 94EE9C34 6CE877A1 A4288B2F',
  wrongWithType: '8b31ddfd46fa072931e439cbaeeabbe9b26d8129',
};
const SIG_B = {
  pubkey:
    '000000000080a5138eb3d3eb9c1d85716faecadb718f87d31aaed1157671d7fee7e488f95e8e0ba60ad449ec732710a7dec5190f7182af2e2f98312d98497221dff160fd68033dd4f3a33b7c078d0d9f66e26847e76ca7447d4bab35486045090572863d9e4454777f24d6706f63e02548dfec2d0a620af37bbc1d24f884708a212c343b480d00000014e9c58f0ea21a5e4dfd9f44b6a9f7f6a9961a8fa9000000803c4d111aebd62d3c50c2889d420a32cdf1e98b70affcc1fcf44d59cca2eb019f6b774ef88153fb9b9615441a5fe25ea2d11b74ce922ca0232bd81b3c0fcac2a95b20cb6e6c0c5c1ace2e26f65dc43c751af0edbb10d669890e8ab6beea91410b8b2187af1a8347627a06ecea7e0f772c28aae9461301e83884860c9b656c722f0000008065af8625a555ea0e008cd04743671a3cda21162e83af045725db2eb2bb52712708dc0cc1a84c08b3649b88a966974bde27d8612c2861792ec9f08786a246fcadd6d8d3a81a32287745f309238f47618c2bd7612cb8b02d940571e0f30b96420bcd462ff542901b46109b1e5ad6423744448d20a57818a8cbb1647d0fea3b664e',
  mB: '122773a99f5eafbaaa04b419b5c417b9949ce11bf199ea1bee3586619b94bb29',
  r: '86e8158880882a85ca444ce5c31641ff321864ce',
  s: '0a23707826c7f5181638512ca79ebeb319986f4b',
  fp: '8798faa7735267fb8457733098482e94096d4abd',
};
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const h = (s: string): bigint => BigInt('0x' + s);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function vectorKey(): DsaKeyParams {
  const { key } = parsePublicKey(hex(FP.pubkey), 0);
  return { ...key, x: h(FP.x) };
}

test('fingerprint known answer: SHA-1 over PUBKEY without the type bytes', () => {
  const { key, next } = parsePublicKey(hex(FP.pubkey), 0);
  assert.equal(next, FP.pubkey.length / 2);
  assert.equal(toHex(fingerprint(key)), FP.fp);
  assert.notEqual(toHex(fingerprint(key)), FP.wrongWithType);
  assert.equal(fingerprintHuman(fingerprint(key)), FP.human);
  assert.equal(fingerprintHex(fingerprint(key)), FP.fp.toUpperCase());
  assert.equal(toHex(serializePublicKey(key)), FP.pubkey);
  // The private x of the vector matches its y.
  assert.equal(modPow(key.g, h(FP.x), key.p), key.y);
});

test('fingerprint formatting follows libotr (five groups of eight upper-case hex digits)', () => {
  const fp = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRST');
  assert.equal(fingerprintHuman(fp), '41424344 45464748 494A4B4C 4D4E4F50 51525354');
  assert.equal(fingerprintHex(fp), '4142434445464748494A4B4C4D4E4F5051525354');
  assert.throws(() => fingerprintHuman(new Uint8Array(19)), RangeError);
});

test('dsaVerify known answer: libotr/coyim signature over M_B taken mod q (not truncated)', () => {
  const { key } = parsePublicKey(hex(SIG_B.pubkey), 0);
  assert.equal(toHex(fingerprint(key)), SIG_B.fp);
  const sig = { r: h(SIG_B.r), s: h(SIG_B.s) };
  assert.equal(dsaVerify(key, hex(SIG_B.mB), sig), true);
  // Truncating the 256-bit hash to q's 160 bits (FIPS 186-3 style) must NOT verify: OTR reduces mod q.
  assert.equal(dsaVerify(key, hex(SIG_B.mB).subarray(0, 20), sig), false);
  const flipped = hex(SIG_B.mB);
  flipped[31]! ^= 1;
  assert.equal(dsaVerify(key, flipped, sig), false);
  assert.equal(dsaVerify(key, hex(SIG_B.mB), { r: sig.r, s: sig.s ^ 1n }), false);
  assert.equal(dsaVerify(key, hex(SIG_B.mB), { r: sig.r ^ 1n, s: sig.s }), false);
});

test('dsaSign/dsaVerify round trip with the vector key, fresh k every time', () => {
  const key = vectorKey();
  const msg = randomBytes(32);
  const a = dsaSign(key, msg);
  const b = dsaSign(key, msg);
  assert.notEqual(a.r, b.r, 'k must differ between two signatures of the same hash');
  assert.equal(dsaVerify(key, msg, a), true);
  assert.equal(dsaVerify(key, msg, b), true);
  assert.equal(dsaVerify(publicKeyOf(key), randomBytes(32), a), false);
  // A hash longer than q: the integer taken mod q is what is signed.
  const long = randomBytes(32);
  const sig = dsaSign(key, long);
  const reduced = bigintToBytes(BigInt('0x' + toHex(long)) % key.q, 20);
  assert.equal(dsaVerify(key, reduced, sig), true);
});

test('dsaVerify rejects out-of-range r/s and nonsense keys without throwing', () => {
  const key = vectorKey();
  const msg = randomBytes(32);
  const sig = dsaSign(key, msg);
  for (const bad of [
    { r: 0n, s: sig.s },
    { r: sig.r, s: 0n },
    { r: key.q, s: sig.s },
    { r: sig.r, s: key.q },
    { r: sig.r + key.q, s: sig.s },
    { r: -1n, s: sig.s },
  ]) {
    assert.equal(dsaVerify(key, msg, bad), false);
  }
  assert.equal(dsaVerify({ ...key, q: 0n }, msg, sig), false);
  assert.equal(dsaVerify({ ...key, y: 1n }, msg, sig), false);
  assert.equal(dsaVerify({ ...key, g: key.p }, msg, sig), false);
  assert.equal(dsaVerify({ ...key, q: key.q * 2n }, msg, sig), false);
});

test('generateDsaKey: 1024/160 key from OpenSSL, consistent, signs and verifies', () => {
  const key = generateDsaKey();
  assert.equal(key.p.toString(2).length, 1024);
  assert.equal(key.q.toString(2).length, 160);
  assert.equal(modPow(key.g, key.x, key.p), key.y);
  assert.equal(modPow(key.g, key.q, key.p), 1n);
  assert.equal((key.p - 1n) % key.q, 0n);
  const msg = randomBytes(32);
  assert.equal(dsaVerify(key, msg, dsaSign(key, msg)), true);
  const parsed = parsePublicKey(serializePublicKey(publicKeyOf(key)), 0);
  assert.deepEqual(parsed.key, publicKeyOf(key));
  assert.equal(fingerprintHex(fingerprint(key)).length, 40);
});

test('dsaSign (OpenSSL context on 3p, no prime check): signatures from the vector key and OpenSSL-made keys verify', () => {
  // The textbook DSA check written out here with the bigint reference path, besides dsaVerify itself.
  const textbook = (k: DsaKeyParams, msg: Uint8Array, sig: { r: bigint; s: bigint }): boolean => {
    const w = modInv(sig.s, k.q);
    const hm = BigInt('0x' + toHex(msg)) % k.q;
    return ((modPowBigint(k.g, (hm * w) % k.q, k.p) * modPowBigint(k.y, (sig.r * w) % k.q, k.p)) % k.p) % k.q === sig.r;
  };
  const keys = [vectorKey(), generateDsaKey(), generateDsaKey()];
  for (const key of keys) {
    for (let i = 0; i < 8; i++) {
      const msg = randomBytes(32);
      const sig = dsaSign(key, msg);
      assert.ok(sig.r > 0n && sig.r < key.q && sig.s > 0n && sig.s < key.q);
      assert.equal(dsaVerify(publicKeyOf(key), msg, sig), true);
      assert.equal(textbook(key, msg, sig), true);
      msg[0]! ^= 0x80;
      assert.equal(dsaVerify(publicKeyOf(key), msg, sig), false);
    }
  }
});

test('dsaKeyFromPkcs8 reads the same y as the SPKI export', () => {
  const { privateKey, publicKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  const key = dsaKeyFromPkcs8(new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })));
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
  assert.ok(spki.includes(key.y.toString(16).padStart(256, '0')));
  assert.throws(() => dsaKeyFromPkcs8(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)));
});

test('SIG encoding: r and s padded to 20 bytes each', () => {
  const sig = { r: 5n, s: h(SIG_B.s) };
  const enc = encodeSignature(sig);
  assert.equal(enc.length, 40);
  assert.deepEqual(decodeSignature(concatBytes(Uint8Array.of(9), enc), 1), { sig, next: 41 });
  assert.throws(() => decodeSignature(enc.subarray(0, 39), 0), OtrProtocolError);
});

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof OtrProtocolError && e.code === code);
}

test('parsePublicKey: hostile inputs give OtrProtocolError with a specific code', () => {
  const good = hex(FP.pubkey);
  const { key } = parsePublicKey(good, 0);
  // Offsets and trailing data.
  const padded = concatBytes(Uint8Array.of(1, 2, 3), good, Uint8Array.of(7));
  assert.equal(parsePublicKey(padded, 3).next, 3 + good.length);
  for (let cut = 0; cut < good.length; cut += 37)
    expectCode(() => parsePublicKey(good.subarray(0, cut), 0), 'truncated');
  expectCode(() => parsePublicKey(good.subarray(0, good.length - 1), 0), 'truncated');
  expectCode(() => parsePublicKey(good, good.length), 'truncated');
  // Type other than DSA.
  const typed = good.slice();
  typed[1] = 1;
  expectCode(() => parsePublicKey(typed, 0), 'bad-pubkey');
  // A length field claiming 4 GB is refused before anything is read.
  const huge = good.slice();
  huge.set([0xff, 0xff, 0xff, 0xff], 2);
  expectCode(() => parsePublicKey(huge, 0), 'oversized');
  const build = (p: bigint, q: bigint, g: bigint, y: bigint, pEnc?: Uint8Array): Uint8Array =>
    concatBytes(Uint8Array.of(0, 0), pEnc ?? encodeMpi(p), encodeMpi(q), encodeMpi(g), encodeMpi(y));
  // Non-minimal MPI (leading zero byte).
  const pBytes = bigintToBytes(key.p);
  const nonMinimal = concatBytes(Uint8Array.of(0, 0, 0, pBytes.length + 1, 0), pBytes);
  expectCode(() => parsePublicKey(build(key.p, key.q, key.g, key.y, nonMinimal), 0), 'bad-mpi');
  // Range checks on q, g, y and p.
  expectCode(() => parsePublicKey(build(key.p, key.q >> 8n, key.g, key.y), 0), 'bad-pubkey');
  expectCode(() => parsePublicKey(build(key.p, key.q << 8n, key.g, key.y), 0), 'oversized');
  for (const g of [0n, 1n, key.p]) expectCode(() => parsePublicKey(build(key.p, key.q, g, key.y), 0), 'bad-pubkey');
  for (const y of [0n, 1n, key.p]) expectCode(() => parsePublicKey(build(key.p, key.q, key.g, y), 0), 'bad-pubkey');
  expectCode(() => parsePublicKey(build(key.p + 1n, key.q, key.g, key.y), 0), 'bad-pubkey');
  expectCode(() => parsePublicKey(build(1000003n, key.q, 2n, 3n), 0), 'bad-pubkey');
  expectCode(() => parsePublicKey(build(key.p, key.q, key.g, key.p * 256n), 0), 'oversized');
});
