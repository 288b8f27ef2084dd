// One INVITE dialog (a chat session's signalling), on top of a sip.js Inviter or Invitation.
import { EventEmitter } from 'node:events';
import { SessionState } from 'sip.js';
import type { Invitation, Inviter, Session } from 'sip.js';
import { SipUsageError } from './errors.js';
import { OnceClosingNegotiator } from './sdh.js';
import type { MediaNegotiator } from './sdh.js';
import { peerId } from '../peer-id/peer-id.js';
import { parseNameAddr, parseSipUri } from './wire.js';

export type CallDirection = 'outgoing' | 'incoming';
export type CallState = 'initial' | 'progress' | 'established' | 'ended' | 'failed';

export interface CallProgress {
  readonly statusCode: number;
  readonly reason: string;
}

export interface CallEnded {
  /** 'bye', 'cancelled', 'rejected' or 'terminated' (sip.js ended the session on its own). */
  readonly reason: string;
  readonly by: 'local' | 'remote';
  /** The status we sent when we rejected (486, 603...). */
  readonly statusCode?: number;
}

export interface CallFailed {
  /** Final status code of the INVITE; 0 when no response came (e.g. the offer could not be built). */
  readonly statusCode: number;
  readonly reason: string;
}

export interface RemoteIdentity {
  /** `user@host` as src/peer-id's peerId() makes it: the one key for this peer everywhere. */
  readonly aor: string;
  readonly user: string | undefined;
  readonly host: string;
  readonly displayName: string | undefined;
}

/** The final response to a re-INVITE we sent. */
export interface ReinviteResult {
  readonly ok: boolean;
  readonly statusCode: number;
  readonly reason: string;
  /** Retry-After of a refusal, in seconds (a 500 for an overlapping re-INVITE, RFC 3261 14.2). */
  readonly retryAfter?: number;
}

/** The two fields of a sip.js SessionDialog that finish() puts to rest. */
interface DialogTimers {
  reinviteUserAgentServer?: unknown;
  invite2xxTimer?: ReturnType<typeof setTimeout>;
}

export interface CallEvents {
  progress: [CallProgress];
  established: [];
  /** A re-INVITE arrived (its offer is about to reach the negotiator); ringReinvite() may answer it 180. */
  reinvite: [];
  ended: [CallEnded];
  failed: [CallFailed];
}

/** Reads the remote target and the `isfocus` feature tag (RFC 4579) from a Contact header value. */
export function contactInfo(contactHeader: string | undefined): { uri: string | undefined; isFocus: boolean } {
  if (contactHeader === undefined) return { uri: undefined, isFocus: false };
  try {
    const na = parseNameAddr(contactHeader);
    return { uri: na.uri, isFocus: na.params.has('isfocus') };
  } catch {
    return { uri: undefined, isFocus: false };
  }
}

function identityFrom(uriText: string, displayName: string | undefined): RemoteIdentity {
  try {
    const uri = parseSipUri(uriText);
    return { aor: peerId(uriText), user: uri.user, host: uri.host, displayName: displayName || undefined };
  } catch {
    return { aor: peerId(uriText), user: undefined, host: '', displayName: displayName || undefined };
  }
}

export abstract class SipCall extends EventEmitter<CallEvents> {
  abstract readonly direction: CallDirection;
  protected _state: CallState = 'initial';
  protected _remoteContact: string | undefined;
  protected _isFocus = false;
  protected negotiator: OnceClosingNegotiator | undefined;
  protected endedBy: 'local' | 'remote' | undefined;
  protected endReason: string | undefined;
  protected endStatus: number | undefined;
  protected failure: CallFailed | undefined;
  private finished = false;
  /** The re-INVITE being answered, for a provisional response while the user is asked. */
  private reinviteRequest: { progress(o?: { statusCode: number }): unknown } | undefined;
  /** The sip.js dialog of a call that received re-INVITEs: its 2xx retransmission timers outlive it (see finish). */
  private dialogRef: DialogTimers | undefined;
  private readonly finishedPromise: Promise<void>;
  private resolveFinished!: () => void;

  protected constructor(protected readonly session: Session) {
    super();
    this.finishedPromise = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
    session.stateChange.addListener((state) => this.onSessionState(state));
    session.delegate = {
      onBye: (bye) => {
        this.endedBy ??= 'remote';
        this.endReason ??= 'bye';
        bye.accept().catch(() => undefined);
      },
    };
    // sip.js answers a re-INVITE itself (offer to the SDH, answer in the 200, 488 when the SDH throws) and gives no
    // hook before the 200: note the request on its way in, so that a proposal can be answered 180 as Blink does.
    const s = session as unknown as { onInviteRequest(req: { progress(o?: { statusCode: number }): unknown }): void };
    const original = s.onInviteRequest.bind(session);
    s.onInviteRequest = (req) => {
      this.reinviteRequest = req;
      this.dialogRef ??= (session as unknown as { dialog?: DialogTimers }).dialog;
      this.emit('reinvite');
      original(req);
    };
  }

