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
import type { AudioState, AudioView } from './types.js';

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
    const entry = this.h.life.stream('audio');
    if (entry?.state === 'negotiating') this.h.life.streamTransition('audio', 'open');
    if (this.since === null) {
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
    if (s) {
      s.close();
      this.clearView(reason);
    }
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
      encryption: s?.stream.encryption ?? 'none',
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

function mediaOf(media: ('chat' | 'audio')[] | undefined, audio: boolean): ('chat' | 'audio')[] {
  const rest = (media ?? ['chat']).filter((m) => m !== 'audio');
  return audio ? [...rest, 'audio'] : rest;
}
