// OTR's long-term DSA keys: generation (OpenSSL via node:crypto), signing and verification exactly as
// libotr does them (the signed value is the hash taken as an integer, reduced mod q — no truncation to
// q's bit length), the PUBKEY wire form, and fingerprints.
import { generateKeyPairSync } from 'node:crypto';
import { sha512 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { OtrProtocolError } from '../errors.js';
import { bigintToBytes, bytesToBigint, modInv, modPow, modPowBigint, randomBelow, randomBytes } from './group.js';
import { concatBytes, encodeMpi, readMpi } from './mpi.js';
import { sha1 } from './primitives.js';

export interface DsaKeyParams { p: bigint; q: bigint; g: bigint; y: bigint; x: bigint }
export interface DsaPublicKey { p: bigint; q: bigint; g: bigint; y: bigint }
export interface DsaSignature { r: bigint; s: bigint }

/** OTR's SIG field gives r and s q's byte length each; every OTR implementation uses a 160-bit q. */
export const DSA_Q_BYTES = 20;
const PUBKEY_TYPE_DSA = 0x0000;
// Sanity bound for a peer's p: libotr makes 1024-bit keys; anything past 4096 bits is refused before use.
const MAX_P_BYTES = 512;
const MIN_P_BYTES = 64;

// --- key generation --------------------------------------------------------------------------------

class DerReader {
  constructor(private readonly buf: Uint8Array, private pos = 0, private readonly end = buf.length) {}
  /** Reads one TLV of the given tag and returns a reader over its contents. */
  enter(tag: number): DerReader {
    const { start, len } = this.header(tag);
    this.pos = start + len;
    return new DerReader(this.buf, start, start + len);
  }
  integer(): bigint {
    const { start, len } = this.header(0x02);
    this.pos = start + len;
    if (len === 0 || (this.buf[start]! & 0x80) !== 0) throw new Error('DER: negative or empty INTEGER');
    return bytesToBigint(this.buf.subarray(start, start + len));
  }
  skip(tag: number): void {
    const { start, len } = this.header(tag);
    this.pos = start + len;
  }
  private header(tag: number): { start: number; len: number } {
    if (this.pos + 2 > this.end || this.buf[this.pos] !== tag) throw new Error(`DER: expected tag ${tag}`);
    let len = this.buf[this.pos + 1]!;
    let start = this.pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || start + n > this.end) throw new Error('DER: bad length');
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | this.buf[start + i]!;
      start += n;
    }
    if (start + len > this.end) throw new Error('DER: length past end');
    return { start, len };
  }
}

/** Parses OpenSSL's PKCS#8 DSA private key: SEQ { version, SEQ { OID, SEQ { p, q, g } }, OCTET STRING { x } }. */
export function dsaKeyFromPkcs8(der: Uint8Array): DsaKeyParams {
  const top = new DerReader(der).enter(0x30);
  top.integer();
  const alg = top.enter(0x30);
  alg.skip(0x06);
  const params = alg.enter(0x30);
  const p = params.integer();
  const q = params.integer();
  const g = params.integer();
  const x = top.enter(0x04).integer();
  const key = { p, q, g, x, y: modPow(g, x, p) };
  checkPrivateKey(key);
  return key;
}

function checkPrivateKey(k: DsaKeyParams): void {
  if (bigintToBytes(k.q).length !== DSA_Q_BYTES) throw new RangeError('DSA key: q must be 160 bits');
  if (k.x <= 0n || k.x >= k.q) throw new RangeError('DSA key: x out of range');
  if (k.g <= 1n || k.g >= k.p || modPow(k.g, k.q, k.p) !== 1n) throw new RangeError('DSA key: bad generator');
  if (modPow(k.g, k.x, k.p) !== k.y) throw new RangeError('DSA key: y does not match x');
}

