// The orchestrator: one SIP user agent, one ChatSession per chat (SIP dialog + MSRP stream + OTR + storage),
// and the Core interface the front ends use. Everything the user can do goes through command().
import { join } from 'node:path';
import {
  TransferLog,
  openZrtpCache,
  setSetting,
  watchFolderFiles,
  type ChatStorage,
  type FolderWatch,
  type ParseProblem,
  type PeerTrust,
  type ZrtpCacheStore,
} from '../chat-storage/index.js';
import { legacyPeerId, peerId } from '../peer-id/peer-id.js';
import { normalizeFingerprint } from '../keys/fingerprint.js';
import { OtrSession, warmUpOtr, type DsaKeyParams, type OtrPolicy } from '../otr/index.js';
import {
  fingerprint,
  fingerprintHex,
  fingerprintHuman as human,
  generateDsaKey,
  publicKeyOf,
} from '../keys/dsa-key.js';
import { SipUserAgent, type IncomingCall, type MediaNegotiator, type SipCall } from '../sip/index.js';
import { isFileOffer, type MsrpRelayConfig } from '../msrp/index.js';
import { PRIVATE_FEATURE } from './file-crypto.js';
import { FileTransfers, type FileChatInfo } from './file-transfer.js';
import type { AudioStream } from '../rtp/index.js';
import { makeAlerter } from './alerts.js';
import { SessionAudio, type AudioStreamEntry } from './audio.js';
import { splitSdp } from './sdp-compose.js';
import { ChatSection } from './sections.js';
import { SessionNegotiator, kindOfType, type MediaKind, type SectionMedia } from './session-media.js';
import { blankSessionView } from './blank.js';
import { SessionLifecycle, viewStateOf, type SessionPhase, type SessionStream } from './lifecycle.js';
import { MsrpChatMedia, type ChatMediaOptions, type IncomingContent, type MsrpTlsMaterial } from './media.js';
import { rehearseChat, type RehearsalResult } from './rehearsal.js';
import {
  ChatSession,
  REAL_CLOCK,
  type ChatTransport,
  type Clock,
  type HistoryPort,
  type StoredTrust,
  type Timer,
  type TrustPort,
} from './session.js';
import { StateStore } from './state.js';
import type { Core, CoreCommand, CoreEvent, CoreState, OtrView, SessionView } from './types.js';

export const OTR_QUERY_TEXT =
  'I would like to start an Off-the-Record private conversation, but your client does not seem to support it. ' +
  'OTR encrypts and authenticates chats end to end: see https://otr.cypherpunks.ca/ for clients that speak it.';

export interface ChatCoreOptions {
  ua: SipUserAgent;
  storage: ChatStorage;
  /** Our long-term OTR key; null until made (first use) — then ensureKey() makes it. */
  key: DsaKeyParams | null;
  /** Global OTR switch from the command line (undefined: settings decide). */
  otrOverride?: boolean;
  /** Where MSRP listens and what it advertises. */
  mediaHost: string;
  msrpRelay?: MsrpRelayConfig;
  /** MSRP over TLS (see ChatMediaOptions.tls / secureOffers). */
  msrpTls?: () => Promise<MsrpTlsMaterial>;
  secureMsrpOffers?: boolean;
  serverless: boolean;
  log: (msg: string) => void;
  /** Rings the terminal bell (TUI); headless mode passes a no-op. */
  ringBell?: () => void;
  /** Extra alert channel for tests and scripts (settings: notifications, env BLINK_TUI_NOTIFY_COMMAND). */
  notifyCommand?: string;
  /** Called on {cmd:'quit'} after everything is shut down. */
  onQuit?: () => void;
  /** Makes a chat stream's media (default: MsrpChatMedia); tests pass fakes. */
  makeChatMedia?: (opts: ChatMediaOptions) => ChatStreamMedia;
  /** Time and timers (tests drive them); the real ones by default. Handed to every ChatSession too. */
  clock?: Clock;
  /** Where accepted files go (--download-dir); default <config-dir>/downloads. */
  downloadDir?: string;
  /** Makes a session's audio stream (cli.ts: src/rtp's createAudioStream with the devices); without it, no audio. */
  makeAudioStream?: (log: (msg: string) => void) => Promise<AudioStream>;
  /** Offer and answer ZRTP on calls (on by default; BLINK_TUI_ZRTP=0 leaves SDES only, for tests and benchmarks). */
  zrtp?: boolean;
}

/** What a session needs of its chat stream's media: the SIP layer's negotiator and the ChatSession's transport. */
export interface ChatStreamMedia extends MediaNegotiator, ChatTransport {
  /** After the SIP dialog is up: resolves once the stream is bound. */
  connect(): Promise<void>;
  close(): void;
  readonly transportName: string;
  readonly relayExpiresAt: number | null;
  /** The peer's a=blink-features (private file transfers need ours there). */
  readonly remoteFeatures?: readonly string[];
}

/** The session's chat stream (src/chat/lifecycle.ts: negotiating -> open -> closed) and what belongs to it. */
interface ChatStream extends SessionStream<'chat'> {
  media: ChatStreamMedia;
  /** Content that arrived while negotiating (the peer may talk as soon as the stream binds), for the ChatSession. */
  early: IncomingContent[];
  /** The stream closed: the session ends unless a BYE explains it first. */
  closeTimer?: Timer;
  /** The stream broke (reset, write error): a BYE that follows does not explain it, the break does. */
  broken?: string;
  /** Warning before, and end at, the expiry of the MSRP relay's authorization. */
  relayTimers?: Timer[];
  /** A chat added to a running call is being connected. */
  opening?: boolean;
}

/** One live session: its phase and streams (life), its dialog, and the ChatSession that binds chat and OTR. */
interface Entry {
  chat: ChatSession;
  life: SessionLifecycle<ChatStream | AudioStreamEntry>;
  /** The session's SDP, one section per stream (session-media.ts): the call's negotiator. */
  neg: SessionNegotiator;
  audio: SessionAudio;
  call: SipCall | null;
  /** Phase incoming: the INVITE, until /accept or /reject takes it (so only one of them answers it). */
  pending?: IncomingCall;
}

/** After the MSRP connection drops, how long a BYE may take to arrive before we call the chat ended ourselves. */
const BYE_GRACE_MS = 1500;
/** How long before the MSRP relay's authorization runs out the user is warned that the chat will end. */
const RELAY_WARNING_MS = 60000;

export const CHAT_SETUP_TIMEOUT_MS = 40_000;

