/**
 * OTR's binary encoding (spec "Data types"): BYTE, SHORT, INT, MPI, DATA, CTR, MAC, PUBKEY, SIG,
 * plus the `?OTR:<base64>.` framing. Readers check every length against what is actually left in the
 * buffer before touching it, so a hostile length field can never make us allocate or read past the end.
 */
import { OtrProtocolError } from './errors.js';

/** A DSA public key as carried in a PUBKEY field (type 0x0000 only). */
export interface WirePublicKey { p: bigint; q: bigint; g: bigint; y: bigint }

export function bigintToMinimalBytes(x: bigint): Uint8Array {
  if (x < 0n) throw new RangeError('negative MPI');
  if (x === 0n) return new Uint8Array(0);
  let hex = x.toString(16);
  if (hex.length & 1) hex = '0' + hex;
  // The typed-array constructor copies in one go; Uint8Array.from would iterate the Buffer element by element.
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export class Reader {
  private pos: number;
  constructor(private readonly buf: Uint8Array, offset = 0) { this.pos = offset; }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.buf.length - this.pos; }

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw new OtrProtocolError('truncated', `${what}: need ${n} bytes, ${this.buf.length - this.pos} left`);
    }
  }

  byte(): number { this.need(1, 'BYTE'); return this.buf[this.pos++]!; }
  short(): number {
    this.need(2, 'SHORT');
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  int(): number {
    this.need(4, 'INT');
    const b = this.buf;
    const v = ((b[this.pos]! << 24) >>> 0) + (b[this.pos + 1]! << 16) + (b[this.pos + 2]! << 8) + b[this.pos + 3]!;
    this.pos += 4;
    return v;
  }
  /** `n` raw bytes, as a view (no copy). */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** DATA: 4-byte length then that many bytes. The length is checked against the buffer before use. */
  data(maxLen = Number.MAX_SAFE_INTEGER): Uint8Array {
    const len = this.int();
    if (len > maxLen) throw new OtrProtocolError('oversized', `DATA length ${len} exceeds limit ${maxLen}`);
    if (len > this.remaining) throw new OtrProtocolError('oversized', `DATA length ${len} exceeds the ${this.remaining} bytes left`);
    return this.bytes(len, 'DATA');
  }
  /** MPI: 4-byte length, big-endian magnitude. Returns the value and its raw encoding. */
  mpiWithBytes(maxLen = 1024): { value: bigint; raw: Uint8Array } {
    const start = this.pos;
    const mag = this.mpiMagnitude(maxLen);
    return { value: bytesToBigint(mag), raw: this.buf.subarray(start, this.pos) };
  }
  mpi(maxLen = 1024): bigint { return this.mpiWithBytes(maxLen).value; }
  /** MPI magnitude as a view (length-checked, minimum-length checked), for callers that may never need the value. */
  mpiMagnitude(maxLen = 1024): Uint8Array {
    const len = this.int();
    if (len > maxLen) throw new OtrProtocolError('oversized', `MPI length ${len} exceeds limit ${maxLen}`);
    if (len > this.remaining) throw new OtrProtocolError('oversized', `MPI length ${len} exceeds the ${this.remaining} bytes left`);
    const mag = this.bytes(len, 'MPI');
    // The spec requires minimum-length MPIs (it matters for fingerprints and the hashes over them).
    if (len > 0 && mag[0] === 0) throw new OtrProtocolError('bad-mpi', 'MPI has a leading zero byte');
    return mag;
  }
  ctr(): Uint8Array { return this.bytes(8, 'CTR'); }
  mac(): Uint8Array { return this.bytes(20, 'MAC'); }
  /** PUBKEY: only type 0x0000 (DSA) exists. Returns the key and the exact bytes it occupied. */
  pubkey(): { key: WirePublicKey; raw: Uint8Array } {
    const start = this.pos;
    const type = this.short();
    if (type !== 0) throw new OtrProtocolError('bad-pubkey', `unsupported public key type ${type}`);
    const p = this.mpi(512), q = this.mpi(64), g = this.mpi(512), y = this.mpi(512);
    if (p === 0n || q === 0n || g === 0n || y === 0n) throw new OtrProtocolError('bad-pubkey', 'zero DSA parameter');
    return { key: { p, q, g, y }, raw: this.buf.subarray(start, this.pos) };
  }
  /** SIG: r and s, each as long as q (in bytes). */
  sig(q: bigint): { r: bigint; s: bigint } {
    const qlen = byteLength(q);
    const r = bytesToBigint(this.bytes(qlen, 'SIG r'));
    const s = bytesToBigint(this.bytes(qlen, 'SIG s'));
    return { r, s };
  }
  /** Everything that is left. */
  rest(): Uint8Array { return this.bytes(this.remaining, 'rest'); }
  end(what: string): void {
    if (this.remaining !== 0) throw new OtrProtocolError('trailing', `${what}: ${this.remaining} trailing bytes`);
  }
}

