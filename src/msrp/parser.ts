// Incremental MSRP frame parser (RFC 4975 section 9). Pure: bytes in, frames out, no sockets.
//
// A chunk's body is delimited by its end-line (CRLF "-------" tid flag CRLF), never by its Byte-Range: Blink counts
// characters instead of bytes for non-ASCII text, so a declared length may be short of the bytes on the wire.
import { MsrpParseError } from './errors.js';
import { parseByteRange, getHeader, type EndFlag, type MsrpFrame, type MsrpHeader } from './frame.js';

export interface MsrpParserLimits {
  /** Start line plus headers, in bytes. */
  readonly maxHeaderBytes: number;
  /** Body of one chunk, in bytes. */
  readonly maxChunkBody: number;
}

export const DEFAULT_PARSER_LIMITS: MsrpParserLimits = {
  maxHeaderBytes: 16 * 1024,
  maxChunkBody: 64 * 1024 * 1024,
};

/**
 * A declared chunk may carry up to this many bytes per declared unit before we call the end-line missing:
 * a UTF-8 character is at most 4 bytes, and Blink declares characters.
 */
const DECLARED_SLACK_FACTOR = 4;
const DECLARED_SLACK_BYTES = 64;

/** Bodies from this size on are handed out without a copy (file chunks); smaller ones are copied. */
const ZERO_COPY_BODY = 16 * 1024;
/** The most a Byte-Range makes the queue set aside ahead of the bytes (blink-tui's chunks are 1 MiB). */
const RESERVE_CAP = 2 * 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const MSRP_SP = Buffer.from('MSRP ', 'latin1');
const DASHES = '-------';
const IDENT_RE = /^[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}$/;
const HNAME_RE = /^[A-Za-z][!#-'*+\-.0-9A-Z^-~]*$/;

/**
 * Buffers of one size for large chunks, used again once their body is released (releaseBody): a fresh 1 MiB buffer
 * per chunk costs page faults on every page (the launcher has glibc mmap anything over 128 KiB) and garbage
 * collections; a file receiver measured ~20 % faster with them reused. Only a body whose consumer says it is done
 * with it (the file sink, after the disk write and the hash) goes back; any other is left to the garbage collector.
 * They are SharedArrayBuffers, so that a consumer may hand a body to a worker thread without copying it.
 */
const POOL_BUFFER = 1024 * 1024 + 64 * 1024;
/**
 * A file receiver keeps this many chunks between the socket and the disk (and its hashing thread): fewer, and every
 * chunk past them was a new buffer. trimBodyPool() gives the spares back when the file is in.
 */
const POOL_MAX = 16;
/** Buffers kept between transfers (a chat's large messages use them too). */
const POOL_KEEP = 4;
const pool: Buffer[] = [];
/** Pool-sized buffers made by reserve(): bodies handed out of each, and whether a queue still writes into it. */
const pooled = new WeakMap<ArrayBufferLike, { buf: Buffer; takes: number; queued: boolean }>();

function maybeRecycle(st: { buf: Buffer; takes: number; queued: boolean }): void {
  if (st.takes === 0 && !st.queued && pool.length < POOL_MAX && !pool.includes(st.buf)) pool.push(st.buf);
}

/** A large transfer ended: the pool keeps only a few buffers. */
export function trimBodyPool(): void {
  if (pool.length > POOL_KEEP) pool.length = POOL_KEEP;
}

/** The consumer of a chunk body is done with it (nothing reads it any more): its buffer may be used again. */
export function releaseBody(body: Uint8Array): void {
  const st = pooled.get(body.buffer);
  if (!st || st.takes === 0) return;
  st.takes--;
  maybeRecycle(st);
}

/** A growable byte queue with amortised O(1) append, so a large chunk arriving in small reads costs O(n). */
class ByteQueue {
  private buf: Buffer = Buffer.alloc(0);
  private head = 0;
  private tail = 0;
  /** Part of `buf` was handed out (take()): it must never be written again, so the queue moves to a new buffer. */
  private shared = false;

  get length(): number {
    return this.tail - this.head;
  }

  append(data: Uint8Array): void {
    if (this.tail + data.length > this.buf.length) {
      const live = this.length;
      const need = live + data.length;
      if (need <= this.buf.length && this.head >= live && !this.shared) {
        this.buf.copy(this.buf, 0, this.head, this.tail);
        this.head = 0;
        this.tail = live;
      } else {
        // Doubling keeps a growing chunk O(n); a buffer handed out is left behind, not doubled (it would grow
        // with every chunk), and reserve() sizes the next one.
        this.moveTo(Math.max(need, this.shared ? 64 * 1024 : this.buf.length * 2, 4096));
      }
    }
    this.buf.set(data, this.tail);
    this.tail += data.length;
  }

  /** Room for `total` queued bytes without a copy (a large chunk whose size its Byte-Range gave, capped). */
  reserve(total: number): void {
    if (this.buf.length - this.head >= total) return;
    if (total <= POOL_BUFFER && this.length <= POOL_BUFFER) {
      let next = pool.pop();
      if (!next) {
        // Shared memory: a file receiver hashes the bodies in a worker thread where they lie, without a copy.
        next = Buffer.from(new SharedArrayBuffer(POOL_BUFFER));
        pooled.set(next.buffer, { buf: next, takes: 0, queued: false });
      }
      pooled.get(next.buffer)!.queued = true;
      this.switchTo(next);
      return;
    }
    this.moveTo(total);
  }

  private moveTo(size: number): void {
    // Never smaller than what is queued (reserve() may be asked for less when more frames wait behind this one).
    this.switchTo(Buffer.allocUnsafe(Math.max(size, this.length)));
  }

  private switchTo(next: Buffer): void {
    this.buf.copy(next, 0, this.head, this.tail);
    this.tail -= this.head;
    this.head = 0;
    this.leave();
    this.buf = next;
    this.shared = false;
  }

  /** The queue stops writing into its buffer: a pooled one may go back once its bodies are released. */
  private leave(): void {
    const st = pooled.get(this.buf.buffer);
    if (st && st.buf === this.buf) {
      st.queued = false;
      maybeRecycle(st);
    }
  }

  /** Zero-copy view of the queued bytes; valid until the next append or consume. */
  view(): Buffer {
    return this.buf.subarray(this.head, this.tail);
  }

  /** Queued bytes [from, to) (relative to view()) as a Uint8Array that stays valid: they are never overwritten. */
  take(from: number, to: number): Uint8Array {
    this.shared = true;
    const st = pooled.get(this.buf.buffer);
    if (st && st.buf === this.buf) st.takes++;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.head + from, to - from);
  }

  consume(n: number): void {
    this.head += n;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      // Do not keep a huge buffer alive after one big chunk, nor write over bytes handed out.
      if (this.buf.length > 1024 * 1024 || this.shared) {
        this.leave();
        this.buf = Buffer.alloc(0);
        this.shared = false;
      }
    }
  }
}