export class ChatCore implements Core {
  private readonly store: StateStore;
  private readonly entries = new Map<string, Entry>();
  private seq = 0;
  private key: DsaKeyParams | null;
  private keyPromise: Promise<DsaKeyParams> | null = null;
  private ourFp = '';
  private trustWatch: FolderWatch | null = null;
  /** Per session, the fingerprint in force and its trust as trusted_peers said at the last look. */
  private trustSeen = new Map<string, { fp: string; trust: PeerTrust | null }>();
  /** trusted_peers lines that could not be read, at the last look (each is reported when it appears). */
  private problemsSeen = new Set<string>();
  private quitting: Promise<void> | null = null;
  private readonly alert: (title: string, body: string) => void;

  private readonly clock: Clock;
  /** Our ZID and the ZRTP retained secrets (chat/zrtp_zid, chat/zrtp_cache/), opened at the first call. */
  private zrtpCache: ZrtpCacheStore | null = null;
  /** File transfers (src/chat/file-transfer.ts): their own SIP sessions, started from a chat or to a URI. */
  private readonly files: FileTransfers;

  constructor(private readonly opts: ChatCoreOptions) {
    this.clock = opts.clock ?? REAL_CLOCK;
    this.files = this.makeFileTransfers();
    this.key = opts.key;
    if (opts.key) this.ourFp = fpOf(opts.key);
    const ua = opts.ua;
    this.store = new StateStore(
      {
        // The address people call: our AOR with a registrar, our contact (host:port) when serverless.
        uri: (opts.serverless ? ua.contactUri : ua.aor).split(';')[0]!,
        registration: opts.serverless ? 'none' : 'unregistered',
        transport: (ua.options.transport ?? 'udp') as 'udp' | 'tcp' | 'tls',
        serverless: opts.serverless,
      },
      () => this.clock.now(),
    );
    this.alert = makeAlerter(
      () => ({ ...opts.storage.settings.notifications, hookCommand: opts.notifyCommand }),
      opts.ringBell ?? (() => undefined),
      opts.log,
    );
    ua.on('invite', (call) => this.onInvite(call));
    // One warning when the registration goes (with the first retry time), one line when it comes back: a
    // registrar down for an hour must not fill the screen with a line per attempt (the header keeps the state).
    let troubled = false;
    ua.on('registration', (st) => {
      const state = st.state;
      const retryIn = st.retryInMs === undefined ? undefined : Math.round(st.retryInMs / 100) / 10;
      this.store.setAccount({
        registration: state,
        registrationError: st.error?.message,
        registrationRetryAt: st.retryAt,
      });
      this.store.emit({
        ev: 'registration',
        state,
        ...(st.error ? { error: st.error.message } : {}),
        ...(retryIn !== undefined ? { retryIn } : {}),
      });
      if (state === 'registered') {
        this.store.emit({ ev: 'registered' });
        if (troubled) this.store.addNotice('registered again: reachable for new chats', 'info');
        troubled = false;
      }
      if (state === 'failed' && st.error && !troubled) {
        const next = retryIn === undefined ? '' : `; trying again in ${retryIn} s, then less and less often`;
        this.store.addNotice(`registration failed: ${st.error.message}${next}`, 'warning');
        troubled = retryIn !== undefined;
      }
    });
    // trusted_peers and contacts are edited by hand while we run: re-read them as soon as the folder says they
    // changed (with a slow poll behind it), and say in each chat what an edit changed.
    try {
      for (const p of opts.storage.trustedPeers.problems()) this.problemsSeen.add(problemKey(p));
    } catch {
      /* unreadable now: reported at the next look */
    }
    this.trustWatch = watchFolderFiles(opts.storage.paths.chatDir, ['trusted_peers', 'contacts'], () =>
      this.refreshFromDisk(),
    );
  }

  // ---- Core --------------------------------------------------------------------------------

  getState(): CoreState {
    return this.store.get();
  }

  subscribe(listener: (state: CoreState) => void): () => void {
    return this.store.subscribe(listener);
  }

  onEvent(listener: (event: CoreEvent) => void): () => void {
    return this.store.onEvent(listener);
  }

  emit(e: CoreEvent): void {
    this.store.emit(e);
  }

  notice(text: string, level: 'info' | 'warning'): void {
    this.store.addNotice(text, level);
  }

  /** History search for `/search TEXT` (all peers, newest last). */
  async search(text: string): Promise<import('./types.js').ChatLine[]> {
    const r = this.opts.storage.history.search(text);
    return r.messages.slice(-500).map((m, i) => ({
      id: `h${i}`,
      time: Date.parse(m.time),
      kind: 'message' as const,
      direction: m.direction,
      sender: m.direction === 'out' ? `me → ${m.peer}` : m.sender,
      text: m.text,
      encryption: m.encryption,
      ...(m.direction === 'out'
        ? {
            delivery:
              m.delivery === 'delivered'
                ? ('delivered' as const)
                : m.delivery === 'failed'
                  ? ('failed' as const)
                  : ('pending' as const),
          }
        : {}),
    }));
  }

  /** Our OTR fingerprint (40 hex), or '' before the key exists. */
  get ourFingerprint(): string {
    return this.ourFp;
  }

  async command(c: CoreCommand): Promise<void> {
    switch (c.cmd) {
      case 'chat':
        await this.startChat(c.to);
        return;
      case 'call':
        await this.startCall(c.to);
        return;
      case 'audio':
        await this.audioAction(c.session, c.action);
        return;
      case 'dtmf':
        await this.entry(c.session).audio.dtmf(c.digits);
        return;
      case 'sas':
        this.entry(c.session).audio.sas(c.action);
        return;
      case 'accept':
        await this.accept(c.session);
        return;
      case 'reject':
        await this.reject(c.session);
        return;
      case 'hangup':
        await this.hangup(c.session);
        return;
      case 'send': {
        const e = this.entry(c.session);
        if (e.pending) throw new Error('accept the chat first (/accept)');
        if (!e.life.stream('chat')) throw new Error('this session has no chat (an audio call)');
        e.chat.sendText(c.text);
        return;
      }
      case 'composing':
        this.entry(c.session).chat.sendComposing(c.active);
        return;
      case 'otr':
        if (c.action === 'start') {
          await this.ensureKey();
          this.entry(c.session).chat.otrStart();
        } else this.entry(c.session).chat.otrEnd();
        return;
      case 'smp':
        this.entry(c.session).chat.smpStart(c.secret, c.question);
        return;
      case 'smp_respond':
        this.entry(c.session).chat.smpRespond(c.secret);
        return;
      case 'smp_abort':
        this.entry(c.session).chat.smpAbort();
        return;
      case 'trust':
      case 'distrust':
        this.entry(c.session).chat.setTrusted(c.cmd === 'trust');
        return;
      case 'genkey':
        await this.regenerateKey();
        return;
      case 'policy':
        this.setPolicy(c.session, c.value);
        return;
      case 'read':
        this.store.updateSession(c.session, { unread: 0 });
        return;
      case 'send_file':
        await this.files.send({
          ...(c.session !== undefined ? { session: c.session } : {}),
          ...(c.to !== undefined ? { to: c.to } : {}),
          path: c.path,
          ...(c.plain ? { plain: true } : {}),
        });
        return;
      case 'accept_file':
        await this.files.accept(c.transfer, c.dir);
        return;
      case 'reject_file':
        await this.files.reject(c.transfer);
        return;
      case 'cancel_file':
        await this.files.cancel(c.transfer);
        return;
      case 'open_file':
        this.files.open(c.transfer);
        return;
      case 'quit':
        await this.quit();
        return;
    }
  }

