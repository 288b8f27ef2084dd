// UTF-8 text <-> bytes for message bodies, without the temporary copies of TextEncoder/TextDecoder on the
// large ones. An OTR data message is ~1.4 MB of base64 for a 1 MiB paste: ASCII, which Node decodes and encodes
// as Latin-1 (a byte copy) several times faster than through the UTF-8 codec, and whose bytes can be written
// straight into the buffer they are sent from.
import { Buffer, isAscii } from 'node:buffer';

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Bytes as UTF-8 text (malformed sequences become U+FFFD, as TextDecoder does; a leading BOM is dropped). */
export function decodeUtf8(bytes: Uint8Array): string {
  // ASCII is its own UTF-8 and never starts with a BOM; both codecs give the same string.
  if (bytes.length >= 256 && isAscii(bytes)) return asBuffer(bytes).toString('latin1', 0, bytes.length);
  return utf8Decoder.decode(bytes);
}

/** UTF-8 length of a string, in bytes. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Writes s as UTF-8 at `offset` of `out`, which has exactly utf8Length(s) bytes there; returns the end offset. */
export function encodeUtf8Into(s: string, out: Uint8Array, offset: number, byteLength: number): number {
  const b = asBuffer(out);
  // byteLength === s.length: every code unit is ASCII (lone surrogates would count 3 bytes), so Latin-1 is exact.
  const n = byteLength === s.length ? b.write(s, offset, byteLength, 'latin1') : b.write(s, offset, byteLength, 'utf8');
  return offset + n;
}

/** A string as UTF-8 bytes. */
export function encodeUtf8(s: string): Uint8Array {
  if (s.length < 256) return utf8Encoder.encode(s);
  const n = utf8Length(s);
  const out = new Uint8Array(n);
  encodeUtf8Into(s, out, 0, n);
  return out;
}
