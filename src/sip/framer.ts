// Splits a TCP/TLS byte stream into SIP messages (RFC 3261 18.3): the header section ends at the first
// CRLFCRLF, the body is exactly Content-Length bytes (not characters). CRLF keep-alives (RFC 5626 3.5.1)
// between messages are reported separately so the transport can answer a ping.
import { concatBytes } from '../bytes/bytes.js';
import { SipFramingError } from './errors.js';

export interface FramerLimits {
  /** Largest accepted start line + header section, in bytes. */
  readonly maxHeaderBytes: number;
  /** Largest accepted body, in bytes. */
  readonly maxBodyBytes: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = { maxHeaderBytes: 65536, maxBodyBytes: 1048576 };

export type FramerEvent =
  { readonly type: 'message'; readonly text: string } | { readonly type: 'ping' } | { readonly type: 'pong' };

const CR = 0x0d;
const LF = 0x0a;

export class SipStreamFramer {
  private buffer: Uint8Array = new Uint8Array(0);
  /** Body length of the message whose header section is complete, or -1 while reading headers. */
  private pendingBody = -1;
  private headerLength = 0;
  private failed: SipFramingError | undefined;
  private readonly decoder = new TextDecoder('utf-8');
  /**
   * Set by the transport while its own ping is unanswered: a lone CRLF that ends the buffer is then the pong
   * (otherwise it could be the first half of the peer's ping, and waits for more bytes).
   */
  expectingPong = false;

  constructor(private readonly limits: FramerLimits = DEFAULT_FRAMER_LIMITS) {}

  /**
   * Feeds bytes and returns every event now complete. Throws SipFramingError once the stream can no
   * longer be resynchronised (oversized or malformed framing); the connection must then be closed.
   */
  push(chunk: Uint8Array): FramerEvent[] {
    if (this.failed) throw this.failed;
    this.buffer = concatBytes(this.buffer, chunk);
    const events: FramerEvent[] = [];
    try {
      for (;;) {
        if (this.pendingBody < 0) {
          if (!this.skipKeepAlives(events)) break;
          const end = indexOfCrlfCrlf(this.buffer);
          if (end < 0) {
            if (this.buffer.length > this.limits.maxHeaderBytes) {
              throw new SipFramingError(`SIP header section exceeds ${this.limits.maxHeaderBytes} bytes`);
            }
            break;
          }
          if (end + 4 > this.limits.maxHeaderBytes) {
            throw new SipFramingError(`SIP header section exceeds ${this.limits.maxHeaderBytes} bytes`);
          }
          this.headerLength = end + 4;
          this.pendingBody = contentLength(this.decoder.decode(this.buffer.subarray(0, end)), this.limits.maxBodyBytes);
        }
        const total = this.headerLength + this.pendingBody;
        if (this.buffer.length < total) break;
        events.push({ type: 'message', text: this.decoder.decode(this.buffer.subarray(0, total)) });
        this.buffer = this.buffer.slice(total);
        this.pendingBody = -1;
        this.headerLength = 0;
      }
    } catch (err) {
      if (err instanceof SipFramingError) {
        this.failed = err;
        this.buffer = new Uint8Array(0);
      }
      throw err;
    }
    return events;
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Consumes CRLFs before a message. A double CRLF is a ping, a lone CRLF a pong. Returns false when the
   * buffer holds only a partial keep-alive (wait for more bytes).
   */
  private skipKeepAlives(events: FramerEvent[]): boolean {
    let i = 0;
    const b = this.buffer;
    while (i < b.length && (b[i] === CR || b[i] === LF)) {
      if (b[i] === CR && b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) {
        events.push({ type: 'ping' });
        i += 4;
      } else if (b[i] === CR && b[i + 1] === LF) {
        if (i + 2 >= b.length && !this.expectingPong) break; // could be the first half of a ping
        events.push({ type: 'pong' });
        this.expectingPong = false;
        i += 2;
      } else if (b[i] === CR && i + 1 >= b.length) {
        break;
      } else {
        i += 1; // stray CR or LF: tolerated, carries no meaning
      }
    }
    if (i > 0) this.buffer = this.buffer.slice(i);
    return this.buffer.length > 0 && this.buffer[0] !== CR && this.buffer[0] !== LF;
  }
}

function contentLength(headerSection: string, maxBody: number): number {
  let found: number | undefined;
  for (const line of headerSection.split('\r\n').slice(1)) {
    const m = /^(content-length|l)[ \t]*:[ \t]*(.*)$/i.exec(line);
    if (!m) continue;
    const raw = (m[2] ?? '').trim();
    if (!/^\d{1,10}$/.test(raw)) throw new SipFramingError(`invalid Content-Length: ${raw.slice(0, 20)}`);
    const n = Number(raw);
    if (found !== undefined && found !== n) throw new SipFramingError('conflicting Content-Length headers');
    found = n;
  }
  // A stream message without Content-Length can only be framed as having no body (RFC 3261 18.3 makes it
  // mandatory on streams, so a sender that omits it has no body to send).
  const n = found ?? 0;
  if (n > maxBody) throw new SipFramingError(`SIP body of ${n} bytes exceeds the limit of ${maxBody}`);
  return n;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === CR && b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) return i;
  }
  return -1;
}
