// One MSRP session (RFC 4975 sections 7.1-7.3): chunked sending with transaction responses and REPORTs,
// reassembly of incoming messages by Message-ID, size limits, and the empty bind SEND Blink expects.
import { EventEmitter } from 'node:events';
import { MsrpConnection, type MsrpCloseInfo } from './connection.js';
import {
  MsrpClosedError,
  MsrpMessageTooLargeError,
  MsrpParseError,
  MsrpStatusError,
  MsrpTimeoutError,
  MsrpUriError,
} from './errors.js';
import {
  getHeader,
  parseByteRange,
  parseStatusHeader,
  splitPath,
  type ByteRange,
  type MsrpFrame,
  type MsrpHeader,
  type MsrpRequest,
  type MsrpResponse,
} from './frame.js';
import { newMessageId } from './ids.js';
import type { MsrpListener } from './listener.js';
import type { MsrpParserLimits } from './parser.js';
import {
  serializeReport,
  serializeRequest,
  serializeResponse,
  serializeSend,
  serializeSendParts,
} from './serializer.js';
import { formatMsrpUri, msrpUriEquals, parseMsrpUri, sessionIdOf, type MsrpUri } from './uri.js';

export interface MsrpSessionOptions {
  /** Our own URI, e.g. msrp://127.0.0.1:PORT/<random>;tcp (the last element of our a=path). */
  readonly localUri: MsrpUri | string;
  /** Relay URIs in front of us (a relay's Use-Path), first hop first. */
  readonly relayPath?: readonly string[];
  /** A connection already open to the first relay (after AUTH); sessions with relays send everything over it. */
  readonly relayConnection?: MsrpConnection;
  /** Bytes per outgoing chunk. Default 2048. */
  readonly chunkSize?: number;
  /** Largest incoming message we reassemble, in bytes (answered 413 beyond). Default 16 MiB. */
  readonly maxMessageSize?: number;
  /** Bytes held across all incomplete incoming messages. Default 2 x maxMessageSize. */
  readonly maxPendingBytes?: number;
  /** Wait for a transaction response (RFC 4975 suggests 30 s). */
  readonly transactionTimeoutMs?: number;
  /** Wait for a requested success REPORT after the last 200. Default 30 s. */
  readonly reportTimeoutMs?: number;
  /** Parser limits for connections this session opens or accepts. */
  readonly limits?: Partial<MsrpParserLimits>;
  /** Where a passive session waits for the peer (see startPassive). */
  readonly listener?: MsrpListener;
  /** Close `listener` together with this session (it was made for this session alone). */
  readonly ownsListener?: boolean;
}

export interface MsrpSendOptions {
  /** Ask for a success REPORT and wait for it before resolving. Default false. */
  readonly successReport?: boolean;
  /** 'no' for messages that need no report (no responses will come); default 'yes'. */
  readonly failureReport?: 'yes' | 'no' | 'partial';
  readonly messageId?: string;
  /** Overrides the session's chunk size for this message. */
  readonly chunkSize?: number;
  /** MIME headers (Content-ID, Content-Disposition...) sent before Content-Type. */
  readonly extraHeaders?: readonly MsrpHeader[];
}

export interface MsrpIncomingMessage {
  readonly messageId: string;
  readonly contentType: string;
  readonly body: Uint8Array;
  /** Headers of the first chunk. */
  readonly headers: readonly MsrpHeader[];
  readonly fromPath: readonly string[];
  /**
   * Called by a listener while the 'message' event is being emitted: the message arrived but could not be used
   * (e.g. an OTR message we cannot decrypt). The sender then gets a failure REPORT with this status instead of
   * a success report (RFC 4975 7.1.2; sent unless its Failure-Report is no), so its "delivered" tells the truth.
   */
  readonly refuse?: (code: number, comment: string) => void;
}

/** One chunk of an incoming SEND, handed as it arrives to a session's chunk sink (see setChunkSink). */
export interface MsrpIncomingChunk {
  readonly messageId: string;
  readonly range: ByteRange;
  readonly endFlag: '$' | '+' | '#';
  readonly contentType: string | null;
  /** The chunk's bytes; the sink may keep this view (the parser gave the chunk its own copy). */
  readonly body: Uint8Array;
  readonly fromPath: readonly string[];
  /** The sender asked for a success REPORT (Blink asks for one per chunk of a file). */
  readonly successReport: boolean;
  readonly headers: readonly MsrpHeader[];
}

/** Returns the status for the transaction response (default 200); a sink sends its own REPORTs (sendReport). */
export type MsrpChunkSink = (chunk: MsrpIncomingChunk) => number | void;

/** Answers a request method the session does not know itself (e.g. Blink's FILE_OFFSET). */
export type MsrpRequestHandler = (req: MsrpRequest) => { status: number; headers?: readonly MsrpHeader[] };

