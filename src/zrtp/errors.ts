/**
 * The one error type the ZRTP engine's parsers throw on hostile or malformed input. `code` tells failures apart
 * without matching prose; the engine turns most of them into "ignore the packet" (see README.md).
 */
export type ZrtpErrorCode =
  | 'truncated' // shorter than its own framing or length field says
  | 'oversized' // a length field claims more than the packet holds
  | 'bad-header' // not a ZRTP packet (first byte, magic cookie)
  | 'bad-crc' // CRC-32C trailer does not match
  | 'bad-length' // the message's length field disagrees with its type's layout
  | 'bad-type' // unknown message type block
  | 'bad-value' // a field with a value the RFC forbids (algorithm count above 7, zero-length list, ...)
  | 'bad-mac' // a message MAC or hash-chain preimage does not check
  | 'bad-hash' // SDP a=zrtp-hash or hvi mismatch
  | 'bad-argument'; // caller error (wrong key length and such)

export class ZrtpError extends Error {
  override readonly name = 'ZrtpError';
  constructor(
    readonly code: ZrtpErrorCode,
    message: string,
  ) {
    super(message);
  }
}
