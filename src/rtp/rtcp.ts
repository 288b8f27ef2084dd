// RTCP (RFC 3550 section 6): SR, RR, SDES (CNAME), BYE, in compound packets. Pure. Unknown packet types inside a
// compound are skipped by their length field (APP, XR, feedback); every length is checked before it is used.
import { RtpParseError } from './errors.js';

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, 0..255 (loss * 256). */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed). */
  cumulativeLost: number;
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none. */
  lsr: number;
  /** Delay since that SR, in 1/65536 s. */
  dlsr: number;
}

export type RtcpPacket =
  | {
      type: 'sr';
      ssrc: number;
      ntpSec: number;
      ntpFrac: number;
      rtpTimestamp: number;
      packetCount: number;
      octetCount: number;
      reports: ReportBlock[];
    }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'sdes'; chunks: { ssrc: number; cname?: string }[] }
  | { type: 'bye'; ssrcs: number[]; reason?: string }
  | { type: 'other'; pt: number };

const SR = 200,
  RR = 201,
  SDES = 202,
  BYE = 203;

export function parseRtcp(b: Uint8Array): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  if (b.length < 8) throw new RtpParseError('truncated', `RTCP packet of ${b.length} bytes`);
  while (off < b.length) {
    if (off + 4 > b.length) throw new RtpParseError('truncated', 'RTCP header runs past the packet');
    const b0 = b[off]!;
    if (b0 >> 6 !== 2) throw new RtpParseError('bad-version', `RTCP version ${b0 >> 6}`);
    const count = b0 & 0x1f;
    const pt = b[off + 1]!;
    const len = (dv.getUint16(off + 2) + 1) * 4;
    if (off + len > b.length) throw new RtpParseError('bad-length', `RTCP length ${len} runs past the packet`);
    let end = off + len;
    if (b0 & 0x20) {
      const pad = b[end - 1]!;
      if (pad === 0 || pad > len - 4) throw new RtpParseError('bad-padding', `RTCP padding ${pad}`);
      end -= pad;
    }
    const body = off + 4;
    if (pt === SR || pt === RR) {
      const fixed = pt === SR ? 24 : 4;
      if (body + fixed + count * 24 > end) throw new RtpParseError('truncated', 'report blocks run past the packet');
      const ssrc = dv.getUint32(body);
      const reports: ReportBlock[] = [];
      for (let i = 0, p = body + fixed; i < count; i++, p += 24) {
        let cum = dv.getUint32(p + 4) & 0xffffff;
        if (cum & 0x800000) cum -= 0x1000000;
        reports.push({
          ssrc: dv.getUint32(p),
          fractionLost: b[p + 4]!,
          cumulativeLost: cum,
          highestSeq: dv.getUint32(p + 8),
          jitter: dv.getUint32(p + 12),
          lsr: dv.getUint32(p + 16),
          dlsr: dv.getUint32(p + 20),
        });
      }
      if (pt === SR) {
        out.push({
          type: 'sr',
          ssrc,
          ntpSec: dv.getUint32(body + 4),
          ntpFrac: dv.getUint32(body + 8),
          rtpTimestamp: dv.getUint32(body + 12),
          packetCount: dv.getUint32(body + 16),
          octetCount: dv.getUint32(body + 20),
          reports,
        });
      } else out.push({ type: 'rr', ssrc, reports });
    } else if (pt === SDES) {
      const chunks: { ssrc: number; cname?: string }[] = [];
      let p = body;
      for (let i = 0; i < count; i++) {
        if (p + 4 > end) throw new RtpParseError('truncated', 'SDES chunk runs past the packet');
        const chunk: { ssrc: number; cname?: string } = { ssrc: dv.getUint32(p) };
        p += 4;
        for (;;) {
          if (p >= end) throw new RtpParseError('truncated', 'SDES items run past the packet');
          const itemType = b[p]!;
          if (itemType === 0) {
            p = (p + 4) & ~3; // the null item ends the chunk, padded to a 32-bit boundary
            break;
          }
          if (p + 2 > end) throw new RtpParseError('truncated', 'SDES item runs past the packet');
          const ilen = b[p + 1]!;
          if (p + 2 + ilen > end) throw new RtpParseError('truncated', 'SDES item runs past the packet');
          if (itemType === 1) chunk.cname = Buffer.from(b.subarray(p + 2, p + 2 + ilen)).toString('utf8');
          p += 2 + ilen;
        }
        chunks.push(chunk);
      }
      out.push({ type: 'sdes', chunks });
    } else if (pt === BYE) {
      if (body + count * 4 > end) throw new RtpParseError('truncated', 'BYE SSRCs run past the packet');
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(dv.getUint32(body + i * 4));
      const r = body + count * 4;
      let reason: string | undefined;
      if (r < end) {
        const rl = b[r]!;
        if (r + 1 + rl > end) throw new RtpParseError('truncated', 'BYE reason runs past the packet');
        reason = Buffer.from(b.subarray(r + 1, r + 1 + rl)).toString('utf8');
      }
      out.push(reason === undefined ? { type: 'bye', ssrcs } : { type: 'bye', ssrcs, reason });
    } else {
      out.push({ type: 'other', pt });
    }
    off += len;
  }
  return out;
}

