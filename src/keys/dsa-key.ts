// OTR's long-term DSA key, in one place: the key types, the PUBKEY wire form (parsed strictly), the sanity
// check every key passes before use, fingerprints, and key generation. The OTR engine, storage, the
// orchestrator and the CLI all use this module; it imports only src/bytes, node:crypto and @noble/hashes.
//
// The rules (OTR v3 spec, "Public keys, signatures, and fingerprints" and "Data types"): type 0x0000 only,
// minimal MPIs, and q of exactly 160 bits, because a SIG field gives r and s 20 bytes each ("in current
// implementations must be 20 bytes, or 160 bits"; libotr writes and reads 40-byte signatures). Beyond the
// spec, sizes and ranges are bounded so a hostile key costs nothing: 512 <= |p| <= 4096 bits, p odd,
// q | p-1, 1 < g, y < p. libotr and python-potr make 1024/160 keys, which pass.
import { generateKeyPairSync } from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { EncodingError, bitLength, byteLength, concatBytes, encodeMpi, modPowBigint, readMpi } from '../bytes/bytes.js';
import { parsePkcs8DsaDer } from './pkcs8.js';

export interface DsaPublicKey {
  p: bigint;
  q: bigint;
  g: bigint;
  y: bigint;
}
export interface DsaKeyParams extends DsaPublicKey {
  x: bigint;
}

/** q's size: OTR's SIG field gives r and s 20 bytes each. */
export const DSA_Q_BITS = 160;
export const DSA_Q_BYTES = 20;
export const PUBKEY_TYPE_DSA = 0x0000;
const MIN_P_BITS = 512;
const MAX_P_BITS = 4096;
const MAX_P_BYTES = MAX_P_BITS / 8;

export function publicKeyOf(key: DsaPublicKey): DsaPublicKey {
  return { p: key.p, q: key.q, g: key.g, y: key.y };
}

export function sameKey(a: DsaKeyParams, b: DsaKeyParams): boolean {
  return a.p === b.p && a.q === b.q && a.g === b.g && a.y === b.y && a.x === b.x;
}

// --- sanity -------------------------------------------------------------------------------------------------

/** Throws EncodingError('bad-pubkey') unless `pub` is a DSA public key OTR can use (rules at the top). */
export function checkPublicKey(pub: DsaPublicKey): void {
  const bad = (why: string): never => {
    throw new EncodingError('bad-pubkey', why);
  };
  const pb = bitLength(pub.p);
  if (pb < MIN_P_BITS || pb > MAX_P_BITS || (pub.p & 1n) === 0n)
    bad(`DSA p has ${pb} bits or is even: not a usable modulus`);
  if (bitLength(pub.q) !== DSA_Q_BITS) bad(`DSA q has ${bitLength(pub.q)} bits; OTR needs exactly ${DSA_Q_BITS}`);
  if ((pub.p - 1n) % pub.q !== 0n) bad('DSA q does not divide p-1');
  if (pub.g <= 1n || pub.g >= pub.p) bad('DSA g out of range');
  if (pub.y <= 1n || pub.y >= pub.p) bad('DSA y out of range');
}

/**
 * Throws EncodingError('bad-key') unless `k` is a usable key pair: a usable public key, g of order q,
 * 0 < x < q, and y = g^x mod p (a key that fails this would sign garbage).
 */
export function checkDsaKey(k: DsaKeyParams): void {
  try {
    checkPublicKey(k);
  } catch (e) {
    throw new EncodingError('bad-key', (e as Error).message);
  }
  // Variable-time exponentiation on x is acceptable here: this runs once per key load, not per message.
  if (modPowBigint(k.g, k.q, k.p) !== 1n) throw new EncodingError('bad-key', 'DSA g is not of order q');
  if (k.x <= 0n || k.x >= k.q) throw new EncodingError('bad-key', 'DSA x is out of range');
  if (modPowBigint(k.g, k.x, k.p) !== k.y) {
    throw new EncodingError(
      'bad-key',
      'y does not match x (y != g^x mod p): public and private parts do not belong together',
    );
  }
}

// --- PUBKEY ---------------------------------------------------------------------------------------------

function mpis(pub: DsaPublicKey): Uint8Array {
  return concatBytes(encodeMpi(pub.p), encodeMpi(pub.q), encodeMpi(pub.g), encodeMpi(pub.y));
}

/** PUBKEY: type 0x0000, then MPIs p, q, g, y. Encodes whatever it is given (no checks). */
export function serializePublicKey(pub: DsaPublicKey): Uint8Array {
  return concatBytes(Uint8Array.of(PUBKEY_TYPE_DSA >> 8, PUBKEY_TYPE_DSA & 0xff), mpis(pub));
}

/**
 * Parses a PUBKEY at `offset`, strictly: every length is checked before use, MPIs must be minimal, and the
 * key must pass checkPublicKey. Throws EncodingError ('truncated', 'oversized', 'bad-mpi', 'bad-pubkey').
 */
export function parsePublicKey(buf: Uint8Array, offset: number): { key: DsaPublicKey; next: number } {
  if (offset < 0 || offset + 2 > buf.length) throw new EncodingError('truncated', 'pubkey type runs past the end');
  const type = (buf[offset]! << 8) | buf[offset + 1]!;
  if (type !== PUBKEY_TYPE_DSA) throw new EncodingError('bad-pubkey', `unsupported pubkey type ${type}`);
  const p = readMpi(buf, offset + 2, MAX_P_BYTES);
  const pLen = byteLength(p.value);
  const q = readQ(buf, p.next);
  const g = readMpi(buf, q.next, pLen);
  const y = readMpi(buf, g.next, pLen);
  const key = { p: p.value, q: q.value, g: g.value, y: y.value };
  checkPublicKey(key);
  return { key, next: y.next };
}

function readQ(buf: Uint8Array, offset: number): { value: bigint; next: number } {
  try {
    return readMpi(buf, offset, DSA_Q_BYTES);
  } catch (e) {
    // Say which rule a real key with a larger q breaks (FIPS 186 also has 224- and 256-bit q).
    if (e instanceof EncodingError && e.code === 'oversized') {
      throw new EncodingError(
        'oversized',
        `DSA q is longer than ${DSA_Q_BYTES} bytes; OTR needs exactly ${DSA_Q_BITS} bits (${e.message})`,
      );
    }
    throw e;
  }
}

// --- fingerprints ---------------------------------------------------------------------------------------

/** SHA-1 of the PUBKEY without its two type bytes (the spec's backwards-compatibility rule for type 0). */
export function fingerprint(pub: DsaPublicKey): Uint8Array {
  return sha1(mpis(pub));
}

/** 40 upper-case hex digits of fingerprint bytes (RangeError unless 20), or of a public key's fingerprint. */
export function fingerprintHex(fpOrKey: Uint8Array | DsaPublicKey): string {
  const fp = fpOrKey instanceof Uint8Array ? fpOrKey : fingerprint(fpOrKey);
  if (fp.length !== 20) throw new RangeError('fingerprint must be 20 bytes');
  return Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength).toString('hex').toUpperCase();
}

export { fingerprintGroups, fingerprintHuman, normalizeFingerprint } from './fingerprint.js';

// --- generation -----------------------------------------------------------------------------------------

/** A fresh 1024/160 DSA key from OpenSSL (its PKCS#8 export parsed and checked here). Tens of milliseconds. */
export function generateDsaKey(): DsaKeyParams {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: DSA_Q_BITS });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const key = parsePkcs8DsaDer(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
  checkDsaKey(key);
  return key;
}
