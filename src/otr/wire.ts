/**
 * OTR's binary encoding (spec "Data types"): BYTE, SHORT, INT, MPI, DATA, CTR, MAC, PUBKEY, SIG,
 * plus the `?OTR:<base64>.` framing. Readers check every length against what is actually left in the
 * buffer before touching it, so a hostile length field can never make us allocate or read past the end.
 */
import { byteLength, bigintToBytes, bytesToBigint, concatBytes, encodeMpi, readMpiMagnitude } from '../bytes/bytes.js';
import { parsePublicKey, serializePublicKey, type DsaPublicKey } from '../keys/dsa-key.js';
import { OtrProtocolError, asOtrError } from './errors.js';

export class Reader {
  private pos: number;
  constructor(
    private readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw new OtrProtocolError('truncated', `${what}: need ${n} bytes, ${this.buf.length - this.pos} left`);
    }
  }

  byte(): number {
    this.need(1, 'BYTE');
    return this.buf[this.pos++]!;
  }
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
    if (len > this.remaining)
      throw new OtrProtocolError('oversized', `DATA length ${len} exceeds the ${this.remaining} bytes left`);
    return this.bytes(len, 'DATA');
  }
  /** MPI: 4-byte length, big-endian magnitude. Returns the value and its raw encoding. */
  mpiWithBytes(maxLen = 1024): { value: bigint; raw: Uint8Array } {
    const start = this.pos;
    const mag = this.mpiMagnitude(maxLen);
    return { value: bytesToBigint(mag), raw: this.buf.subarray(start, this.pos) };
  }
  mpi(maxLen = 1024): bigint {
    return this.mpiWithBytes(maxLen).value;
  }
  /** MPI magnitude as a view (length-checked, minimum-length checked), for callers that may never need the value. */
  mpiMagnitude(maxLen = 1024): Uint8Array {
    // src/bytes' one MPI rule: the length checked against the limit and the buffer, minimal encodings only (the
    // spec requires them; fingerprints and the hashes over MPIs depend on it).
    const { magnitude, next } = asOtrError(() => readMpiMagnitude(this.buf, this.pos, maxLen));
    this.pos = next;
    return magnitude;
  }
  ctr(): Uint8Array {
    return this.bytes(8, 'CTR');
  }
  mac(): Uint8Array {
    return this.bytes(20, 'MAC');
  }
  /**
   * PUBKEY, parsed strictly by src/keys (type 0x0000, minimal MPIs, q of 160 bits, sane p, g, y).
   * Returns the key and the exact bytes it occupied.
   */
  pubkey(): { key: DsaPublicKey; raw: Uint8Array } {
    const start = this.pos;
    const { key, next } = asOtrError(() => parsePublicKey(this.buf, start));
    this.pos = next;
    return { key, raw: this.buf.subarray(start, next) };
  }
  /** SIG: r and s, each as long as q (in bytes). */
  sig(q: bigint): { r: bigint; s: bigint } {
    const qlen = byteLength(q);
    const r = bytesToBigint(this.bytes(qlen, 'SIG r'));
    const s = bytesToBigint(this.bytes(qlen, 'SIG s'));
    return { r, s };
  }
  /** Everything that is left. */
  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest');
  }
  end(what: string): void {
    if (this.remaining !== 0) throw new OtrProtocolError('trailing', `${what}: ${this.remaining} trailing bytes`);
  }
}

export class Writer {
  private readonly parts: Uint8Array[] = [];
  byte(v: number): this {
    this.parts.push(Uint8Array.of(v & 0xff));
    return this;
  }
  short(v: number): this {
    this.parts.push(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
    return this;
  }
  int(v: number): this {
    this.parts.push(Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  data(b: Uint8Array): this {
    return this.int(b.length).raw(b);
  }
  mpi(x: bigint): this {
    return this.raw(encodeMpi(x));
  }
  pubkey(k: DsaPublicKey): this {
    return this.raw(serializePublicKey(k));
  }
  sig(q: bigint, sig: { r: bigint; s: bigint }): this {
    const qlen = byteLength(q);
    return this.raw(bigintToBytes(sig.r, qlen)).raw(bigintToBytes(sig.s, qlen));
  }
  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

// Strict base64 without scanning the text in JavaScript. Buffer's decoder skips characters outside the alphabet,
// stops at a misplaced '=', takes base64url's '-' and '_', and reads a non-ASCII character as its low byte. So
// the text is valid exactly when it is ASCII, its length is a multiple of 4, it has no '-' or '_', and it
// decodes to the full 3 bytes per 4 characters less the final padding: any skipped or misplaced character
// shortens the result. This accepts the same language as the
// grammar B64_RE (padding whose unused bits are not zero included); a unit test fuzzes one against the other.
// Checking by decoding, encoding again and comparing would cost a third of the decode again.
export const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64: standard alphabet, padded, nothing else (Buffer's decoder silently skips junk). */
export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new OtrProtocolError('bad-base64', 'invalid base64');
  const b = Buffer.from(s, 'base64');
  const pad = s.length === 0 ? 0 : s.charCodeAt(s.length - 1) !== 61 ? 0 : s.charCodeAt(s.length - 2) === 61 ? 2 : 1;
  // (Buffer also maps a character beyond Latin-1 to its low byte, e.g. U+0141 to 'A': hence the ASCII check.)
  if (
    b.length !== (s.length / 4) * 3 - pad ||
    s.includes('-') ||
    s.includes('_') ||
    Buffer.byteLength(s, 'utf8') !== s.length
  ) {
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
