// The part shared by our sip.js transports. sip.js hands `send()` a finished message with no destination
// (it assumes one WebSocket flow to a proxy), so routing happens here: requests go by outbound proxy,
// top Route, or Request-URI; responses go back by the top Via (received/rport). As RFC 3261 18.1.1 puts
// the sent-by in the transport's hands, the Via port is filled in on the way out and removed again from
// responses on the way in (sip.js drops any response whose Via sent-by carries a port).
import { isIPv6 } from 'node:net';
import { EmitterImpl, TransportState } from 'sip.js';
import type { Emitter, Transport } from 'sip.js';
import { SipError, SipParseError, SipTransportError } from './errors.js';
import { DEFAULT_FRAMER_LIMITS } from './framer.js';
import type { FramerLimits } from './framer.js';
import { defaultPort, resolveSipUri } from './resolve.js';
import type { Destination, HostResolver, SipTransportProtocol } from './resolve.js';
import { firstHeader, parseHead, parseNameAddr, parseSipUri, replaceTopVia, splitCommaList, topVia } from './wire.js';
import type { SipHead, SipUri, ViaValue } from './wire.js';

export type { SipTransportProtocol, Destination } from './resolve.js';

/** The subset of sip.js's Logger the transports use (sip.js passes its own Logger to the constructor). */
export interface TransportLogger {
  error(content: string): void;
  warn(content: string): void;
  log(content: string): void;
  debug(content: string): void;
}

export interface TlsMaterial {
  /** PEM private key and certificate for the listening side (required to accept TLS connections). */
  readonly key?: string | Uint8Array;
  readonly cert?: string | Uint8Array;
  /** Extra trusted CA certificates (PEM) for outgoing connections. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Verify the peer's certificate on outgoing connections. Default true. */
  readonly rejectUnauthorized?: boolean;
  /**
   * Trust for outgoing connections without `ca`: a context made on first use (it replaces Node's default CAs,
   * so it carries them, and `key`/`cert` too). cli.ts sets it for the deferred NODE_EXTRA_CA_CERTS.
   */
  readonly secureContext?: () => import('node:tls').SecureContext;
}

export interface SipTransportOptions {
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Host written into Via sent-by (must equal the UA's viaHost). Default: `host`. */
  readonly advertisedHost?: string;
  /** Every request goes to this URI when set (e.g. `sip:proxy.example.org:5060`). */
  readonly outboundProxy?: string;
  readonly tls?: TlsMaterial;
  readonly limits?: FramerLimits;
  /** RFC 3261 timer values in milliseconds (tests shorten them). */
  readonly timers?: { readonly t1?: number; readonly t2?: number };
  readonly resolver?: HostResolver;
  /**
   * RFC 5626 keep-alives on the flow that carries our REGISTER (TCP/TLS only): a CRLFCRLF ping every
   * 80-100 % of intervalMs; a flow whose CRLF pong does not come within pongTimeoutMs (default 10 s) is closed
   * and reported through onFlowLost. 0 or absent: no pings (pings from peers are always answered).
   */
  readonly keepAlive?: { readonly intervalMs: number; readonly pongTimeoutMs?: number };
  /** Called once the socket is bound, with the actual port. */
  readonly onListening?: (port: number) => void;
}

const SILENT_LOGGER: TransportLogger = { error() {}, warn() {}, log() {}, debug() {} };

export abstract class SipTransportBase implements Transport {
  abstract readonly protocol: 'UDP' | 'TCP' | 'TLS';
  abstract readonly kind: SipTransportProtocol;

  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  /**
   * A TCP/TLS flow (remote address:port) closed or reset by the other side or the network, or closed by us
   * because its keep-alive went unanswered; not called when the transport itself shuts down. UDP has no flows.
   */
  onFlowLost: ((flow: string, reason: string) => void) | undefined;
  /**
   * Why the last request could not be sent (sip.js turns that into a local 503 without the reason; the UA puts
   * this reason back into what the user sees, e.g. a registrar's untrusted certificate).
   */
  lastRequestError: { readonly method: string; readonly message: string; readonly at: number } | null = null;

