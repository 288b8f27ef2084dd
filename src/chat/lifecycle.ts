// The life of one session: one SIP dialog and the media streams it carries (a chat stream over MSRP, an audio
// stream over RTP, at most one of each). Streams come and go by re-INVITE while the dialog lives, so the dialog's
// phase and each stream's state are kept apart: the phase is the session's, the streams are its data.
//
// Session phases (the dialog):
//
//            outgoing INVITE sent                 incoming INVITE
//                    |                                  |
//                    v                                  v
//              +------------+       accept      +------------+
//              | connecting | <---------------- |  incoming  |
//              +------------+                   +------------+
//                |        |                            |
//    established |        | failed, timeout,           | reject, CANCEL,
//   stream bound |        | hang-up, BYE               | no offer
//                v        |                            |
//              +------------+                          |
//              |   active   |                          |
//              +------------+                          |
//                    | hang-up, BYE, stream lost,      |
//                    | relay authorization expired     |
//                    v                                 |
//              +------------+ <------------------------+
//              |   ending   |   (BYE in flight, streams closing; front ends already see 'ended')
//              +------------+
//                    | everything closed
//                    v
//              +------------+
//              |   ended    |
//              +------------+
//
// Every phase but `ended` may move to `ending`; nothing leaves `ended`; a phase never moves to itself. Whoever notices
// the end first (user, BYE, stream, timer) makes the one move to `ending`: the others find the session past it.
//
// Stream states (each stream of the session):
//
//   negotiating --(session active: handed to its consumer)--> open
//        |                                                      |
//        +----------------(connection closed or broken)---------+--> closed
//
// A negotiating stream keeps what arrives before the session is ready for it; a closed one waits for the BYE that
// explains it (or the session ends without one).

import type { SessionState } from './types.js';

export type SessionPhase = 'incoming' | 'connecting' | 'active' | 'ending' | 'ended';
export type StreamState = 'negotiating' | 'open' | 'closed';

/** The legal moves, and nothing else. */
export const SESSION_TRANSITIONS: Readonly<Record<SessionPhase, readonly SessionPhase[]>> = {
  incoming: ['connecting', 'ending'],
  connecting: ['active', 'ending'],
  active: ['ending'],
  ending: ['ended'],
  ended: [],
};

export const STREAM_TRANSITIONS: Readonly<Record<StreamState, readonly StreamState[]>> = {
  negotiating: ['open', 'closed'],
  open: ['closed'],
  closed: [],
};

/** A move the diagram does not allow: a bug in the caller, never the peer's doing. */
export class SessionStateError extends Error {
  override name = 'SessionStateError';
  constructor(
    readonly session: string,
    readonly what: 'session' | 'stream',
    readonly from: string,
    readonly to: string,
  ) {
    super(`session ${session}: illegal ${what} transition ${from} -> ${to}`);
  }
}

/** The kinds of stream a session can carry: an MSRP chat and an RTP audio stream, at most one of each. */
export type StreamKind = 'chat' | 'audio';

/** One media stream of a session: its kind and state; the orchestrator extends it with what its media needs. */
export interface SessionStream<K extends StreamKind = StreamKind> {
  readonly kind: K;
  state: StreamState;
}

export interface LifecycleObserver {
  /** Called after each move, in order; `reason` says why a session is ending. */
  onTransition?: (from: SessionPhase, to: SessionPhase, reason: string | undefined) => void;
  /** Illegal moves are logged here before they throw. */
  log?: (msg: string) => void;
}

/**
 * The phase of one session and its streams. transition() is the only way to change the phase; streams are added
 * and removed while the session is incoming, connecting or active (a re-INVITE may add one to an active session).
 */
export class SessionLifecycle<S extends SessionStream = SessionStream> {
  private current: SessionPhase;
  private endReason: string | undefined;
  private readonly streamsByKind = new Map<StreamKind, S>();

  constructor(
    readonly id: string,
    initial: 'incoming' | 'connecting',
    private readonly observer: LifecycleObserver = {},
  ) {
    this.current = initial;
  }

  get phase(): SessionPhase {
    return this.current;
  }

  /** Why the session ends (set by the move to `ending`). */
  get reason(): string | undefined {
    return this.endReason;
  }

  /** Past the point of no return: `ending` or `ended`. */
  get isEnding(): boolean {
    return this.current === 'ending' || this.current === 'ended';
  }

  can(to: SessionPhase): boolean {
    return SESSION_TRANSITIONS[this.current].includes(to);
  }

  /** Moves to `to`, or throws SessionStateError (after logging it) when the diagram does not allow the move. */
  transition(to: SessionPhase, reason?: string): void {
    const from = this.current;
    if (!this.can(to)) {
      const err = new SessionStateError(this.id, 'session', from, to);
      this.observer.log?.(err.message);
      throw err;
    }
    this.current = to;
    if (to === 'ending') this.endReason = reason;
    this.observer.onTransition?.(from, to, reason);
  }

  // ---- streams -----------------------------------------------------------------------------

  stream<K extends StreamKind>(kind: K): (S & SessionStream<K>) | undefined {
    return this.streamsByKind.get(kind) as (S & SessionStream<K>) | undefined;
  }

  get streams(): readonly S[] {
    return [...this.streamsByKind.values()];
  }

  addStream(stream: S): void {
    if (this.isEnding) throw new SessionStateError(this.id, 'stream', this.current, `add ${stream.kind}`);
    if (this.streamsByKind.has(stream.kind))
      throw new SessionStateError(this.id, 'stream', stream.kind, `add a second ${stream.kind}`);
    this.streamsByKind.set(stream.kind, stream);
  }

  removeStream(kind: StreamKind): S | undefined {
    const s = this.streamsByKind.get(kind);
    this.streamsByKind.delete(kind);
    return s;
  }

  /** Moves one stream to `to`, or throws SessionStateError when its diagram does not allow the move. */
  streamTransition(kind: StreamKind, to: StreamState): void {
    const s = this.streamsByKind.get(kind);
    const from = s?.state ?? 'none';
    if (!s || !STREAM_TRANSITIONS[s.state].includes(to)) {
      const err = new SessionStateError(this.id, 'stream', `${kind} ${from}`, to);
      this.observer.log?.(err.message);
      throw err;
    }
    s.state = to;
  }
}

/**
 * What front ends see of a phase (types.ts SessionState, the headless `session` event): an ending session is
 * already 'ended' for them, since nothing more can be done with it; the move to `ended` itself shows nothing new.
 */
export function viewStateOf(phase: SessionPhase): SessionState {
  return phase === 'ending' ? 'ended' : phase;
}