/** A fresh 1024/160 DSA key from OpenSSL (its DER export parsed here). Takes tens of milliseconds. */
export function generateDsaKey(): DsaKeyParams {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  return dsaKeyFromPkcs8(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
}

export function publicKeyOf(key: DsaKeyParams): DsaPublicKey {
  return { p: key.p, q: key.q, g: key.g, y: key.y };
}

// --- sign / verify -----------------------------------------------------------------------------------

/**
 * Hedged nonce: k = HMAC-SHA512(x, hash || 32 fresh random bytes || counter) mod (q-1) + 1. With a good
 * CSPRNG this is a uniformly random k; should the CSPRNG ever fail, it degrades to a deterministic
 * per-message k (RFC 6979's idea) instead of repeating k across messages, which would leak x.
 */
function nonce(key: DsaKeyParams, hash: Uint8Array, counter: number): bigint {
  const xBytes = bigintToBytes(key.x, DSA_Q_BYTES);
  const msg = concatBytes(hash, randomBytes(32), Uint8Array.of(counter & 0xff));
  return (bytesToBigint(hmac(sha512, xBytes, msg)) % (key.q - 1n)) + 1n;
}

/** Signs `hash` (OTR passes a 32-byte HMAC-SHA256 value) as the integer hash mod q, like libotr/libgcrypt. */
export function dsaSign(key: DsaKeyParams, hash: Uint8Array): DsaSignature {
  const { p, q, g, x } = key;
  const h = bytesToBigint(hash) % q;
  for (let counter = 0; ; counter++) {
    const k = nonce(key, hash, counter);
    const r = modPow(g, k, p) % q;
    if (r === 0n) continue;
    // Invert a blinded k so the variable-time Euclid never runs on k itself.
    const blind = randomBelow(q);
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
    if (q <= 1n || p <= q || g <= 1n || g >= p || y <= 1n || y >= p) return false;
    // The domain must be a DSA one (q | p-1, q of OTR's 160 bits): with a forged q (say 2q) the final
    // `mod q` comparison could come out equal by chance.
    if (q.toString(2).length !== DSA_Q_BYTES * 8 || (p - 1n) % q !== 0n) return false;
    if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
    const w = modInv(s, q);
    const h = bytesToBigint(hash) % q;
    const u1 = (h * w) % q;
    const u2 = (r * w) % q;
    // 160-bit exponents: the bigint path is quick here, and it spares creating (and prime-checking) an OpenSSL
    // D-H context for each new peer's modulus, which cost 30-40 ms on the first call with a peer.
    const v = ((modPowBigint(g, u1, p) * modPowBigint(y, u2, p)) % p) % q;
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
  if (offset < 0 || offset + 2 * qBytes > buf.length) throw new OtrProtocolError('truncated', 'signature runs past the end');
  const r = bytesToBigint(buf.subarray(offset, offset + qBytes));
  const s = bytesToBigint(buf.subarray(offset + qBytes, offset + 2 * qBytes));
  return { sig: { r, s }, next: offset + 2 * qBytes };
}

// --- PUBKEY and fingerprints --------------------------------------------------------------------------

function mpis(pub: DsaPublicKey): Uint8Array {
  return concatBytes(encodeMpi(pub.p), encodeMpi(pub.q), encodeMpi(pub.g), encodeMpi(pub.y));
}

export function serializePublicKey(pub: DsaPublicKey): Uint8Array {
  return concatBytes(Uint8Array.of(PUBKEY_TYPE_DSA >> 8, PUBKEY_TYPE_DSA & 0xff), mpis(pub));
}

/**
 * Parses a PUBKEY at `offset`. Throws OtrProtocolError ('truncated', 'oversized', 'bad-mpi' or
 * 'bad-pubkey') for anything that is not a plausible DSA public key; returns the offset after it.
 */
export function parsePublicKey(buf: Uint8Array, offset: number): { key: DsaPublicKey; next: number } {
  if (offset < 0 || offset + 2 > buf.length) throw new OtrProtocolError('truncated', 'pubkey type runs past the end');
  const type = (buf[offset]! << 8) | buf[offset + 1]!;
  if (type !== PUBKEY_TYPE_DSA) throw new OtrProtocolError('bad-pubkey', `unsupported pubkey type ${type}`);
  const p = readMpi(buf, offset + 2, MAX_P_BYTES);
  const pLen = bigintToBytes(p.value).length;
  const q = readMpi(buf, p.next, DSA_Q_BYTES);
  const g = readMpi(buf, q.next, pLen);
  const y = readMpi(buf, g.next, pLen);
  const key = { p: p.value, q: q.value, g: g.value, y: y.value };
  if (pLen < MIN_P_BYTES || (key.p & 1n) === 0n) throw new OtrProtocolError('bad-pubkey', 'DSA p is too small or even');
  if (bigintToBytes(key.q).length !== DSA_Q_BYTES) throw new OtrProtocolError('bad-pubkey', 'DSA q must be 160 bits');
  if (key.g <= 1n || key.g >= key.p) throw new OtrProtocolError('bad-pubkey', 'DSA g out of range');
  if (key.y <= 1n || key.y >= key.p) throw new OtrProtocolError('bad-pubkey', 'DSA y out of range');
  return { key, next: y.next };
}

/** SHA-1 of the PUBKEY without its two type bytes (the spec's backwards-compatibility rule for type 0). */
export function fingerprint(pub: DsaPublicKey): Uint8Array {
  return sha1(mpis(pub));
}

export function fingerprintHex(fp: Uint8Array): string {
  if (fp.length !== 20) throw new RangeError('fingerprint must be 20 bytes');
  return Buffer.from(fp).toString('hex').toUpperCase();
}

export function fingerprintHuman(fp: Uint8Array): string {
  return fingerprintHex(fp).match(/.{8}/g)!.join(' ');
}