type State =
  | { kind: 'start' }
  | {
      kind: 'headers';
      transactionId: string;
      first: { kind: 'request'; method: string } | { kind: 'response'; status: number; comment: string };
      headers: MsrpHeader[];
      pos: number;
    }
  | {
      kind: 'body';
      transactionId: string;
      first: { kind: 'request'; method: string } | { kind: 'response'; status: number; comment: string };
      headers: MsrpHeader[];
      /** Index of the CRLF of the empty line that ends the headers. */
      blank: number;
      scanFrom: number;
      boundary: Buffer;
      /** Most body bytes we will buffer before giving up on the end-line. */
      bodyLimit: number;
      declared: number | null;
    };

export class MsrpParser {
  readonly limits: MsrpParserLimits;
  private readonly queue = new ByteQueue();
  private state: State = { kind: 'start' };
  private failed: MsrpParseError | null = null;

  constructor(limits: Partial<MsrpParserLimits> = {}) {
    this.limits = { ...DEFAULT_PARSER_LIMITS, ...limits };
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /** True between frames (nothing partial is held). */
  get idle(): boolean {
    return this.state.kind === 'start' && this.queue.length === 0;
  }

  /**
   * Adds bytes from the stream and returns every frame they complete, in order. Throws MsrpParseError on the
   * first malformed frame; the parser then stays failed (the stream position is lost).
   */
  feed(data: Uint8Array): MsrpFrame[] {
    if (this.failed) throw this.failed;
    this.queue.append(data);
    const out: MsrpFrame[] = [];
    try {
      for (;;) {
        const frame = this.step();
        if (frame === null) break;
        out.push(frame);
      }
    } catch (e) {
      if (e instanceof MsrpParseError) this.failed = e;
      throw e;
    }
    return out;
  }

  /** Call at end of stream: throws if a frame was cut off. */
  end(): void {
    if (this.failed) throw this.failed;
    if (!this.idle) {
      this.failed = new MsrpParseError('truncated', `stream ended inside a frame (${this.queue.length} bytes pending)`);
      throw this.failed;
    }
  }

  private step(): MsrpFrame | null {
    const buf = this.queue.view();
    const st = this.state;
    if (st.kind === 'start') return this.stepStart(buf);
    if (st.kind === 'headers') return this.stepHeaders(buf, st);
    return this.stepBody(buf, st);
  }

  private stepStart(buf: Buffer): MsrpFrame | null {
    if (buf.length === 0) return null;
    const n = Math.min(buf.length, MSRP_SP.length);
    if (buf.compare(MSRP_SP, 0, n, 0, n) !== 0)
      throw new MsrpParseError('garbage-start-line', `frame does not start with "MSRP ": ${preview(buf)}`);
    const eol = findCrlf(buf, 0, this.limits.maxHeaderBytes);
    if (eol < 0) {
      if (buf.length > this.limits.maxHeaderBytes)
        throw new MsrpParseError('header-too-large', `start line longer than ${this.limits.maxHeaderBytes} bytes`);
      return null;
    }
    const line = buf.toString('utf8', 0, eol);
    const parts = /^MSRP ([^ ]+) (.*)$/.exec(line);
    if (!parts) throw new MsrpParseError('garbage-start-line', `bad start line ${JSON.stringify(line.slice(0, 80))}`);
    const transactionId = parts[1]!;
    const rest = parts[2]!;
    if (!IDENT_RE.test(transactionId))
      throw new MsrpParseError(
        'bad-transaction-id',
        `bad transaction id ${JSON.stringify(transactionId.slice(0, 40))}`,
      );
    let first: { kind: 'request'; method: string } | { kind: 'response'; status: number; comment: string };
    const resp = /^(\d{3})(?: (.*))?$/.exec(rest);
    if (resp) first = { kind: 'response', status: Number(resp[1]), comment: resp[2] ?? '' };
    // Blink's resume request is FILE_OFFSET: the underscore is outside RFC 4975's method grammar, accepted anyway.
    else if (/^[A-Z][A-Z_]*$/.test(rest)) first = { kind: 'request', method: rest };
    else throw new MsrpParseError('garbage-start-line', `bad method or status ${JSON.stringify(rest.slice(0, 40))}`);
    const next: Extract<State, { kind: 'headers' }> = {
      kind: 'headers',
      transactionId,
      first,
      headers: [],
      pos: eol + 2,
    };
    this.state = next;
    return this.stepHeaders(buf, next);
  }

  private stepHeaders(buf: Buffer, st: Extract<State, { kind: 'headers' }>): MsrpFrame | null {
    const max = this.limits.maxHeaderBytes;
    for (;;) {
      const eol = findCrlf(buf, st.pos, max - st.pos);
      if (eol < 0) {
        if (buf.length > max) throw new MsrpParseError('header-too-large', `header block exceeds ${max} bytes`);
        return null;
      }
      if (eol + 2 > max) throw new MsrpParseError('header-too-large', `header block exceeds ${max} bytes`);
      const lineStart = st.pos;
      st.pos = eol + 2;
      if (eol === lineStart) {
        // Empty line: a body follows, up to the end-line.
        return this.enterBody(buf, st, lineStart);
      }
      const line = buf.toString('utf8', lineStart, eol);
      if (line.startsWith(DASHES)) {
        const flag = endFlagOf(line, st.transactionId);
        if (flag === null) {
          throw new MsrpParseError(
            'transaction-id-mismatch',
            `end-line ${JSON.stringify(line.slice(0, 60))} does not close transaction ${st.transactionId}`,
          );
        }
        checkRange(st.headers);
        return this.finish(st.transactionId, st.first, st.headers, new Uint8Array(0), flag, st.pos);
      }
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!HNAME_RE.test(name))
        throw new MsrpParseError('bad-header', `bad header line ${JSON.stringify(line.slice(0, 80))}`);
      st.headers.push([
        name,
        line
          .slice(colon + 1)
          .replace(/^[ \t]+/, '')
          .replace(/[ \t]+$/, ''),
      ]);
    }
  }

