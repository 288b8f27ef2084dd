/** Base class of every error thrown by the SIP layer, so callers can tell them apart from bugs. */
export class SipError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A SIP message (or a piece of one) that cannot be parsed. The message is dropped, never the process. */
export class SipParseError extends SipError {}

/** A byte stream that cannot be split into SIP messages any more (size limit, bad Content-Length). */
export class SipFramingError extends SipError {}

/** Sending failed: no route, DNS failure, connection refused, socket closed. */
export class SipTransportError extends SipError {}

/** REGISTER failed; `statusCode` is the final response code (0 when no response came). */
export class SipRegistrationError extends SipError {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly reasonPhrase: string,
  ) {
    super(message);
  }
}

/** An invalid argument or call state at the API (e.g. accept() twice, a malformed target URI). */
export class SipUsageError extends SipError {}