  /** Sends 180 Ringing on the re-INVITE being answered (an audio proposal waiting for the user). */
  ringReinvite(): void {
    try {
      this.reinviteRequest?.progress({ statusCode: 180 });
    } catch {
      // already answered
    }
  }

  /** True when we made the Call-ID (RFC 3261 14.1: the owner waits 2.1-4 s after a 491, the other 0-2 s). */
  abstract get ownsCallId(): boolean;

  /** Sends a re-INVITE with a new offer from the negotiator; resolves with the final response. */
  reinvite(): Promise<ReinviteResult> {
    if (this.session.state !== SessionState.Established)
      return Promise.reject(new SipUsageError(`cannot re-INVITE a call in state ${this.session.state}`));
    return new Promise<ReinviteResult>((resolve, reject) => {
      this.session
        .invite({
          requestDelegate: {
            onAccept: (r) => {
              // sip.js calls this after the answer was applied, or after it gave up on it (BYE sent)
              const ok = this.session.state === SessionState.Established;
              resolve({
                ok,
                statusCode: ok ? (r.message.statusCode ?? 200) : 488,
                reason: ok ? (r.message.reasonPhrase ?? 'OK') : 'the answer could not be used',
              });
            },
            onReject: (r) => {
              const ra = /^\s*(\d+)/.exec(r.message.getHeader('retry-after') ?? '');
              resolve({
                ok: false,
                statusCode: r.message.statusCode ?? 0,
                reason: r.message.reasonPhrase ?? '',
                ...(ra ? { retryAfter: Number(ra[1]) } : {}),
              });
            },
          },
        })
        .catch(reject);
    });
  }

  get state(): CallState {
    return this._state;
  }

  /** The Call-ID of the dialog. */
  abstract get callId(): string;

  /** URI of the remote Contact (incoming INVITE, or the 2xx of our INVITE). */
  get remoteContact(): string | undefined {
    return this._remoteContact;
  }

  /** True when the remote Contact carries `;isfocus` (a conference room such as SylkServer's). */
  get isFocus(): boolean {
    return this._isFocus;
  }

  get remoteIdentity(): RemoteIdentity {
    const id = this.session.remoteIdentity;
    return identityFrom(id.uri.toString(), id.displayName);
  }

  /** Resolves once the call has ended or failed. */
  whenFinished(): Promise<void> {
    return this.finishedPromise;
  }

  /** Ends the call in whatever way its state requires (CANCEL, reject, or BYE). */
  abstract hangup(): Promise<void>;

  protected bindNegotiator(negotiator: MediaNegotiator, registry: WeakMap<Session, MediaNegotiator>): void {
    if (this.negotiator) throw new SipUsageError('this call already has a media negotiator');
    this.negotiator = new OnceClosingNegotiator(negotiator);
    registry.set(this.session, this.negotiator);
  }

  protected onSessionState(state: SessionState): void {
    // sip.js changes state before it calls the request delegate with the final response: let it finish
    if (state === SessionState.Terminated) setImmediate(() => this.finish());
  }

  protected markEstablished(): void {
    if (this._state === 'established' || this.finished) return;
    this._state = 'established';
    this.emit('established');
  }

  protected finish(): void {
    if (this.finished) return;
    this.finished = true;
    // sip.js 0.21.2 retransmits a re-INVITE's 2xx while *any* re-INVITE is pending on the dialog, a timer per
    // re-INVITE, and never stops one whose dialog is gone: after quick re-INVITEs (hold, then resume) they ran on
    // after the call, every 2 s, for ever. The call is over: nothing of its dialog is retransmitted any more.
    const d = this.dialogRef;
    if (d) {
      d.reinviteUserAgentServer = undefined;
      if (d.invite2xxTimer) clearTimeout(d.invite2xxTimer);
      d.invite2xxTimer = undefined;
    }
    this.negotiator?.close();
    // a call we (or the peer) deliberately ended before the answer is 'ended', not 'failed'
    if (this._state !== 'established' && this.failure && this.endedBy === undefined) {
      this._state = 'failed';
      this.emit('failed', this.failure);
    } else {
      this._state = 'ended';
      const info: CallEnded = {
        reason: this.endReason ?? 'terminated',
        by: this.endedBy ?? 'local',
        ...(this.endStatus !== undefined ? { statusCode: this.endStatus } : {}),
      };
      this.emit('ended', info);
    }
    this.resolveFinished();
  }

  protected emitProgress(statusCode: number, reason: string): void {
    if (this._state === 'initial') this._state = 'progress';
    this.emit('progress', { statusCode, reason });
  }
}

export class OutgoingCall extends SipCall {
  readonly direction = 'outgoing' as const;

