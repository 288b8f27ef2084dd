// One chat conversation above its transport: OTR, trust, message lines, delivery, history.
// The SIP dialog and the MSRP stream are below it (src/chat/core.ts plugs them in through ChatTransport);
// the front ends are above it (they see StateStore snapshots and events). Data flows one way:
// transport -> receiveContent() -> otr.receive() -> lines/events -> history.
import { buildIsComposing, decodeUtf8, parseIsComposing } from '../msrp/index.js';
import { TLV_SMP1, TLV_SMP1Q, type OtrEvent, type OtrSession } from '../otr/index.js';
import { fingerprintHuman } from '../keys/fingerprint.js';
import type { StateStore } from './state.js';
import { REAL_CLOCK, type Clock, type Timer } from './clock.js';
import { CallVerification, type AbortCause, type CallVerificationAction } from './call-verification.js';
import type { ChatLine, CoreEvent, Encryption, OtrView, SessionView, Trust } from './types.js';

// The clock is its own module; the session's users import it from here as well.
export { REAL_CLOCK, type Clock, type Timer } from './clock.js';

export const TEXT_PLAIN = 'text/plain';
export const IS_COMPOSING = 'application/im-iscomposing+xml';
export const LOGGING_STATUS = 'application/blink-logging-status';

/** The callee proposes OTR itself only if the caller has not within this time. */
export const ANSWERER_QUERY_DELAY_MS = 400;
/** The OTR whitespace tag's 16-byte base: a plaintext message announcing OTR support. */
const WHITESPACE_TAG_BASE = '\x20\x09\x20\x20\x09\x09\x09\x09\x20\x09\x20\x09\x20\x09\x20\x20';

/**
 * Our is-composing (RFC 3994): 'active' goes out when typing starts and again at most this often while it goes
 * on (its refresh tells the peer to expect that), 'idle' after COMPOSING_IDLE_MS without a key, when the line is
 * cleared, or never when a message is sent (a message ends composing by itself).
 */
export const COMPOSING_REFRESH_MS = 30_000;
export const COMPOSING_IDLE_MS = 15_000;
const COMPOSING_REFRESH_S = 60;

/** How long an always-OTR contact's messages wait for the AKE before they are marked failed. */
export const HELD_MESSAGE_TIMEOUT_MS = 30_000;
/**
 * The end-to-end failure REPORT (RFC 4975 7.1.2) we send for an OTR message we cannot decrypt, and recognise on
 * our own messages: the peer got it and could not read it, so it is not 'delivered'.
 */
export const UNREADABLE_REPORT = { code: 400, comment: 'OTR message could not be decrypted' } as const;
/** A message the peer could not read is re-sent once the private conversation is up again, within this time. */
export const RESEND_TIMEOUT_MS = 30_000;
/** If the peer has not restarted the AKE this long after reporting an unreadable message, we do. */
const RESEND_REFRESH_MS = 1_000;
/** Plaintext the peer sent just before its side of the AKE finished can arrive this long after ours did. */
const CROSSING_MS = 2_000;

function isUnreadableReport(e: unknown): boolean {
  const x = e as { code?: unknown; comment?: unknown };
  return x.code === UNREADABLE_REPORT.code && typeof x.comment === 'string' && /decrypt|unreadable/i.test(x.comment);
}

export interface ChatTransport {
  /** Sends one body; resolves when the peer confirmed it, rejects when it failed. */
  send(contentType: string, text: string, opts: { report: boolean }): Promise<void>;
  /** The peer accepts this content type (accept-types / accept-wrapped-types). */
  accepts(contentType: string): boolean;
}

export type StoredTrust = 'verified' | 'smp' | '';

/** The part of trusted_peers a session needs. */
export interface TrustPort {
  /** Records a fingerprint seen for uid; `changed` when uid had other fingerprints and none equals this one. */
  learn(uid: string, fingerprint: string): { isNew: boolean; changed: boolean };
  trustOf(uid: string, fingerprint: string): StoredTrust;
  setTrust(uid: string, fingerprint: string, trust: StoredTrust): void;
  /** Every fingerprint known for uid, with its trust. */
  fingerprints(uid: string): { fingerprint: string; trust: StoredTrust }[];
}

export interface HistoryRecord {
  time: number;
  session: string;
  peer: string;
  id: string;
  direction: 'in' | 'out' | 'system';
  sender?: string;
  text: string;
  encryption: Encryption;
  fingerprint: string | null;
  delivery?: 'pending' | 'delivered' | 'resent' | 'failed';
}

export interface HistoryPort {
  append(peer: string, record: HistoryRecord): void;
  updateDelivery(peer: string, session: string, id: string, delivery: 'delivered' | 'resent' | 'failed'): void;
}

export interface SessionDeps {
  store: StateStore;
  trust: TrustPort;
  /** Resolves the history sink at each write, so switching logging off takes effect at once. Null: nothing is written. */
  history: () => HistoryPort | null;
  /** Security alerts: bell, desktop notification, speech (per settings). */
  alert: (title: string, body: string) => void;
  log: (msg: string) => void;
  /** Time and timers (tests drive them); the real ones by default. */
  clock?: Clock;
}

export interface OtrSetup {
  /** Null: OTR is not used in this session; reason says why (shown to the user). */
  make: (() => OtrSession) | null;
  reason?: string;
  /** Always-OTR contact: never send plaintext. */
  required: boolean;
}

interface HeldMessage {
  lineId: string;
  text: string;
}