  private enterBody(buf: Buffer, st: Extract<State, { kind: 'headers' }>, blank: number): MsrpFrame | null {
    const range = checkRange(st.headers);
    let declared: number | null = null;
    if (range && range.end !== null) {
      declared = range.end - range.start + 1;
      if (declared > this.limits.maxChunkBody)
        throw new MsrpParseError(
          'chunk-too-large',
          `declared chunk of ${declared} bytes exceeds the ${this.limits.maxChunkBody}-byte limit`,
        );
    }
    const bodyLimit =
      declared === null
        ? this.limits.maxChunkBody
        : Math.min(this.limits.maxChunkBody, declared * DECLARED_SLACK_FACTOR + DECLARED_SLACK_BYTES);
    this.state = {
      kind: 'body',
      transactionId: st.transactionId,
      first: st.first,
      headers: st.headers,
      blank,
      scanFrom: blank,
      boundary: Buffer.from('\r\n' + DASHES + st.transactionId, 'latin1'),
      bodyLimit,
      declared,
    };
    // A large chunk's bytes then arrive into one buffer of about its size (capped: a length field alone never
    // makes us allocate much), from which the body is handed out without a copy.
    if (declared !== null && declared >= ZERO_COPY_BODY) {
      this.queue.reserve(blank + 2 + Math.min(declared, RESERVE_CAP) + this.state.boundary.length + 3);
      return this.stepBody(this.queue.view(), this.state);
    }
    return this.stepBody(buf, this.state);
  }

