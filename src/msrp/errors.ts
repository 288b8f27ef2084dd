// Typed errors of the MSRP layer. Protocol code throws only these (plus Node's own socket errors, wrapped).

export type MsrpParseReason =
  | 'garbage-start-line'
  | 'bad-transaction-id'
  | 'bad-header'
  | 'header-too-large'
  | 'chunk-too-large'
  | 'missing-end-line'
  | 'transaction-id-mismatch'
  | 'bad-byte-range'
  | 'truncated';

/** A byte stream that is not MSRP (or exceeds our limits). The connection carrying it cannot be trusted further. */
export class MsrpParseError extends Error {
  override readonly name = 'MsrpParseError';
  constructor(
    readonly reason: MsrpParseReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

export class MsrpUriError extends Error {
  override readonly name = 'MsrpUriError';
}

/** A peer answered a transaction with a non-2xx status, or sent a failure REPORT. */
export class MsrpStatusError extends Error {
  override readonly name = 'MsrpStatusError';
  constructor(
    readonly code: number,
    readonly comment: string,
    readonly messageId?: string,
  ) {
    super(`MSRP ${code}${comment ? ' ' + comment : ''}`);
  }
}

export class MsrpTimeoutError extends Error {
  override readonly name = 'MsrpTimeoutError';
}

/** The session or connection went away before an operation completed. */
export class MsrpClosedError extends Error {
  override readonly name = 'MsrpClosedError';
}

/** An incoming message exceeded the per-message size limit (we answered 413). */
export class MsrpMessageTooLargeError extends Error {
  override readonly name = 'MsrpMessageTooLargeError';
  constructor(
    readonly messageId: string,
    readonly limit: number,
    readonly size: number,
  ) {
    super(`message ${messageId} exceeds the ${limit}-byte limit (${size} bytes)`);
  }
}

export class MsrpSdpError extends Error {
  override readonly name = 'MsrpSdpError';
}

export class MsrpCpimError extends Error {
  override readonly name: string = 'MsrpCpimError';
}

export class MsrpAuthError extends Error {
  override readonly name = 'MsrpAuthError';
}
