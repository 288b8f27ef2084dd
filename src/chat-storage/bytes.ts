/** Minimal big-endian bytes of a non-negative bigint (zero is the empty string, as OTR's MPI encoding wants). */
export function bigintToBytes(n: bigint): Uint8Array {
  if (n < 0n) throw new RangeError('negative MPI');
  if (n === 0n) return new Uint8Array(0);
  let hex = n.toString(16);
  if (hex.length & 1) hex = '0' + hex;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  if (mod === 1n) return 0n;
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}