export class ChatSession {
  private otr: OtrSession | null = null;
  private transport: ChatTransport | null = null;
  private held: HeldMessage[] = [];
  private heldTimer: Timer | null = null;
  private trust: Trust | null = null;
  private fingerprint: string | null = null;
  private localLoggingOff = false;
  private peerLoggingOff = false;
  private composingTimer: Timer | null = null;
  /** When we last told the peer 'active' (null: we are idle), and the timer that makes us idle. */
  private composingSentAt: number | null = null;
  private localIdleTimer: Timer | null = null;
  private ended = false;
  private answerTimer: Timer | null = null;
  /** Anything OTR (query, tag, AKE, data) has come from the peer. */
  private otrSeen = false;
  /** We are answering the peer's SMP question (then success proves them nothing to us: they chose the question). */
  private answeringQuestion = false;
  /** Completed AKEs in this chat: the keys a message went out under, to know whether newer ones exist. */
  private generation = 0;
  private encryptedAt = 0;
  /** Messages the peer could not read, waiting for the next private conversation to go out again (once). */
  private unreadable: HeldMessage[] = [];
  /** Typed before the stream was up: sent when it is (attach), failed if it never is (detach). */
  private beforeConnect: HeldMessage[] = [];
  private unreadableTimer: Timer | null = null;
  private refreshTimer: Timer | null = null;
  /** The OTR engine's own timer (it has none: see OtrSession.tickDueIn). */
  private tickTimer: Timer | null = null;
  /** A call in this SIP session: its verified SAS is checked against the chat's OTR key (call-verification.ts). */
  private call: CallVerification | null = null;
  private callTimer: Timer | null = null;
  /** The call of `call` has ended: its machine only finishes a run under way; the next call gets a new one. */
  private callOver = false;

  private readonly clock: Clock;

  constructor(
    readonly id: string,
    readonly peer: string,
    private readonly deps: SessionDeps,
    private otrSetup: OtrSetup,
  ) {
    this.clock = deps.clock ?? REAL_CLOCK;
  }

  get view(): SessionView {
    const v = this.deps.store.session(this.id);
    if (!v) throw new Error(`session ${this.id} has no view`);
    return v;
  }

  get otrSession(): OtrSession | null {
    return this.otr;
  }

