import { EncodingError, type EncodingErrorCode } from '../bytes/bytes.js';

/**
 * The one error type the OTR engine throws for hostile or malformed input.
 * `code` lets callers (and tests) tell failures apart without matching prose.
 */
export type OtrErrorCode =
  | 'truncated' // a field runs past the end of the buffer
  | 'oversized' // a length field claims more than the buffer (or a sane limit) allows
  | 'trailing' // bytes left over after a complete message
  | 'bad-base64'
  | 'bad-framing'
  | 'bad-version'
  | 'bad-type'
  | 'bad-instance'
  | 'bad-mpi' // non-minimal MPI encoding
  | 'bad-group-element'
  | 'bad-keyid'
  | 'bad-mac'
  | 'bad-hash'
  | 'bad-signature'
  | 'bad-pubkey'
  | 'bad-counter'
  | 'bad-tlv'
  | 'bad-fragment'
  | 'unreadable'
  | 'state'
  | EncodingErrorCode; // what the shared parsers of src/bytes and src/keys report, passed through

export class OtrProtocolError extends Error {
  override readonly name = 'OtrProtocolError';
  constructor(
    readonly code: OtrErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Runs a parser of src/bytes or src/keys and reports its EncodingError as an OtrProtocolError (same code). */
export function asOtrError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof EncodingError) throw new OtrProtocolError(e.code, e.message);
    throw e;
  }
}
