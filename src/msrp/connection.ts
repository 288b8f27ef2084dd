// One MSRP transport connection (TCP, or TLS for msrps): bytes <-> frames. Thin: all protocol decisions live in
// the parser (framing) and the session (semantics). A malformed stream closes this connection, never the process.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { MsrpClosedError, MsrpParseError, MsrpTimeoutError } from './errors.js';
import type { MsrpFrame } from './frame.js';
import { MsrpParser, type MsrpParserLimits } from './parser.js';

export interface MsrpCloseInfo {
  /** Human-readable reason, suitable for a log line. */
  readonly reason: string;
  /** Set when the close was caused by an error (parse error, socket error, handler exception). */
  readonly error?: Error;
}

export interface MsrpConnectionEvents {
  frame: [MsrpFrame];
  close: [MsrpCloseInfo];
}

export interface MsrpConnectionOptions {
  readonly limits?: Partial<MsrpParserLimits>;
}

export interface MsrpConnectOptions extends MsrpConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** Use TLS (msrps). */
  readonly secure?: boolean;
  /** Extra node:tls options (ca, rejectUnauthorized, servername...). */
  readonly tls?: tls.ConnectionOptions;
  readonly timeoutMs?: number;
}

const KEEPALIVE_IDLE_MS = 30000;
/** How long an orderly close waits for the peer's FIN before it drops the socket. */
const ORDERLY_CLOSE_MS = 2000;

export class MsrpConnection extends EventEmitter<MsrpConnectionEvents> {
  private readonly parser: MsrpParser;
  /** Writes are corked until the end of this event-loop turn (see onData). */
  private holding = false;
  /** Frames kept back while nobody owns the connection yet (pauseFrames); null when frames flow. */
  private kept: MsrpFrame[] | null = null;
  private closeInfo: MsrpCloseInfo | null = null;

  constructor(
    readonly socket: net.Socket,
    opts: MsrpConnectionOptions = {},
  ) {
    super();
    this.parser = new MsrpParser(opts.limits);
    socket.setNoDelay(true);
    // A chat can be quiet for hours. TCP keep-alive (the kernel probes after 30 s idle) keeps NAT and firewall
    // state alive and lets a vanished peer surface as an error, without any MSRP-level traffic that a peer (Blink,
    // a relay) would have to understand: RFC 4975 defines no ping, and an empty SEND means "bind" to some peers.
    socket.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => {
      try {
        this.parser.end();
        this.shutdown({ reason: 'peer closed the connection' });
      } catch (e) {
        this.shutdown({ reason: `peer closed the connection mid-frame: ${(e as Error).message}`, error: e as Error });
      }
    });
    socket.on('error', (err) => this.shutdown({ reason: socketErrorText(err), error: err }));
    socket.on('close', () => this.shutdown({ reason: 'connection closed' }));
  }

  /** Opens an active connection (the a=setup:active side, or towards a relay). */
  static connect(opts: MsrpConnectOptions): Promise<MsrpConnection> {
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const socket: net.Socket = opts.secure
        ? tls.connect({ host: opts.host, port: opts.port, ...(opts.tls ?? {}) })
        : net.connect({ host: opts.host, port: opts.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MsrpTimeoutError(`connecting to ${opts.host}:${opts.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once(opts.secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new MsrpConnection(socket, opts));
      });
    });
  }

  get closed(): boolean {
    return this.closeInfo !== null;
  }

  get closeReason(): MsrpCloseInfo | null {
    return this.closeInfo;
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** Writes bytes; resolves once handed to the kernel, which also gives natural back-pressure to awaiting senders. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.closeInfo) return Promise.reject(new MsrpClosedError(`connection closed: ${this.closeInfo.reason}`));
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => {
        if (err) reject(new MsrpClosedError(`write failed: ${err.message}`));
        else resolve();
      });
    });
  }

  /** Writes pieces of one frame as one vectored write (corked), without joining them; resolves as write() does. */
  writeParts(parts: readonly Uint8Array[]): Promise<void> {
    if (this.closeInfo) return Promise.reject(new MsrpClosedError(`connection closed: ${this.closeInfo.reason}`));
    return new Promise((resolve, reject) => {
      this.socket.cork();
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1) this.socket.write(parts[i]!);
        else
          this.socket.write(parts[i]!, (err) => {
            if (err) reject(new MsrpClosedError(`write failed: ${err.message}`));
            else resolve();
          });
      }
      this.socket.uncork();
    });
  }

  close(reason = 'closed locally'): void {
    this.shutdown({ reason }, true);
  }

  /**
   * Keeps every frame that arrives from now on (and stops reading the socket, so the kernel's window holds the
   * rest) until resumeFrames(). For a connection that waits for its owner: a listener holding a peer's connection
   * until the session it names is started must lose none of what the peer sends meanwhile.
   */
  pauseFrames(): void {
    if (this.kept || this.closeInfo) return;
    this.kept = [];
    this.socket.pause();
  }

  /** Hands out the kept frames, in order, to whoever listens now, and reads on. */
  resumeFrames(): void {
    const kept = this.kept;
    if (!kept) return;
    this.kept = null;
    for (const frame of kept) if (!this.deliver(frame)) return;
    if (!this.closeInfo) this.socket.resume();
  }

  private onData(data: Buffer): void {
    if (this.closeInfo) return;
    let frames: MsrpFrame[];
    try {
      frames = this.parser.feed(data);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.shutdown({
        reason:
          e instanceof MsrpParseError
            ? `malformed frame from ${this.remote}: ${err.message}`
            : `parser failure: ${err.message}`,
        error: err,
      });
      return;
    }
    // What the handlers answer to these frames (a 200 per chunk, a REPORT once the chunk is on its way to disk,
    // which comes in a promise turn) goes out in one write at the end of this turn of the event loop, not one
    // write each: on loopback every small write costs a syscall that also runs the peer's TCP receive, a cost per
    // write rather than per byte.
    if (frames.length > 0 && !this.holding) {
      this.holding = true;
      this.socket.cork();
      setImmediate(() => {
        this.holding = false;
        this.socket.uncork();
      });
    }
    for (const frame of frames) {
      if (this.kept) this.kept.push(frame);
      else if (!this.deliver(frame)) return;
    }
  }

  /** Emits one frame; false once the connection is closed (before, or by a handler that failed). */
  private deliver(frame: MsrpFrame): boolean {
    if (this.closeInfo) return false;
    try {
      this.emit('frame', frame);
    } catch (e) {
      // A bug in a frame handler must not take the process down with it; drop this connection instead.
      const err = e instanceof Error ? e : new Error(String(e));
      this.shutdown({ reason: `frame handler failed: ${err.message}`, error: err });
      return false;
    }
    return !this.closeInfo;
  }

  private shutdown(info: MsrpCloseInfo, orderly = false): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    if (orderly && !this.socket.destroyed) {
      // Our own close: flush what is written and send FIN, reading (and dropping) until the peer closes too. A
      // destroy() with unread bytes in the kernel's buffer sends RST instead, and the peer would see its chat
      // "reset" where we simply hung up.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), ORDERLY_CLOSE_MS).unref();
    } else {
      this.socket.destroy();
    }
    this.emit('close', info);
  }
}

/** What a socket error means to the user; the code stays in brackets for the log reader. */
function socketErrorText(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNRESET':
      return 'connection reset by the peer or the network (ECONNRESET)';
    case 'EPIPE':
      return 'connection broken (EPIPE)';
    case 'ETIMEDOUT':
      return 'connection timed out (ETIMEDOUT)';
    default:
      return `socket error: ${err.message}`;
  }
}
