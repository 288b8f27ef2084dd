// The audio of one session: the stream (src/rtp) as a section of the session's SDP, the user's actions on it (add,
// remove, hold, resume, mute, DTMF) as re-INVITEs, the peer's (a proposal waits for /accept, 180 Ringing meanwhile;
// port 0 removes; sendonly/inactive holds), and what front ends see of it (the `audio` view and events).
// Re-INVITEs of a session go out one at a time; one refused with 491 (glare, RFC 3261 14.1) is sent again after
// 2.1-4 s when we made the Call-ID, 0-2 s otherwise, unless what it wanted has come about meanwhile.
import type { AudioStream, AudioStats } from '../rtp/index.js';
import type { ReinviteResult, SipCall } from '../sip/index.js';
import type { SessionLifecycle, SessionStream } from './lifecycle.js';
import { AudioSection } from './sections.js';
import { OfferRefusedError, type SectionMedia, type SessionNegotiator } from './session-media.js';
import type { Clock } from './session.js';
import type { StateStore } from './state.js';
import type { AudioState, AudioView, ZrtpView } from './types.js';
import { ZrtpBinding, zrtpSeamOf, type ZrtpStore } from './zrtp-binding.js';
import type { ZrtpSecure } from '../zrtp/index.js';

/** The session's ChatSession hooks for the check from the call (call-verification.ts). */
export interface CallHooks {
  started(): void;
  sas(sas: string, verifiedByUser: boolean): void;
  confirmed(): void;
  rejected(): void;
  ended(): void;
}

/** The session's audio stream in its lifecycle (negotiating -> open -> closed). */
export interface AudioStreamEntry extends SessionStream<'audio'> {
  media: AudioSection;
}

export interface AudioHost {
  readonly id: string;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly neg: SessionNegotiator;
  readonly life: SessionLifecycle<SessionStream>;
  call(): SipCall | null;
  makeStream(): Promise<AudioStream>;
  log(msg: string): void;
  alert(title: string, body: string): void;
  /** A line in the session's conversation. */
  system(text: string, level: 'info' | 'warning'): void;
  /** The session has no stream left (the peer removed the last one, or the audio of an audio-only call went). */
  noStreamsLeft(reason: string): void;
  /** Our ZID and retained secrets (null: no ZRTP, SDES only, as before). */
  zrtpStore?(): ZrtpStore | null;
  /** The chat's side of the call's SAS (the SMP from the call). */
  callHooks?: CallHooks;
}