export interface MsrpChunkSpec {
  readonly messageId: string;
  readonly range: ByteRange;
  readonly contentType?: string;
  readonly body: Uint8Array;
  readonly endFlag: '$' | '+' | '#';
  readonly successReport?: boolean;
  readonly extraHeaders?: readonly MsrpHeader[];
}

export interface MsrpReportEvent {
  readonly messageId: string;
  readonly status: 'delivered' | 'failed';
  readonly code: number;
  readonly comment: string;
  readonly byteRange: ByteRange | null;
}

export interface MsrpDeliveryEvent {
  readonly messageId: string;
  readonly status: 'delivered' | 'failed';
  /** MSRP status code, or 408 for a timeout and 0 when the session closed. */
  readonly code: number;
  readonly reason: string;
}

export interface MsrpRejectedEvent {
  readonly messageId: string;
  readonly code: number;
  readonly reason: string;
}

export interface MsrpSessionEvents {
  message: [MsrpIncomingMessage];
  report: [MsrpReportEvent];
  delivery: [MsrpDeliveryEvent];
  /** An incoming message we refused (413 too large, 400 malformed chunk...). */
  rejected: [MsrpRejectedEvent];
  /** The connection is bound (first frame exchanged). */
  bound: [];
  close: [MsrpCloseInfo];
  /** Emitted only when somebody listens: non-fatal trouble (a late response, a REPORT we cannot parse...). */
  error: [Error];
}

interface Transaction {
  resolve(r: MsrpResponse): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

interface ReportWaiter {
  resolve(): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | null;
}

interface Chunk {
  readonly start: number;
  readonly declaredEnd: number | null;
  readonly data: Uint8Array;
}

interface Assembly {
  readonly messageId: string;
  contentType: string | null;
  readonly headers: readonly MsrpHeader[];
  readonly fromPath: readonly string[];
  readonly chunks: Map<number, Chunk>;
  bytes: number;
  lastStart: number | null;
  successReport: boolean;
}

/** Incomplete incoming messages held at once; beyond this a peer is flooding us with message ids. */
const MAX_OPEN_MESSAGES = 256;
const MAX_REFUSED_IDS = 1024;

const DEFAULTS = {
  chunkSize: 2048,
  maxMessageSize: 16 * 1024 * 1024,
  transactionTimeoutMs: 30_000,
  reportTimeoutMs: 30_000,
};

export class MsrpSession extends EventEmitter<MsrpSessionEvents> {
  readonly localUri: MsrpUri;
  readonly relayPath: readonly string[];
  private readonly opts: Required<
    Omit<MsrpSessionOptions, 'localUri' | 'relayPath' | 'relayConnection' | 'limits' | 'listener' | 'ownsListener'>
  >;
  private readonly listener: MsrpListener | null;
  private readonly ownsListener: boolean;
  private readonly limits: Partial<MsrpParserLimits> | undefined;
  private conn: MsrpConnection | null = null;
  private remote: string[] = [];
  private readonly transactions = new Map<string, Transaction>();
  private readonly reportWaiters = new Map<string, ReportWaiter>();
  private readonly assemblies = new Map<string, Assembly>();
  /** Message-IDs we answered 413: later chunks of them get 413 too, without buffering. */
  private readonly refused = new Set<string>();
  private pendingBytes = 0;
  private isBound = false;
  private closedInfo: MsrpCloseInfo | null = null;
  /**
   * Set while one message's chunks are being written. Messages go on the wire whole, in the order send() was
   * called: interleaved chunks let a later message complete first at the receiver, and an OTR peer then sees
   * its counters go backwards and cannot read the earlier one.
   */
  private writing: Promise<void> | null = null;
  /**
   * Connections the far side opened to us although we connected ourselves (active): a relay in the peer's path
   * forwards our peer's messages by opening a connection to the URI in our a=path (RFC 4976 6.4.2: it cannot
   * know that our own connection leads to it). Requests on them are handled like any other; each one is answered
   * on the connection it came in on.
   */
  private readonly inbound = new Set<MsrpConnection>();
  private inboundListener: MsrpListener | null = null;
  /** The connection the request being handled came in on (responses go back on it). */
  private replyVia: MsrpConnection | null = null;
  private passiveListener: MsrpListener | null = null;
  /** Set by a file transfer: incoming SEND chunks go to it as they arrive instead of being reassembled. */
  private chunkSink: MsrpChunkSink | null = null;
  private readonly requestHandlers = new Map<string, MsrpRequestHandler>();