  // ---- files -------------------------------------------------------------------------------

  private makeFileTransfers(): FileTransfers {
    const opts = this.opts;
    return new FileTransfers({
      ua: opts.ua,
      mediaHost: opts.mediaHost,
      log: (m) => opts.log(`files: ${m}`),
      emit: (e) => this.store.emit(e),
      notice: (text, level) => this.store.addNotice(text, level),
      transfers: new TransferLog(opts.storage.paths.historyDir),
      downloadDir: opts.downloadDir ?? join(opts.storage.paths.chatDir, '..', 'downloads'),
      chat: (q) => this.fileChat(q),
      otrPolicy: (peer) => {
        const p = this.otrPolicy(peer);
        return { use: p.use, required: p.required };
      },
      lockOf: (peer) => this.fileChat({ peer })?.lock ?? 'unverified',
      normalizeTarget: (to) => normalizeTarget(to, opts.ua),
      progressLine: (session, lineId, text) => {
        if (!this.store.session(session)) return null;
        if (lineId !== null) {
          this.store.patchLine(session, lineId, { text });
          return lineId;
        }
        const line = { time: this.clock.now(), kind: 'system' as const, text, encryption: 'none' as const };
        return this.store.appendLine(session, { ...line, level: 'info' }, false).id;
      },
      progressNotice: (lineId, text) => this.store.putNotice(lineId, text),
      clock: this.clock,
    });
  }

  /** A live chat as file transfers see it: by id, or the best one with a peer (encrypted and active first). */
  private fileChat(q: { session?: string; peer?: string }): FileChatInfo | null {
    let id = q.session;
    if (id === undefined) {
      const live = [...this.entries.keys()]
        .map((k) => this.store.session(k))
        .filter((v): v is SessionView => v !== undefined && v.peer === q.peer && v.state === 'active');
      id = (live.find((v) => v.otr.state === 'encrypted') ?? live[0])?.id;
    }
    const e = id === undefined ? undefined : this.entries.get(id);
    const v = id === undefined ? undefined : this.store.session(id);
    if (!e || !v) return null;
    const media = e.life.stream('chat')?.media;
    // Serverless, a caller is reached at its Contact; otherwise its address of record goes through the proxy.
    const target = v.direction === 'in' && this.opts.serverless ? (e.call?.remoteContact ?? v.peerUri) : v.peerUri;
    const chat = e.chat;
    return {
      id: v.id,
      peer: v.peer,
      target,
      encrypted: v.otr.state === 'encrypted',
      lock: v.otr.state === 'encrypted' ? (v.otr.trust ?? 'unverified') : 'none',
      privateFiles: media?.remoteFeatures?.includes(PRIVATE_FEATURE) ?? false,
      useExtraSymmetricKey: (use, data) => chat.useExtraSymmetricKey(use, data),
      system: (text, level) => chat.system(text, level),
    };
  }

  // ---- keys --------------------------------------------------------------------------------

  /** The key is made on first use, off the start-up path (DSA generation takes a moment). */
  ensureKey(): Promise<DsaKeyParams> {
    if (this.key) return Promise.resolve(this.key);
    this.keyPromise ??= this.opts.storage.keys.loadOrCreate(generateDsaKey).then((loaded) => {
      this.key = loaded.key;
      this.ourFp = loaded.fingerprint.toUpperCase();
      if (loaded.created) this.store.addNotice(`made your OTR key: fingerprint ${human(this.ourFp)}`, 'info');
      for (const s of this.store.get().sessions) this.updateOtr(s.id, { ourFingerprint: this.ourFp });
      // Make OpenSSL's contexts for the OTR group and our DSA modulus in idle time rather than inside the first
      // AKE (cheap since neither runs DH_check's prime test, see otr/crypto/group.ts; the rehearsal does the rest).
      const warm = this.clock.setTimeout(() => {
        try {
          warmUpOtr(loaded.key);
        } catch {
          /* only a warm-up */
        }
      }, 20);
      warm.unref();
      return loaded.key;
    });
    return this.keyPromise;
  }

  /**
   * Rehearses a chat in-process (src/chat/rehearsal.ts) once the key exists, so the first real chat does not
   * pay for first-time compilation; stops early once a real chat begins. Call it after the first frame/ready.
   */
  async rehearse(): Promise<RehearsalResult> {
    const key = await this.ensureKey();
    const own = this.opts.ua.options;
    const transport = own.transport ?? 'udp';
    // Over TLS the rehearsal runs over TLS too, with our own certificate: nothing of it crosses even the loopback
    // in clear, and the TLS code is rehearsed as well.
    const tls =
      own.tls?.key !== undefined && own.tls.cert !== undefined
        ? { key: own.tls.key, cert: own.tls.cert, rejectUnauthorized: false }
        : undefined;
    if (transport === 'tls' && !tls) return { steps: [], encrypted: false };
    const busy = (): boolean => this.entries.size > 0 || this.quitting !== null;
    const result = await rehearseChat({
      key,
      host: this.opts.mediaHost,
      makeUa: (user) => new SipUserAgent({ user, transport, host: '127.0.0.1', port: 0, ...(tls ? { tls } : {}) }),
      ...(this.opts.msrpTls ? { msrpTls: this.opts.msrpTls } : {}),
      secureMsrpOffers: this.opts.secureMsrpOffers === true,
      busy,
      log: this.opts.log,
    });
    // The rehearsal keeps away from the user's storage; what a chat reads of it (contacts, logging, trusted_peers,
    // the OTR policy) is read once here, so that this code too is compiled before the first chat. Reads only.
    if (!busy()) {
      try {
        const peer = aorOf('sip:rehearsal@127.0.0.1');
        const storage = this.opts.storage;
        storage.contacts.effective(peer);
        storage.history.isLogging(peer);
        for (const fp of [...storage.trustedPeers.fingerprints(peer), fpOf(key)])
          storage.trustedPeers.trustOf(peer, fp);
        this.otrPolicy(peer);
      } catch {
        /* only a warm-up: a real chat reports what is wrong with the storage */
      }
    }
    return result;
  }

