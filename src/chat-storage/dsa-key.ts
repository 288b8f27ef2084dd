import { sha1 } from '@noble/hashes/legacy.js';
import { bigintToBytes, bitLength, bytesToBigint, concatBytes, modPow } from './bytes.js';
import { FormatError } from './errors.js';

/** A DSA key pair; the OTR engine uses the same field names, so the two are structurally compatible. */
export interface DsaKeyParams {
  p: bigint;
  q: bigint;
  g: bigint;
  y: bigint;
  x: bigint;
}

export type DsaPublicParams = Omit<DsaKeyParams, 'x'>;

/** The OTR key type of DSA, the only one OTR v2/v3 define. */
export const OTR_KEY_TYPE_DSA = 0x0000;

/** Largest MPI we accept when reading: far above any real DSA key, far below anything that hurts to allocate. */
const MAX_MPI_BYTES = 1024;

function mpi(n: bigint): Uint8Array {
  const b = bigintToBytes(n);
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out;
}

function keyType(): Uint8Array {
  return new Uint8Array([OTR_KEY_TYPE_DSA >> 8, OTR_KEY_TYPE_DSA & 0xff]);
}

/** The private_key.dsa file body (python-potr's serializePrivateKey): type, then MPIs p q g y x. */
export function encodePrivateKey(k: DsaKeyParams): Uint8Array {
  return concatBytes([keyType(), mpi(k.p), mpi(k.q), mpi(k.g), mpi(k.y), mpi(k.x)]);
}

/** OTR's PUBKEY serialization: type, then MPIs p q g y. */
export function encodePublicKey(k: DsaPublicParams): Uint8Array {
  return concatBytes([keyType(), mpi(k.p), mpi(k.q), mpi(k.g), mpi(k.y)]);
}

/** Parses a private_key.dsa body; throws FormatError saying what is wrong. Checks the numbers belong together. */
export function decodePrivateKey(data: Uint8Array): DsaKeyParams {
  if (data.length < 2) throw new FormatError(`too short (${data.length} bytes) to hold a key`);
  const type = (data[0]! << 8) | data[1]!;
  if (type !== OTR_KEY_TYPE_DSA) throw new FormatError(`unknown key type 0x${type.toString(16).padStart(4, '0')} (only DSA, 0x0000, exists)`);
  let off = 2;
  const names = ['p', 'q', 'g', 'y', 'x'] as const;
  const vals: bigint[] = [];
  for (const name of names) {
    if (off + 4 > data.length) throw new FormatError(`truncated before the length of ${name} (offset ${off} of ${data.length} bytes)`);
    const len = new DataView(data.buffer, data.byteOffset + off, 4).getUint32(0);
    off += 4;
    if (len > MAX_MPI_BYTES) throw new FormatError(`${name} claims ${len} bytes, more than any DSA key has`);
    if (off + len > data.length) throw new FormatError(`truncated inside ${name} (needs ${len} bytes, ${data.length - off} left)`);
    vals.push(bytesToBigint(data.subarray(off, off + len)));
    off += len;
  }
  if (off !== data.length) throw new FormatError(`${data.length - off} unexpected bytes after the key`);
  const key: DsaKeyParams = { p: vals[0]!, q: vals[1]!, g: vals[2]!, y: vals[3]!, x: vals[4]! };
  checkDsaKey(key);
  return key;
}

/** Sanity of a key pair: sizes, subgroup, and y = g^x mod p (a key that fails this would sign garbage). */
export function checkDsaKey(k: DsaKeyParams): void {
  const pb = bitLength(k.p);
  const qb = bitLength(k.q);
  if (pb < 512 || pb > 8192) throw new FormatError(`p has ${pb} bits, not a usable DSA modulus`);
  if (qb < 128 || qb > 512 || k.q >= k.p) throw new FormatError(`q has ${qb} bits, not a usable DSA subgroup order`);
  if ((k.p - 1n) % k.q !== 0n) throw new FormatError('q does not divide p-1');
  if (k.g <= 1n || k.g >= k.p) throw new FormatError('g is out of range');
  if (k.x <= 0n || k.x >= k.q) throw new FormatError('x is out of range');
  if (k.y <= 1n || k.y >= k.p) throw new FormatError('y is out of range');
  if (modPow(k.g, k.x, k.p) !== k.y) throw new FormatError('y does not match x (y != g^x mod p): public and private parts do not belong together');
}

/**
 * OTR fingerprint: SHA-1 of the public key serialization. For DSA (type 0x0000) the spec, libotr and python-potr all
 * leave the two type bytes out of the hash (OTR v3 spec, "Public keys, signatures, and fingerprints").
 */
export function fingerprintBytes(k: DsaPublicParams): Uint8Array {
  return sha1(encodePublicKey(k).subarray(2));
}

/** 40 upper-case hex digits, no spaces. */
export function fingerprintHex(k: DsaPublicParams): string {
  return Buffer.from(fingerprintBytes(k)).toString('hex').toUpperCase();
}

/** Five groups of eight upper-case hex digits, as shown to users and written in trusted_peers. */
export function formatFingerprint(fp: string): string {
  const h = normalizeFingerprint(fp);
  if (h === null) throw new FormatError(`not a fingerprint: ${JSON.stringify(fp)}`);
  return h.match(/.{8}/g)!.join(' ');
}

/** Accepts any case, with or without whitespace; returns 40 upper-case hex digits or null. */
export function normalizeFingerprint(fp: string): string | null {
  const h = fp.replace(/\s+/g, '');
  return /^[0-9a-fA-F]{40}$/.test(h) ? h.toUpperCase() : null;
}

export function publicPart(k: DsaKeyParams): DsaPublicParams {
  return { p: k.p, q: k.q, g: k.g, y: k.y };
}

export function sameKey(a: DsaKeyParams, b: DsaKeyParams): boolean {
  return a.p === b.p && a.q === b.q && a.g === b.g && a.y === b.y && a.x === b.x;
}
