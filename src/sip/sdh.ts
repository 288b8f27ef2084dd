// A sip.js SessionDescriptionHandler that knows nothing of media: the SDP text comes from a
// MediaNegotiator supplied per call by the chat orchestrator (MSRP builds the offer/answer).
// sip.js's default handler is WebRTC and only fails once a session exists, so the UA always installs this.
import { SipError } from './errors.js';
import type { BodyAndContentType, Session, SessionDescriptionHandler, SessionDescriptionHandlerFactory } from 'sip.js';

/** One per call, supplied by the chat orchestrator. */
export interface MediaNegotiator {
  /** Our SDP offer (outgoing call, or an incoming INVITE that carried no offer). */
  createOffer(): Promise<string>;
  /** The remote answer to our offer. */
  applyAnswer(sdp: string): Promise<void>;
  /** Incoming call: build the answer from the remote offer. */
  createAnswer(offer: string): Promise<string>;
  /** Our last offer was refused (non-2xx to a re-INVITE) or the peer's could not be answered: forget it. */
  rollback?(): void;
  /** The call is over (or never started); release whatever the negotiator holds. Called once. */
  close(): void;
}

export const SDP_CONTENT_TYPE = 'application/sdp';

/** Wraps a negotiator so that close() runs at most once, whoever calls it first (sip.js or the call). */
export class OnceClosingNegotiator implements MediaNegotiator {
  private closed = false;
  constructor(private readonly inner: MediaNegotiator) {}
  createOffer(): Promise<string> {
    return this.inner.createOffer();
  }
  applyAnswer(sdp: string): Promise<void> {
    return this.inner.applyAnswer(sdp);
  }
  createAnswer(offer: string): Promise<string> {
    return this.inner.createAnswer(offer);
  }
  rollback(): void {
    this.inner.rollback?.();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
  }
  get isClosed(): boolean {
    return this.closed;
  }
}

/** sip.js asked for SDP on a session that has no negotiator (e.g. an incoming call not yet accepted). */
export class NoNegotiatorError extends SipError {
  constructor() {
    super('no MediaNegotiator bound to this session');
  }
}

/**
 * Offer/answer state for one session. sip.js calls setDescription() with the remote SDP and
 * getDescription() for ours; whether a remote SDP is an offer or an answer depends on whether we have an
 * offer outstanding.
 */
export class NegotiatorSessionDescriptionHandler implements SessionDescriptionHandler {
  private pendingRemoteOffer: string | undefined;
  private offerOutstanding = false;

  /** The negotiator is looked up late: an incoming call only gets one when it is accepted. */
  constructor(private readonly negotiator: () => MediaNegotiator | undefined) {}

  private current(): MediaNegotiator {
    const n = this.negotiator();
    if (!n) throw new NoNegotiatorError();
    return n;
  }

  async getDescription(): Promise<BodyAndContentType> {
    const negotiator = this.current();
    if (this.pendingRemoteOffer !== undefined) {
      const offer = this.pendingRemoteOffer;
      this.pendingRemoteOffer = undefined;
      return { body: await negotiator.createAnswer(offer), contentType: SDP_CONTENT_TYPE };
    }
    const body = await negotiator.createOffer();
    this.offerOutstanding = true;
    return { body, contentType: SDP_CONTENT_TYPE };
  }

  async setDescription(sdp: string): Promise<void> {
    if (this.offerOutstanding) {
      this.offerOutstanding = false;
      await this.current().applyAnswer(sdp);
      return;
    }
    // a remote offer is answered by the next getDescription(); fail now if nobody can answer it
    this.current();
    this.pendingRemoteOffer = sdp;
  }

  hasDescription(contentType: string): boolean {
    return (contentType.split(';')[0] ?? '').trim().toLowerCase() === SDP_CONTENT_TYPE;
  }

  rollbackDescription(): Promise<void> {
    this.pendingRemoteOffer = undefined;
    this.offerOutstanding = false;
    this.negotiator()?.rollback?.();
    return Promise.resolve();
  }

  sendDtmf(): boolean {
    return false;
  }

  close(): void {
    this.negotiator()?.close();
  }
}

/** A factory that binds each sip.js session to the negotiator registered for it. */
export function negotiatorSdhFactory(
  lookup: (session: Session) => MediaNegotiator | undefined,
): SessionDescriptionHandlerFactory {
  return (session: Session) => new NegotiatorSessionDescriptionHandler(() => lookup(session));
}