  private async regenerateKey(): Promise<void> {
    const r = await this.opts.storage.keys.regenerate(generateDsaKey);
    this.key = r.key;
    this.keyPromise = Promise.resolve(r.key);
    this.ourFp = r.fingerprint.toUpperCase();
    this.store.addNotice(
      `new OTR key: ${human(this.ourFp)}${r.backupPath ? ` (the old key is kept in ${r.backupPath})` : ''}. Open chats restart OTR.`,
      'warning',
    );
    for (const [id, e] of this.entries) {
      this.updateOtr(id, { ourFingerprint: this.ourFp });
      const setup = this.otrSetup(e.chat.peer, this.store.session(id)?.isFocus ?? false);
      if (setup.make) e.chat.restartOtr(setup.make);
    }
  }

  // ---- sessions ----------------------------------------------------------------------------

  private newView(
    id: string,
    peer: string,
    peerUri: string,
    displayName: string,
    direction: 'in' | 'out',
  ): SessionView {
    return blankSessionView({ id, peer, peerUri, displayName, direction, ourFingerprint: this.ourFp });
  }

  private makeChat(id: string, peer: string): ChatSession {
    const storage = this.opts.storage;
    const trust: TrustPort = {
      // A fingerprint seen for the first time is written (two fsyncs: 1-13 ms measured here) just after this turn
      // of the event loop rather than before the lock turns: the answer is the one learn() would give (new, and
      // a change if the peer had other keys), and trustOf/fingerprints answer alike meanwhile (a new line's trust
      // is ''). learn() reads the file again first, so an edit made meanwhile is kept.
      learn: (uid, fp) => {
        const known = storage.trustedPeers.fingerprints(uid);
        if (known.includes(normalizeFingerprint(fp) ?? fp)) return storage.trustedPeers.learn(uid, fp);
        setImmediate(() => {
          try {
            storage.trustedPeers.learn(uid, fp);
          } catch (e) {
            this.opts.log(`trusted_peers: ${(e as Error).message}`);
          }
        });
        return { isNew: true, changed: known.length > 0 };
      },
      trustOf: (uid, fp) => (storage.trustedPeers.trustOf(uid, fp) ?? '') as StoredTrust,
      setTrust: (uid, fp, t) => storage.trustedPeers.setTrust(uid, fp, t),
      fingerprints: (uid) =>
        storage.trustedPeers.fingerprints(uid).map((fingerprint) => ({
          fingerprint,
          trust: (storage.trustedPeers.trustOf(uid, fingerprint) ?? '') as StoredTrust,
        })),
    };
    const history: HistoryPort = {
      append: (p, r) => {
        if (r.direction === 'system') return;
        storage.history.append({
          time: new Date(r.time).toISOString(),
          peer: p,
          direction: r.direction,
          sender: r.sender ?? (r.direction === 'out' ? 'me' : p),
          text: r.text,
          delivery: r.delivery ?? (r.direction === 'in' ? 'received' : 'pending'),
          encryption: r.encryption,
          fingerprint: r.fingerprint,
          session: r.session,
          id: `${r.session}-${r.id}`,
        });
      },
      updateDelivery: (p, session, lineId, status) => {
        storage.history.updateDelivery(p, `${session}-${lineId}`, status);
      },
    };
    return new ChatSession(
      id,
      peer,
      {
        store: this.store,
        trust,
        history: () => history,
        alert: this.alert,
        log: this.opts.log,
        clock: this.clock,
      },
      { make: null, required: false },
    );
  }

  private otrPolicy(peer: string): { use: boolean; required: boolean; reason?: string; policy: OtrPolicy } {
    const s = this.opts.storage.settings.otr;
    const contact = this.opts.storage.contacts.effective(peer);
    const globalOn = this.opts.otrOverride ?? s.enabled;
    const policy: OtrPolicy = {
      allowV2: s.allowV2,
      allowV3: s.allowV3,
      requireEncryption: s.requireEncryption || contact.otr === 'on',
      sendWhitespaceTag: s.sendWhitespaceTag,
      whitespaceStartAke: s.whitespaceStartAke,
      errorStartAke: s.errorStartAke,
    };
    if (contact.otr === 'off')
      return { use: false, required: false, reason: `OTR is off for ${peer} (/otr policy default to change)`, policy };
    if (contact.otr === 'on') return { use: true, required: true, policy };
    if (!globalOn) return { use: false, required: false, reason: 'OTR is turned off in the settings', policy };
    return { use: true, required: policy.requireEncryption, policy };
  }

  private otrSetup(
    peer: string,
    isFocus: boolean,
  ): { make: (() => OtrSession) | null; required: boolean; reason?: string } {
    if (isFocus)
      return {
        make: null,
        required: false,
        reason: 'this is a conference room (the remote Contact has isfocus): OTR is never used with it',
      };
    const p = this.otrPolicy(peer);
    if (!p.use || !this.key)
      return { make: null, required: false, reason: p.reason ?? (this.key ? undefined : 'no OTR key yet') };
    const key = this.key;
    return {
      required: p.required,
      make: () =>
        new OtrSession({
          key,
          policy: p.policy,
          maxFragmentSize: this.opts.storage.settings.otr.fragmentSize,
          queryText: OTR_QUERY_TEXT,
          log: (m) => this.opts.log(`otr[${peer}]: ${m}`),
          onExtraSymmetricKey: (k) => this.files.onExtraKey(peer, k),
        }),
    };
  }

  private nextId(): string {
    return String(++this.seq);
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new Error(`no chat session ${JSON.stringify(id)}`);
    return e;
  }

