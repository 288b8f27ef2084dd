// From the call to the chat: the policy that turns a ZRTP SAS compared on a call into OTR trust in the chat of the
// same SIP session, by the same SMP Blink runs (STACK.md, "ZRTP to OTR"), with Blink's weak spots closed.
// Pure: inputs in (the call's SAS, the user's verdict on it, OTR state, SMP events, timer), actions out; the
// ChatSession carries the actions out and owns the one timer it asks for. No I/O, no clock of its own.
//
// The rule, as Blink runs it and as we keep it:
//  - question `What is the ZRTP authentication string?`, secret = the SAS exactly as the ZRTP engine reports it;
//  - it starts once OTR is encrypted and the SAS is verified: the side whose own OTR fingerprint (upper-case hex)
//    compares greater at once, the other after 1 s; an SMP already running at that moment (a collision) makes it
//    try again later, up to 5 times, the delay doubling each time.
// Where we differ from Blink, on purpose:
//  - we answer the peer's SAS question only when OUR user confirmed the SAS (Blink answers with an unverified SAS,
//    which proves nothing); otherwise we decline and say why in the chat, and start the check ourselves once our
//    user confirms (Blink does not ask again after a decline);
//  - a user-typed SMP with another question during the call is left alone (Blink aborts it);
//  - success marks the OTR peer verified (`smp` in trusted_peers): the user already compared the SAS on the call;
//  - a crossed start (both sent SMP1 at once, each aborted the other's) retries too, the lower fingerprint 1 s
//    later than the greater one so that the two runs do not cross again;
//  - never with a conference (isfocus): its SAS, if any, is the server's, not a person's.

/** Blink's question, byte for byte (UTF-8, no trailing newline). */
export const CALL_SMP_QUESTION = 'What is the ZRTP authentication string?';
/** The side whose fingerprint compares lower starts this much later. */
export const CALL_SMP_LOWER_DELAY_MS = 1_000;
/** The first retry after a collision waits this long; each next one twice the previous. */
export const CALL_SMP_RETRY_BASE_MS = 1_000;
/** Retries after a collision before giving up. */
export const CALL_SMP_MAX_RETRIES = 5;

export type SmpOutcome = 'success' | 'failure' | 'aborted';
/**
 * Why a run was aborted, as the ChatSession saw it: 'peer' the peer sent an abort (it declined, or its user
 * aborted); 'crossed' the peer's SMP1 met ours (both started at once); 'rekey' a new OTR key exchange ended it;
 * 'local' we (or our user) aborted it.
 */
export type AbortCause = 'peer' | 'crossed' | 'rekey' | 'local';

export type CallVerificationAction =
  | { type: 'startSmp'; question: string; secret: string }
  | { type: 'respondSmp'; secret: string }
  /** Abort the peer's run, tell the peer why in the chat (explanation), and say so locally (localText). */
  | { type: 'declineSmp'; explanation: string; localText: string }
  | { type: 'abortSmp' }
  | { type: 'markVerified'; trust: 'smp'; fromCall: true }
  /** alarm: a red security alarm (warning line plus the user's alert), as for a changed OTR key. */
  | { type: 'systemLine'; text: string; level: 'info' | 'warning'; alarm?: true }
  | { type: 'armTimer'; ms: number }
  | { type: 'cancelTimer' };

/** Our own run: not yet due, waiting for its timer, under way, and how it ended. */
export type Own = 'idle' | 'scheduled' | 'running' | 'declined' | 'done' | 'failed' | 'stopped' | 'gaveup';
/** The SMP run under way, whoever started it: ours from the call, the peer's call question we answer, any other. */
type Current = 'own' | 'answer' | 'other' | null;

export interface CallVerificationOptions {
  /** How the peer is named in lines. */
  peer: string;
  /** The session's remote is a conference focus (isfocus): the machine never acts. */
  conference: boolean;
}

