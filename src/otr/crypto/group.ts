// The 1536-bit MODP group (RFC 3526 group 5) that OTR uses for its D-H exchanges and for SMP, plus the
// randomness the engine uses: node:crypto's CSPRNG by default, or a RandomSource the caller injects (fixed
// transcripts in tests). Byte/bigint helpers and the bigint modPow live in src/bytes.
import { createDiffieHellman, randomBytes as nodeRandomBytes, type DiffieHellman } from 'node:crypto';
import { bigintToBytes, bitLength, bytesToBigint, modPowBigint } from '../../bytes/bytes.js';

// The engine's callers take the byte comparison from here with the rest of the group's helpers.
export { constantTimeEqual } from '../../bytes/bytes.js';

/** Where random bytes come from: node:crypto's CSPRNG unless a caller (a test fixture) passes its own. */
export type RandomSource = (n: number) => Uint8Array;

export const P: bigint = BigInt(
  '0x' +
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74' +
    '020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
    '4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05' +
    '98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB' +
    '9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF',
);
export const G: bigint = 2n;
export const Q: bigint = (P - 1n) / 2n;

/** Byte length of P: D-H values and SMP group elements are at most this long. */
export const P_BYTES = 192;

// --- modular exponentiation -------------------------------------------------------------------------

// One DiffieHellman object per modulus: constructing one costs far more than an exponentiation,
// and JavaScript's single thread makes the setPrivateKey/computeSecret pair atomic.
//
// node's DiffieHellman constructor always runs OpenSSL's DH_check, which tests the modulus for primality
// (Miller-Rabin, ~64 rounds) unless it is a named group. OTR's P is one (RFC 3526 group 5), so its context is
// cheap; a DSA key's 1024-bit p is not, and its context costs 16-20 ms: the first signature of every process,
// paid inside the first AKE. Any other modulus m therefore gets its context built on 3m, which DH_check's trial
// division rejects at once; (b^e mod 3m) mod m = b^e mod m, and the exponentiation stays OpenSSL's constant-time
// ladder (one 64-bit limb longer: ~0.05 ms more per exponentiation at 1024 bits).
interface DhContext {
  dh: DiffieHellman;
  /** The modulus OpenSSL works with: `mod` itself (named groups) or 3 * mod. */
  modulus: bigint;
}
const dhCache = new Map<bigint, DhContext | null>();
const DH_CACHE_MAX = 16;
// OpenSSL refuses small D-H moduli; below this the bigint path is used directly.
const DH_MIN_BITS = 512;
const DH_MAX_BITS = 8192;

/** The modulus an OpenSSL context for `mod` is built on (exported for the tests). */
export function opensslModulusFor(mod: bigint): bigint {
  return mod === P ? mod : 3n * mod;
}

function dhFor(mod: bigint): DhContext | null {
  const cached = dhCache.get(mod);
  if (cached !== undefined) return cached;
  let ctx: DhContext | null = null;
  const modulus = opensslModulusFor(mod);
  const bits = bitLength(modulus);
  if ((mod & 1n) === 1n && bits >= DH_MIN_BITS && bits <= DH_MAX_BITS) {
    try {
      ctx = { dh: createDiffieHellman(bigintToBytes(modulus), bigintToBytes(2n)), modulus };
    } catch {
      ctx = null;
    }
  }
  if (dhCache.size >= DH_CACHE_MAX) {
    for (const k of dhCache.keys()) {
      if (k !== P) {
        dhCache.delete(k);
        break;
      }
    }
  }
  dhCache.set(mod, ctx);
  return ctx;
}

/** OpenSSL's DH_check result for the context `modPow` uses with `mod` (null: none, the bigint path serves it). */
export function opensslCheckCodesFor(mod: bigint): number | null {
  const ctx = dhFor(mod);
  return ctx === null ? null : ctx.dh.verifyError;
}

/**
 * base^exp mod `mod`. Uses OpenSSL (constant-time Montgomery ladder for the private exponent) through
 * node:crypto's DiffieHellman when the inputs are ones OpenSSL accepts as a D-H key pair, and the
 * bigint path otherwise. OpenSSL rejects bases outside 2..m-2 and exponents e with 2^e = 1 (mod m),
 * e.g. 0, q and p-1 for the OTR group: those fall back, so both paths give the same answers.
 */
export function modPow(base: bigint, exp: bigint, mod: bigint = P): bigint {
  if (mod <= 0n) throw new RangeError('modPow: modulus must be positive');
  if (exp < 0n) throw new RangeError('modPow: negative exponent');
  let b = base % mod;
  if (b < 0n) b += mod;
  if (exp > 1n && b >= 2n && b <= mod - 2n) {
    const ctx = dhFor(mod);
    if (ctx !== null) {
      try {
        ctx.dh.setPrivateKey(bigintToBytes(exp));
        const r = bytesToBigint(ctx.dh.computeSecret(bigintToBytes(b)));
        return ctx.modulus === mod ? r : r % mod;
      } catch {
        // Fall through to the bigint path (see the doc comment for which inputs land here).
      }
    }
  }
  return modPowBigint(b, exp, mod);
}

/** Inverse of a modulo m (extended Euclid); throws RangeError when gcd(a, m) != 1. */
export function modInv(a: bigint, m: bigint): bigint {
  if (m <= 0n) throw new RangeError('modInv: modulus must be positive');
  let r0 = a % m;
  if (r0 < 0n) r0 += m;
  let r1 = m;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const qt = r0 / r1;
    [r0, r1] = [r1, r0 - qt * r1];
    [s0, s1] = [s1, s0 - qt * s1];
  }
  if (r0 !== 1n) throw new RangeError('modInv: not invertible');
  s0 %= m;
  return s0 < 0n ? s0 + m : s0;
}

/** The range check OTR applies to every received D-H value and SMP group element. */
export function isValidGroupElement(x: bigint): boolean {
  return x >= 2n && x <= P - 2n;
}

// --- randomness and comparison ------------------------------------------------------------------------

export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('randomBytes: bad length');
  const b = nodeRandomBytes(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A uniformly random non-zero exponent of `bytes` bytes (default 40 = 320 bits, as the OTR spec asks for D-H). */
export function randomExponent(bytes: number = 40, random: RandomSource = randomBytes): bigint {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError('randomExponent: bad length');
  for (;;) {
    const x = bytesToBigint(random(bytes));
    if (x !== 0n) return x;
  }
}

/** Uniform in [1, n-1]: 64 extra random bits make the modulo bias negligible (< 2^-64). */
export function randomBelow(n: bigint, random: RandomSource = randomBytes): bigint {
  if (n <= 1n) throw new RangeError('randomBelow: n must exceed 1');
  const bytes = Math.ceil(bitLength(n) / 8) + 8;
  return (bytesToBigint(random(bytes)) % (n - 1n)) + 1n;
}