  /**
   * A session: its machine (src/chat/lifecycle.ts; front ends see each move it makes), its negotiator (one SDP
   * section per stream) and its audio. `media` is the chat stream (null for an audio-only call); an outgoing chat
   * offers it at once, an incoming one takes it when the peer's offer has a message line.
   */
  private newEntry(
    id: string,
    chat: ChatSession,
    initial: 'incoming' | 'connecting',
    media: ChatStreamMedia | null,
    call: SipCall | null = null,
  ): Entry {
    const life = new SessionLifecycle<ChatStream | AudioStreamEntry>(id, initial, {
      log: this.opts.log,
      onTransition: (_from, to, reason) => this.showPhase(id, to, reason),
    });
    const host = this.opts.mediaHost;
    let entry: Entry | undefined;
    const neg = new SessionNegotiator({
      host,
      owner: {
        log: (m) => this.opts.log(`[${id}] ${m}`),
        streamFor: async (kind, _section, isInitial) => {
          if (kind === 'audio') {
            if (!this.opts.makeAudioStream) return null;
            return entry!.audio.streamFor(isInitial);
          }
          if (kind === 'chat' && isInitial && chatSection && !neg.has('chat')) return chatSection;
          // The peer adds a chat to our call (Blink accepts such proposals without asking, and so do we). A chat
          // that was there before and went is not reopened: its conversation has ended.
          if (kind === 'chat' && !isInitial && life.phase === 'active' && !life.stream('chat')) {
            const m = this.mediaFor(id, this.store.session(id)?.peerUri ?? `sip:${chat.peer}`);
            life.addStream({ kind: 'chat', state: 'negotiating', media: m, early: [] });
            return new ChatSection(m);
          }
          // A kind we do not know, or a second stream of a kind we have: refused (port 0), the rest goes on.
          return null;
        },
        removed: (m: SectionMedia, by) => {
          if (m.kind === 'audio') entry!.audio.removed(m, by);
          else this.dropChat(id, m, `the peer ${by === 'offer' ? 'removed' : 'refused'} the chat`);
        },
        negotiated: () => {
          entry!.audio.negotiated();
          if (life.stream('chat')?.state === 'negotiating' && life.phase === 'active') void this.addChatToCall(id);
        },
      },
    });
    const chatSection = media ? new ChatSection(media) : null;
    if (chatSection && media) {
      life.addStream({ kind: 'chat', state: 'negotiating', media, early: [] });
      if (initial === 'connecting') neg.add(chatSection);
    }
    const audio = new SessionAudio({
      id,
      store: this.store,
      clock: this.clock,
      neg,
      life: life as unknown as SessionLifecycle,
      call: () => entry?.call ?? null,
      makeStream: () => {
        if (!this.opts.makeAudioStream) throw new Error('audio is not available in this client');
        return this.opts.makeAudioStream((m) => this.opts.log(`[${id}] audio: ${m}`));
      },
      log: this.opts.log,
      alert: this.alert,
      system: (text, level) => entry?.chat.system(text, level),
      noStreamsLeft: (reason) => void this.endSession(id, reason, true),
      zrtpStore: () => {
        if (this.opts.zrtp === false) return null;
        try {
          this.zrtpCache ??= openZrtpCache(this.opts.storage.paths.chatDir);
        } catch (e) {
          this.opts.log(`ZRTP cache: ${(e as Error).message}: calls use SDES only`);
          return null;
        }
        return this.zrtpCache;
      },
      callHooks: {
        started: () => chat.callStarted(),
        sas: (sas, verified) => chat.callSas(sas, verified),
        confirmed: () => chat.callSasConfirmed(),
        rejected: () => chat.callSasRejected(),
        ended: () => chat.callEnded(),
      },
    });
    entry = { chat, life, neg, audio, call };
    return entry;
  }

  private showPhase(id: string, phase: SessionPhase, reason: string | undefined): void {
    const state = viewStateOf(phase);
    const v = this.store.session(id);
    if (!v || v.state === state) return;
    this.store.updateSession(id, { state, ...(reason ? { reason } : {}) });
    this.store.emit({
      ev: 'session',
      session: id,
      state,
      ...(reason ? { reason } : {}),
      ...(state === 'active' ? { isfocus: v.isFocus } : {}),
    });
  }

  private mediaFor(id: string, remoteUri: string): ChatStreamMedia {
    const make = this.opts.makeChatMedia ?? ((o: ChatMediaOptions) => new MsrpChatMedia(o));
    return make({
      host: this.opts.mediaHost,
      ...(this.opts.msrpRelay ? { relay: this.opts.msrpRelay } : {}),
      ...(this.opts.msrpTls ? { tls: this.opts.msrpTls } : {}),
      ...(this.opts.secureMsrpOffers ? { secureOffers: true } : {}),
      localUri: this.opts.ua.aor.startsWith('sip') ? this.opts.ua.aor : `sip:${this.opts.ua.aor}`,
      remoteUri,
      log: (m) => this.opts.log(`[${id}] ${m}`),
      onMessage: (c) => this.onContent(id, c),
      onImage: (type, body, name) =>
        this.files.receivedImage(id, this.store.session(id)?.peer ?? remoteUri, type, body, name),
      onClosed: (reason, broken) => this.onMediaClosed(id, reason, broken),
    });
  }

  private onContent(id: string, c: IncomingContent): void {
    const e = this.entries.get(id);
    const v = this.store.session(id);
    const stream = e?.life.stream('chat');
    if (!e || !v || !stream) return;
    if (stream.state === 'negotiating') {
      stream.early.push(c);
      return;
    }
    // Only rooms show a sender per line; a 1:1 chat's CPIM From is the peer itself.
    const refuse = c.refuse ? { refuse: c.refuse } : {};
    e.chat.receiveContent(
      c.contentType,
      c.text,
      v.isFocus ? { sender: c.sender, status: c.status, ...refuse } : refuse,
    );
  }

  async startChat(to: string): Promise<string> {
    return this.startSession(to, ['chat']);
  }

  /** `/call`: an audio-only INVITE. */
  async startCall(to: string): Promise<string> {
    if (!this.opts.makeAudioStream) throw new Error('audio is not available in this client');
    return this.startSession(to, ['audio']);
  }

