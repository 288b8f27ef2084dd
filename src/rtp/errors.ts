// Typed errors of the audio engine: parsers throw RtpParseError on hostile input and nothing else; SRTP refusals are
// SrtpError (auth failure and replay are normal events on a live socket: the stream counts and drops them); an
// unusable SDP is AudioNegotiationError, which the session layer turns into port 0 or 488.

export type RtpParseErrorCode = 'truncated' | 'bad-version' | 'bad-padding' | 'bad-length' | 'bad-type';

export class RtpParseError extends Error {
  override readonly name = 'RtpParseError';
  constructor(
    readonly code: RtpParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type SrtpErrorCode = 'auth' | 'replay' | 'too-short' | 'bad-key' | 'too-old';

export class SrtpError extends Error {
  override readonly name = 'SrtpError';
  constructor(
    readonly code: SrtpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class AudioNegotiationError extends Error {
  override readonly name: string = 'AudioNegotiationError';
}

/**
 * A re-offer that would replace the ZRTP keys in use with SDES keys and cannot be answered otherwise (RTP/SAVP with
 * a=crypto only): the session layer refuses the whole re-offer (488) and the call goes on with the keys it has.
 */
export class SrtpDowngradeError extends AudioNegotiationError {
  override readonly name = 'SrtpDowngradeError';
}