export function byteLength(x: bigint): number {
  return x === 0n ? 0 : Math.ceil(x.toString(16).length / 2);
}

export class Writer {
  private readonly parts: Uint8Array[] = [];
  byte(v: number): this { this.parts.push(Uint8Array.of(v & 0xff)); return this; }
  short(v: number): this { this.parts.push(Uint8Array.of((v >>> 8) & 0xff, v & 0xff)); return this; }
  int(v: number): this {
    this.parts.push(Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
    return this;
  }
  raw(b: Uint8Array): this { this.parts.push(b); return this; }
  data(b: Uint8Array): this { return this.int(b.length).raw(b); }
  mpi(x: bigint): this { return this.data(bigintToMinimalBytes(x)); }
  pubkey(k: WirePublicKey): this { return this.short(0).mpi(k.p).mpi(k.q).mpi(k.g).mpi(k.y); }
  sig(q: bigint, sig: { r: bigint; s: bigint }): this {
    const qlen = byteLength(q);
    return this.raw(padBytes(sig.r, qlen)).raw(padBytes(sig.s, qlen));
  }
  finish(): Uint8Array { return concatBytes(...this.parts); }
}

export function padBytes(x: bigint, len: number): Uint8Array {
  const m = bigintToMinimalBytes(x);
  if (m.length > len) throw new RangeError('value does not fit');
  const out = new Uint8Array(len);
  out.set(m, len - m.length);
  return out;
}

export function mpiBytes(x: bigint): Uint8Array { return new Writer().mpi(x).finish(); }

export function serializePubkey(k: WirePublicKey): Uint8Array { return new Writer().pubkey(k).finish(); }

// Strict base64 without scanning the text in JavaScript. Buffer's decoder skips characters outside the alphabet,
// stops at a misplaced '=', takes base64url's '-' and '_', and reads a non-ASCII character as its low byte. So
// the text is valid exactly when it is ASCII, its length is a multiple of 4, it has no '-' or '_', and it
// decodes to the full 3 bytes per 4 characters less the final padding: any skipped or misplaced character
// shortens the result. This accepts the same language as the
// grammar B64_RE (padding whose unused bits are not zero included, as before); a unit test fuzzes one against
// the other. It replaced a decode-encode-compare check that cost a third of the decode again.
export const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64: standard alphabet, padded, nothing else (Buffer's decoder silently skips junk). */
export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new OtrProtocolError('bad-base64', 'invalid base64');
  const b = Buffer.from(s, 'base64');
  const pad = s.length === 0 ? 0 : s.charCodeAt(s.length - 1) !== 61 ? 0 : s.charCodeAt(s.length - 2) === 61 ? 2 : 1;
  // (Buffer also maps a character beyond Latin-1 to its low byte, e.g. U+0141 to 'A': hence the ASCII check.)
  if (b.length !== (s.length / 4) * 3 - pad || s.includes('-') || s.includes('_') || Buffer.byteLength(s, 'utf8') !== s.length) {
    throw new OtrProtocolError('bad-base64', 'invalid base64');
  }
  // Large results: a view on Buffer's own allocation (Uint8Array.from(buffer) iterated element by element,
  // another ~40 ms/MiB). Small results live in Buffer's shared 8 KiB pool: copy those, so a retained field
  // (e.g. an AKE value kept across messages) never pins a whole pool slab.
  return b.length < 4096 ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

export function base64Encode(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
}

export const OTR_ENCODED_PREFIX = '?OTR:';

export function frameEncoded(binary: Uint8Array): string {
  return `${OTR_ENCODED_PREFIX}${base64Encode(binary)}.`;
}

/**
 * Extract and decode the binary payload of an encoded message. Text around `?OTR:...` is ignored, as other
 * implementations do; the payload ends at the first '.'.
 */
export function unframeEncoded(msg: string): Uint8Array {
  const start = msg.indexOf(OTR_ENCODED_PREFIX);
  if (start < 0) throw new OtrProtocolError('bad-framing', 'no ?OTR: prefix');
  const end = msg.indexOf('.', start + OTR_ENCODED_PREFIX.length);
  if (end < 0) throw new OtrProtocolError('bad-framing', 'encoded message has no terminating "."');
  return base64Decode(msg.slice(start + OTR_ENCODED_PREFIX.length, end));
}