function writeReports(dv: DataView, off: number, reports: ReportBlock[]): void {
  for (const r of reports) {
    dv.setUint32(off, r.ssrc >>> 0);
    dv.setUint32(off + 4, ((r.fractionLost & 0xff) << 24) | (r.cumulativeLost & 0xffffff));
    dv.setUint32(off + 8, r.highestSeq >>> 0);
    dv.setUint32(off + 12, r.jitter >>> 0);
    dv.setUint32(off + 16, r.lsr >>> 0);
    dv.setUint32(off + 20, r.dlsr >>> 0);
    off += 24;
  }
}

/** One RTCP packet (SR, RR, SDES with CNAME chunks, BYE) as bytes; join them with `compound`. */
export function serializeRtcp(p: RtcpPacket): Uint8Array {
  let out: Uint8Array;
  if (p.type === 'sr' || p.type === 'rr') {
    if (p.reports.length > 31) throw new RangeError('at most 31 report blocks');
    const fixed = p.type === 'sr' ? 24 : 4;
    out = new Uint8Array(4 + fixed + p.reports.length * 24);
    const dv = new DataView(out.buffer);
    out[0] = 0x80 | p.reports.length;
    out[1] = p.type === 'sr' ? SR : RR;
    dv.setUint32(4, p.ssrc >>> 0);
    if (p.type === 'sr') {
      dv.setUint32(8, p.ntpSec >>> 0);
      dv.setUint32(12, p.ntpFrac >>> 0);
      dv.setUint32(16, p.rtpTimestamp >>> 0);
      dv.setUint32(20, p.packetCount >>> 0);
      dv.setUint32(24, p.octetCount >>> 0);
    }
    writeReports(dv, 4 + fixed, p.reports);
  } else if (p.type === 'sdes') {
    const parts = p.chunks.map((c) => {
      const name = Buffer.from(c.cname ?? '', 'utf8').subarray(0, 255);
      const len = (4 + 2 + name.length + 1 + 3) & ~3; // ssrc, item, null item, pad to 32 bits
      const chunk = new Uint8Array(len);
      new DataView(chunk.buffer).setUint32(0, c.ssrc >>> 0);
      chunk[4] = 1;
      chunk[5] = name.length;
      chunk.set(name, 6);
      return chunk;
    });
    const total = 4 + parts.reduce((n, c) => n + c.length, 0);
    out = new Uint8Array(total);
    out[0] = 0x80 | p.chunks.length;
    out[1] = SDES;
    let off = 4;
    for (const c of parts) {
      out.set(c, off);
      off += c.length;
    }
  } else if (p.type === 'bye') {
    const reason = p.reason ? Buffer.from(p.reason, 'utf8').subarray(0, 255) : null;
    const len = (4 + p.ssrcs.length * 4 + (reason ? 1 + reason.length : 0) + 3) & ~3;
    out = new Uint8Array(len);
    const dv = new DataView(out.buffer);
    out[0] = 0x80 | p.ssrcs.length;
    out[1] = BYE;
    p.ssrcs.forEach((s, i) => dv.setUint32(4 + i * 4, s >>> 0));
    if (reason) {
      out[4 + p.ssrcs.length * 4] = reason.length;
      out.set(reason, 5 + p.ssrcs.length * 4);
    }
  } else throw new RangeError('cannot serialize an unknown RTCP packet');
  new DataView(out.buffer).setUint16(2, out.length / 4 - 1);
  return out;
}

export function compound(packets: RtcpPacket[]): Uint8Array {
  const parts = packets.map(serializeRtcp);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const NTP_EPOCH_OFFSET = 2208988800;

/** A wall-clock time in ms as NTP seconds and fraction. */
export function toNtp(ms: number): { sec: number; frac: number } {
  const s = ms / 1000 + NTP_EPOCH_OFFSET;
  const sec = Math.floor(s);
  return { sec: sec >>> 0, frac: Math.floor((s - sec) * 0x100000000) >>> 0 };
}

/** The middle 32 bits of an NTP timestamp (what LSR carries). */
export function ntpMiddle(sec: number, frac: number): number {
  return (((sec & 0xffff) << 16) | (frac >>> 16)) >>> 0;
}

/**
 * Round-trip time from a report block (RFC 3550 6.4.1): arrival time (as NTP middle bits) - LSR - DLSR, in ms.
 * null when the peer has not received an SR from us yet (LSR 0).
 */
export function rttFromReport(block: ReportBlock, arrivalMs: number): number | null {
  if (block.lsr === 0) return null;
  const now = toNtp(arrivalMs);
  const a = ntpMiddle(now.sec, now.frac);
  const rtt = (a - block.lsr - block.dlsr) >>> 0; // 1/65536 s, modulo 2^32
  if (rtt > 0x7fffffff) return 0; // clocks a little off: the peer's delay exceeds what we measured
  return (rtt / 65536) * 1000;
}
