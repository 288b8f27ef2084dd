// The MSRP stream of one chat, as the SIP layer's MediaNegotiator (it writes and reads the SDP) and as the
// ChatSession's transport (it sends and receives bodies, wrapping them in CPIM when both sides list message/cpim).
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import {
  DEFAULT_ACCEPT_TYPES,
  MsrpClosedError,
  certificateFingerprint,
  cpimText,
  createMsrpSession,
  decodeCpim,
  decodeUtf8,
  encodeCpim,
  encodeUtf8,
  fingerprintMatches,
  isSylkStatusMessage,
  negotiateSetup,
  parseMsrpSdp,
  peerAccepts,
  shouldUseCpim,
  type LocalMsrpSession,
  type MsrpIncomingMessage,
  type MsrpMediaDescription,
  type MsrpRelayConfig,
} from '../msrp/index.js';
import type { MediaNegotiator } from '../sip/index.js';
import { PRIVATE_FEATURE } from './file-crypto.js';
import type { ChatTransport } from './session.js';

// image/*: small images sent as chat content, as Blink sends them (saved and shown as a line, see onImage).
export const LOCAL_ACCEPT_TYPES = [...DEFAULT_ACCEPT_TYPES, 'application/blink-logging-status', 'image/*'];
export const LOCAL_ACCEPT_WRAPPED_TYPES = [
  'text/plain',
  'application/im-iscomposing+xml',
  'application/blink-logging-status',
  'image/*',
];
/** Connecting and binding the MSRP stream must not take longer than this. */
const CONNECT_TIMEOUT_MS = 15_000;

export interface IncomingContent {
  contentType: string;
  text: string;
  /** Conference rooms: the original sender from CPIM From. */
  sender?: string;
  /** SylkServer room notice (join/leave). */
  status?: boolean;
  /** Refuse it end to end (see MsrpIncomingMessage.refuse); only while it is being handled. */
  refuse?: (code: number, comment: string) => void;
}

/** Our certificate for MSRP over TLS (PEM). */
export interface MsrpTlsMaterial {
  key: string;
  cert: string;
}

export interface ChatMediaOptions {
  host: string;
  advertiseHost?: string;
  relay?: MsrpRelayConfig;
  /**
   * Our certificate for MSRP over TLS (msrps), asked for only when a session uses TLS: our offers when
   * `secureOffers`, and our answers to a peer that offers TLS (Blink can be set to). Without it such an offer
   * is refused. Not used behind a relay (the relay's own URI decides how we reach it).
   */
  tls?: () => Promise<MsrpTlsMaterial>;
  /** Offer MSRP over TLS (cli.ts: when SIP itself runs over TLS). */
  secureOffers?: boolean;
  /** Our and the peer's SIP URIs, for CPIM From/To. */
  localUri: string;
  remoteUri: string;
  /** Advertise Blink's history-control feature (we honour and send application/blink-logging-status). */
  log: (msg: string) => void;
  onMessage: (c: IncomingContent) => void;
  /** An image sent as chat content (image/*): its bytes, never decoded as text. */
  onImage?: (contentType: string, body: Uint8Array, filename: string | null) => void;
  /** broken: the connection failed (reset, write error), as opposed to an orderly close by the peer. */
  onClosed: (reason: string, broken: boolean) => void;
}

export class MsrpChatMedia implements MediaNegotiator, ChatTransport {
  private session: LocalMsrpSession | null = null;
  private remote: MsrpMediaDescription | null = null;
  private localRole: 'active' | 'passive' | null = null;
  private useCpim = false;
  private closed = false;
  private started: Promise<void> | null = null;
  /** Our certificate and its a=fingerprint, when this session runs over TLS (not behind a relay). */
  private tlsMaterial: MsrpTlsMaterial | null = null;
  private fingerprint: string | null = null;

  constructor(private readonly opts: ChatMediaOptions) {}

  get remoteFeatures(): readonly string[] {
    return this.remote?.features ?? [];
  }

  /** When the MSRP relay's authorization for this chat runs out (epoch ms); null without a relay or an Expires. */
  get relayExpiresAt(): number | null {
    return this.session?.relayExpiresAt ?? null;
  }

  get transportName(): string {
    return this.remote?.secure ? 'msrp/tls' : 'msrp/tcp';
  }