  protected readonly logger: TransportLogger;
  protected readonly options: SipTransportOptions;
  protected readonly bindHost: string;
  protected readonly family: 4 | 6;
  protected readonly t1: number;
  protected readonly t2: number;
  protected readonly limits: FramerLimits;
  private readonly resolver: HostResolver;
  private readonly outboundProxy: SipUri | undefined;
  private _state: TransportState = TransportState.Disconnected;
  private readonly _stateChange = new EmitterImpl<TransportState>();
  private connecting: Promise<void> | undefined;

  constructor(logger: TransportLogger | undefined, options: SipTransportOptions | undefined) {
    this.logger = logger ?? SILENT_LOGGER;
    this.options = options ?? {};
    this.bindHost = this.options.host ?? '127.0.0.1';
    this.family = isIPv6(this.bindHost) ? 6 : 4;
    this.t1 = this.options.timers?.t1 ?? 500;
    this.t2 = this.options.timers?.t2 ?? 4000;
    this.limits = this.options.limits ?? DEFAULT_FRAMER_LIMITS;
    this.resolver = this.options.resolver ?? resolveSipUri;
    this.outboundProxy = this.options.outboundProxy === undefined ? undefined : parseSipUri(this.options.outboundProxy);
  }

  get state(): TransportState {
    return this._state;
  }

  get stateChange(): Emitter<TransportState> {
    return this._stateChange;
  }

  /** Host written into Via sent-by and Contact. */
  get advertisedHost(): string {
    return this.options.advertisedHost ?? this.bindHost;
  }

  /** The bound port; 0 before connect(). */
  abstract get localPort(): number;

