// Bytes, bigints and OTR's MPI encoding: the one copy the OTR engine, the key module and storage all use.
// Pure functions over Uint8Array/bigint; no I/O. Readers check every length before touching the bytes.
import { timingSafeEqual } from 'node:crypto';

export type EncodingErrorCode =
  | 'truncated' // a field runs past the end of the buffer
  | 'oversized' // a length field claims more than the caller's limit allows
  | 'bad-mpi' // non-minimal MPI (a leading 0x00 byte)
  | 'bad-pubkey' // not a usable DSA public key
  | 'bad-key' // not a usable DSA key pair
  | 'bad-der'; // malformed DER / PEM

/**
 * What the leaf parsers throw. Each layer that uses them turns it into its own error type at its edge
 * (OtrProtocolError in the engine, FormatError in storage), keeping `code` and the message.
 */
export class EncodingError extends Error {
  override readonly name = 'EncodingError';
  constructor(
    readonly code: EncodingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Big-endian bytes of a non-negative bigint: minimal (0 is empty, as MPIs want), or left-padded to `len`. */
export function bigintToBytes(x: bigint, len?: number): Uint8Array {
  if (x < 0n) throw new RangeError('bigintToBytes: negative value');
  let hex = x === 0n ? '' : x.toString(16);
  if (hex.length & 1) hex = '0' + hex;
  const minimal = hex.length / 2;
  // The typed-array constructor copies in one go; Uint8Array.from would iterate the Buffer element by element.
  if (len === undefined) return new Uint8Array(Buffer.from(hex, 'hex'));
  if (!Number.isInteger(len) || len < 0) throw new RangeError('bigintToBytes: bad length');
  if (minimal > len) throw new RangeError(`bigintToBytes: value needs ${minimal} bytes, ${len} allowed`);
  const out = new Uint8Array(len);
  out.set(Buffer.from(hex, 'hex'), len - minimal);
  return out;
}

export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Length of the minimal big-endian encoding (0 for 0). */
export function byteLength(x: bigint): number {
  return x === 0n ? 0 : Math.ceil(x.toString(16).length / 2);
}

/** Constant time in the contents for equal lengths (MACs, hashes, IDs); lengths themselves are not secret. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 0) return true;
  return timingSafeEqual(a, b);
}

/**
 * Order of two byte strings read as unsigned big-endian numbers (-1, 0, 1): OTR's D-H commit tie-break and ZRTP's
 * hvi/nonce comparison both compare values in network byte order. A shorter string is read with leading zeros.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 0;
    const y = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** MPI: 4-byte big-endian length, then the minimal big-endian value. */
export function encodeMpi(x: bigint): Uint8Array {
  const v = bigintToBytes(x);
  const out = new Uint8Array(4 + v.length);
  new DataView(out.buffer).setUint32(0, v.length);
  out.set(v, 4);
  return out;
}

/**
 * Reads one MPI at `offset`. The length is checked against `maxBytes` and the buffer before anything is
 * read, and non-minimal encodings (a leading 0x00) are refused, as the OTR spec requires.
 */
export function readMpi(buf: Uint8Array, offset: number, maxBytes: number): { value: bigint; next: number } {
  const { magnitude, next } = readMpiMagnitude(buf, offset, maxBytes);
  return { value: bytesToBigint(magnitude), next };
}

/** The same rules as readMpi; the magnitude is a view into `buf`, for callers that may never need the value. */
export function readMpiMagnitude(
  buf: Uint8Array,
  offset: number,
  maxBytes: number,
): { magnitude: Uint8Array; next: number } {
  if (offset < 0 || offset + 4 > buf.length) throw new EncodingError('truncated', 'MPI length runs past the end');
  const len = new DataView(buf.buffer, buf.byteOffset + offset, 4).getUint32(0);
  if (len > maxBytes) throw new EncodingError('oversized', `MPI of ${len} bytes exceeds ${maxBytes}`);
  const start = offset + 4;
  if (start + len > buf.length) throw new EncodingError('truncated', 'MPI value runs past the end');
  if (len > 0 && buf[start] === 0) throw new EncodingError('bad-mpi', 'MPI has a leading zero byte');
  return { magnitude: buf.subarray(start, start + len), next: start + len };
}

/**
 * Sliding-window square-and-multiply over bigints. Handles every input (exponent 0, bases 0/1/m-1, even
 * moduli); the engine's OpenSSL path (src/otr/crypto/group.ts) must agree with it. Variable time: use it on
 * public values or where the engine's comment says why it is fine.
 */
export function modPowBigint(base: bigint, exp: bigint, mod: bigint): bigint {
  if (mod <= 0n) throw new RangeError('modPow: modulus must be positive');
  if (exp < 0n) throw new RangeError('modPow: negative exponent');
  if (mod === 1n) return 0n;
  let b = base % mod;
  if (b < 0n) b += mod;
  if (exp === 0n) return 1n;
  if (b === 0n) return 0n;
  const bits = exp.toString(2);
  const w = bits.length > 512 ? 5 : bits.length > 64 ? 4 : 1;
  if (w === 1) {
    let r = 1n;
    for (let i = 0; i < bits.length; i++) {
      r = (r * r) % mod;
      if (bits.charCodeAt(i) === 49) r = (r * b) % mod;
    }
    return r;
  }
  // Odd powers b^1, b^3, ..., b^(2^w - 1).
  const table: bigint[] = new Array<bigint>(1 << (w - 1));
  table[0] = b;
  const b2 = (b * b) % mod;
  for (let i = 1; i < table.length; i++) table[i] = (table[i - 1]! * b2) % mod;
  let r = 1n;
  let i = 0;
  while (i < bits.length) {
    if (bits.charCodeAt(i) === 48) {
      r = (r * r) % mod;
      i++;
      continue;
    }
    // Longest window of at most w bits starting here that ends in a 1.
    let j = Math.min(i + w, bits.length);
    while (bits.charCodeAt(j - 1) === 48) j--;
    const val = parseInt(bits.slice(i, j), 2);
    for (let k = i; k < j; k++) r = (r * r) % mod;
    r = (r * table[(val - 1) >> 1]!) % mod;
    i = j;
  }
  return r;
}