  /**
   * Announces OTR v3's extra symmetric key for `use` to the peer (a TLV 8 in an encrypted Data Message, sent at
   * once) and returns the key; null when this chat is not encrypted with v3. Used for private file transfers.
   */
  useExtraSymmetricKey(use: number, useData: Uint8Array): Uint8Array | null {
    if (!this.otr || this.otr.state !== 'encrypted' || !this.transport || this.ended) return null;
    const r = this.otr.useExtraSymmetricKey(use, useData);
    if (!r.key) return null;
    this.handleOtrEvents(r.events, false);
    return r.key;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Decided once the dialog is up (only then is `isfocus` on the 2xx known). */
  configureOtr(setup: OtrSetup): void {
    this.otrSetup = setup;
  }

  /** The media stream is up: messages can flow. Starts OTR when it is to be used. */
  attach(transport: ChatTransport, opts: { localLoggingOff: boolean; initiator: boolean }): void {
    this.transport = transport;
    this.localLoggingOff = opts.localLoggingOff;
    this.deps.store.updateSession(this.id, { loggingDisabled: this.loggingOff() });
    if (this.otrSetup.make) {
      this.otr = this.otrSetup.make();
      this.updateOtrView({ disabledReason: undefined });
      // Propose OTR ourselves, as Blink does: the query's human text explains OTR to a peer without it.
      // The caller proposes at once; the callee only if the caller has not started OTR within a moment
      // (two crossed queries still converge, but cost duplicated AKE messages on the wire).
      if (opts.initiator) this.handleOtrEvents(this.otr.start(), false);
      else {
        this.answerTimer = this.clock.setTimeout(() => {
          this.answerTimer = null;
          if (this.otr && !this.otrSeen && this.otr.state === 'plaintext' && !this.ended)
            this.handleOtrEvents(this.otr.start(), false);
        }, ANSWERER_QUERY_DELAY_MS);
        this.answerTimer.unref();
      }
    } else {
      this.updateOtrView({ disabledReason: this.otrSetup.reason });
      if (this.otrSetup.reason) this.system(`OTR is not used: ${this.otrSetup.reason}`, 'info');
    }
    if (opts.localLoggingOff && transport.accepts(LOGGING_STATUS)) {
      void transport.send(LOGGING_STATUS, 'disabled', { report: false }).catch(() => undefined);
    }
    const early = this.beforeConnect;
    this.beforeConnect = [];
    for (const m of early) {
      if (this.otr && this.otrSetup.required && this.otr.state !== 'encrypted') this.hold(m);
      else this.transmitUserText(m.lineId, m.text);
    }
  }

  /** The SIP dialog or the stream ended. */
  detach(reason: string): void {
    if (this.ended) return;
    if (this.answerTimer) this.clock.clearTimeout(this.answerTimer);
    this.answerTimer = null;
    this.flushDeferred();
    this.ended = true;
    this.transport = null;
    this.clearHeld('the chat ended before encryption was established');
    const early = this.beforeConnect;
    this.beforeConnect = [];
    for (const m of early) this.delivery(m.lineId, 'failed', `the chat did not connect (${reason})`);
    this.failUnreadable(`${this.peer} could not read it, and the chat ended before it could be sent again`);
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.call?.callEnded();
    this.callOver = true;
    if (this.callTimer) this.clock.clearTimeout(this.callTimer);
    this.callTimer = null;
    if (this.composingTimer) this.clock.clearTimeout(this.composingTimer);
    this.stopLocalComposing();
    this.deps.store.updateSession(this.id, { remoteComposing: false });
  }

  // ---- incoming ----------------------------------------------------------------------------

  /**
   * A message body arrived (already unwrapped from CPIM). sender is set for conference rooms; refuse (while this
   * call runs) turns the transport's delivery report for it into a failure.
   */
  receiveContent(
    contentType: string,
    text: string,
    meta: { sender?: string; status?: boolean; refuse?: (code: number, comment: string) => void } = {},
  ): void {
    const type = contentType.toLowerCase().split(';')[0]!.trim();
    if (!this.otrSeen && (text.includes('?OTR') || text.includes(WHITESPACE_TAG_BASE))) this.otrSeen = true;
    if (type === LOGGING_STATUS) {
      // Blink announces its state ('enabled' or 'disabled') whenever the stream starts: only a change is news.
      const off = text.trim().toLowerCase() === 'disabled';
      if (off === this.peerLoggingOff) return;
      this.peerLoggingOff = off;
      this.deps.store.updateSession(this.id, { loggingDisabled: this.loggingOff() });
      this.system(
        this.peerLoggingOff
          ? `${this.peer} asked not to log this conversation: it is not being logged`
          : `${this.peer} allows logging of this conversation again`,
        'info',
      );
      return;
    }
    if (meta.status) {
      this.system(text, 'info');
      return;
    }
    if (this.otr) {
      const events = this.otr.receive(text);
      // We could not decrypt it: the sender's client must not show it as delivered.
      if (meta.refuse && events.some((e) => e.type === 'error' && e.unreadable))
        meta.refuse(UNREADABLE_REPORT.code, UNREADABLE_REPORT.comment);
      this.handleOtrEvents(events, false, type, meta.sender);
      return;
    }
    this.deliverPlain(type, text, 'none', meta.sender);
  }

  private deliverPlain(type: string, text: string, encryption: Encryption, sender?: string): void {
    if (type === IS_COMPOSING) {
      try {
        const ic = parseIsComposing(text);
        this.setRemoteComposing(ic.state === 'active', ic.refresh ?? undefined);
      } catch (e) {
        this.deps.log(`is-composing ignored: ${(e as Error).message}`);
      }
      return;
    }
    if (text === '') return;
    this.setRemoteComposing(false);
    const line = this.deps.store.appendLine(
      this.id,
      {
        time: this.clock.now(),
        kind: 'message',
        direction: 'in',
        sender: sender ?? this.view.displayName,
        text,
        encryption,
      },
      true,
    );
    this.emit({
      ev: 'message',
      session: this.id,
      direction: 'in',
      text,
      encryption,
      id: line.id,
      ...(sender ? { sender } : {}),
    });
    this.record(line, 'in');
  }

  private setRemoteComposing(active: boolean, refresh?: number): void {
    if (this.composingTimer) this.clock.clearTimeout(this.composingTimer);
    this.composingTimer = null;
    if (this.view.remoteComposing !== active) {
      this.deps.store.updateSession(this.id, { remoteComposing: active });
      this.emit({ ev: 'composing', session: this.id, active });
    }
    if (active) {
      // RFC 3994: without a refresh the active state lapses after 120 s (we use the peer's refresh when given).
      const secs = Math.min(Math.max(Number(refresh ?? 120) || 120, 5), 600);
      this.composingTimer = this.clock.setTimeout(() => this.setRemoteComposing(false), secs * 1000);
      this.composingTimer.unref();
    }
  }

  // ---- outgoing ----------------------------------------------------------------------------

  /**
   * Sends one user message. Typed before the chat is connected (right after /chat or /accept), it waits and goes
   * out as soon as the stream is up, or is marked failed if the chat never connects. Throws (with a message for
   * the user) when it cannot be sent at all.
   */
  sendText(text: string): string {
    if (this.ended) throw new Error('this chat has ended: start a new one to send');
    if (!this.transport) {
      const line = this.deps.store.appendLine(
        this.id,
        {
          time: this.clock.now(),
          kind: 'message',
          direction: 'out',
          sender: 'me',
          text,
          encryption: 'none',
          delivery: 'pending',
        },
        false,
      );
      this.emit({ ev: 'message', session: this.id, direction: 'out', text, encryption: 'none', id: line.id });
      this.record(line, 'out');
      this.beforeConnect.push({ lineId: line.id, text });
      return line.id;
    }
    // A message ends composing by itself (RFC 3994 3.2): no 'idle' needed.
    this.stopLocalComposing();
    const otrState = this.otr?.state ?? 'plaintext';
    if (otrState === 'finished') {
      throw new Error(
        `${this.peer} has ended the private conversation. Nothing was sent: use /otr init to restart encryption or /otr finish to continue in plaintext`,
      );
    }
    const encrypted = otrState === 'encrypted';
    const encryption: Encryption = encrypted ? this.lockEncryption() : 'none';
    const line = this.deps.store.appendLine(
      this.id,
      {
        time: this.clock.now(),
        kind: 'message',
        direction: 'out',
        sender: 'me',
        text,
        encryption,
        delivery: 'pending',
      },
      false,
    );
    const echo = { ev: 'message', session: this.id, direction: 'out', text, encryption, id: line.id } as const;
    if (!encrypted && this.otr && this.otrSetup.required) {
      this.emit(echo);
      this.record(line, 'out');
      this.hold({ lineId: line.id, text });
      return line.id;
    }
    // On the wire first; the echo event and the history record (each a JSON line as long as the text, ~5 ms per
    // MiB) follow once the chunks are handed to the kernel, so they overlap with the peer's work instead of
    // delaying it. Queued before transmitting, so order is kept: any event of this session emitted meanwhile
    // (an OTR error while sending, the delivery report) flushes them first.
    this.defer(() => {
      this.deps.store.emit(echo);
      this.record(line, 'out');
    });
    this.transmitUserText(line.id, text);
    return line.id;
  }

  private transmitUserText(lineId: string, text: string, resend = false): void {
    const encrypted = this.otr?.state === 'encrypted';
    const generation = this.generation;
    const wires = this.otr ? this.collectSends(this.otr.send(text)) : [text];
    if (wires.length === 0) {
      // The engine held it (policy requires encryption): treat as held, never sent in plaintext.
      this.hold({ lineId, text: '' });
      return;
    }
    void this.sendAll(TEXT_PLAIN, wires, true).then(
      () => this.delivery(lineId, 'delivered'),
      (e: Error) => {
        if (encrypted && isUnreadableReport(e)) {
          if (!resend && !this.ended) return this.peerCouldNotRead({ lineId, text }, generation);
          return this.delivery(lineId, 'failed', `${this.peer} could not decrypt it, even sent again`);
        }
        this.delivery(lineId, 'failed', e.message);
      },
    );
  }

  /**
   * The peer reported that it could not decrypt one of our messages (it lacked the keys: an exchange it had not
   * finished, or lost). It goes out once more under the next keys; if those never come, it is marked failed.
   */
  private peerCouldNotRead(m: HeldMessage, sentUnder: number): void {
    if (this.otr?.state === 'encrypted' && this.generation > sentUnder) {
      // Newer keys are already in place: send it again now.
      this.resend(m);
      return;
    }
    this.unreadable.push(m);
    this.updateOtrView({ pending: this.held.length + this.unreadable.length });
    this.system(
      `${this.peer} could not read a message of yours: it will be sent again once the private conversation is re-established`,
      'warning',
    );
    this.unreadableTimer ??= this.clock.setTimeout(() => {
      this.unreadableTimer = null;
      this.failUnreadable(
        `${this.peer} could not read it, and the private conversation was not re-established in time`,
      );
    }, RESEND_TIMEOUT_MS);
    this.unreadableTimer.unref();
    // The peer's OTR error normally makes one side start a new exchange at once; make sure one does.
    if (!this.refreshTimer) {
      this.refreshTimer = this.clock.setTimeout(() => {
        this.refreshTimer = null;
        if (this.otr && !this.ended && this.unreadable.length && !this.otr.akeInProgress)
          this.handleOtrEvents(this.otr.refresh(), false);
      }, RESEND_REFRESH_MS);
      this.refreshTimer.unref();
    }
  }

  private resend(m: HeldMessage): void {
    this.deps.store.patchLine(this.id, m.lineId, { encryption: this.lockEncryption(), resent: true });
    this.delivery(m.lineId, 'resent');
    this.transmitUserText(m.lineId, m.text, true);
  }

  private flushUnreadable(): void {
    if (this.unreadableTimer) this.clock.clearTimeout(this.unreadableTimer);
    this.unreadableTimer = null;
    const q = this.unreadable;
    this.unreadable = [];
    if (q.length === 0) return;
    this.updateOtrView({ pending: this.held.length });
    this.system(`sending ${q.length} message(s) again under the new keys`, 'info');
    for (const m of q) this.resend(m);
  }

  private failUnreadable(why: string): void {
    if (this.unreadableTimer) this.clock.clearTimeout(this.unreadableTimer);
    if (this.refreshTimer) this.clock.clearTimeout(this.refreshTimer);
    this.unreadableTimer = this.refreshTimer = null;
    const q = this.unreadable;
    this.unreadable = [];
    if (q.length === 0) return;
    for (const m of q) this.delivery(m.lineId, 'failed', why);
    this.updateOtrView({ pending: this.held.length });
    this.system(`${q.length} message(s) not delivered: ${why}`, 'warning');
  }

  /**
   * The user is typing (true: called for every key, any front end) or stopped (false: the line was cleared or the
   * chat left). What goes on the wire, and when, is decided here (see COMPOSING_REFRESH_MS).
   */
  sendComposing(active: boolean): void {
    if (!active) {
      if (this.composingSentAt !== null) {
        this.stopLocalComposing();
        this.transmitComposing('idle');
      }
      return;
    }
    if (!this.transport || this.ended) return;
    const now = this.clock.now();
    if (this.composingSentAt === null || now - this.composingSentAt >= COMPOSING_REFRESH_MS) {
      this.composingSentAt = now;
      this.transmitComposing('active');
    }
    if (this.localIdleTimer) this.clock.clearTimeout(this.localIdleTimer);
    this.localIdleTimer = this.clock.setTimeout(() => this.sendComposing(false), COMPOSING_IDLE_MS);
    this.localIdleTimer.unref();
  }

  private stopLocalComposing(): void {
    if (this.localIdleTimer) this.clock.clearTimeout(this.localIdleTimer);
    this.localIdleTimer = null;
    this.composingSentAt = null;
  }

  private transmitComposing(state: 'active' | 'idle'): void {
    if (!this.transport || this.ended || !this.transport.accepts(IS_COMPOSING)) return;
    const xml = decodeUtf8(
      buildIsComposing({ state, contentType: TEXT_PLAIN, refresh: state === 'active' ? COMPOSING_REFRESH_S : null }),
    );
    if (this.otr) {
      // Once OTR is up, is-composing travels inside it (as Blink does); before that, only in plaintext chats.
      if (this.otr.state !== 'encrypted') {
        if (this.otrSetup.required || this.otr.state === 'finished') return;
        void this.sendAll(IS_COMPOSING, [xml], false).catch(() => undefined);
        return;
      }
      const wires = this.collectSends(this.otr.send(xml));
      void this.sendAll(IS_COMPOSING, wires, false).catch(() => undefined);
      return;
    }
    void this.sendAll(IS_COMPOSING, [xml], false).catch(() => undefined);
  }

  private hold(m: HeldMessage): void {
    this.held.push(m);
    this.updateOtrView({ pending: this.held.length });
    this.system(
      `message held: it is sent once the private conversation is established (${this.peer} is an always-OTR contact)`,
      'info',
    );
    if (this.otr && this.otr.state === 'plaintext') this.handleOtrEvents(this.otr.start(), false);
    if (!this.heldTimer) {
      this.heldTimer = this.clock.setTimeout(() => {
        this.heldTimer = null;
        this.clearHeld('encryption could not be established in time');
      }, HELD_MESSAGE_TIMEOUT_MS);
      this.heldTimer.unref();
    }
  }

  private clearHeld(why: string): void {
    if (this.heldTimer) this.clock.clearTimeout(this.heldTimer);
    this.heldTimer = null;
    if (this.held.length === 0) return;
    for (const m of this.held) this.delivery(m.lineId, 'failed', why);
    this.system(`${this.held.length} held message(s) not sent: ${why}`, 'warning');
    this.held = [];
    this.updateOtrView({ pending: 0 });
  }

  private flushHeld(): void {
    if (this.heldTimer) this.clock.clearTimeout(this.heldTimer);
    this.heldTimer = null;
    const held = this.held;
    this.held = [];
    this.updateOtrView({ pending: 0 });
    for (const m of held) {
      if (m.text === '') continue;
      this.deps.store.patchLine(this.id, m.lineId, { encryption: this.lockEncryption() });
      this.transmitUserText(m.lineId, m.text);
    }
  }

  private delivery(lineId: string, status: 'delivered' | 'resent' | 'failed', reason?: string): void {
    this.deps.store.patchLine(this.id, lineId, {
      delivery: status,
      ...(status === 'failed' && reason ? { failReason: reason } : {}),
    });
    this.emit({ ev: 'delivery', session: this.id, message: lineId, status, ...(reason ? { reason } : {}) });
    const h = this.history();
    if (h) safe(() => h.updateDelivery(this.peer, this.id, lineId, status), this.deps.log);
  }

  private async sendAll(type: string, wires: string[], report: boolean): Promise<void> {
    const t = this.transport;
    if (!t) throw new Error('this chat is not connected');
    for (const w of wires) await t.send(type, w, { report });
  }

  // ---- OTR ---------------------------------------------------------------------------------

  otrStart(): void {
    if (!this.otr) {
      if (this.otrSetup.make && this.transport) this.otr = this.otrSetup.make();
      else
        throw new Error(`OTR is not available in this chat${this.otrSetup.reason ? `: ${this.otrSetup.reason}` : ''}`);
    }
    this.handleOtrEvents(this.otr.state === 'plaintext' ? this.otr.start() : this.otr.refresh(), false);
  }

  otrEnd(): void {
    if (!this.otr) throw new Error('OTR is not active in this chat');
    const was = this.otr.state;
    this.handleOtrEvents(this.otr.end(), false);
    if (was !== 'plaintext' && this.otr.state === 'plaintext') this.onPlaintext(true);
  }

  /** Our key changed (/otr genkey): start the AKE again with the new key. */
  restartOtr(make: () => OtrSession): void {
    this.otrSetup = { ...this.otrSetup, make };
    if (!this.transport || this.ended || !this.otr) return;
    const wasEncrypted = this.otr.state === 'encrypted';
    if (wasEncrypted) this.handleOtrEvents(this.otr.end(), false);
    this.otr = make();
    this.trust = null;
    this.fingerprint = null;
    this.updateOtrView({
      state: 'plaintext',
      trust: null,
      theirFingerprint: null,
      version: null,
      smp: null,
      ourFingerprint: this.otr.ourFingerprint,
    });
    this.system('your OTR key changed: restarting the private conversation', 'info');
    this.handleOtrEvents(this.otr.start(), false);
  }

  /** The user's SMP (/otr auth, /otr authq). During a call it is left alone, and a check from the call waits for it. */
  smpStart(secret: string, question?: string): void {
    this.startSmp(secret, question);
    if (this.call) this.runCall(this.call.userSmp('start'));
  }

  private startSmp(secret: string, question: string | undefined, fromCall = false): void {
    const otr = this.requireEncrypted();
    this.answeringQuestion = false;
    this.handleOtrEvents(otr.smpStart(secret, question), false);
    this.updateOtrView({ smp: { phase: 'waiting', question, ...(fromCall ? { fromCall: true as const } : {}) } });
    this.system(
      fromCall
        ? `checking the call's authentication string (SAS) against ${this.peer}'s OTR key (SMP from the call)...`
        : question
          ? `asked ${this.peer} to authenticate: "${question}"`
          : `authenticating ${this.peer} with a shared secret...`,
      'info',
    );
  }

  smpRespond(secret: string, fromCall = false): void {
    const otr = this.requireEncrypted();
    if (this.view.otr.smp?.phase !== 'asked') throw new Error(`${this.peer} has not asked you to authenticate`);
    this.handleOtrEvents(otr.smpRespond(secret), false);
    this.updateOtrView({ smp: { phase: 'waiting', ...(fromCall ? { fromCall: true as const } : {}) } });
  }

  smpAbort(): void {
    const otr = this.requireEncrypted();
    this.handleOtrEvents(otr.smpAbort(), false);
    this.updateOtrView({ smp: null });
    this.system('authentication aborted', 'info');
    if (this.call) this.runCall(this.call.userSmp('abort'));
  }

  // ---- from the call -----------------------------------------------------------------------

  /**
   * An audio call started in this SIP session. Before its SAS is known, the peer's check from the call waits for it
   * (a peer whose ZRTP finished first may ask before ours reports the SAS) instead of going to the user.
   */
  callStarted(): void {
    this.callMachine();
  }

  /**
   * The audio call of this SIP session reports its ZRTP SAS (verifiedByUser: its ZID is verified in the ZRTP
   * cache). Starts the check from the call (call-verification.ts) for this call; never in a conference (isfocus).
   */
  callSas(sas: string, verifiedByUser: boolean): void {
    const call = this.callMachine();
    this.runCall(call.sasAvailable(sas, verifiedByUser));
  }

  /** Our user confirmed the call's SAS ("we compared it"). */
  callSasConfirmed(): void {
    this.runCall(this.callMachine().sasConfirmed());
  }

  /** Our user rejected the call's SAS. */
  callSasRejected(): void {
    this.runCall(this.callMachine().sasRejected());
  }

  /** The call ended (the chat may go on): nothing new starts from it; a check under way finishes. */
  callEnded(): void {
    if (!this.call) return;
    this.callOver = true;
    this.runCall(this.call.callEnded());
    if (this.callTimer) this.clock.clearTimeout(this.callTimer);
    this.callTimer = null;
  }

  /** The machine of the current call, made at the call's first event; a later call gets a new one. */
  private callMachine(): CallVerification {
    if (this.call && !this.callOver) return this.call;
    const call = new CallVerification({ peer: this.peer, conference: this.view.isFocus });
    this.call = call;
    this.callOver = false;
    if (this.otr?.state === 'encrypted' && this.fingerprint)
      this.runCall(call.otrEncrypted(this.otr.ourFingerprint, this.fingerprint));
    return call;
  }

  /** Carries out what the call's machine decided. */
  private runCall(actions: CallVerificationAction[]): void {
    for (const a of actions) {
      try {
        this.runCallAction(a);
      } catch (e) {
        this.deps.log(`check from the call: ${a.type}: ${(e as Error).message}`);
      }
    }
  }

  private runCallAction(a: CallVerificationAction): void {
    switch (a.type) {
      case 'startSmp':
        this.startSmp(a.secret, a.question, true);
        return;
      case 'respondSmp':
        this.smpRespond(a.secret, true);
        this.system(
          `answering ${this.peer}'s check from the call with the authentication string (SAS) you confirmed...`,
          'info',
        );
        return;
      case 'declineSmp': {
        const otr = this.requireEncrypted();
        this.handleOtrEvents(otr.smpAbort(), false);
        this.updateOtrView({ smp: null });
        this.emit({ ev: 'smp', session: this.id, result: 'aborted', from_call: true });
        // The peer's user sees why in the chat (Blink shows no reason for an abort).
        const wires = this.collectSends(otr.send(a.explanation));
        void this.sendAll(TEXT_PLAIN, wires, false).catch((err: Error) =>
          this.deps.log(`decline explanation not sent: ${err.message}`),
        );
        this.system(`${a.localText} (told ${this.peer}: "${a.explanation}")`, 'info');
        return;
      }
      case 'abortSmp': {
        const otr = this.requireEncrypted();
        this.handleOtrEvents(otr.smpAbort(), false);
        this.updateOtrView({ smp: null });
        this.emit({ ev: 'smp', session: this.id, result: 'aborted', from_call: true });
        return;
      }
      case 'markVerified':
        if (!this.fingerprint) return;
        this.deps.trust.setTrust(this.peer, this.fingerprint, a.trust);
        this.trust = 'verified';
        this.publishOtr();
        return;
      case 'systemLine':
        this.system(a.text, a.level);
        if (a.alarm) this.deps.alert('Call check failed', `the SAS or the OTR key is not what ${this.peer} sees`);
        return;
      case 'armTimer':
        if (this.callTimer) this.clock.clearTimeout(this.callTimer);
        this.callTimer = this.clock.setTimeout(() => {
          this.callTimer = null;
          if (!this.call || this.ended) return;
          const busy = (this.otr?.smpInProgress ?? false) || this.view.otr.smp !== null;
          this.runCall(this.call.timerFired(busy));
        }, a.ms);
        this.callTimer.unref();
        return;
      case 'cancelTimer':
        if (this.callTimer) this.clock.clearTimeout(this.callTimer);
        this.callTimer = null;
        return;
    }
  }

  setTrusted(trusted: boolean): void {
    if (!this.fingerprint) throw new Error('no fingerprint to trust yet: start a private conversation first');
    this.deps.trust.setTrust(this.peer, this.fingerprint, trusted ? 'verified' : '');
    this.trust = trusted ? 'verified' : 'unverified';
    this.publishOtr();
    this.system(
      trusted
        ? `${this.peer}'s fingerprint ${fingerprintHuman(this.fingerprint)} is now verified`
        : `${this.peer}'s fingerprint is no longer verified`,
      'info',
    );
  }

  /**
   * trusted_peers changed on disk: re-read the trust of the current fingerprint. When the lock changes, the chat
   * says so and why (`why`, e.g. "trusted_peers was edited"); returns whether it changed. A red (changed) lock
   * turns green when the edit verifies the new key, and stays red otherwise.
   */
  refreshTrust(why = 'trusted_peers was edited'): boolean {
    if (!this.fingerprint || this.trust === null) return false;
    const verified = this.deps.trust.trustOf(this.peer, this.fingerprint) !== '';
    const t = verified ? 'verified' : this.trust === 'changed' ? 'changed' : 'unverified';
    if (t === this.trust) return false;
    this.trust = t;
    this.publishOtr();
    this.system(
      verified
        ? `${this.peer}'s fingerprint is now verified: ${why}`
        : `${this.peer}'s fingerprint is no longer verified: ${why}`,
      verified ? 'info' : 'warning',
    );
    return true;
  }

  private requireEncrypted(): OtrSession {
    if (!this.otr || this.otr.state !== 'encrypted') throw new Error('start a private conversation first (/otr init)');
    return this.otr;
  }

  private collectSends(events: OtrEvent[]): string[] {
    const wires: string[] = [];
    const rest: OtrEvent[] = [];
    for (const e of events) {
      if (e.type === 'send') wires.push(...e.wire);
      else rest.push(e);
    }
    if (rest.length) this.handleOtrEvents(rest, false);
    return wires;
  }

  private handleOtrEvents(events: OtrEvent[], _fromUser: boolean, carrierType = TEXT_PLAIN, sender?: string): void {
    // Why an SMP run in this batch was aborted: a new key exchange ended it, the peer's SMP1 crossed ours (both
    // started at once), or the peer sent an abort.
    const abortCause: AbortCause = events.some((e) => e.type === 'state')
      ? 'rekey'
      : events.some((e) => e.type === 'message' && e.tlvs.some((t) => t.type === TLV_SMP1 || t.type === TLV_SMP1Q))
        ? 'crossed'
        : 'peer';
    for (const e of events) {
      switch (e.type) {
        case 'send':
          // AKE, SMP, TLV and error messages: protocol traffic, sent without delivery reports.
          void this.sendAll(TEXT_PLAIN, e.wire, false).catch((err: Error) =>
            this.deps.log(`OTR protocol message not sent: ${err.message}`),
          );
          break;
        case 'message': {
          const encryption: Encryption = e.encrypted ? this.lockEncryption() : 'none';
          this.deliverPlain(carrierType, e.text, encryption, sender);
          break;
        }
        case 'state':
          this.onOtrState(e.state, e.version, e.theirFingerprint);
          break;
        case 'smp':
          this.onSmp(e.event, abortCause);
          break;
        case 'error':
          if (e.unencrypted && this.otr?.state === 'encrypted' && this.clock.now() - this.encryptedAt < CROSSING_MS) {
            // Typed by the peer before its side was encrypted, arriving just after ours was: the message line
            // already shows it unlocked; a red warning here would be noise in every quick start.
            this.system(
              `${this.peer}'s message above was sent before the private conversation was up: it was not encrypted`,
              'info',
            );
          } else if (e.unreadable) {
            this.system(
              `a message from ${this.peer} could not be decrypted and is not shown; ${this.peer} is told it was not delivered (OTR: ${e.message})`,
              'warning',
            );
          } else {
            this.system(e.fromPeer ? `OTR error from ${this.peer}: ${e.message}` : `OTR: ${e.message}`, 'warning');
          }
          break;
        case 'held':
          break;
        case 'peer-supports-otr':
          break;
      }
    }
    this.armTick();
  }

  /** Runs the engine's time-driven step when it asks for one (a crossed AKE with a peer lacking the collision rule). */
  private armTick(): void {
    const due = this.otr?.tickDueIn ?? null;
    if (due === null || this.tickTimer || this.ended) return;
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = null;
      if (this.otr && !this.ended) this.handleOtrEvents(this.otr.tick(), false);
    }, due);
    this.tickTimer.unref();
  }

  private onOtrState(state: 'plaintext' | 'encrypted' | 'finished', version: 2 | 3 | null, fp: string | null): void {
    if (state === 'encrypted' && fp) {
      this.generation++;
      this.encryptedAt = this.clock.now();
    }
    if (state === 'encrypted' && fp) {
      const fingerprint = fp.toUpperCase();
      const known = this.fingerprint === fingerprint && this.trust !== null;
      this.fingerprint = fingerprint;
      if (!known) {
        const learned = this.deps.trust.learn(this.peer, fingerprint);
        const stored = this.deps.trust.trustOf(this.peer, fingerprint);
        // Red until verified again: on first sight of a new key, and later too while an older key of this peer
        // was verified and the new one is not.
        const otherVerified = this.deps.trust
          .fingerprints(this.peer)
          .some((k) => k.fingerprint.toUpperCase() !== fingerprint && k.trust !== '');
        this.trust = stored !== '' ? 'verified' : learned.changed || otherVerified ? 'changed' : 'unverified';
      }
      this.updateOtrView({ state, version, theirFingerprint: fingerprint, smp: null });
      this.publishOtr();
      if (this.trust === 'changed') {
        const msg =
          `WARNING: ${this.peer}'s OTR fingerprint has changed to ${fingerprintHuman(fingerprint)}. ` +
          `Someone may be impersonating them, or they have a new key: verify it (/otr auth, /verify) before trusting it`;
        this.system(msg, 'warning');
        this.deps.alert('OTR key changed', `${this.peer} presented a new OTR fingerprint`);
      } else {
        this.system(
          `private conversation ${known ? 'refreshed' : 'started'}: ${this.peer} is ${this.trust === 'verified' ? 'verified' : 'unverified'} (OTR v${version ?? '?'})`,
          'info',
        );
      }
      if (this.held.length) this.flushHeld();
      if (this.unreadable.length) this.flushUnreadable();
      if (this.call && this.otr) this.runCall(this.call.otrEncrypted(this.otr.ourFingerprint, fingerprint));
      return;
    }
    if (this.call) this.runCall(this.call.otrEnded());
    if (state === 'finished') {
      this.updateOtrView({ state, smp: null });
      this.publishOtr();
      this.system(
        `${this.peer} has ended the private conversation. Messages are not sent until you restart it (/otr init) or end it too (/otr finish)`,
        'warning',
      );
      return;
    }
    this.onPlaintext(false);
  }

  private onPlaintext(byUs: boolean): void {
    const wasEncrypted = this.view.otr.state !== 'plaintext';
    this.updateOtrView({ state: 'plaintext', smp: null, version: null });
    this.publishOtr();
    if (wasEncrypted)
      this.system(
        byUs ? 'private conversation ended: messages are now sent in plaintext' : 'private conversation ended',
        'info',
      );
  }

  private onSmp(ev: import('../otr/index.js').SmpEvent, abortCause: AbortCause): void {
    const call = this.call;
    if (call && ev.type === 'asked' && call.claims(ev.question)) {
      // The peer's check from the call: answered with the SAS our user confirmed, or declined (call-verification.ts).
      this.answeringQuestion = true;
      this.updateOtrView({ smp: { phase: 'asked', question: ev.question, fromCall: true } });
      this.emit({ ev: 'smp', session: this.id, result: 'asked', question: ev.question, from_call: true });
      this.runCall(call.smpAsked(ev.question));
      return;
    }
    if (call && ev.type !== 'asked' && call.currentFromCall) {
      const result = ev.type === 'cheated' ? 'failure' : ev.type;
      this.answeringQuestion = false;
      this.updateOtrView({ smp: null });
      this.emit({ ev: 'smp', session: this.id, result, from_call: true });
      if (ev.type === 'cheated')
        this.system(`the check from the call broke off: a protocol check did not pass (${ev.reason})`, 'warning');
      this.runCall(call.smpResult(result, abortCause));
      return;
    }
    this.onUserSmp(ev);
    if (call)
      this.runCall(
        ev.type === 'asked' ? call.smpAsked(ev.question) : call.smpResult(ev.type === 'cheated' ? 'failure' : ev.type),
      );
  }

  /** An SMP run that is not the call's: the user asks or answers it. */
  private onUserSmp(ev: import('../otr/index.js').SmpEvent): void {
    switch (ev.type) {
      case 'asked':
        this.answeringQuestion = ev.question !== undefined;
        this.updateOtrView({ smp: { phase: 'asked', question: ev.question } });
        this.emit({
          ev: 'smp',
          session: this.id,
          result: 'asked',
          ...(ev.question !== undefined ? { question: ev.question } : {}),
        });
        this.system(
          ev.question !== undefined
            ? `${this.peer} wants to authenticate you and asks: "${ev.question}" (answer with /otr auth ANSWER)`
            : `${this.peer} wants to authenticate you with a shared secret (answer with /otr auth SECRET)`,
          'info',
        );
        return;
      case 'success':
        if (this.answeringQuestion) {
          // As libotr clients do: answering someone's question proves to *them* who we are, but a question
          // can be asked by anyone, so it does not verify them to us. Asking our own does.
          this.answeringQuestion = false;
          this.updateOtrView({ smp: null });
          this.emit({ ev: 'smp', session: this.id, result: 'success' });
          this.system(
            `you answered ${this.peer}'s question correctly: they can now trust you. To verify them, ask your own (/otr authq) or use a shared secret (/otr auth)`,
            'info',
          );
          return;
        }
        if (this.fingerprint) this.deps.trust.setTrust(this.peer, this.fingerprint, 'smp');
        this.trust = 'verified';
        this.updateOtrView({ smp: null });
        this.publishOtr();
        this.emit({ ev: 'smp', session: this.id, result: 'success' });
        this.system(`authentication succeeded: ${this.peer} is verified`, 'info');
        return;
      case 'failure':
        this.updateOtrView({ smp: null });
        this.emit({ ev: 'smp', session: this.id, result: 'failure' });
        this.system(`authentication failed: the secrets did not match. ${this.peer} is not verified`, 'warning');
        return;
      case 'aborted':
        this.updateOtrView({ smp: null });
        this.emit({ ev: 'smp', session: this.id, result: 'aborted' });
        this.system('authentication aborted', 'info');
        return;
      case 'cheated':
        this.updateOtrView({ smp: null });
        this.emit({ ev: 'smp', session: this.id, result: 'failure' });
        this.system(`authentication failed: a protocol check did not pass (${ev.reason})`, 'warning');
        return;
    }
  }

  private lockEncryption(): Encryption {
    return this.trust === 'verified' ? 'verified' : this.trust === 'changed' ? 'changed' : 'unverified';
  }

  private publishOtr(): void {
    const state = this.otr?.state ?? 'plaintext';
    this.updateOtrView({ trust: state === 'plaintext' ? null : this.trust });
    this.emit({
      ev: 'otr',
      session: this.id,
      state,
      fingerprint: this.fingerprint,
      trust: state === 'plaintext' ? null : this.trust,
      version: this.otr?.version ?? null,
    });
  }

  private updateOtrView(patch: Partial<OtrView>): void {
    this.deps.store.updateSession(this.id, (s) => ({ otr: { ...s.otr, ...patch } }));
  }

  // ---- events ------------------------------------------------------------------------------

  private deferred: (() => void)[] = [];
  private deferTimer: NodeJS.Immediate | null = null;

  private defer(fn: () => void): void {
    this.deferred.push(fn);
    this.deferTimer ??= setImmediate(() => this.flushDeferred());
  }

  private flushDeferred(): void {
    if (this.deferTimer) clearImmediate(this.deferTimer);
    this.deferTimer = null;
    const q = this.deferred;
    this.deferred = [];
    for (const fn of q) fn();
  }

  /** Every event of this session goes through here, after whatever was deferred, so their order never changes. */
  private emit(e: CoreEvent): void {
    if (this.deferred.length) this.flushDeferred();
    this.deps.store.emit(e);
  }

  // ---- lines, history ----------------------------------------------------------------------

  system(text: string, level: 'info' | 'warning'): void {
    const line = this.deps.store.appendLine(
      this.id,
      { time: this.clock.now(), kind: 'system', text, encryption: 'none', level },
      false,
    );
    this.emit({ ev: 'system', session: this.id, text, level });
    this.record(line, 'system');
  }

  private loggingOff(): boolean {
    return this.localLoggingOff || this.peerLoggingOff;
  }

  private history(): HistoryPort | null {
    return this.loggingOff() ? null : this.deps.history();
  }

  private record(line: ChatLine, direction: 'in' | 'out' | 'system'): void {
    const h = this.history();
    if (!h) return;
    safe(
      () =>
        h.append(this.peer, {
          time: line.time,
          session: this.id,
          peer: this.peer,
          id: line.id,
          direction,
          sender: line.sender,
          text: line.text,
          encryption: line.encryption,
          fingerprint: line.encryption === 'none' ? null : this.fingerprint,
          delivery: line.delivery,
        }),
      this.deps.log,
    );
  }
}

function safe(fn: () => void, log: (m: string) => void): void {
  try {
    fn();
  } catch (e) {
    log(`history: ${(e as Error).message}`);
  }
}
