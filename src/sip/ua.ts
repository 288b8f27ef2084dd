// A SIP account on top of sip.js: serverless (listen and call peers directly) or registered with a
// registrar (digest auth, refresh before expiry, unregister on stop).
import { EventEmitter } from 'node:events';
import { Inviter, Registerer, RegistererState, UserAgent } from 'sip.js';
import type { Emitter, Invitation, LogLevel, Session, Transport, UserAgentOptions } from 'sip.js';
import { IncomingCall, OutgoingCall } from './call.js';
import { SipRegistrationError, SipUsageError } from './errors.js';
import { installGrammarCache } from './grammar-cache.js';
import type { HostResolver, SipTransportProtocol } from './resolve.js';
import { negotiatorSdhFactory } from './sdh.js';
import type { MediaNegotiator } from './sdh.js';
import { TcpTransport, TlsTransport } from './stream-transport.js';
import type { SipTransportBase, SipTransportOptions, TlsMaterial } from './transport.js';
import { UdpTransport } from './udp-transport.js';
import { parseSipUri } from './wire.js';

export type SipLogLevel = LogLevel;
/** Receives every log line of the SIP layer (sip.js included); nothing goes to the console. */
export type SipLogFunction = (level: SipLogLevel, category: string, message: string) => void;

export interface SipUserAgentOptions {
  readonly user: string;
  readonly displayName?: string;
  /** Default 'udp'. */
  readonly transport?: SipTransportProtocol;
  /** Local address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Local port to listen on; 0 (default) picks a free one (see findFreePort for the 5060-first choice). */
  readonly port?: number;
  /** Address written into Via and Contact when it differs from `host`. */
  readonly advertisedHost?: string;
  /** Registrar URI, e.g. 'sip:example.org'. Set it to register; leave it out for serverless use. */
  readonly registrar?: string;
  /** Domain of our address-of-record. Default: the registrar's host, else `host`. */
  readonly domain?: string;
  readonly password?: string;
  /** Digest user name when it differs from `user`. */
  readonly authorizationUser?: string;
  /** Every request is sent to this URI first (e.g. 'sip:proxy.example.org:5060'). */
  readonly outboundProxy?: string;
  /** Requested registration lifetime in seconds. Default 600. */
  readonly registerExpires?: number;
  readonly tls?: TlsMaterial;
  readonly log?: SipLogFunction;
  /** Default 'log' (sip.js's info level). */
  readonly logLevel?: SipLogLevel;
  readonly userAgentString?: string;
  /** Seconds an incoming call may ring before sip.js answers 480. Default 60. */
  readonly noAnswerTimeout?: number;
  readonly timers?: SipTransportOptions['timers'];
  readonly resolver?: HostResolver;
  /**
   * Seconds between RFC 5626 keep-alive pings on the TCP/TLS flow to the registrar (each wait is 80-100 % of
   * it); a flow whose pong does not come within 10 s counts as lost. Default 30; 0 turns the pings off.
   */
  readonly keepAliveInterval?: number;
  /** Re-registration backoff after a lost flow or a failed REGISTER: first wait and cap, in ms. Default 1000, 60000. */
  readonly reRegisterBackoff?: { readonly baseMs?: number; readonly maxMs?: number };
}

export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed';

export interface RegistrationStatus {
  readonly state: RegistrationState;
  /** Granted lifetime in seconds (when registered). */
  readonly expires?: number;
  readonly error?: SipRegistrationError;
  /** With 'failed': when the next REGISTER goes out (epoch ms) and how long from now, unless it is not retried. */
  readonly retryAt?: number;
  readonly retryInMs?: number;
}

export interface SipUserAgentEvents {
  invite: [IncomingCall];
  registration: [RegistrationStatus];
}

export interface CallOptions {
  /** Complete header lines, e.g. 'X-Sylk-ZRTP: 1'. */
  readonly extraHeaders?: readonly string[];
}

const PENDING_REGISTER_GRACE_MS = 1000;
const UNREGISTER_TIMEOUT_MS = 5000;

export class SipUserAgent extends EventEmitter<SipUserAgentEvents> {
  readonly options: SipUserAgentOptions;
  private readonly ua: UserAgent;
  private readonly negotiators = new WeakMap<Session, MediaNegotiator>();
  private readonly calls = new Set<OutgoingCall | IncomingCall>();
  private registerer: Registerer | undefined;
  private registration: RegistrationStatus = { state: 'unregistered' };
  private started = false;
  private stopping = false;
  private readonly domain: string;
  /** Consecutive failed registration attempts since the last success (RFC 5626 4.5 backoff). */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The registrar flow was lost while a REGISTER was in flight: fail that attempt now, not at timer F. */
  private abortAttempt: ((reason: string) => void) | undefined;