  private async startSession(to: string, kinds: MediaKind[]): Promise<string> {
    const target = normalizeTarget(to, this.opts.ua);
    const peer = aorOf(target);
    // The session exists at once (what the user types now waits in it); the first start may still be making the
    // OTR key, which the call needs.
    const id = this.nextId();
    const contact = this.opts.storage.contacts.effective(peer);
    const view = this.newView(id, peer, target, contact.displayName ?? peer.split('@')[0]!, 'out');
    if (!kinds.includes('chat')) view.media = [];
    this.store.addSession(view);
    const chat = this.makeChat(id, peer);
    const entry = this.newEntry(id, chat, 'connecting', kinds.includes('chat') ? this.mediaFor(id, target) : null);
    this.entries.set(id, entry);
    if (kinds.includes('audio')) {
      try {
        await entry.audio.offerInitial();
      } catch (err) {
        await this.endSession(id, `no audio: ${(err as Error).message}`, false);
        throw err;
      }
    }
    this.store.emit({ ev: 'session', session: id, state: 'connecting', to: target });
    await this.ensureKey().catch((err: Error) => this.store.addNotice(`OTR key: ${err.message}`, 'warning'));
    if (this.entries.get(id) !== entry) return id; // hung up meanwhile
    try {
      const call = this.opts.ua.call(target, entry.neg);
      entry.call = call;
      this.watchCall(id, call);
      const timer = this.clock.setTimeout(() => {
        if (entry.life.phase === 'connecting') {
          // The reason first: the call's own end (CANCEL) may be reported at once and must not become the reason.
          void this.endSession(id, 'no answer', false);
          void call.hangup().catch(() => undefined);
        }
      }, CHAT_SETUP_TIMEOUT_MS);
      timer.unref();
      call
        .whenFinished()
        .finally(() => this.clock.clearTimeout(timer))
        .catch(() => undefined);
    } catch (err) {
      await this.endSession(id, `could not call ${target}: ${(err as Error).message}`, false);
      throw err;
    }
    return id;
  }

  private watchCall(id: string, call: SipCall): void {
    call.on('established', () => void this.onEstablished(id, call));
    call.on('failed', (f) => void this.endSession(id, `${f.statusCode} ${f.reason}`.trim(), false));
    call.on('ended', (e) => {
      // Both ends of a broken connection see the break and the first to give up sends BYE: the other one must
      // still be told of the break, not that its peer hung up.
      const broken = this.entries.get(id)?.life.stream('chat')?.broken;
      if (broken !== undefined && e.by === 'remote') void this.endSession(id, broken, false, true);
      else
        void this.endSession(
          id,
          e.by === 'remote' ? `ended by ${this.store.session(id)?.displayName ?? 'peer'}` : 'ended',
          false,
        );
    });
  }

  private onMediaClosed(id: string, reason: string, broken: boolean): void {
    const e = this.entries.get(id);
    const stream = e?.life.stream('chat');
    if (!e || !stream || stream.state === 'closed' || e.life.isEnding) return;
    e.life.streamTransition('chat', 'closed');
    if (broken) stream.broken = reason;
    // The peer usually closes the stream just before its BYE arrives: give the BYE a moment to explain it.
    stream.closeTimer = this.clock.setTimeout(() => void this.endSession(id, reason, true, true), BYE_GRACE_MS);
    stream.closeTimer.unref();
  }

  /**
   * An RFC 4976 relay authorizes us for a while; Kamailio's msrp module hands out a new path with each AUTH, and
   * moving a running chat to a new path takes a re-INVITE, which this client does not do. So the chat ends when
   * the authorization does, and the user is told beforehand why (a minute before, or at once when it is shorter).
   */
  private watchRelayExpiry(id: string, e: Entry, stream: ChatStream): void {
    const at = stream.media.relayExpiresAt;
    if (at === null) return;
    const warnAt = Math.max(this.clock.now(), at - RELAY_WARNING_MS);
    const when = new Date(at).toTimeString().slice(0, 8);
    const warn = this.clock.setTimeout(() => {
      const left = Math.max(0, Math.round((at - this.clock.now()) / 1000));
      e.chat.system(
        `the MSRP relay's authorization for this chat runs out at ${when} (in ${left} s). The relay gives a new path ` +
          'with every new authorization, and this client cannot move a running chat to a new path: the chat will ' +
          'end then. Start a new chat to go on.',
        'warning',
      );
    }, warnAt - this.clock.now());
    const end = this.clock.setTimeout(
      () => void this.endSession(id, 'the MSRP relay authorization expired', true),
      Math.max(0, at - this.clock.now()),
    );
    warn.unref();
    end.unref();
    stream.relayTimers = [warn, end];
  }

  private async onEstablished(id: string, call: SipCall): Promise<void> {
    const e = this.entries.get(id);
    if (!e || e.life.phase !== 'connecting') return;
    const stream = e.life.stream('chat');
    if (!stream) {
      // An audio-only call: its stream started with the answer.
      if (e.neg.streams.length === 0) {
        await this.endSession(id, 'no stream was accepted', true);
        return;
      }
      e.life.transition('active');
      return;
    }
    const isFocus = call.isFocus;
    this.store.updateSession(id, { isFocus, transport: stream.media.transportName });
    try {
      await stream.media.connect();
    } catch (err) {
      await this.endSession(id, `chat stream failed: ${(err as Error).message}`, true);
      return;
    }
    if (e.life.phase !== 'connecting') return;
    e.life.transition('active');
    this.watchRelayExpiry(id, e, stream);
    const setup = this.otrSetup(e.chat.peer, isFocus);
    e.chat.configureOtr(setup);
    e.chat.attach(stream.media, {
      localLoggingOff: !this.opts.storage.history.isLogging(e.chat.peer),
      initiator: call.direction === 'outgoing',
    });
    // A stream that closed meanwhile stays closed (its BYE grace timer ends the session); what came early is read.
    if (stream.state === 'negotiating') e.life.streamTransition('chat', 'open');
    for (const c of stream.early.splice(0)) this.onContent(id, c);
  }

  /** A chat the peer added to a running call (re-INVITE): connect it and bind it to the session's ChatSession. */
  private async addChatToCall(id: string): Promise<void> {
    const e = this.entries.get(id);
    const stream = e?.life.stream('chat');
    const call = e?.call;
    if (!e || !stream || !call || stream.opening || stream.state !== 'negotiating') return;
    stream.opening = true;
    this.store.updateSession(id, (v) => ({
      transport: stream.media.transportName,
      media: [...(v.media ?? []).filter((k) => k !== 'chat'), 'chat'],
    }));
    try {
      await stream.media.connect();
    } catch (err) {
      this.dropChat(id, null, `chat stream failed: ${(err as Error).message}`);
      return;
    }
    if (this.entries.get(id) !== e || e.life.stream('chat') !== stream || e.life.isEnding) return;
    this.watchRelayExpiry(id, e, stream);
    e.chat.configureOtr(this.otrSetup(e.chat.peer, call.isFocus));
    e.chat.attach(stream.media, {
      localLoggingOff: !this.opts.storage.history.isLogging(e.chat.peer),
      initiator: call.direction === 'outgoing',
    });
    if (stream.state === 'negotiating') e.life.streamTransition('chat', 'open');
    for (const c of stream.early.splice(0)) this.onContent(id, c);
    e.chat.system('chat added to the call', 'info');
  }