  private async makeSession(secure: boolean): Promise<LocalMsrpSession> {
    if (this.closed) throw new Error('the chat was closed');
    let tls: MsrpTlsMaterial | undefined;
    if (secure && !this.opts.relay) {
      if (!this.opts.tls) throw new Error('the peer offers MSRP over TLS and we have no certificate for it');
      tls = await this.opts.tls();
      this.tlsMaterial = tls;
      // RFC 4975 14.4: with self-signed certificates each side names its own in the SDP (a=fingerprint).
      this.fingerprint = certificateFingerprint(new X509Certificate(tls.cert).raw);
    }
    const s = await createMsrpSession({
      host: this.opts.host,
      ...(this.opts.advertiseHost ? { advertiseHost: this.opts.advertiseHost } : {}),
      ...(this.opts.relay ? { relay: this.opts.relay } : {}),
      // The listener asks for the connecting peer's certificate so that it can be checked against its fingerprint.
      ...(tls ? { tls: { key: tls.key, cert: tls.cert, requestCert: true, rejectUnauthorized: false } } : {}),
      acceptTypes: LOCAL_ACCEPT_TYPES,
      acceptWrappedTypes: LOCAL_ACCEPT_WRAPPED_TYPES,
      // Our private file transfers (file-crypto.ts): a peer that lists this takes them.
      blinkFeatures: ['history-control', PRIVATE_FEATURE],
      // Large messages (a 1 MiB paste, an OTR-encoded file) are fine: MSRP has no size limit but ours.
      maxMessageSize: 64 * 1024 * 1024,
      chunkSize: 64 * 1024,
    });
    if (this.closed) {
      s.close('the chat was closed');
      throw new Error('the chat was closed');
    }
    this.session = s;
    s.on('message', (m) => this.onMessage(m));
    s.on('close', (info) => {
      if (!this.closed) this.opts.onClosed(`MSRP connection closed: ${info.reason}`, info.error !== undefined);
    });
    s.on('error', (e) => this.opts.log(`msrp: ${e.message}`));
    return s;
  }

  // ---- MediaNegotiator --------------------------------------------------------------------

  /**
   * A re-offer (audio added or removed, hold) on a chat whose connection is up keeps the connection and its roles:
   * our setup is the role we already play (RFC 6135 4.2 allows actpass only for a new connection).
   */
  private get connected(): boolean {
    return this.started !== null && this.localRole !== null;
  }

  async createOffer(): Promise<string> {
    const s = this.session ?? (await this.makeSession(this.opts.secureOffers === true && this.opts.tls !== undefined));
    const setup = this.connected ? this.localRole! : 'actpass';
    return s.sdp(setup, this.fingerprint ? { fingerprint: this.fingerprint } : {});
  }

  async applyAnswer(sdp: string): Promise<void> {
    this.remote = parseMsrpSdp(sdp);
    if (!this.connected) this.localRole = negotiateSetup('offerer', this.remote.setup).local;
    this.useCpim = shouldUseCpim(LOCAL_ACCEPT_TYPES, this.remote);
  }