  /** The flow (address:port) our last REGISTER went out on; undefined over UDP, which has no flows. */
  get registrationFlow(): string | undefined {
    return undefined;
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  connect(): Promise<void> {
    if (this._state === TransportState.Connected) return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.setState(TransportState.Connecting);
    this.connecting = this.listen().then(
      () => {
        this.connecting = undefined;
        this.setState(TransportState.Connected);
        this.options.onListening?.(this.localPort);
        this.onConnect?.();
      },
      (err: unknown) => {
        this.connecting = undefined;
        this.setState(TransportState.Disconnected);
        throw new SipTransportError(
          `cannot listen on ${this.kind} ${this.bindHost}:${this.options.port ?? 0}: ${errorText(err)}`,
          {
            cause: err,
          },
        );
      },
    );
    return this.connecting;
  }

  async disconnect(): Promise<void> {
    if (this._state === TransportState.Disconnected) return;
    this.setState(TransportState.Disconnecting);
    await this.close();
    this.setState(TransportState.Disconnected);
    this.onDisconnect?.();
  }

  async dispose(): Promise<void> {
    await this.disconnect();
    this._stateChange.removeAllListeners();
  }

  async send(message: string): Promise<void> {
    if (!this.isConnected()) throw new SipTransportError(`${this.kind} transport is not connected`);
    let head: SipHead;
    try {
      head = parseHead(message);
    } catch (err) {
      throw new SipTransportError(`refusing to send a malformed SIP message: ${errorText(err)}`, { cause: err });
    }
    if (head.start.kind === 'request') {
      try {
        const target = this.requestTarget(head);
        const dest = await this.resolver(target, this.kind, this.family);
        const stamped = replaceTopVia(message, (via) => this.stampOwnVia(via));
        this.logger.debug(`${this.protocol} sending to ${dest.address}:${dest.port}: ${firstLine(message)}`);
        await this.sendRequest(dest, stamped, head, target);
      } catch (err) {
        this.lastRequestError = { method: head.start.method, message: errorText(err), at: Date.now() };
        throw err;
      }
    } else {
      const via = topVia(head);
      const dest = responseDestination(via, this.kind);
      this.logger.debug(`${this.protocol} sending to ${dest.address}:${dest.port}: ${firstLine(message)}`);
      await this.sendResponse(dest, message, head, via);
    }
  }

  /** Where a request goes: outbound proxy, else the first Route (loose routing), else the Request-URI. */
  requestTarget(head: SipHead): SipUri {
    if (head.start.kind !== 'request') throw new SipParseError('not a request');
    if (this.outboundProxy) return this.outboundProxy;
    const route = firstHeader(head, 'route');
    if (route !== undefined) {
      const first = splitCommaList(route)[0];
      if (first !== undefined) return parseSipUri(parseNameAddr(first).uri);
    }
    return parseSipUri(head.start.uri);
  }

  private stampOwnVia(via: ViaValue): ViaValue {
    const params = new Map(via.params);
    // rport (RFC 3581) lets the peer answer the port we really send from, whatever the sent-by says
    if (this.kind === 'udp' && !params.has('rport')) params.set('rport', '');
    return { transport: this.protocol, host: this.advertisedHost, port: this.localPort, params };
  }

  /**
   * Entry point for every message read from the network. Never throws: a malformed message is logged
   * and dropped.
   */
  protected receive(text: string, remote: Destination): void {
    try {
      const head = parseHead(text);
      this.logger.debug(`${this.protocol} received from ${remote.address}:${remote.port}: ${firstLine(text)}`);
      let out: string;
      if (head.start.kind === 'request') {
        topVia(head);
        out = replaceTopVia(text, (via) => {
          const params = new Map(via.params);
          if (via.host.replace(/^\[|\]$/g, '') !== remote.address) params.set('received', remote.address);
          // On streams we always record the source port: responses must reuse the flow the request came on.
          if (params.has('rport') || this.kind !== 'udp') params.set('rport', String(remote.port));
          return { ...via, params };
        });
        if (!this.acceptIncomingRequest(head, remote)) return;
      } else {
        topVia(head);
        out = replaceTopVia(text, (via) => ({ ...via, port: undefined }));
        if (!this.acceptIncomingResponse(head)) return;
      }
      this.deliver(out);
    } catch (err) {
      if (err instanceof SipError) {
        this.logger.warn(`dropping malformed SIP message from ${remote.address}:${remote.port}: ${err.message}`);
      } else {
        this.logger.error(
          `error while handling a SIP message from ${remote.address}:${remote.port}: ${errorText(err)}`,
        );
      }
    }
  }

  private deliver(text: string): void {
    try {
      this.onMessage?.(text);
    } catch (err) {
      // sip.js throws on some unexpected messages; one bad message must not take the process down
      this.logger.error(`sip.js failed to handle a message: ${errorText(err)}`);
    }
  }

  protected setState(state: TransportState): void {
    if (this._state === state) return;
    this._state = state;
    this._stateChange.emit(state);
  }

  /** Hook for UDP: absorb retransmitted requests. Returns false to drop the request. */
  protected acceptIncomingRequest(_head: SipHead, _remote: Destination): boolean {
    return true;
  }

  /** Hook for UDP: stop retransmissions. Returns false to drop the response. */
  protected acceptIncomingResponse(_head: SipHead): boolean {
    return true;
  }

  protected abstract listen(): Promise<void>;
  protected abstract close(): Promise<void>;
  protected abstract sendRequest(dest: Destination, text: string, head: SipHead, target: SipUri): Promise<void>;
  protected abstract sendResponse(dest: Destination, text: string, head: SipHead, via: ViaValue): Promise<void>;
}

/** RFC 3261 18.2.2 with RFC 3581: received/rport first, then the sent-by. */
export function responseDestination(via: ViaValue, kind: SipTransportProtocol): Destination {
  const received = via.params.get('received');
  const address = (received !== undefined && received !== '' ? received : via.host).replace(/^\[|\]$/g, '');
  const rport = via.params.get('rport');
  const rportNum = rport !== undefined && /^\d{1,5}$/.test(rport) ? Number(rport) : undefined;
  const port = rportNum ?? via.port ?? defaultPort(kind, 'sip');
  return { address, port };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(text: string): string {
  const i = text.indexOf('\r\n');
  return i < 0 ? text.slice(0, 100) : text.slice(0, Math.min(i, 100));
}