  constructor(options: MsrpSessionOptions) {
    super();
    this.localUri = typeof options.localUri === 'string' ? parseMsrpUri(options.localUri) : options.localUri;
    if (this.localUri.sessionId === null) throw new MsrpUriError('the local MSRP URI needs a session-id');
    this.relayPath = [...(options.relayPath ?? [])];
    const maxMessageSize = options.maxMessageSize ?? DEFAULTS.maxMessageSize;
    this.opts = {
      chunkSize: options.chunkSize ?? DEFAULTS.chunkSize,
      maxMessageSize,
      maxPendingBytes: options.maxPendingBytes ?? 2 * maxMessageSize,
      transactionTimeoutMs: options.transactionTimeoutMs ?? DEFAULTS.transactionTimeoutMs,
      reportTimeoutMs: options.reportTimeoutMs ?? DEFAULTS.reportTimeoutMs,
    };
    if (!Number.isInteger(this.opts.chunkSize) || this.opts.chunkSize < 1)
      throw new RangeError('chunkSize must be a positive integer');
    this.limits = options.limits;
    this.listener = options.listener ?? null;
    this.ownsListener = options.ownsListener ?? false;
    if (options.relayConnection) this.attach(options.relayConnection);
  }

  get sessionId(): string {
    return this.localUri.sessionId!;
  }

  /** Our URI as a string. */
  get localUriString(): string {
    return formatMsrpUri(this.localUri);
  }

  /** What goes into our a=path: relays first, then us. */
  get localPath(): string[] {
    return [...this.relayPath, this.localUriString];
  }

  get remotePath(): readonly string[] {
    return this.remote;
  }

  get bound(): boolean {
    return this.isBound;
  }

  get closed(): boolean {
    return this.closedInfo !== null;
  }

  get connection(): MsrpConnection | null {
    return this.conn;
  }

  setRemotePath(path: readonly string[]): void {
    if (path.length === 0) throw new MsrpUriError('empty remote path');
    for (const u of path) parseMsrpUri(u);
    this.remote = [...path];
  }

