// A passive MSRP endpoint (a=setup:passive): accepts connections and hands each to the session named by the
// session-id in the To-Path of its first request (RFC 4975 section 5.4, RFC 6135).
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { MsrpConnection } from './connection.js';
import { getHeader, splitPath, type MsrpFrame } from './frame.js';
import type { MsrpParserLimits } from './parser.js';
import { serializeResponse } from './serializer.js';
import { sessionIdOf } from './uri.js';

export interface MsrpListenOptions {
  /** Defaults to 127.0.0.1. */
  readonly host?: string;
  /** Defaults to 0 (any free port). */
  readonly port?: number;
  /** TLS server options: when given, the listener speaks msrps. */
  readonly tls?: tls.TlsOptions;
  readonly limits?: Partial<MsrpParserLimits>;
  /** How long an accepted connection may stay silent before its first frame. */
  readonly firstFrameTimeoutMs?: number;
}

/** Called with a connection whose first request names this session; the handler now owns the connection. */
export type MsrpAcceptHandler = (conn: MsrpConnection, first: MsrpFrame) => void;

export interface MsrpListenerEvents {
  /** A connection we closed without handing it to a session (unknown session, bad first frame, timeout). */
  reject: [{ remote: string; reason: string }];
}

export class MsrpListener extends EventEmitter<MsrpListenerEvents> {
  private readonly handlers = new Map<string, MsrpAcceptHandler>();
  private readonly reserved = new Set<string>();
  private readonly held = new Map<string, { conn: MsrpConnection; frame: MsrpFrame; release: () => void }[]>();
  private readonly unclaimed = new Set<MsrpConnection>();
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
    readonly secure: boolean,
    private readonly opts: MsrpListenOptions,
  ) {
    super();
    server.on('connection', (s: net.Socket) => {
      if (!secure) this.onSocket(s);
    });
    server.on('secureConnection', (s: tls.TLSSocket) => this.onSocket(s));
    // A failed TLS handshake is the client's problem, not ours.
    server.on('tlsClientError', () => undefined);
    // Accept errors (EMFILE...) must not become uncaught exceptions; report them like any refused connection.
    server.on('error', (err) => this.emit('reject', { remote: 'listener', reason: `listener error: ${err.message}` }));
  }

  static listen(opts: MsrpListenOptions = {}): Promise<MsrpListener> {
    const host = opts.host ?? '127.0.0.1';
    const server = opts.tls ? tls.createServer(opts.tls) : net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        const addr = server.address() as net.AddressInfo;
        resolve(new MsrpListener(server, host, addr.port, opts.tls !== undefined, opts));
      });
    });
  }

  /**
   * Announces a session id we have offered but not yet started (RFC 6135: an `actpass` offerer must accept the
   * peer's connection as soon as the offer is out, and the peer may connect before our side has seen the answer).
   * A binding frame for a reserved id is held until register() claims it, instead of being refused with 481.
   */
  reserve(sessionId: string): void {
    this.reserved.add(sessionId);
  }

  register(sessionId: string, handler: MsrpAcceptHandler): void {
    this.handlers.set(sessionId, handler);
    const held = this.held.get(sessionId);
    if (held) {
      this.held.delete(sessionId);
      for (const h of held) {
        h.release();
        handler(h.conn, h.frame);
        // What the peer sent after its first frame while we held the connection follows it, in order.
        h.conn.resumeFrames();
      }
    }
  }

  unregister(sessionId: string): void {
    this.handlers.delete(sessionId);
    this.reserved.delete(sessionId);
    const held = this.held.get(sessionId);
    this.held.delete(sessionId);
    for (const h of held ?? []) {
      h.release();
      h.conn.close('session no longer waiting for a connection');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const c of this.unclaimed) c.close('listener closed');
    this.unclaimed.clear();
    for (const list of this.held.values()) for (const h of list) h.conn.close('listener closed');
    this.held.clear();
    this.reserved.clear();
    this.handlers.clear();
  }

  private hold(sid: string, conn: MsrpConnection, frame: MsrpFrame): void {
    const list = this.held.get(sid) ?? [];
    if (list.length >= 4) {
      conn.close('too many early connections for one session');
      return;
    }
    const drop = () => {
      const l = this.held.get(sid);
      if (!l) return;
      const i = l.findIndex((h) => h.conn === conn);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.held.delete(sid);
    };
    const onClose = () => {
      clearTimeout(timer);
      drop();
    };
    const timer = setTimeout(() => {
      drop();
      conn.close('the session did not claim this connection in time');
    }, this.opts.firstFrameTimeoutMs ?? 30_000);
    timer.unref();
    conn.on('close', onClose);
    // The peer does not wait for us: a relay forwards the next SEND right behind the first one.
    conn.pauseFrames();
    list.push({
      conn,
      frame,
      release: () => {
        clearTimeout(timer);
        conn.off('close', onClose);
      },
    });
    this.held.set(sid, list);
  }

  private onSocket(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn = new MsrpConnection(socket, this.opts.limits ? { limits: this.opts.limits } : {});
    this.unclaimed.add(conn);
    const timer = setTimeout(() => reject('no frame received in time'), this.opts.firstFrameTimeoutMs ?? 30_000);
    timer.unref();
    const reject = (reason: string, reply?: Uint8Array) => {
      cleanup();
      this.emit('reject', { remote: conn.remote, reason });
      if (reply)
        void conn
          .write(reply)
          .catch(() => undefined)
          .finally(() => conn.close(reason));
      else conn.close(reason);
    };
    const cleanup = () => {
      clearTimeout(timer);
      conn.off('frame', onFrame);
      conn.off('close', onClose);
      this.unclaimed.delete(conn);
    };
    const onClose = (info: { reason: string }) => {
      cleanup();
      this.emit('reject', { remote: conn.remote, reason: `closed before binding: ${info.reason}` });
    };
    const onFrame = (frame: MsrpFrame) => {
      if (frame.kind !== 'request') return reject('first frame is a response');
      const toPath = splitPath(getHeader(frame.headers, 'To-Path'));
      const sid = sessionIdOf(toPath[toPath.length - 1]);
      const handler = sid === null ? undefined : this.handlers.get(sid);
      if (!handler && sid !== null && this.reserved.has(sid)) {
        cleanup();
        this.hold(sid, conn, frame);
        return;
      }
      if (!handler) {
        const fromPath = splitPath(getHeader(frame.headers, 'From-Path'));
        const quiet = getHeader(frame.headers, 'Failure-Report')?.toLowerCase() === 'no' || frame.method === 'REPORT';
        const reply =
          !quiet && fromPath.length > 0 && toPath.length > 0
            ? serializeResponse({
                transactionId: frame.transactionId,
                status: 481,
                toPath: [fromPath[0]!],
                fromPath: [toPath[toPath.length - 1]!],
              })
            : undefined;
        return reject(`no session for ${JSON.stringify(sid)}`, reply);
      }
      cleanup();
      handler(conn, frame);
    };
    conn.on('frame', onFrame);
    conn.on('close', onClose);
  }
}