export class CallVerification {
  private sas: string | null = null;
  private confirmed = false;
  private rejected = false;
  private callActive = true;
  private ourFp: string | null = null;
  private theirFp: string | null = null;
  private own: Own = 'idle';
  private current: Current = null;
  private retries = 0;
  private timerArmed = false;
  /** The peer asked the call question before our SAS was known: answered or declined when it is. */
  private pendingAsk = false;
  /** We declined the peer's call question: the peer will not ask again, so our confirm starts ours at once. */
  private declinedPeer = false;

  constructor(private readonly opts: CallVerificationOptions) {}

  /** The SMP run under way belongs to the call (ours, or the peer's call question): its events say `from_call`. */
  get currentFromCall(): boolean {
    return this.current === 'own' || this.current === 'answer';
  }

  /** A question the peer asks now is the call's question, handled here (answered or declined), not by the user. */
  claims(question: string | undefined): boolean {
    return !this.inert() && question === CALL_SMP_QUESTION;
  }

  /** For tests and the UI: where our own run is. */
  get ownState(): Own {
    return this.own;
  }

  // ---- inputs ----------------------------------------------------------------------------------

  /** The ZRTP engine reports the SAS; verifiedByUser: the peer's ZID is already verified in the ZRTP cache. */
  sasAvailable(sas: string, verifiedByUser: boolean): CallVerificationAction[] {
    if (this.inert()) return [];
    this.sas = sas;
    this.confirmed = verifiedByUser;
    this.rejected = false;
    const out: CallVerificationAction[] = [];
    if (this.pendingAsk) {
      this.pendingAsk = false;
      out.push(...this.answerOrDecline());
    }
    out.push(...this.maybeSchedule(false));
    return out;
  }

  /** Our user compared the SAS on the call and confirmed it. */
  sasConfirmed(): CallVerificationAction[] {
    if (this.inert() || this.sas === null) return [];
    this.confirmed = true;
    this.rejected = false;
    const out: CallVerificationAction[] = [];
    if (this.pendingAsk) {
      this.pendingAsk = false;
      out.push(...this.answerOrDecline());
    }
    if (this.own === 'stopped' || this.own === 'gaveup' || this.own === 'declined') this.own = 'idle';
    // The peer asked and we declined: it will not ask again, and nothing of its own is coming to collide with.
    out.push(...this.maybeSchedule(this.declinedPeer));
    return out;
  }

  /** Our user says the SAS does not match: nothing from this call may vouch for the OTR key. */
  sasRejected(): CallVerificationAction[] {
    if (this.inert()) return [];
    this.confirmed = false;
    this.rejected = true;
    const out = this.cancelTimer();
    if (this.own === 'scheduled') this.own = 'idle';
    if (this.own === 'running' && this.current === 'own') {
      this.own = 'stopped';
      this.current = null;
      out.push({ type: 'abortSmp' });
      out.push({ type: 'systemLine', text: 'the check of the call against the chat was stopped', level: 'info' });
    }
    if (this.pendingAsk) {
      this.pendingAsk = false;
      out.push(...this.answerOrDecline());
    }
    return out;
  }

  /** OTR is encrypted (first time, refreshed, or a new key). Fingerprints are upper-case hex. */
  otrEncrypted(ourFp: string, theirFp: string): CallVerificationAction[] {
    if (this.inert()) return [];
    const ours = ourFp.toUpperCase();
    const theirs = theirFp.toUpperCase();
    const changed = this.theirFp !== null && this.theirFp !== theirs;
    this.ourFp = ours;
    this.theirFp = theirs;
    // A new key must be checked again; a refresh of the same key keeps what was proven, and a run the refresh
    // cut short (its secret was bound to the old session id) starts over.
    if (changed || this.own === 'running') this.own = 'idle';
    if (changed) this.retries = 0;
    this.current = null;
    this.pendingAsk = false;
    return this.maybeSchedule(false);
  }

  /** OTR left the encrypted state (ended, finished, or gone): no SMP can run. */
  otrEnded(): CallVerificationAction[] {
    if (this.inert()) return [];
    this.current = null;
    this.pendingAsk = false;
    if (this.own === 'scheduled' || this.own === 'running') this.own = 'idle';
    return this.cancelTimer();
  }