  private stepBody(buf: Buffer, st: Extract<State, { kind: 'body' }>): MsrpFrame | null {
    const bodyStart = st.blank + 2;
    if (st.declared !== null && st.declared >= ZERO_COPY_BODY && st.scanFrom === st.blank) {
      // A large chunk with a byte count (blink-tui's file chunks; Blink's say `S-*/TOTAL`): its end-line is looked
      // for where the count puts it before the body is searched (a search of every byte cost a file's receiver a
      // quarter of a second per GiB). The body must not contain its end-line (RFC 4975), so one found there is the
      // first; when it is not there (a count in characters, as Blink gives for text), the body is searched as any.
      const endLineAt = (at: number): '$' | '+' | '#' | null => {
        const flagAt = at + st.boundary.length;
        const flag = String.fromCharCode(buf[flagAt]!);
        return buf.compare(st.boundary, 0, st.boundary.length, at, flagAt) === 0 &&
          (flag === '$' || flag === '+' || flag === '#') &&
          buf[flagAt + 1] === CR &&
          buf[flagAt + 2] === LF
          ? flag
          : null;
      };
      const idx = bodyStart + st.declared;
      const end = idx + st.boundary.length + 3;
      if (buf.length < end) {
        // Not all there by the count. A peer that counted more than it sent (and now waits for our answer) has its
        // whole chunk in already, end-line last: that is looked at too (a few bytes), else we wait for more.
        const tail = buf.length - (st.boundary.length + 3);
        const flag = tail >= bodyStart ? endLineAt(tail) : null;
        return flag
          ? this.finish(st.transactionId, st.first, st.headers, this.queue.take(bodyStart, tail), flag, buf.length)
          : null;
      }
      const flag = endLineAt(idx);
      if (flag) return this.finish(st.transactionId, st.first, st.headers, this.queue.take(bodyStart, idx), flag, end);
    }
    for (;;) {
      const idx = buf.indexOf(st.boundary, st.scanFrom);
      if (idx < 0) {
        st.scanFrom = Math.max(st.scanFrom, buf.length - st.boundary.length + 1);
        break;
      }
      const flagAt = idx + st.boundary.length;
      if (buf.length < flagAt + 3) {
        st.scanFrom = idx;
        break;
      }
      const flag = String.fromCharCode(buf[flagAt]!);
      if ((flag === '$' || flag === '+' || flag === '#') && buf[flagAt + 1] === CR && buf[flagAt + 2] === LF) {
        // A large body (a file chunk) is handed out where it lies instead of copied; a small one is copied, so
        // that a chat message does not keep a large buffer alive.
        const body =
          idx <= bodyStart
            ? new Uint8Array(0)
            : idx - bodyStart >= ZERO_COPY_BODY
              ? this.queue.take(bodyStart, idx)
              : new Uint8Array(buf.subarray(bodyStart, idx));
        return this.finish(st.transactionId, st.first, st.headers, body, flag, flagAt + 3);
      }
      // Looked like an end-line but is not one: it is body data.
      st.scanFrom = idx + 1;
    }
    const have = buf.length - bodyStart - (st.boundary.length + 3);
    if (have > st.bodyLimit) {
      if (st.declared !== null && st.bodyLimit < this.limits.maxChunkBody)
        throw new MsrpParseError(
          'missing-end-line',
          `no end-line for transaction ${st.transactionId} after ${have} body bytes (Byte-Range declares ${st.declared})`,
        );
      throw new MsrpParseError(
        'chunk-too-large',
        `chunk body exceeds the ${this.limits.maxChunkBody}-byte limit without an end-line`,
      );
    }
    return null;
  }