  /**
   * Active side (a=setup:active): connects to the first hop (our relay, or the peer) unless a connection exists,
   * sends the empty bind SEND and resolves once it is answered 200.
   */
  async startActive(
    remotePath: readonly string[],
    opts: { timeoutMs?: number; tls?: import('node:tls').ConnectionOptions } = {},
  ): Promise<void> {
    this.assertOpen();
    this.setRemotePath(remotePath);
    if (!this.conn) {
      const first = parseMsrpUri(this.remote[0]!);
      if (first.port === null) throw new MsrpUriError(`no port in ${this.remote[0]}`);
      const conn = await MsrpConnection.connect({
        host: first.host,
        port: first.port,
        secure: first.scheme === 'msrps',
        ...(opts.tls ? { tls: opts.tls } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(this.limits ? { limits: this.limits } : {}),
      });
      if (this.closedInfo) {
        conn.close('session closed while connecting');
        throw new MsrpClosedError('session closed while connecting');
      }
      this.attach(conn);
    }
    const { bytes, transactionId } = serializeSend({
      toPath: this.toPath(),
      fromPath: [this.localUriString],
      messageId: newMessageId(),
      range: { start: 1, end: 0, total: 0 },
      body: new Uint8Array(0),
      endFlag: '$',
    });
    const done = this.expectResponse(transactionId);
    // If the write fails, close() rejects `done` later; nobody may be left without a handler then.
    done.catch(() => undefined);
    await this.conn!.write(bytes);
    await done;
    this.markBound();
    this.acceptInbound();
  }

  /** See `inbound`: an active session with a listener also takes connections addressed to it. */
  private acceptInbound(): void {
    const listener = this.listener;
    if (!listener || this.closedInfo || this.inboundListener) return;
    this.inboundListener = listener;
    listener.register(this.sessionId, (conn, first) => {
      if (this.closedInfo) return conn.close('session closed');
      if (!this.admit(conn, first)) return;
      this.inbound.add(conn);
      conn.on('frame', (f) => this.onFrameVia(f, conn));
      conn.on('close', () => this.inbound.delete(conn));
      this.onFrameVia(first, conn);
    });
  }

  private onFrameVia(frame: MsrpFrame, conn: MsrpConnection): void {
    this.replyVia = conn;
    try {
      this.onFrame(frame);
    } finally {
      this.replyVia = null;
    }
  }

  /**
   * Passive side (a=setup:passive): waits on the listener (the session's own unless one is given) for the peer's
   * connection addressed to our session id. With a relay the relay connection is already bound: returns at once.
   */
  startPassive(
    opts: { listener?: MsrpListener; remotePath?: readonly string[]; timeoutMs?: number } = {},
  ): Promise<void> {
    this.assertOpen();
    const listener = opts.listener ?? this.listener;
    if (opts.remotePath) this.setRemotePath(opts.remotePath);
    if (this.conn) {
      this.markBound();
      return Promise.resolve();
    }
    if (!listener) return Promise.reject(new TypeError('a passive session without a relay needs a listener'));
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        listener.unregister(this.sessionId);
        this.off('bound', onBound);
        this.off('close', onClose);
        reject(new MsrpTimeoutError(`no MSRP connection from the peer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onBound = () => {
        clearTimeout(timer);
        this.off('close', onClose);
        resolve();
      };
      const onClose = (info: MsrpCloseInfo) => {
        clearTimeout(timer);
        this.off('bound', onBound);
        reject(new MsrpClosedError(`session closed before the peer connected: ${info.reason}`));
      };
      this.once('bound', onBound);
      this.once('close', onClose);
      this.passiveListener = listener;
      const accept = (conn: MsrpConnection, first: MsrpFrame) => {
        if (this.closedInfo || this.conn) {
          conn.close(this.closedInfo ? 'session closed' : 'session already bound');
          return;
        }
        if (!this.admit(conn, first)) return;
        listener.unregister(this.sessionId);
        this.passiveListener = null;
        this.attach(conn);
        this.onFrame(first);
      };
      listener.register(this.sessionId, accept);
    });
  }

  /**
   * The checks for the first frame on a connection someone opened to us: it must come from the peer named in the
   * SDP (RFC 4975 5.4: anybody else who guessed our session id gets a 403 and we keep waiting for the real peer),
   * and be addressed to our whole URI, not just our session-id (6.1, 7.3: 481). False when it was refused.
   */
  private admit(conn: MsrpConnection, first: MsrpFrame): boolean {
    const fromPath = splitPath(getHeader(first.headers, 'From-Path'));
    if (!this.fromExpectedPeer(first)) {
      this.refuseConnection(conn, first, 403, true, 'binding SEND from an unexpected peer');
      this.softError(
        new MsrpStatusError(403, `binding attempt from ${fromPath[fromPath.length - 1] ?? 'nobody'} refused`),
      );
      return false;
    }
    if (first.kind === 'request' && !this.addressedToUs(first)) {
      const quiet =
        first.method === 'REPORT' || (getHeader(first.headers, 'Failure-Report') ?? '').toLowerCase() === 'no';
      this.refuseConnection(conn, first, 481, !quiet, 'binding request for another URI');
      const to = this.toPathTarget(first) ?? 'nobody';
      this.softError(new MsrpStatusError(481, `binding request to ${to} refused: we are ${this.localUriString}`));
      return false;
    }
    return true;
  }

  /** Answers a connection's first request with `status` (when `answer` and it can be answered), then closes it. */
  private refuseConnection(conn: MsrpConnection, first: MsrpFrame, status: number, answer: boolean, why: string): void {
    const fromPath = splitPath(getHeader(first.headers, 'From-Path'));
    const reply =
      answer && first.kind === 'request' && fromPath.length > 0
        ? serializeResponse({
            transactionId: first.transactionId,
            status,
            toPath: [fromPath[0]!],
            fromPath: [this.localUriString],
          })
        : new Uint8Array(0);
    void conn
      .write(reply)
      .catch(() => undefined)
      .finally(() => conn.close(why));
  }

  /** Takes over an open connection (used by the listener, relay setup, or a caller with its own transport). */
  attach(conn: MsrpConnection): void {
    if (this.conn) throw new MsrpClosedError('session already has a connection');
    this.conn = conn;
    conn.on('frame', (f) => this.onFrame(f));
    conn.on('close', (info) => this.close(info.reason, info.error));
    if (conn.closed) this.close(conn.closeReason?.reason ?? 'connection closed');
  }

  /**
   * Sends one message, chunked. Resolves with its Message-ID once every chunk got its 200 and, when asked, the
   * success REPORT arrived; rejects with MsrpStatusError, MsrpTimeoutError or MsrpClosedError otherwise. With
   * Failure-Report no/partial no 200s come, so it resolves once written (and reported, if asked).
   */
  async send(contentType: string, body: Uint8Array, opts: MsrpSendOptions = {}): Promise<{ messageId: string }> {
    this.assertOpen();
    const conn = this.conn;
    if (!conn || this.remote.length === 0) throw new MsrpClosedError('session is not connected');
    const messageId = opts.messageId ?? newMessageId();
    const failureReport = opts.failureReport ?? 'yes';
    const chunkSize = opts.chunkSize ?? this.opts.chunkSize;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError('chunkSize must be a positive integer');
    const total = body.length;
    const toPath = this.toPath();
    const fromPath = [this.localUriString];
    const answers: Promise<MsrpResponse>[] = [];
    let failure: Error | null = null;
    const report = opts.successReport ? this.expectReport(messageId) : null;
    let release: (() => void) | null = null;
    try {
      // Wait for the message before us to be written (FIFO: waiters wake in the order they queued).
      while (this.writing) await this.writing;
      this.writing = new Promise<void>((r) => (release = r));
      let offset = 0;
      do {
        const piece = body.subarray(offset, offset + chunkSize);
        const last = offset + piece.length >= total;
        const { bytes, transactionId } = serializeSend({
          toPath,
          fromPath,
          messageId,
          range: { start: offset + 1, end: offset + piece.length, total },
          contentType,
          body: piece,
          endFlag: last ? '$' : '+',
          successReport: opts.successReport ?? false,
          failureReport,
          ...(opts.extraHeaders ? { extraHeaders: opts.extraHeaders } : {}),
        });
        if (failureReport === 'yes') {
          const p = this.expectResponse(transactionId, messageId);
          // Noted at once so an early 4xx stops the remaining chunks (RFC 4975 7.1.1, e.g. 413).
          p.catch((e: Error) => {
            failure ??= e;
          });
          answers.push(p);
        }
        await conn.write(bytes);
        offset += piece.length;
        if (failure) break;
      } while (offset < total);
      this.writing = null;
      (release as (() => void) | null)?.();
      release = null;
      await Promise.all(answers);
      if (report) await report.arm(this.opts.reportTimeoutMs);
    } catch (e) {
      if (release) {
        this.writing = null;
        (release as () => void)();
      }
      report?.cancel();
      const err = failure ?? (e as Error);
      const code = err instanceof MsrpStatusError ? err.code : err instanceof MsrpTimeoutError ? 408 : 0;
      this.emit('delivery', { messageId, status: 'failed', code, reason: err.message });
      throw err;
    }
    this.emit('delivery', { messageId, status: 'delivered', code: 200, reason: 'OK' });
    return { messageId };
  }

  // ---- streaming (RFC 5547 file transfer): chunks in and out one at a time, never a whole message in memory ----

  /** Incoming SEND chunks (all but the empty bind SEND) go to `sink` as they arrive; null restores reassembly. */
  setChunkSink(sink: MsrpChunkSink | null): void {
    this.chunkSink = sink;
  }

  /** Answers requests of `method` (e.g. FILE_OFFSET) with the handler's status and headers. */
  setRequestHandler(method: string, handler: MsrpRequestHandler | null): void {
    if (handler) this.requestHandlers.set(method, handler);
    else this.requestHandlers.delete(method);
  }

  /**
   * Writes one SEND chunk. `written` resolves once the bytes are with the kernel (await it before reading the next
   * piece: that is the flow control); `answered` is the transaction's 200 (rejects on an error status, a timeout
   * or the close).
   */
  sendChunk(spec: MsrpChunkSpec): { written: Promise<void>; answered: Promise<MsrpResponse> } {
    this.assertOpen();
    const conn = this.conn;
    if (!conn || this.remote.length === 0) throw new MsrpClosedError('session is not connected');
    const { parts, transactionId } = serializeSendParts({
      toPath: this.toPath(),
      fromPath: [this.localUriString],
      messageId: spec.messageId,
      range: spec.range,
      ...(spec.contentType !== undefined ? { contentType: spec.contentType } : {}),
      body: spec.body,
      endFlag: spec.endFlag,
      successReport: spec.successReport ?? false,
      failureReport: 'yes',
      ...(spec.extraHeaders ? { extraHeaders: spec.extraHeaders } : {}),
    });
    const answered = this.expectResponse(transactionId, spec.messageId);
    answered.catch(() => undefined);
    return { written: conn.writeParts(parts), answered };
  }

  /** Sends a bodiless request of another method (FILE_OFFSET) and resolves with its 2xx response. */
  async request(method: string, headers: readonly MsrpHeader[] = []): Promise<MsrpResponse> {
    this.assertOpen();
    const conn = this.conn;
    if (!conn || this.remote.length === 0) throw new MsrpClosedError('session is not connected');
    const { bytes, transactionId } = serializeRequest({
      method,
      toPath: this.toPath(),
      fromPath: [this.localUriString],
      headers,
    });
    const answered = this.expectResponse(transactionId);
    await conn.write(bytes);
    return answered;
  }

  /** Sends a REPORT for (part of) an incoming message, e.g. per chunk of a file as Blink's receiver does. */
  sendReport(toPath: readonly string[], messageId: string, range: ByteRange, status: number, comment?: string): void {
    const conn = this.conn;
    if (!conn || this.closedInfo) return;
    const { bytes } = serializeReport({
      toPath,
      fromPath: [this.localUriString],
      messageId,
      range,
      status,
      ...(comment !== undefined ? { comment } : {}),
    });
    conn.write(bytes).catch((e: Error) => this.softError(e));
  }

  /** Stops reading the socket (the receiver's disk is behind): TCP then slows the sender down. */
  pauseInput(): void {
    this.conn?.socket.pause();
  }

  resumeInput(): void {
    this.conn?.socket.resume();
  }

  close(reason = 'closed locally', error?: Error): void {
    if (this.closedInfo) return;
    this.closedInfo = error ? { reason, error } : { reason };
    if (this.passiveListener) {
      this.passiveListener.unregister(this.sessionId);
      this.passiveListener = null;
    }
    if (this.inboundListener) {
      this.inboundListener.unregister(this.sessionId);
      this.inboundListener = null;
    }
    for (const c of this.inbound) c.close(reason);
    this.inbound.clear();
    const err = new MsrpClosedError(`session closed: ${reason}`);
    for (const [, t] of this.transactions) {
      clearTimeout(t.timer);
      t.reject(err);
    }
    this.transactions.clear();
    for (const [, w] of this.reportWaiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    this.reportWaiters.clear();
    this.assemblies.clear();
    this.pendingBytes = 0;
    this.conn?.close(reason);
    if (this.ownsListener) this.listener?.close();
    this.emit('close', this.closedInfo);
  }

  // ---- internals ----

  private fromExpectedPeer(first: MsrpFrame): boolean {
    if (this.remote.length === 0) return true;
    const fromPath = splitPath(getHeader(first.headers, 'From-Path'));
    const theirs = sessionIdOf(fromPath[fromPath.length - 1]);
    return theirs !== null && theirs === sessionIdOf(this.remote[this.remote.length - 1]);
  }

  /** The rightmost To-Path URI of a request: the one that must name this session. */
  private toPathTarget(req: MsrpFrame): string | undefined {
    const toPath = splitPath(getHeader(req.headers, 'To-Path'));
    return toPath[toPath.length - 1];
  }

  /**
   * RFC 4975 7.3: a request belongs to this session only if its To-Path names our URI, compared as 6.1 says
   * (scheme, host, port, session-id, transport); a matching session-id alone is not enough.
   */
  private addressedToUs(req: MsrpFrame): boolean {
    const target = this.toPathTarget(req);
    return target !== undefined && msrpUriEquals(target, this.localUri);
  }

  private toPath(): string[] {
    return [...this.relayPath, ...this.remote];
  }

  private assertOpen(): void {
    if (this.closedInfo) throw new MsrpClosedError(`session closed: ${this.closedInfo.reason}`);
  }

  private markBound(): void {
    if (this.isBound) return;
    this.isBound = true;
    this.emit('bound');
  }

  private softError(e: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private expectResponse(transactionId: string, messageId?: string): Promise<MsrpResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.transactions.delete(transactionId);
        reject(
          new MsrpTimeoutError(
            `no response to transaction ${transactionId}${messageId ? ` (message ${messageId})` : ''}`,
          ),
        );
      }, this.opts.transactionTimeoutMs);
      this.transactions.set(transactionId, {
        resolve,
        reject,
        timer,
      });
    });
  }

  /** Registers interest in a success REPORT before the first chunk leaves, so a fast peer cannot beat us. */
  private expectReport(messageId: string): { arm(timeoutMs: number): Promise<void>; cancel(): void } {
    let settled: { ok: true } | { ok: false; e: Error } | null = null;
    let wake: (() => void) | null = null;
    const waiter: ReportWaiter = {
      resolve: () => {
        settled ??= { ok: true };
        wake?.();
      },
      reject: (e) => {
        settled ??= { ok: false, e };
        wake?.();
      },
      timer: null,
    };
    this.reportWaiters.set(messageId, waiter);
    return {
      arm: (timeoutMs) =>
        new Promise<void>((resolve, reject) => {
          const finish = () => {
            if (waiter.timer) clearTimeout(waiter.timer);
            this.reportWaiters.delete(messageId);
            if (settled!.ok) resolve();
            else reject(settled!.e);
          };
          if (settled) return finish();
          wake = finish;
          waiter.timer = setTimeout(() => {
            waiter.reject(new MsrpTimeoutError(`no success report for message ${messageId} within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      cancel: () => {
        if (waiter.timer) clearTimeout(waiter.timer);
        this.reportWaiters.delete(messageId);
      },
    };
  }

  private onFrame(frame: MsrpFrame): void {
    if (this.closedInfo) return;
    if (frame.kind === 'response') return this.onResponse(frame);
    // Not for us (a missing To-Path is onSend's 400): 481 and ignore it (RFC 4975 7.3); REPORTs get no answer.
    if (this.toPathTarget(frame) !== undefined && !this.addressedToUs(frame)) {
      this.respond(frame, 481);
      this.softError(
        new MsrpStatusError(
          481,
          `${frame.method} to ${this.toPathTarget(frame)} ignored: we are ${this.localUriString}`,
        ),
      );
      return;
    }
    // The first request from the peer binds a passive session.
    this.markBound();
    switch (frame.method) {
      case 'SEND':
        return this.onSend(frame);
      case 'REPORT':
        return this.onReport(frame);
      default: {
        const handler = this.requestHandlers.get(frame.method);
        if (!handler) return this.respond(frame, 501);
        const r = handler(frame);
        return this.respond(frame, r.status, undefined, r.headers);
      }
    }
  }

  private onResponse(frame: MsrpResponse): void {
    const t = this.transactions.get(frame.transactionId);
    if (!t) {
      this.softError(new MsrpStatusError(frame.status, `unexpected response for transaction ${frame.transactionId}`));
      return;
    }
    this.transactions.delete(frame.transactionId);
    clearTimeout(t.timer);
    if (frame.status >= 200 && frame.status < 300) t.resolve(frame);
    else t.reject(new MsrpStatusError(frame.status, frame.comment));
  }

  /** Sends a transaction response unless the request's Failure-Report forbids it. */
  private respond(req: MsrpRequest, status: number, comment?: string, headers?: readonly MsrpHeader[]): void {
    if (req.method === 'REPORT') return; // REPORTs are never answered (RFC 4975 7.1.2).
    const fr = (getHeader(req.headers, 'Failure-Report') ?? 'yes').toLowerCase();
    if (fr === 'no' || (fr === 'partial' && status < 300)) return;
    const fromPath = splitPath(getHeader(req.headers, 'From-Path'));
    const via = this.replyVia ?? this.conn;
    if (fromPath.length === 0 || !via) return;
    const bytes = serializeResponse({
      transactionId: req.transactionId,
      status,
      ...(comment !== undefined ? { comment } : {}),
      toPath: [fromPath[0]!],
      fromPath: [this.localUriString],
      ...(headers ? { headers } : {}),
    });
    via.write(bytes).catch((e: Error) => this.softError(e));
  }

  private reject(req: MsrpRequest, messageId: string, code: number, reason: string): void {
    this.respond(req, code, reason.length < 100 ? reason : undefined);
    this.emit('rejected', { messageId, code, reason });
  }

  private onSend(req: MsrpRequest): void {
    const h = req.headers;
    const toPath = splitPath(getHeader(h, 'To-Path'));
    const fromPath = splitPath(getHeader(h, 'From-Path'));
    if (toPath.length === 0 || fromPath.length === 0) return this.reject(req, '', 400, 'missing To-Path or From-Path');
    const messageId = getHeader(h, 'Message-ID');
    if (messageId === undefined || messageId === '') return this.reject(req, '', 400, 'missing Message-ID');
    const rangeText = getHeader(h, 'Byte-Range');
    let range: ByteRange;
    try {
      range = rangeText === undefined ? { start: 1, end: null, total: null } : parseByteRange(rangeText);
    } catch (e) {
      return this.reject(req, messageId, 400, (e as MsrpParseError).message);
    }
    const contentType = getHeader(h, 'Content-Type') ?? null;
    // Blink's bind SEND: no body, no Content-Type, Byte-Range 1-0/0. Answer it and say nothing more.
    if (req.body.length === 0 && contentType === null && !this.assemblies.has(messageId)) return this.respond(req, 200);
    if (this.chunkSink) {
      const status = this.chunkSink({
        messageId,
        range,
        endFlag: req.endFlag,
        contentType,
        body: req.body,
        fromPath,
        successReport: (getHeader(h, 'Success-Report') ?? '').toLowerCase() === 'yes',
        headers: h,
      });
      return this.respond(req, status ?? 200);
    }
    if (this.refused.has(messageId)) return this.respond(req, 413);

    const limit = this.opts.maxMessageSize;
    const tooLarge = (size: number) => {
      this.dropAssembly(messageId);
      this.refused.add(messageId);
      if (this.refused.size > MAX_REFUSED_IDS) this.refused.delete(this.refused.values().next().value!);
      const err = new MsrpMessageTooLargeError(messageId, limit, size);
      this.reject(req, messageId, 413, 'Message Too Large');
      this.softError(err);
    };
    if (range.total !== null && range.total > limit) return tooLarge(range.total);

    let asm = this.assemblies.get(messageId);
    if (!asm && this.assemblies.size >= MAX_OPEN_MESSAGES)
      return this.reject(req, messageId, 413, 'too many incomplete messages');
    if (!asm) {
      asm = {
        messageId,
        contentType,
        headers: h,
        fromPath,
        chunks: new Map(),
        bytes: 0,
        lastStart: null,
        successReport: false,
      };
      this.assemblies.set(messageId, asm);
    }
    if (asm.contentType === null) asm.contentType = contentType;
    if ((getHeader(h, 'Success-Report') ?? '').toLowerCase() === 'yes') asm.successReport = true;
    if (req.endFlag === '#') {
      // The sender gave up on this message: accept the transaction, forget the message.
      this.dropAssembly(messageId);
      return this.respond(req, 200);
    }
    const prev = asm.chunks.get(range.start);
    const grow = req.body.length - (prev?.data.length ?? 0);
    if (asm.bytes + grow > limit) return tooLarge(asm.bytes + grow);
    if (this.pendingBytes + grow > this.opts.maxPendingBytes) return tooLarge(asm.bytes + grow);
    asm.chunks.set(range.start, { start: range.start, declaredEnd: range.end, data: req.body });
    asm.bytes += grow;
    this.pendingBytes += grow;
    if (req.endFlag === '$') asm.lastStart = range.start;
    this.respond(req, 200);
    const body = asm.lastStart === null ? null : assemble(asm);
    if (body === null) return;
    this.dropAssembly(messageId);
    // The end-to-end report goes out once the application has seen the message: it may refuse it.
    let verdict: { code: number; comment: string } | null = null;
    this.emit('message', {
      messageId,
      contentType: asm.contentType ?? '',
      body,
      headers: asm.headers,
      fromPath: asm.fromPath,
      refuse: (code, comment) => {
        verdict ??= { code, comment };
      },
    });
    const refused = verdict as { code: number; comment: string } | null;
    const failureReport = (getHeader(asm.headers, 'Failure-Report') ?? 'yes').toLowerCase();
    if (refused ? failureReport !== 'no' : asm.successReport) {
      const { bytes } = serializeReport({
        toPath: asm.fromPath,
        fromPath: [this.localUriString],
        messageId,
        range: { start: 1, end: body.length, total: body.length },
        status: refused ? refused.code : 200,
        ...(refused ? { comment: refused.comment } : {}),
      });
      this.conn?.write(bytes).catch((e: Error) => this.softError(e));
    }
  }

  private dropAssembly(messageId: string): void {
    const asm = this.assemblies.get(messageId);
    if (!asm) return;
    this.pendingBytes -= asm.bytes;
    this.assemblies.delete(messageId);
  }

  private onReport(req: MsrpRequest): void {
    const messageId = getHeader(req.headers, 'Message-ID');
    const status = parseStatusHeader(getHeader(req.headers, 'Status'));
    if (messageId === undefined || status === null) {
      this.softError(new MsrpStatusError(400, 'REPORT without Message-ID or with a bad Status'));
      return;
    }
    let byteRange: ByteRange | null = null;
    const rt = getHeader(req.headers, 'Byte-Range');
    if (rt !== undefined) {
      try {
        byteRange = parseByteRange(rt);
      } catch {
        byteRange = null;
      }
    }
    const ok = status.code >= 200 && status.code < 300;
    const ev: MsrpReportEvent = {
      messageId,
      status: ok ? 'delivered' : 'failed',
      code: status.code,
      comment: status.comment,
      byteRange,
    };
    this.emit('report', ev);
    const w = this.reportWaiters.get(messageId);
    if (!w) return;
    // A success report for part of the message does not complete it.
    if (ok && byteRange && byteRange.total !== null && byteRange.end !== null && byteRange.end < byteRange.total)
      return;
    if (ok) w.resolve();
    else w.reject(new MsrpStatusError(status.code, status.comment, messageId));
  }
}

/**
 * Concatenates a message once its chunks tile 1..end with the '$' chunk last. Positions are tried first as bytes
 * on the wire, then as declared by Byte-Range (Blink counts characters, so its ranges do not add up in bytes).
 */
function assemble(asm: Assembly): Uint8Array | null {
  const sorted = [...asm.chunks.values()].sort((a, b) => a.start - b.start);
  if (sorted[sorted.length - 1]!.start !== asm.lastStart) return null;
  const tiles = (next: (c: Chunk) => number): boolean => {
    let pos = 1;
    for (const c of sorted) {
      if (c.start !== pos) return false;
      pos = next(c);
    }
    return true;
  };
  const byBytes = tiles((c) => c.start + c.data.length);
  const byDeclared = byBytes || tiles((c) => (c.declaredEnd ?? c.start + c.data.length - 1) + 1);
  if (!byDeclared) return null;
  // A one-chunk message (every ordinary chat line): the parser already gave this chunk its own copy.
  if (sorted.length === 1) return sorted[0]!.data;
  const out = new Uint8Array(asm.bytes);
  let off = 0;
  for (const c of sorted) {
    out.set(c.data, off);
    off += c.data.length;
  }
  return out;
}