  /** The peer started an SMP (question undefined: a shared secret without a question). */
  smpAsked(question: string | undefined): CallVerificationAction[] {
    if (this.opts.conference || question !== CALL_SMP_QUESTION || !this.callActive) {
      // Not the call's question: the user answers it (or not) by hand; unlike Blink we never abort it.
      this.current = 'other';
      return [];
    }
    this.current = 'answer';
    if (this.sas === null) {
      this.pendingAsk = true;
      return [
        {
          type: 'systemLine',
          text: `${this.opts.peer} checks this call's authentication string (SAS) over OTR: answered once the call shows it`,
          level: 'info',
        },
      ];
    }
    return this.answerOrDecline();
  }

  /** Our user typed an SMP (start) or aborted the one under way (abort). */
  userSmp(action: 'start' | 'abort'): CallVerificationAction[] {
    if (this.inert()) return [];
    const wasOwn = this.current === 'own';
    if (action === 'start') {
      this.current = 'other';
      // The user's own run replaced ours: ours goes again after it, as after any collision.
      if (wasOwn) {
        this.own = 'idle';
        return this.retryLater();
      }
      return [];
    }
    this.current = null;
    this.pendingAsk = false;
    if (wasOwn) {
      this.own = 'stopped';
      return this.cancelTimer();
    }
    return [];
  }

  /** The run under way ended. */
  smpResult(outcome: SmpOutcome, cause: AbortCause = 'peer'): CallVerificationAction[] {
    const was = this.current;
    this.current = null;
    // A question waiting for our SAS is gone with the run it belonged to.
    this.pendingAsk = false;
    if (this.inert() && was === null) return [];
    const peer = this.opts.peer;
    if (was === 'own') {
      if (outcome === 'success') {
        this.own = 'done';
        return [
          { type: 'markVerified', trust: 'smp', fromCall: true },
          {
            type: 'systemLine',
            text: `${peer} is verified from the call: the authentication string (SAS) you compared on the call matched over OTR, so this chat's OTR key is ${peer}'s`,
            level: 'info',
          },
        ];
      }
      if (outcome === 'failure') {
        this.own = 'failed';
        return [failureAlarm(peer)];
      }
      // Aborted.
      if (cause === 'crossed') {
        this.own = 'idle';
        return this.retryLater();
      }
      if (cause === 'rekey') {
        // otrEncrypted follows and starts it over.
        this.own = 'idle';
        return [];
      }
      if (cause === 'local') {
        this.own = 'stopped';
        return [];
      }
      this.own = 'declined';
      return [
        {
          type: 'systemLine',
          text: `${peer} did not answer the check from the call (declined or aborted). It runs again if ${peer} asks it, or when you confirm the SAS again`,
          level: 'info',
        },
      ];
    }
    if (was === 'answer') {
      if (outcome === 'failure') return [failureAlarm(peer)];
      const out: CallVerificationAction[] = [];
      if (outcome === 'success') {
        out.push({
          type: 'systemLine',
          text: `you answered ${peer}'s check from the call with the SAS you confirmed: ${peer} can now trust your OTR key`,
          level: 'info',
        });
        // The peer is willing now: a run of ours it declined earlier goes again, at once.
        if (this.own === 'declined') this.own = 'idle';
        out.push(...this.maybeSchedule(true));
      }
      return out;
    }
    // Another run (the user's, or a question the user answers) ended: ours may be waiting for it.
    return [];
  }

  /** The timer the machine asked for (armTimer) fired. busy: an SMP is under way in OTR right now. */
  timerFired(busy: boolean): CallVerificationAction[] {
    this.timerArmed = false;
    if (this.inert() || this.own !== 'scheduled') return [];
    if (!this.eligible()) {
      this.own = 'idle';
      return [];
    }
    if (busy) {
      this.own = 'idle';
      return this.retryLater();
    }
    this.own = 'running';
    this.current = 'own';
    return [{ type: 'startSmp', question: CALL_SMP_QUESTION, secret: this.sas! }];
  }

