// RTP packets (RFC 3550 section 5.1): parse and serialize, CSRC list, header extension, padding. Pure. The parser
// checks every length against the bytes it has before slicing; payloads are views into the given buffer (no copy).
import { RtpParseError } from './errors.js';

export interface RtpExtension {
  /** The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte headers). */
  profile: number;
  /** The extension body, a multiple of 4 bytes. */
  data: Uint8Array;
}

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension: RtpExtension | null;
  payload: Uint8Array;
  /** Padding bytes to add (serialize) or that were present (parse), count byte included. 0 = none. */
  padding: number;
}

export const RTP_HEADER_SIZE = 12;

/** The first byte of an RTP or RTCP packet says version 2; RTCP payload types 192..223 in byte 1 (RFC 5761 4). */
export function looksLikeRtcp(b: Uint8Array): boolean {
  const pt = b[1];
  return b.length >= 8 && (b[0]! & 0xc0) === 0x80 && pt !== undefined && pt >= 192 && pt <= 223;
}

/** ZRTP packets share the RTP port and carry the magic cookie 0x5A525450 at bytes 4..7 (RFC 6189 5). */
export function isZrtpPacket(b: Uint8Array): boolean {
  return b.length >= 12 && (b[0]! & 0xf0) === 0x10 && b[4] === 0x5a && b[5] === 0x52 && b[6] === 0x54 && b[7] === 0x50;
}

export function parseRtp(b: Uint8Array): RtpPacket {
  if (b.length < RTP_HEADER_SIZE) throw new RtpParseError('truncated', `RTP packet of ${b.length} bytes`);
  const b0 = b[0]!;
  if (b0 >> 6 !== 2) throw new RtpParseError('bad-version', `RTP version ${b0 >> 6}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const cc = b0 & 0x0f;
  let off = RTP_HEADER_SIZE + cc * 4;
  if (off > b.length) throw new RtpParseError('truncated', `CSRC list of ${cc} runs past the packet`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(dv.getUint32(RTP_HEADER_SIZE + i * 4));
  let extension: RtpExtension | null = null;
  if (b0 & 0x10) {
    if (off + 4 > b.length) throw new RtpParseError('truncated', 'extension header runs past the packet');
    const profile = dv.getUint16(off);
    const len = dv.getUint16(off + 2) * 4;
    if (off + 4 + len > b.length)
      throw new RtpParseError('truncated', `extension of ${len} bytes runs past the packet`);
    extension = { profile, data: b.subarray(off + 4, off + 4 + len) };
    off += 4 + len;
  }
  let end = b.length;
  let padding = 0;
  if (b0 & 0x20) {
    padding = b[b.length - 1]!;
    if (padding === 0 || off + padding > b.length) throw new RtpParseError('bad-padding', `padding count ${padding}`);
    end -= padding;
  }
  return {
    payloadType: b[1]! & 0x7f,
    marker: (b[1]! & 0x80) !== 0,
    sequence: dv.getUint16(2),
    timestamp: dv.getUint32(4),
    ssrc: dv.getUint32(8),
    csrcs,
    extension,
    payload: b.subarray(off, end),
    padding,
  };
}

export function serializeRtp(p: Omit<RtpPacket, 'csrcs' | 'extension' | 'padding'> & Partial<RtpPacket>): Uint8Array {
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  const ext = p.extension ?? null;
  if (ext && ext.data.length % 4 !== 0) throw new RangeError('extension length must be a multiple of 4');
  const pad = p.padding ?? 0;
  if (pad < 0 || pad > 255) throw new RangeError('padding 0..255');
  const extLen = ext ? 4 + ext.data.length : 0;
  const out = new Uint8Array(RTP_HEADER_SIZE + csrcs.length * 4 + extLen + p.payload.length + pad);
  const dv = new DataView(out.buffer);
  out[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  dv.setUint16(2, p.sequence & 0xffff);
  dv.setUint32(4, p.timestamp >>> 0);
  dv.setUint32(8, p.ssrc >>> 0);
  let off = RTP_HEADER_SIZE;
  for (const c of csrcs) {
    dv.setUint32(off, c >>> 0);
    off += 4;
  }
  if (ext) {
    dv.setUint16(off, ext.profile);
    dv.setUint16(off + 2, ext.data.length / 4);
    out.set(ext.data, off + 4);
    off += extLen;
  }
  out.set(p.payload, off);
  if (pad) out[out.length - 1] = pad;
  return out;
}

/** Where the payload starts (header, CSRCs, extension): what SRTP leaves in the clear. Throws RtpParseError. */
export function rtpHeaderLength(b: Uint8Array): number {
  if (b.length < RTP_HEADER_SIZE) throw new RtpParseError('truncated', `RTP packet of ${b.length} bytes`);
  let off = RTP_HEADER_SIZE + (b[0]! & 0x0f) * 4;
  if (b[0]! & 0x10) {
    if (off + 4 > b.length) throw new RtpParseError('truncated', 'extension header runs past the packet');
    off += 4 + ((b[off + 2]! << 8) | b[off + 3]!) * 4;
  }
  if (off > b.length) throw new RtpParseError('truncated', 'header runs past the packet');
  return off;
}