  private finish(
    transactionId: string,
    first: { kind: 'request'; method: string } | { kind: 'response'; status: number; comment: string },
    headers: MsrpHeader[],
    body: Uint8Array,
    endFlag: EndFlag,
    consumed: number,
  ): MsrpFrame {
    this.queue.consume(consumed);
    this.state = { kind: 'start' };
    if (first.kind === 'request')
      return { kind: 'request', transactionId, method: first.method, headers, body, endFlag };
    return { kind: 'response', transactionId, status: first.status, comment: first.comment, headers, body, endFlag };
  }
}

function checkRange(headers: readonly MsrpHeader[]) {
  const v = getHeader(headers, 'Byte-Range');
  return v === undefined ? null : parseByteRange(v);
}

function endFlagOf(line: string, tid: string): EndFlag | null {
  if (line.length !== DASHES.length + tid.length + 1) return null;
  if (line.slice(DASHES.length, DASHES.length + tid.length) !== tid) return null;
  const f = line[line.length - 1];
  return f === '$' || f === '+' || f === '#' ? f : null;
}

/** Index of the next CRLF at or after `from`, looking at most `within` bytes ahead; -1 if none. */
function findCrlf(buf: Buffer, from: number, within: number): number {
  const limit = Math.min(buf.length, from + Math.max(within, 0) + 2);
  const i = buf.subarray(0, limit).indexOf('\r\n', from, 'latin1');
  return i;
}

function preview(buf: Buffer): string {
  return JSON.stringify(buf.toString('latin1', 0, Math.min(buf.length, 40)));
}