  constructor(options: SipUserAgentOptions) {
    super();
    this.options = options;
    installGrammarCache();
    if (!/^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/.test(options.user)) {
      throw new SipUsageError(`invalid SIP user name: ${JSON.stringify(options.user)}`);
    }
    if (options.registrar !== undefined && options.password === undefined) {
      throw new SipUsageError('a registrar needs a password');
    }
    const kind = options.transport ?? 'udp';
    const host = options.host ?? '127.0.0.1';
    const viaHost = options.advertisedHost ?? host;
    const registrarUri = options.registrar === undefined ? undefined : parseSipUri(options.registrar);
    this.domain = options.domain ?? registrarUri?.host ?? host;
    const aor = UserAgent.makeURI(`sip:${options.user}@${this.domain}`);
    if (!aor) throw new SipUsageError(`invalid address of record for ${options.user}@${this.domain}`);
    const log = options.log;
    const transportOptions: SipTransportOptions = {
      host,
      port: options.port ?? 0,
      advertisedHost: viaHost,
      ...(options.outboundProxy !== undefined ? { outboundProxy: options.outboundProxy } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
      ...(options.resolver !== undefined ? { resolver: options.resolver } : {}),
      keepAlive: { intervalMs: (options.keepAliveInterval ?? 30) * 1000 },
    };
    const transportConstructor = kind === 'udp' ? UdpTransport : kind === 'tcp' ? TcpTransport : TlsTransport;
    const uaOptions: UserAgentOptions = {
      uri: aor,
      displayName: options.displayName ?? '',
      authorizationUsername: options.authorizationUser ?? options.user,
      authorizationPassword: options.password ?? '',
      contactName: options.user,
      contactParams: { transport: kind },
      viaHost,
      forceRport: kind === 'udp',
      hackIpInContact: false,
      logBuiltinEnabled: false,
      logConfiguration: false,
      logLevel: options.logLevel ?? 'log',
      logConnector: (level, category, label, content) =>
        log?.(level, label ? `${category}|${label}` : category, content),
      noAnswerTimeout: options.noAnswerTimeout ?? 60,
      sessionDescriptionHandlerFactory: negotiatorSdhFactory((session) => this.negotiators.get(session)),
      transportConstructor: transportConstructor as unknown as new (logger: unknown, options: unknown) => Transport,
      transportOptions,
      userAgentString: options.userAgentString ?? 'blink-tui',
      delegate: {
        onInvite: (invitation: Invitation) => this.onInvite(invitation),
      },
    };
    this.ua = new UserAgent(uaOptions);
  }

  /** `sip:user@domain`. */
  get aor(): string {
    return `sip:${this.options.user}@${this.domain}`;
  }

  /** Our Contact URI as other agents should use it (valid after start()). */
  get contactUri(): string {
    return this.ua.contact.uri.toString();
  }

  get localPort(): number {
    return this.transport.localPort;
  }

  get transport(): SipTransportBase {
    return this.ua.transport as unknown as SipTransportBase;
  }

  get registrationStatus(): RegistrationStatus {
    return this.registration;
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /**
   * Listens, and registers when a registrar is configured (unless `register: false`: then call register()
   * yourself). Rejects with SipTransportError when the port cannot be bound, or SipRegistrationError when
   * registration fails (the UA then still listens: call stop()).
   */
  async start(opts: { register?: boolean } = {}): Promise<void> {
    if (this.started) return;
    try {
      await this.ua.start();
    } catch (err) {
      // sip.js already counts itself as started; put it back so that start() can be retried
      await this.ua.stop().catch(() => undefined);
      throw err;
    }
    this.started = true;
    // sip.js builds the Contact before the socket exists, without a port
    this.ua.contact.uri.port = this.transport.localPort;
    this.transport.onFlowLost = (flow, reason) => this.onFlowLost(flow, reason);
    if (this.options.registrar !== undefined && opts.register !== false) await this.register();
  }

  /** Sends REGISTER (digest auth is answered by sip.js) and resolves once the registrar accepted it. */
  register(): Promise<void> {
    const registrar = this.options.registrar;
    if (registrar === undefined) return Promise.reject(new SipUsageError('no registrar configured'));
    if (!this.started) return Promise.reject(new SipUsageError('start() the user agent first'));
    const registrarUri = UserAgent.makeURI(registrar);
    if (!registrarUri) return Promise.reject(new SipUsageError(`invalid registrar URI: ${registrar}`));
    if (!this.registerer) {
      const registerer = new Registerer(this.ua, {
        registrar: registrarUri,
        expires: this.options.registerExpires ?? 600,
        refreshFrequency: 90,
        logConfiguration: false,
      });
      registerer.stateChange.addListener((state) => {
        // a refresh that failed (sip.js re-registers on its own and gives no response to us)
        if (state === RegistererState.Unregistered && this.registration.state === 'registered' && !this.stopping) {
          this.registrationLost(new SipRegistrationError('registration refresh failed', 0, ''));
        }
      });
      this.registerer = registerer;
    }
    const registerer = this.registerer;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setRegistration({ state: 'registering' });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const sentAt = Date.now();
      const fail = (statusCode: number, reason: string): void => {
        if (settled) return;
        settled = true;
        this.abortAttempt = undefined;
        // A local 503 is sip.js's stand-in for "could not send": say why (refused connection, certificate...).
        const cause = this.transport.lastRequestError;
        if (statusCode === 503 && cause !== null && cause.method === 'REGISTER' && cause.at >= sentAt) {
          statusCode = 0;
          reason = cause.message;
        }
        const error = registrationError(statusCode, reason);
        // Wrong credentials stay wrong: asking again would only risk locking the account. Anything else
        // (no answer, refused connection, 5xx, a lost flow) is tried again with backoff.
        if (statusCode === 401 || statusCode === 403 || statusCode === 407 || this.stopping) {
          this.setRegistration({ state: 'failed', error });
        } else {
          this.failedWithRetry(error);
        }
        reject(error);
      };
      const succeed = (expires: number | undefined): void => {
        if (settled) return;
        settled = true;
        this.abortAttempt = undefined;
        this.failures = 0;
        this.setRegistration({ state: 'registered', ...(expires !== undefined ? { expires } : {}) });
        resolve();
      };
      this.abortAttempt = (why) => fail(0, why);
      // sip.js drops some final responses without calling the delegate (e.g. no Contact of ours in the
      // 200) but still changes state; the delegate, when called, runs right after the state change.
      const onState = (state: RegistererState): void => {
        if (state !== RegistererState.Registered && state !== RegistererState.Unregistered) return;
        registerer.stateChange.removeListener(onState);
        setImmediate(() => {
          if (state === RegistererState.Registered) succeed(undefined);
          else fail(0, 'the registrar response did not confirm our Contact');
        });
      };
      const send = (): void => {
        if (settled) return;
        registerer.stateChange.addListener(onState);
        registerer
          .register({
            requestDelegate: {
              onAccept: (response) => {
                const m = response.message;
                const exp = m.getHeader('expires');
                succeed(exp !== undefined && /^\d+$/.test(exp) ? Number(exp) : contactExpires(m.getHeaders('contact')));
              },
              onReject: (response) => fail(response.message.statusCode ?? 0, response.message.reasonPhrase ?? ''),
              onRedirect: (response) =>
                fail(response.message.statusCode ?? 0, response.message.reasonPhrase ?? 'redirect'),
            },
          })
          .catch((err: unknown) => {
            registerer.stateChange.removeListener(onState);
            fail(0, err instanceof Error ? err.message : String(err));
          });
      };
      // A REGISTER lost with its flow is still pending in sip.js until its timer F (32 s) and sip.js refuses a new
      // one meanwhile: send ours as soon as that one is over, rather than failing into a longer backoff.
      // (`waiting` and `waitingChange` are public in sip.js's code, private only in its typings.)
      const pending = registerer as unknown as { waiting: boolean; waitingChange: Emitter<boolean> };
      if (pending.waiting) pending.waitingChange.addListener(() => send(), { once: true });
      else send();
    });
  }