  constructor(
    private readonly inviter: Inviter,
    negotiator: MediaNegotiator,
    registry: WeakMap<Session, MediaNegotiator>,
  ) {
    super(inviter);
    this.bindNegotiator(negotiator, registry);
  }

  get callId(): string {
    return this.inviter.request.callId;
  }

  get ownsCallId(): boolean {
    return true;
  }

  /** Sends the INVITE. Failures are reported through the 'failed' event. */
  start(): void {
    this.inviter
      .invite({
        requestDelegate: {
          onProgress: (response) => {
            const m = response.message;
            if (m.statusCode !== undefined && m.statusCode > 100) this.emitProgress(m.statusCode, m.reasonPhrase ?? '');
          },
          onAccept: (response) => {
            const info = contactInfo(response.message.getHeader('contact'));
            this._remoteContact = info.uri;
            this._isFocus = info.isFocus;
            // sip.js calls this after the session reached Established, or after it gave up on a bad answer
            if (this.inviter.state === SessionState.Established) this.markEstablished();
          },
          onReject: (response) => {
            const m = response.message;
            this.failure = { statusCode: m.statusCode ?? 0, reason: m.reasonPhrase ?? '' };
          },
          onRedirect: (response) => {
            const m = response.message;
            this.failure = { statusCode: m.statusCode ?? 0, reason: m.reasonPhrase ?? 'redirected' };
          },
        },
      })
      .catch((err: unknown) => {
        this.failure ??= { statusCode: 0, reason: err instanceof Error ? err.message : String(err) };
        if (this.inviter.state !== SessionState.Terminated) {
          this.inviter.dispose().catch(() => undefined);
        } else {
          this.finish();
        }
      });
  }

  protected override finish(): void {
    if (this._state !== 'established' && !this.failure && this.endedBy === undefined) {
      // terminated before any final response reached us (e.g. sip.js sent BYE after a bad answer)
      this.failure = { statusCode: 0, reason: 'session terminated before it was established' };
    }
    super.finish();
  }

  async hangup(): Promise<void> {
    switch (this.inviter.state) {
      case SessionState.Initial:
      case SessionState.Establishing:
        this.endedBy ??= 'local';
        this.endReason ??= 'cancelled';
        await this.inviter.cancel();
        return;
      case SessionState.Established:
        this.endedBy ??= 'local';
        this.endReason ??= 'bye';
        await this.inviter.bye();
        return;
      default:
        return;
    }
  }
}

export class IncomingCall extends SipCall {
  readonly direction = 'incoming' as const;

  constructor(
    private readonly invitation: Invitation,
    private readonly registry: WeakMap<Session, MediaNegotiator>,
  ) {
    super(invitation);
    const info = contactInfo(invitation.request.getHeader('contact'));
    this._remoteContact = info.uri;
    this._isFocus = info.isFocus;
    invitation.delegate = {
      ...invitation.delegate,
      onCancel: () => {
        this.endedBy ??= 'remote';
        this.endReason ??= 'cancelled';
      },
    };
  }

  get callId(): string {
    return this.invitation.request.callId;
  }

  get ownsCallId(): boolean {
    return false;
  }

  /** The remote SDP offer, when the INVITE carried one. */
  get remoteOffer(): string | undefined {
    const body = this.invitation.body;
    return body === undefined || body === '' ? undefined : body;
  }

  /** The incoming INVITE's header value, for headers the orchestrator cares about (e.g. X-Sylk-ZRTP). */
  header(name: string): string | undefined {
    return this.invitation.request.getHeader(name);
  }

  async accept(negotiator: MediaNegotiator): Promise<void> {
    if (this.invitation.state !== SessionState.Initial) {
      throw new SipUsageError(`cannot accept a call in state ${this.invitation.state}`);
    }
    this.bindNegotiator(negotiator, this.registry);
    try {
      await this.invitation.accept();
    } catch (err) {
      this.failure = { statusCode: 488, reason: err instanceof Error ? err.message : String(err) };
      throw err;
    }
  }

  async reject(statusCode: 486 | 603 | 480 | 488 = 486): Promise<void> {
    if (this.invitation.state !== SessionState.Initial && this.invitation.state !== SessionState.Establishing) {
      throw new SipUsageError(`cannot reject a call in state ${this.invitation.state}`);
    }
    this.endedBy ??= 'local';
    this.endReason ??= 'rejected';
    this.endStatus ??= statusCode;
    await this.invitation.reject({ statusCode });
  }

  protected override onSessionState(state: SessionState): void {
    if (state === SessionState.Established) this.markEstablished();
    super.onSessionState(state);
  }

  async hangup(): Promise<void> {
    switch (this.invitation.state) {
      case SessionState.Initial:
      case SessionState.Establishing:
        await this.reject(603);
        return;
      case SessionState.Established:
        this.endedBy ??= 'local';
        this.endReason ??= 'bye';
        await this.invitation.bye();
        return;
      default:
        return;
    }
  }
}