  /**
   * The call ended: nothing new starts from it. A run already under way finishes (its secret is what the user
   * compared during the call); a question waiting for a SAS that never came is declined.
   */
  callEnded(): CallVerificationAction[] {
    if (!this.callActive) return [];
    const out = this.opts.conference ? [] : this.cancelTimer();
    this.callActive = false;
    if (this.own === 'scheduled') this.own = 'idle';
    if (this.pendingAsk) {
      this.pendingAsk = false;
      this.current = null;
      out.push({
        type: 'declineSmp',
        explanation: 'The call ended before its authentication string (SAS) was known here: nothing to compare.',
        localText: `declined ${this.opts.peer}'s check from the call: the call ended before its SAS was known`,
      });
    }
    return out;
  }

  // ---- rules -----------------------------------------------------------------------------------

  private inert(): boolean {
    return this.opts.conference || !this.callActive;
  }

  private eligible(): boolean {
    return (
      this.callActive && this.confirmed && !this.rejected && this.sas !== null && this.theirFp !== null && !!this.ourFp
    );
  }

  /** Arms our start when it is due: the greater fingerprint at once, the other after 1 s; `now` skips the wait. */
  private maybeSchedule(now: boolean): CallVerificationAction[] {
    if (this.own !== 'idle' || !this.eligible()) return [];
    this.own = 'scheduled';
    const first = now || this.ourFp! > this.theirFp!;
    return this.arm(first ? 0 : CALL_SMP_LOWER_DELAY_MS);
  }

  /** A collision: try again after a doubling delay (the lower fingerprint 1 s later still), at most 5 times. */
  private retryLater(): CallVerificationAction[] {
    if (!this.eligible()) return [];
    if (this.retries >= CALL_SMP_MAX_RETRIES) {
      this.own = 'gaveup';
      return [
        {
          type: 'systemLine',
          text: `the check of the call against the chat could not run: another authentication kept it busy (${CALL_SMP_MAX_RETRIES} tries). Confirm the SAS again to retry`,
          level: 'info',
        },
      ];
    }
    const delay =
      CALL_SMP_RETRY_BASE_MS * 2 ** this.retries + (this.ourFp! > this.theirFp! ? 0 : CALL_SMP_LOWER_DELAY_MS);
    this.retries++;
    this.own = 'scheduled';
    return this.arm(delay);
  }

  private arm(ms: number): CallVerificationAction[] {
    const out = this.cancelTimer();
    this.timerArmed = true;
    out.push({ type: 'armTimer', ms });
    return out;
  }

  private cancelTimer(): CallVerificationAction[] {
    if (!this.timerArmed) return [];
    this.timerArmed = false;
    return [{ type: 'cancelTimer' }];
  }

  /** The peer asked the call question and our SAS is known: the SAS if our user confirmed it, else a decline. */
  private answerOrDecline(): CallVerificationAction[] {
    const peer = this.opts.peer;
    if (this.confirmed && !this.rejected && this.sas !== null) {
      this.current = 'answer';
      return [{ type: 'respondSmp', secret: this.sas }];
    }
    this.current = null;
    this.declinedPeer = true;
    if (this.rejected)
      return [
        {
          type: 'declineSmp',
          explanation:
            'I did not confirm the authentication string (SAS) of this call: it did not match what I was told. Do not trust this chat until we have checked again.',
          localText: `declined ${peer}'s check from the call: you rejected the SAS`,
        },
      ];
    return [
      {
        type: 'declineSmp',
        explanation:
          'My client answers the check from the call only after I compare the authentication string (SAS) on the call. It will start the check itself once I have.',
        localText: `declined ${peer}'s check from the call: you have not confirmed the SAS yet. Once you do, the check runs from your side`,
      },
    ];
  }
}

function failureAlarm(peer: string): CallVerificationAction {
  return {
    type: 'systemLine',
    text: `WARNING: the check from the call FAILED: the authentication string (SAS) you compared, or the OTR key of this chat, is not what ${peer} sees. Someone may be in the middle of the call or the chat: do not trust this chat`,
    level: 'warning',
    alarm: true,
  };
}