  /** Removes our binding at the registrar (Expires 0). Resolves even when the registrar does not answer. */
  async unregister(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const registerer = this.registerer;
    if (!registerer || registerer.state !== RegistererState.Registered) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, UNREGISTER_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      registerer
        .unregister({ requestDelegate: { onAccept: done, onReject: done, onRedirect: done } })
        .catch(() => done());
    });
    this.setRegistration({ state: 'unregistered' });
  }

  /** Starts an INVITE to `target` (a SIP URI, or user@host). The call reports through its events. */
  call(target: string, negotiator: MediaNegotiator, options: CallOptions = {}): OutgoingCall {
    if (!this.started || this.stopping) throw new SipUsageError('the user agent is not running');
    const text = /^sips?:/i.test(target) ? target : `sip:${target}`;
    const uri = UserAgent.makeURI(text);
    if (!uri) throw new SipUsageError(`invalid SIP URI: ${target}`);
    const inviter = new Inviter(this.ua, uri, {
      extraHeaders: [...(options.extraHeaders ?? [])],
    });
    const call = new OutgoingCall(inviter, negotiator, this.negotiators);
    this.track(call);
    call.start();
    return call;
  }

  /** Ends all calls, unregisters, and closes the sockets. */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.all(
      [...this.calls].map(async (call) => {
        try {
          await call.hangup();
        } catch {
          // the call ends below anyway, when sip.js disposes its session
        }
      }),
    );
    try {
      await this.unregister();
    } finally {
      // sip.js waits for a REGISTER still in flight before it stops: up to timer F (32 s) with a registrar that
      // does not answer, so quitting hung that long. A registration that never completed leaves nothing to undo
      // here; give a late answer a moment, not more.
      const stopped = this.ua.stop();
      if (this.registration.state === 'registering') {
        await Promise.race([stopped, new Promise<void>((r) => setTimeout(r, PENDING_REGISTER_GRACE_MS).unref())]);
      } else {
        await stopped;
      }
      this.started = false;
      this.stopping = false;
      if (this.registration.state !== 'unregistered') this.setRegistration({ state: 'unregistered' });
    }
  }

  /**
   * A TCP/TLS flow closed or went silent. When it is the one our registration lives on, the registrar can no
   * longer reach us through it (and after a restart it has forgotten us): register again (RFC 5626 4.5).
   */
  private onFlowLost(flow: string, reason: string): void {
    if (this.stopping || !this.started || flow !== this.transport.registrationFlow) return;
    const why = `connection to the registrar lost (${reason})`;
    if (this.abortAttempt) {
      this.abortAttempt(why);
      return;
    }
    if (this.registration.state !== 'registered') return;
    this.registrationLost(new SipRegistrationError(why, 0, ''));
  }

  private registrationLost(error: SipRegistrationError): void {
    this.failedWithRetry(error);
  }

  /** Reports the failure with the time of the next attempt, and schedules it: base * 2^n, capped, 50-100 %. */
  private failedWithRetry(error: SipRegistrationError): void {
    if (this.stopping || !this.started) {
      this.setRegistration({ state: 'failed', error });
      return;
    }
    const base = this.options.reRegisterBackoff?.baseMs ?? 1000;
    const max = this.options.reRegisterBackoff?.maxMs ?? 60000;
    const ceiling = Math.min(max, base * 2 ** Math.min(this.failures, 20));
    this.failures++;
    const delay = Math.round(ceiling * (0.5 + 0.5 * Math.random()));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopping || !this.started) return;
      // the outcome is reported through the registration event (and retried again on failure)
      this.register().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
    this.setRegistration({ state: 'failed', error, retryAt: Date.now() + delay, retryInMs: delay });
  }

  private onInvite(invitation: Invitation): void {
    const call = new IncomingCall(invitation, this.negotiators);
    this.track(call);
    if (this.listenerCount('invite') === 0) {
      call.reject(486).catch(() => undefined);
      return;
    }
    this.emit('invite', call);
  }

  private track(call: OutgoingCall | IncomingCall): void {
    this.calls.add(call);
    void call.whenFinished().then(() => this.calls.delete(call));
  }

  private setRegistration(status: RegistrationStatus): void {
    this.registration = status;
    this.emit('registration', status);
  }
}

function registrationError(statusCode: number, reason: string): SipRegistrationError {
  const what = statusCode === 0 ? reason : `${statusCode} ${reason}`.trim();
  if (statusCode === 401 || statusCode === 403 || statusCode === 407) {
    return new SipRegistrationError(`authentication failed (${what})`, statusCode, reason);
  }
  if (statusCode === 408) return new SipRegistrationError(`registrar did not answer (${what})`, statusCode, reason);
  return new SipRegistrationError(`registration failed (${what})`, statusCode, reason);
}

function contactExpires(contacts: string[]): number | undefined {
  for (const c of contacts) {
    const m = /;\s*expires\s*=\s*(\d+)/i.exec(c);
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  return undefined;
}