const DTMF_DIGITS = /^[0-9*#A-Da-d]+$/;
/** An audio proposal nobody answers is declined after this long (the peer's re-INVITE cannot wait for ever). */
const PROPOSAL_TIMEOUT_MS = 60_000;
const MAX_GLARE_RETRIES = 5;
/**
 * A re-INVITE right after the ACK of the one before may reach the peer while it still handles that ACK, and sip.js
 * refuses it then (500, RFC 6337 4.3); RFC 5407 3.1.5 suggests the caller waits a little: we leave this much room.
 */
const REINVITE_SPACING_MS = 200;

type Intent = 'add' | 'remove' | 'hold' | 'resume';

export class SessionAudio {
  private section: AudioSection | null = null;
  /** A proposal from the peer waiting for the user. */
  private proposal: ((accepted: boolean) => void) | null = null;
  /** What our re-INVITEs in flight or waiting want (a peer proposal that matches it is accepted by itself). */
  private intent: Intent | null = null;
  private queue: Promise<void> = Promise.resolve();
  private muted = false;
  /** When our last re-INVITE transaction ended. */
  private lastReinviteAt = 0;
  private since: number | null = null;
  private closed = false;
  private zrtp: ZrtpBinding | null = null;
  private zrtpView: ZrtpView | null = null;

  constructor(private readonly h: AudioHost) {}

  get present(): boolean {
    return this.section !== null;
  }

  get waitingForUser(): boolean {
    return this.proposal !== null;
  }

  get stream(): AudioStream | null {
    return this.section?.stream ?? null;
  }

  // ---- the negotiator's owner side (session-media.ts calls these through the core) -------------

  /** A new audio stream for the INVITE (already accepted) or a section of the peer's re-INVITE (asked first). */
  async streamFor(initial: boolean): Promise<SectionMedia | null> {
    if (this.closed) return null;
    if (!initial && this.intent !== 'add') {
      const accepted = await this.ask();
      if (!accepted) throw new OfferRefusedError('the user declined audio');
    }
    return this.open('connecting');
  }

  /** The peer's re-INVITE offers audio: announce it, ring, and wait for /accept or /reject. */
  private ask(): Promise<boolean> {
    const from = this.h.store.session(this.h.id)?.peer ?? 'peer';
    this.h.store.emit({ ev: 'incoming', session: this.h.id, from: `sip:${from}`, media: ['chat', 'audio'] });
    this.h.alert('Audio call', `${from} wants to add audio: /accept or /reject`);
    this.h.system(`${from} wants to add audio to this chat: /accept or /reject`, 'info');
    this.view('proposed');
    this.h.call()?.ringReinvite();
    return new Promise<boolean>((resolve) => {
      const timer = this.h.clock.setTimeout(() => {
        if (this.proposal !== settle) return;
        this.h.system('audio proposal not answered: declined', 'info');
        this.answerProposal(false);
      }, PROPOSAL_TIMEOUT_MS);
      timer.unref();
      const settle = (accepted: boolean): void => {
        this.h.clock.clearTimeout(timer);
        resolve(accepted);
      };
      this.proposal = settle;
    });
  }

  /** /accept or /reject of a proposal; false when none waits. */
  answerProposal(accepted: boolean): boolean {
    const p = this.proposal;
    if (!p) return false;
    this.proposal = null;
    if (!accepted) {
      this.h.system('audio declined', 'info');
      this.clearView('declined');
    }
    p(accepted);
    return true;
  }

  private async open(state: AudioState): Promise<AudioSection> {
    const stream = await this.h.makeStream();
    if (this.closed) {
      stream.close();
      throw new Error('the session ended');
    }
    const section = new AudioSection(stream);
    this.bindZrtp(stream);
    stream.on('warning', (w) => this.h.system(w, 'warning'));
    stream.on('dtmf', (d) => this.h.store.emit({ ev: 'dtmf', session: this.h.id, digit: d }));
    stream.on('stats', (s) => this.onStats(s));
    this.section = section;
    this.h.life.addStream({ kind: 'audio', state: 'negotiating', media: section } as AudioStreamEntry);
    this.view(state);
    return section;
  }

  /** The stream's section went to port 0 (peer's offer or answer). */
  removed(media: SectionMedia, by: 'offer' | 'answer'): void {
    if (media !== this.section) {
      media.close();
      return;
    }
    this.drop(by === 'offer' ? 'removed by the peer' : 'refused by the peer');
  }

  /** An offer/answer completed: start what was negotiated, show holds. */
  negotiated(): void {
    const s = this.section;
    if (!s || this.closed) return;
    if (!this.h.neg.streams.includes(s)) return; // rolled back
    s.stream.start();
    const z = this.zrtp;
    if (z && z.chosen && !z.isStarted) {
      this.zrtpView = emptyZrtpView();
      this.h.callHooks?.started();
      z.start();
      this.emitZrtp();
    }
    const entry = this.h.life.stream('audio');
    if (entry?.state === 'negotiating') this.h.life.streamTransition('audio', 'open');
    if (this.since === null && z?.chosen && !z.secure) {
      this.since = this.h.clock.now();
      this.h.system(
        `audio ${s.stream.codec ?? ''}, ZRTP: agreeing on keys (nothing is sent or played until then)`,
        'info',
      );
    } else if (this.since === null) {
      this.since = this.h.clock.now();
      this.h.system(
        `audio ${s.stream.codec ?? ''}${s.stream.encryption === 'none' ? ', NOT encrypted' : `, SRTP (${s.stream.encryption.toUpperCase()})`}`.replace(
          'audio ,',
          'audio,',
        ),
        s.stream.encryption === 'none' ? 'warning' : 'info',
      );
    }
    const peerHolds = s.remoteHold || s.answeredDirection === 'inactive';
    this.view(s.localHold || peerHolds ? 'held' : 'active');
  }

  // ---- the user's actions ------------------------------------------------------------------

  /** `/call`: the audio section of the first INVITE. */
  async offerInitial(): Promise<void> {
    if (!this.section) this.h.neg.add(await this.open('connecting'));
  }

  add(): Promise<void> {
    if (this.section) return Promise.reject(new Error('this session already has audio'));
    if (this.proposal) return Promise.reject(new Error('the peer proposes audio: /accept it'));
    return this.modify('add', async () => {
      if (this.section) return false;
      this.h.neg.add(await this.open('connecting'));
      return true;
    });
  }

  remove(): Promise<void> {
    if (!this.section) return Promise.reject(new Error('this session has no audio'));
    return this.modify('remove', () => {
      if (!this.section) return false;
      this.h.neg.remove('audio');
      return true;
    });
  }

  hold(on: boolean): Promise<void> {
    if (!this.section) return Promise.reject(new Error('this session has no audio'));
    return this.modify(on ? 'hold' : 'resume', () => {
      const cur = this.section;
      if (!cur || cur.localHold === on) return false;
      // The holder stops sending and playing at once, whatever the peer answers.
      cur.localHold = on;
      cur.stream.setHold(on);
      this.view(this.currentState());
      return true;
    });
  }

  mute(on: boolean): void {
    const s = this.section;
    if (!s) throw new Error('this session has no audio');
    s.stream.setMute(on);
    this.muted = on;
    this.view(this.currentState());
  }

  async dtmf(digits: string): Promise<void> {
    const s = this.section;
    if (!s) throw new Error('this session has no audio');
    if (!DTMF_DIGITS.test(digits)) throw new Error(`DTMF digits are 0-9 * # A-D, not ${JSON.stringify(digits)}`);
    await s.stream.sendDtmf(digits.toUpperCase());
  }

  /**
   * One re-INVITE for `intent`, after the ones before it. `change` edits the negotiator (false: nothing to do any
   * more); a 491 puts it back (sip.js rolls the offer back) and it is tried again after the RFC 3261 14.1 wait.
   */
  private modify(intent: Intent, change: () => boolean | Promise<boolean>): Promise<void> {
    const run = async (): Promise<void> => {
      this.intent = intent;
      try {
        for (let attempt = 0; ; attempt++) {
          const call = this.h.call();
          if (!call || this.closed || call.state !== 'established') throw new Error('the session is not connected');
          const since = this.h.clock.now() - this.lastReinviteAt;
          if (since < REINVITE_SPACING_MS) await this.sleep(REINVITE_SPACING_MS - since);
          const snapshotSection = this.section;
          if (!(await change())) return;
          let r: ReinviteResult;
          try {
            r = await call.reinvite();
            this.lastReinviteAt = this.h.clock.now();
          } catch (e) {
            this.h.neg.rollback();
            this.undo(intent, snapshotSection);
            throw e;
          }
          if (r.ok) {
            this.done(intent);
            return;
          }
          this.undo(intent, snapshotSection);
          if (r.statusCode === 491 && attempt < MAX_GLARE_RETRIES) {
            const ms = call.ownsCallId
              ? 2100 + Math.floor(Math.random() * 190) * 10
              : Math.floor(Math.random() * 200) * 10;
            this.h.log(`[${this.h.id}] re-INVITE glare (491): trying again in ${ms} ms`);
            await this.sleep(ms);
            continue;
          }
          if (r.statusCode === 500 && r.retryAfter !== undefined && attempt < MAX_GLARE_RETRIES) {
            // the peer was still busy with the exchange before (RFC 3261 14.2): as it asks, capped
            const ms = Math.min(r.retryAfter, 10) * 1000;
            this.h.log(`[${this.h.id}] re-INVITE refused 500 with Retry-After: trying again in ${ms} ms`);
            await this.sleep(ms);
            continue;
          }
          throw new Error(`${intent === 'add' ? 'audio' : intent} refused: ${r.statusCode} ${r.reason}`.trim());
        }
      } finally {
        this.intent = null;
      }
    };
    const p = this.queue.then(run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = this.h.clock.setTimeout(resolve, ms);
      t.unref();
    });
  }

  /** A refused re-INVITE: the negotiator is back as it was; put our side back too. */
  private undo(intent: Intent, before: AudioSection | null): void {
    if (intent === 'add' && this.section && this.section !== before) {
      const s = this.section;
      this.section = null;
      this.h.life.removeStream('audio');
      this.unbindZrtp();
      s.close();
      this.clearView('refused');
    }
    if ((intent === 'hold' || intent === 'resume') && this.section) {
      this.section.localHold = intent === 'resume';
      this.section.stream.setHold(this.section.localHold);
      this.view(this.currentState());
    }
  }

  private done(intent: Intent): void {
    if (intent === 'remove' && this.section && !this.h.neg.streams.includes(this.section)) {
      this.drop('removed');
      return;
    }
    this.negotiated();
  }

  /** The audio stream goes away; the session goes on if it has another stream. */
  private drop(reason: string): void {
    const s = this.section;
    if (!s) return;
    this.section = null;
    if (this.h.life.stream('audio')?.state !== 'closed') this.h.life.streamTransition('audio', 'closed');
    this.h.life.removeStream('audio');
    this.unbindZrtp();
    s.close();
    this.h.system(`audio ended: ${reason}`, 'info');
    this.clearView(reason);
    if (this.h.neg.streams.length === 0) this.h.noStreamsLeft(`audio ${reason}`);
  }

  /** The session ends: close the stream, refuse a waiting proposal. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.answerProposal(false);
    const s = this.section;
    this.section = null;
    this.unbindZrtp();
    if (s) {
      s.close();
      this.clearView(reason);
    }
  }

  // ---- ZRTP ----------------------------------------------------------------------------------

  /** A ZRTP engine on the new stream when the engine has the seam and we have a ZID: our SDP offers it. */
  private bindZrtp(stream: AudioStream): void {
    const seam = zrtpSeamOf(stream);
    const store = seam ? (this.h.zrtpStore?.() ?? null) : null;
    if (!seam || !store) return;
    const peer = this.h.store.session(this.h.id)?.peer ?? '';
    this.zrtp = new ZrtpBinding(seam, store, this.h.clock, peer, {
      log: (m) => this.h.log(`[${this.h.id}] ${m}`),
      secure: (info) => this.zrtpSecure(info),
      failed: (reason) => this.zrtpFailed(reason),
    });
  }

  private unbindZrtp(): void {
    const z = this.zrtp;
    if (!z) return;
    this.zrtp = null;
    z.close();
    if (z.isStarted) this.h.callHooks?.ended();
    this.zrtpView = null;
  }

  private zrtpSecure(info: ZrtpSecure): void {
    const store = this.h.zrtpStore?.();
    const rec = store?.load(new Uint8Array(Buffer.from(info.peerZid, 'hex')));
    // our user's earlier confirmation counts for the SMP from the call only while the retained secret matches
    const ourVerified = info.cache === 'match' && rec?.verified === true;
    this.zrtpView = {
      state: 'secure',
      sas: info.sas,
      sasWords: info.sasRender.b256,
      // RFC 6189 §7.1: shown verified only when both sides had confirmed it (our record and the peer's V flag)
      verified: info.verified,
      verdict: null,
      cipher: `${info.cipher}/${info.authTag}/${info.keyAgreement}`,
      cache: info.cache,
      peerZid: info.peerZid,
    };
    const spaced = info.sas.split('').join(' ');
    if (info.cache === 'mismatch') {
      const text =
        `ZRTP CACHE MISMATCH: the secret kept from earlier calls with this peer does not match. Someone may be in ` +
        `the middle, or the peer reset its ZRTP data. Compare the SAS "${spaced}" aloud: /sas confirm or /sas reject`;
      this.h.system(text, 'warning');
      this.h.alert('ZRTP cache mismatch', `${this.h.store.session(this.h.id)?.peer ?? 'peer'}: compare the SAS`);
    } else if (this.zrtpView.verified)
      this.h.system(`call encrypted with ZRTP (${info.cipher}), SAS "${spaced}" verified before`, 'info');
    else
      this.h.system(
        `call encrypted with ZRTP (${info.cipher}). Read the SAS aloud: "${spaced}" (${info.sasRender.b256}). ` +
          `Same on both sides? /sas confirm, else /sas reject`,
        'info',
      );
    this.emitZrtp();
    this.view(this.currentState());
    this.h.callHooks?.sas(info.sas, ourVerified);
  }

  /** ZRTP failed: the call never sent audio in the clear, and will not: the audio ends, and the chat says why. */
  private zrtpFailed(reason: string): void {
    if (!this.zrtpView) this.zrtpView = emptyZrtpView();
    this.zrtpView = { ...this.zrtpView, state: 'failed', reason };
    this.emitZrtp();
    this.h.system(
      `ZRTP failed: ${reason}. The audio is ended rather than sent unencrypted; call again to retry.`,
      'warning',
    );
    if (this.h.neg.streams.length <= 1) this.h.noStreamsLeft(`ZRTP failed: ${reason}`);
    else void this.remove().catch((e: Error) => this.h.log(`[${this.h.id}] removing audio after ZRTP: ${e.message}`));
  }

  /** `/sas confirm|reject`: the user's verdict, kept per peer ZID, and told to the check from the call. */
  sas(action: 'confirm' | 'reject'): void {
    const z = this.zrtp;
    const v = this.zrtpView;
    if (!z || !z.secure || !v || v.state !== 'secure') throw new Error('this session has no ZRTP SAS to compare');
    const ok = action === 'confirm';
    z.setVerified(ok);
    this.zrtpView = { ...v, verified: ok, verdict: ok ? 'confirmed' : 'rejected' };
    if (ok) this.h.system(`SAS "${v.sas}" confirmed: this peer's ZRTP identity is verified`, 'info');
    else {
      this.h.system(
        `SAS "${v.sas}" REJECTED: the peer does not see the same SAS, so someone may be listening. Hang up and ` +
          `do not trust this call.`,
        'warning',
      );
      this.h.alert(
        'ZRTP SAS rejected',
        `${this.h.store.session(this.h.id)?.peer ?? 'peer'}: the call may be intercepted`,
      );
    }
    this.emitZrtp();
    this.view(this.currentState());
    if (ok) this.h.callHooks?.confirmed();
    else this.h.callHooks?.rejected();
  }

  private emitZrtp(): void {
    const v = this.zrtpView;
    if (!v) return;
    this.h.store.emit({
      ev: 'zrtp',
      session: this.h.id,
      state: v.state,
      ...(v.sas !== null ? { sas: v.sas } : {}),
      verified: v.verified,
      ...(v.cipher !== null ? { cipher: v.cipher } : {}),
      ...(v.cache !== null ? { cache: v.cache } : {}),
      ...(v.reason ? { reason: v.reason } : {}),
    });
  }

  // ---- the view ----------------------------------------------------------------------------

  private currentState(): AudioState {
    const s = this.section;
    if (!s) return 'ended';
    if (this.since === null) return 'connecting';
    return s.localHold || s.remoteHold ? 'held' : 'active';
  }

  private onStats(st: AudioStats): void {
    const v = this.h.store.session(this.h.id)?.audio;
    if (!v) return;
    this.h.store.updateSession(this.h.id, {
      audio: {
        ...v,
        rxLevel: st.rxLevel,
        txLevel: st.txLevel,
        rxPackets: st.rxPackets,
        lost: st.lost,
        jitterMs: st.jitterMs,
        rttMs: st.rttMs,
      },
    });
    this.h.store.emit({
      ev: 'audio_stats',
      session: this.h.id,
      rx_packets: st.rxPackets,
      lost: st.lost,
      jitter_ms: Math.round(st.jitterMs * 10) / 10,
      rtt_ms: st.rttMs === null ? null : Math.round(st.rttMs * 10) / 10,
    });
  }

  private view(state: AudioState, reason?: string): void {
    const s = this.section;
    const before = this.h.store.session(this.h.id)?.audio;
    const next: AudioView = {
      state,
      codec: s?.stream.codec ?? null,
      // keys from ZRTP count once it is secure; until then nothing is sent (the zrtp view says negotiating)
      encryption: this.zrtpView && this.zrtpView.state !== 'secure' ? 'none' : (s?.stream.encryption ?? 'none'),
      localHold: s?.localHold ?? false,
      remoteHold: s?.remoteHold ?? false,
      muted: this.muted,
      since: this.since,
      rxLevel: before?.rxLevel ?? 0,
      txLevel: before?.txLevel ?? 0,
      rxPackets: before?.rxPackets ?? 0,
      lost: before?.lost ?? 0,
      jitterMs: before?.jitterMs ?? 0,
      rttMs: before?.rttMs ?? null,
      ...(reason ? { reason } : {}),
      ...(this.zrtpView ? { zrtp: this.zrtpView } : {}),
    };
    this.h.store.updateSession(this.h.id, (v) => ({ audio: next, media: mediaOf(v.media, true) }));
    if (before?.state === state && before.codec === next.codec && before.encryption === next.encryption) return;
    // The event's states are the headless contract's (proposed, active, held, ended); our offer on its way shows
    // in the view only.
    if (state === 'connecting') return;
    this.h.store.emit({
      ev: 'audio',
      session: this.h.id,
      state,
      codec: next.codec,
      encryption: next.encryption,
      ...(reason ? { reason } : {}),
    });
  }

  private clearView(reason: string): void {
    const before = this.h.store.session(this.h.id)?.audio;
    this.since = null;
    this.muted = false;
    this.h.store.updateSession(this.h.id, (v) => ({
      audio: before ? { ...before, state: 'ended' as const, reason } : undefined,
      media: mediaOf(v.media, false),
    }));
    if (before && before.state !== 'ended')
      this.h.store.emit({
        ev: 'audio',
        session: this.h.id,
        state: 'ended',
        codec: before.codec,
        encryption: before.encryption,
        reason,
      });
  }
}

function emptyZrtpView(): ZrtpView {
  return {
    state: 'negotiating',
    sas: null,
    sasWords: null,
    verified: false,
    verdict: null,
    cipher: null,
    cache: null,
    peerZid: null,
  };
}

function mediaOf(media: ('chat' | 'audio')[] | undefined, audio: boolean): ('chat' | 'audio')[] {
  const rest = (media ?? ['chat']).filter((m) => m !== 'audio');
  return audio ? [...rest, 'audio'] : rest;
}