  async createAnswer(offer: string): Promise<string> {
    this.remote = parseMsrpSdp(offer);
    if (this.connected && this.session) {
      this.useCpim = shouldUseCpim(LOCAL_ACCEPT_TYPES, this.remote);
      return this.session.sdp(this.localRole!, this.fingerprint ? { fingerprint: this.fingerprint } : {});
    }
    const n = negotiateSetup('answerer', this.remote.setup, 'active');
    this.localRole = n.local;
    this.useCpim = shouldUseCpim(LOCAL_ACCEPT_TYPES, this.remote);
    // The answer's transport follows the offer's (TCP/MSRP or TCP/TLS/MSRP).
    const s = this.session ?? (await this.makeSession(this.remote.secure));
    return s.sdp(n.answer ?? n.local, this.fingerprint ? { fingerprint: this.fingerprint } : {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session?.close('chat ended');
  }

  // ---- connection -------------------------------------------------------------------------

  /** After the SIP dialog is up: connect (active) or wait for the peer (passive) until the stream is bound. */
  connect(): Promise<void> {
    this.started ??= this.doConnect();
    return this.started;
  }

  private async doConnect(): Promise<void> {
    const s = this.session;
    if (!s || !this.remote || !this.localRole) throw new Error('no MSRP negotiated for this chat');
    if (this.localRole === 'active') {
      // Peers' MSRP certificates are self-signed (Blink makes its own): no CA can vouch for them. What the peer
      // presents is checked against its a=fingerprint below; we present ours, named in our SDP.
      const own = this.tlsMaterial ? { key: this.tlsMaterial.key, cert: this.tlsMaterial.cert } : {};
      await s.startActive(this.remote.path, {
        timeoutMs: CONNECT_TIMEOUT_MS,
        tls: { rejectUnauthorized: false, ...own },
      });
    } else {
      await s.startPassive({ remotePath: this.remote.path, timeoutMs: CONNECT_TIMEOUT_MS });
    }
    this.checkPeerCertificate(s);
  }

  /**
   * RFC 4975 14.4: the certificate the peer presented must hash to the a=fingerprint of its SDP, or the session
   * is torn down. A peer that names none (its SDP has no a=fingerprint) is let through: the connection is still
   * encrypted, and OTR authenticates the peer; a peer that names one and presents another is refused.
   */
  private checkPeerCertificate(s: LocalMsrpSession): void {
    const fp = this.remote?.fingerprint;
    if (!this.remote?.secure || this.opts.relay || !fp) {
      if (this.remote?.secure && !this.opts.relay)
        this.opts.log('msrp: the peer names no certificate fingerprint: its TLS certificate is not checked');
      return;
    }
    const socket = s.connection?.socket as TLSSocket | undefined;
    const der = socket?.getPeerX509Certificate?.()?.raw;
    if (der && fingerprintMatches(fp, der)) return;
    const why = der
      ? `the peer's TLS certificate does not match the fingerprint in its SDP (${fp.hash})`
      : 'the peer presented no TLS certificate, though its SDP names one';
    s.close(why);
    throw new Error(why);
  }

  // ---- ChatTransport ----------------------------------------------------------------------

  accepts(contentType: string): boolean {
    if (!this.remote) return false;
    return this.useCpim ? peerAccepts(this.remote, contentType, true) : peerAccepts(this.remote, contentType);
  }

  async send(contentType: string, text: string, opts: { report: boolean }): Promise<void> {
    try {
      await this.sendBody(contentType, text, opts);
    } catch (e) {
      // What the user reads beside the failed message: the stream went away before the peer confirmed it.
      if (e instanceof MsrpClosedError)
        throw new Error(
          `not confirmed before the chat connection closed: ${e.message.replace(/^(session|connection) closed: /, '')}`,
        );
      throw e;
    }
  }

  private async sendBody(contentType: string, text: string, opts: { report: boolean }): Promise<void> {
    const s = this.session;
    if (!s || this.closed) throw new Error('the chat is closed');
    const reports = opts.report
      ? { successReport: true, failureReport: 'yes' as const }
      : { successReport: false, failureReport: 'no' as const };
    if (this.useCpim) {
      const body = encodeCpim({
        from: this.opts.localUri,
        to: [this.opts.remoteUri],
        contentType,
        body: text,
      });
      await s.send('message/cpim', body, reports);
    } else {
      const ct = contentType.startsWith('text/') ? `${contentType};charset=utf-8` : contentType;
      await s.send(ct, encodeUtf8(text), reports);
    }
  }

  private onMessage(m: MsrpIncomingMessage): void {
    try {
      const type = m.contentType.toLowerCase().split(';')[0]!.trim();
      if (type.startsWith('image/') && this.opts.onImage) {
        this.opts.onImage(type, m.body, filenameOf(m.headers));
        return;
      }
      if (type === 'message/cpim') {
        const c = decodeCpim(m.body);
        const inner = c.contentType.toLowerCase().split(';')[0]!.trim();
        if (inner.startsWith('image/') && this.opts.onImage) {
          this.opts.onImage(inner, c.body, filenameOf(c.contentHeaders));
          return;
        }
        const sender = c.from ? (c.from.displayName ?? c.from.uri.replace(/^sips?:/i, '')) : undefined;
        this.opts.onMessage({
          contentType: c.contentType,
          text: cpimText(c),
          ...(sender ? { sender } : {}),
          ...(isSylkStatusMessage(c) ? { status: true } : {}),
          ...(m.refuse ? { refuse: m.refuse } : {}),
        });
        return;
      }
      this.opts.onMessage({ contentType: type, text: decodeUtf8(m.body), ...(m.refuse ? { refuse: m.refuse } : {}) });
    } catch (e) {
      this.opts.log(`msrp: cannot read message ${m.messageId}: ${(e as Error).message}`);
    }
  }
}

/** The filename parameter of a Content-Disposition header, if any (an image's name as its sender gave it). */
function filenameOf(headers: readonly (readonly [string, string])[] | undefined): string | null {
  const cd = headers?.find(([n]) => n.toLowerCase() === 'content-disposition')?.[1];
  const m = cd === undefined ? null : /filename\*?="?([^";]+)"?/i.exec(cd);
  return m ? m[1]! : null;
}