  /**
   * The chat stream goes while the session goes on (the peer's re-INVITE removed it, or its answer refused it);
   * with no stream left the session ends.
   */
  private dropChat(id: string, section: SectionMedia | null, reason: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    section?.close();
    const st = e.life.stream('chat');
    if (st) {
      if (st.closeTimer) this.clock.clearTimeout(st.closeTimer);
      for (const t of st.relayTimers ?? []) this.clock.clearTimeout(t);
      st.media.close();
      if (st.state !== 'closed') e.life.streamTransition('chat', 'closed');
      e.life.removeStream('chat');
    }
    this.store.updateSession(id, (v) => ({ media: (v.media ?? ['chat']).filter((k) => k !== 'chat') }));
    e.chat.system(reason, 'info');
    if (e.neg.streams.length === 0) void this.endSession(id, reason, true);
  }

  private onInvite(call: IncomingCall): void {
    // RFC 5547: a file offer is its own session, not a chat.
    if (call.remoteOffer !== undefined && isFileOffer(call.remoteOffer)) return this.files.offered(call);
    const remote = call.remoteIdentity;
    const peer = peerId(remote.aor);
    const id = this.nextId();
    const contact = this.opts.storage.contacts.effective(peer);
    const view = this.newView(
      id,
      peer,
      `sip:${peer}`,
      contact.displayName ?? remote.displayName ?? peer.split('@')[0]!,
      'in',
    );
    view.isFocus = call.isFocus;
    this.store.addSession(view);
    const chat = this.makeChat(id, peer);
    const kinds = offeredKinds(call.remoteOffer, this.opts.makeAudioStream !== undefined);
    const media = kinds.includes('chat') ? this.mediaFor(id, `sip:${peer}`) : null;
    const entry = this.newEntry(id, chat, 'incoming', media, call);
    entry.pending = call;
    this.entries.set(id, entry);
    this.store.updateSession(id, { media: kinds });
    this.watchCall(id, call);
    if (kinds.length === 0) {
      void call.reject(488).catch(() => undefined);
      void this.endSession(
        id,
        call.remoteOffer ? 'the INVITE offered no stream we can take' : 'the INVITE carried no offer',
        false,
      );
      return;
    }
    const audio = kinds.includes('audio');
    this.store.emit({ ev: 'incoming', session: id, from: `sip:${peer}`, media: kinds });
    if (audio) this.alert(kinds.includes('chat') ? 'Incoming call and chat' : 'Incoming call', `from ${peer}`);
    this.store.appendLine(
      id,
      {
        time: this.clock.now(),
        kind: 'system',
        text: `incoming ${audio ? (kinds.includes('chat') ? 'call and chat' : 'call') : 'chat'} from ${peer}: /accept or /reject`,
        encryption: 'none',
        level: 'info',
      },
      true,
    );
  }

  private async accept(id: string): Promise<void> {
    const e = this.entry(id);
    if (e.audio.answerProposal(true)) return;
    if (e.life.phase !== 'incoming' || !e.pending) throw new Error('this chat is not waiting to be accepted');
    const call = e.pending;
    e.pending = undefined;
    await this.ensureKey().catch((err: Error) => this.store.addNotice(`OTR key: ${err.message}`, 'warning'));
    // The caller may have given up (CANCEL) while the key was being made.
    if (e.life.phase !== 'incoming')
      throw new Error(`this chat ended before it was accepted: ${e.life.reason ?? 'ended'}`);
    e.life.transition('connecting');
    try {
      await call.accept(e.neg);
    } catch (err) {
      await this.endSession(id, `could not accept: ${(err as Error).message}`, false);
      throw err;
    }
  }

  private async reject(id: string): Promise<void> {
    const e = this.entry(id);
    // An audio proposal: 488 on its re-INVITE, the chat goes on.
    if (e.audio.answerProposal(false)) return;
    if (e.life.phase !== 'incoming' || !e.pending) throw new Error('this chat is not waiting to be accepted');
    const call = e.pending;
    e.pending = undefined;
    // A call is refused busy (486), as Blink does; a chat declined (603).
    await call.reject(this.store.session(id)?.media?.includes('audio') ? 486 : 603);
    await this.endSession(id, 'rejected', false);
  }

  /** `/audio`, `/audio off`, hold, resume, mute: on the session's audio stream. */
  private async audioAction(
    id: string,
    action: 'add' | 'remove' | 'hold' | 'resume' | 'mute' | 'unmute',
  ): Promise<void> {
    const e = this.entry(id);
    if (e.life.phase !== 'active') throw new Error('the session is not connected');
    switch (action) {
      case 'add':
        if (!this.opts.makeAudioStream) throw new Error('audio is not available in this client');
        return e.audio.add();
      case 'remove':
        // The last stream of a session goes with the session: an audio-only call is hung up.
        if (!e.life.stream('chat') || e.life.stream('chat')?.state === 'closed')
          return this.endSession(id, 'ended', true);
        return e.audio.remove();
      case 'hold':
      case 'resume':
        return e.audio.hold(action === 'hold');
      case 'mute':
      case 'unmute':
        return e.audio.mute(action === 'mute');
    }
  }

  private async hangup(id: string): Promise<void> {
    this.entry(id);
    await this.endSession(id, 'ended', true);
  }

  /**
   * Ends a session once, whoever noticed first (user, remote BYE, MSRP close, failure): the one move to `ending`
   * (front ends see 'ended' with the reason), then BYE, then the streams close, then `ended`.
   */
  private async endSession(id: string, reason: string, hangupCall: boolean, streamLost = false): Promise<void> {
    const e = this.entries.get(id);
    if (!e || e.life.isEnding) return;
    this.entries.delete(id);
    this.trustSeen.delete(id);
    for (const s of e.life.streams) {
      if (s.kind !== 'chat') continue;
      if (s.closeTimer) this.clock.clearTimeout(s.closeTimer);
      for (const t of s.relayTimers ?? []) this.clock.clearTimeout(t);
    }
    e.audio.close(reason);
    e.chat.detach(reason);
    e.life.transition('ending', reason);
    if (streamLost) {
      // Not a hang-up: the connection went away under the chat. Say what became of the messages in flight.
      const unconfirmed = this.store.session(id)?.lines.some((l) => l.direction === 'out' && l.delivery === 'failed');
      e.chat.system(
        `chat ended: ${reason}.${unconfirmed ? ' Messages marked (failed) did not reach the peer, as far as we know.' : ''} Start a new chat to go on.`,
        'warning',
      );
    } else {
      e.chat.system(`chat ended: ${reason}`, 'info');
    }
    // BYE first, then close the stream, so the peer learns why before its connection drops.
    if (hangupCall && e.call && e.call.state !== 'ended' && e.call.state !== 'failed') {
      try {
        await e.call.hangup();
      } catch (err) {
        this.opts.log(`hangup ${id}: ${(err as Error).message}`);
      }
    }
    for (const s of e.life.streams) s.media.close();
    e.life.transition('ended');
  }

