// DSA signing and verification exactly as libotr does them (the signed value is the hash taken as an
// integer, reduced mod q — no truncation to q's bit length), and the SIG field. The key itself (types,
// PUBKEY, sanity check, fingerprints, generation) is src/keys/dsa-key.ts.
import { sha512 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { bigintToBytes, bytesToBigint, concatBytes } from '../../bytes/bytes.js';
import {
  DSA_Q_BYTES,
  checkPublicKey,
  parsePublicKey as parseKey,
  type DsaKeyParams,
  type DsaPublicKey,
} from '../../keys/dsa-key.js';
import { OtrProtocolError, asOtrError } from '../errors.js';
import { modInv, modPow, randomBelow, randomBytes, type RandomSource } from './group.js';

export interface DsaSignature {
  r: bigint;
  s: bigint;
}

// --- sign / verify -----------------------------------------------------------------------------------

/**
 * Hedged nonce: k = HMAC-SHA512(x, hash || 32 fresh random bytes || counter) mod (q-1) + 1. With a good
 * CSPRNG this is a uniformly random k; should the CSPRNG ever fail, it degrades to a deterministic
 * per-message k (RFC 6979's idea) instead of repeating k across messages, which would leak x.
 */
function nonce(key: DsaKeyParams, hash: Uint8Array, counter: number, random: RandomSource): bigint {
  const xBytes = bigintToBytes(key.x, DSA_Q_BYTES);
  const msg = concatBytes(hash, random(32), Uint8Array.of(counter & 0xff));
  return (bytesToBigint(hmac(sha512, xBytes, msg)) % (key.q - 1n)) + 1n;
}

/**
 * Signs `hash` (OTR passes a 32-byte HMAC-SHA256 value) as the integer hash mod q, like libotr/libgcrypt.
 * `random` feeds the hedged nonce and the inversion blinding (the CSPRNG unless a test fixes it).
 */
export function dsaSign(key: DsaKeyParams, hash: Uint8Array, random: RandomSource = randomBytes): DsaSignature {
  const { p, q, g, x } = key;
  const h = bytesToBigint(hash) % q;
  for (let counter = 0; ; counter++) {
    const k = nonce(key, hash, counter, random);
    const r = modPow(g, k, p) % q;
    if (r === 0n) continue;
    // Invert a blinded k so the variable-time Euclid never runs on k itself.
    const blind = randomBelow(q, random);
    const kInv = (modInv((k * blind) % q, q) * blind) % q;
    const s = (kInv * ((h + x * r) % q)) % q;
    if (s === 0n) continue;
    return { r, s };
  }
}

/** Never throws: any malformed key or signature simply fails to verify. */
export function dsaVerify(pub: DsaPublicKey, hash: Uint8Array, sig: DsaSignature): boolean {
  try {
    const { p, q, g, y } = pub;
    const { r, s } = sig;
    // The one key rule (src/keys): among others q | p-1 and q of OTR's 160 bits; with a forged q (say 2q) the
    // final `mod q` comparison could come out equal by chance. It throws: caught below, the key does not verify.
    checkPublicKey(pub);
    if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
    const w = modInv(s, q);
    const h = bytesToBigint(hash) % q;
    const u1 = (h * w) % q;
    const u2 = (r * w) % q;
    // OpenSSL's exponentiation (modPow): 0.13 ms against the bigint path's 0.27-0.6 ms at 1024 bits, and each side
    // of every AKE verifies once, on the critical path. A new peer's modulus costs a D-H context (~0.1 ms: built on
    // 3p, which DH_check does not prime-test, see group.ts); the values are public, so no constant time is needed.
    const v = ((modPow(g, u1, p) * modPow(y, u2, p)) % p) % q;
    return v === r;
  } catch {
    return false;
  }
}

/** OTR SIG field: r and s, each left-padded to q's byte length (20). */
export function encodeSignature(sig: DsaSignature, qBytes: number = DSA_Q_BYTES): Uint8Array {
  return concatBytes(bigintToBytes(sig.r, qBytes), bigintToBytes(sig.s, qBytes));
}

export function decodeSignature(
  buf: Uint8Array,
  offset: number,
  qBytes: number = DSA_Q_BYTES,
): { sig: DsaSignature; next: number } {
  if (offset < 0 || offset + 2 * qBytes > buf.length)
    throw new OtrProtocolError('truncated', 'signature runs past the end');
  const r = bytesToBigint(buf.subarray(offset, offset + qBytes));
  const s = bytesToBigint(buf.subarray(offset + qBytes, offset + 2 * qBytes));
  return { sig: { r, s }, next: offset + 2 * qBytes };
}

// --- PUBKEY -------------------------------------------------------------------------------------------

/**
 * src/keys' strict PUBKEY parser with the engine's error type: OtrProtocolError ('truncated', 'oversized',
 * 'bad-mpi' or 'bad-pubkey') for anything that is not a usable DSA public key.
 */
export function parsePublicKey(buf: Uint8Array, offset: number): { key: DsaPublicKey; next: number } {
  return asOtrError(() => parseKey(buf, offset));
}