  private setPolicy(sessionOrNull: string | undefined, value: 'always' | 'never' | 'default'): void {
    if (!sessionOrNull) {
      // No chat selected: the global policy in chat/settings.ini (always = require encryption, never = OTR off).
      const file = this.opts.storage.paths.settings;
      if (value === 'never') {
        this.opts.storage.settings = setSetting(file, 'otr', 'require_encryption', false);
        this.opts.storage.settings = setSetting(file, 'otr', 'enabled', false);
      } else {
        this.opts.storage.settings = setSetting(file, 'otr', 'enabled', true);
        this.opts.storage.settings = setSetting(file, 'otr', 'require_encryption', value === 'always');
      }
      this.store.addNotice(
        value === 'always'
          ? 'OTR is now required with everybody: nothing is sent in plaintext (new chats)'
          : value === 'never'
            ? 'OTR is now off for new chats'
            : 'OTR is on, opportunistic, for new chats',
        'info',
      );
      return;
    }
    const v = this.store.session(sessionOrNull);
    if (!v) throw new Error(`no chat session ${JSON.stringify(sessionOrNull)}`);
    const otr = value === 'always' ? 'on' : value === 'never' ? 'off' : 'default';
    this.opts.storage.contacts.set(v.peer, { otr });
    const e = this.entries.get(v.id);
    e?.chat.system(
      value === 'always'
        ? `OTR is now always used with ${v.peer}: nothing is sent to them in plaintext`
        : value === 'never'
          ? `OTR is never used with ${v.peer} from the next chat on`
          : `OTR with ${v.peer} follows the settings`,
      'info',
    );
  }

  private refreshFromDisk(): void {
    const tp = this.opts.storage.trustedPeers;
    let problems: ParseProblem[] = [];
    try {
      tp.refresh();
      this.opts.storage.contacts.refresh();
      problems = tp.problems();
    } catch (e) {
      this.opts.log(`refresh: ${(e as Error).message}`);
      return;
    }
    const fresh = problems.filter((p) => !this.problemsSeen.has(problemKey(p)));
    this.problemsSeen = new Set(problems.map(problemKey));
    const explained = new Set<ParseProblem>();
    for (const [id, e] of this.entries) {
      const fp = this.store.session(id)?.otr.theirFingerprint;
      if (!fp) continue;
      const peer = e.chat.peer;
      const trust = tp.trustOf(peer, fp);
      const before = this.trustSeen.get(id);
      this.trustSeen.set(id, { fp, trust });
      let why = 'trusted_peers was edited';
      const removed = before !== undefined && before.fp === fp && before.trust !== null && trust === null;
      if (removed) {
        const broken = fresh.find((p) => lineNames(p.text, peer));
        if (broken) explained.add(broken);
        why = broken
          ? `its line in trusted_peers (line ${broken.line}) cannot be read`
          : 'its line was removed from trusted_peers';
      }
      const lockChanged = e.chat.refreshTrust(why);
      if (removed && !lockChanged)
        e.chat.system(`${peer}'s fingerprint ${human(fp)} is no longer in trusted_peers: ${why}`, 'info');
    }
    for (const p of fresh) {
      if (explained.has(p)) continue;
      this.store.addNotice(
        `trusted_peers line ${p.line} cannot be read and is ignored (uid<TAB>fingerprint<TAB>trust): ${JSON.stringify(p.text)}`,
        'warning',
      );
    }
  }

  private updateOtr(id: string, patch: Partial<OtrView>): void {
    this.store.updateSession(id, (s) => ({ otr: { ...s.otr, ...patch } }));
  }

  // ---- shutdown ----------------------------------------------------------------------------

  quit(): Promise<void> {
    this.quitting ??= (async () => {
      this.trustWatch?.close();
      this.files.closeAll();
      const ids = [...this.entries.keys()];
      await Promise.allSettled(ids.map((id) => this.endSession(id, 'client quit', true)));
      try {
        await this.opts.ua.stop();
      } catch (e) {
        this.opts.log(`sip stop: ${(e as Error).message}`);
      }
      this.opts.onQuit?.();
    })();
    return this.quitting;
  }
}

function problemKey(p: ParseProblem): string {
  return `${p.line}\u0000${p.text}`;
}

/** Whether an unreadable trusted_peers line starts with this peer's uid (or the older lower-cased one). */
function lineNames(text: string, peer: string): boolean {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (first === '') return false;
  const uid = peerId(first);
  return uid === peer || uid === legacyPeerId(peer);
}

function fpOf(key: DsaKeyParams): string {
  return fingerprintHex(fingerprint(publicKeyOf(key))).toUpperCase();
}

/** The streams of an incoming INVITE's offer we can take, in m-line order (audio only when we have audio). */
export function offeredKinds(offer: string | undefined, audio: boolean): MediaKind[] {
  if (!offer) return [];
  try {
    const out: MediaKind[] = [];
    for (const s of splitSdp(offer).sections) {
      const k = kindOfType(s.media.type);
      if (s.media.port === 0 || k === null || out.includes(k) || (k === 'audio' && !audio)) continue;
      out.push(k);
    }
    return out;
  } catch {
    return [];
  }
}

/** "bob", "bob@host", "sip:bob@host:5071" -> a SIP URI; a bare user goes to our own domain/host. */
export function normalizeTarget(to: string, ua: SipUserAgent): string {
  const t = to.trim();
  if (t === '') throw new Error('whom to chat with? e.g. /chat bob@example.org');
  if (/[\s<>"]/.test(t)) throw new Error(`not a SIP address: ${JSON.stringify(to)}`);
  if (/^sips?:/i.test(t)) return t;
  if (t.includes('@')) return `sip:${t}`;
  const own = ua.aor.replace(/^sips?:/i, '');
  const host = own.slice(own.indexOf('@') + 1);
  return `sip:${t}@${host}`;
}

/** sip:Bob@Host:5071;transport=tcp -> Bob@host: the peer's one identity (src/peer-id). */
export function aorOf(uri: string): string {
  return peerId(uri);
}
