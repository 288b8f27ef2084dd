// One m=audio section of SDP: parse, build, and the RFC 3264 offer/answer decisions (codec choice by rtpmap name
// with the offer's payload type numbers, telephone-event on the chosen codec's clock, direction intersection,
// SDES tag matching, rtcp-mux). Pure: keys and ports come in as arguments.
import { addressType } from '../sdp/sdp.js';
import { CODECS, TELEPHONE_EVENTS, findCodec, type CodecSpec } from './codecs.js';
import { AudioNegotiationError } from './errors.js';
import { parseCryptoAttribute, SDES_SUITE, type CryptoAttribute } from './sdes.js';
import type { AudioDirection } from './api.js';

export interface RtpMap {
  pt: number;
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

export interface AudioSection {
  port: number;
  proto: string;
  formats: number[];
  rtpmaps: Map<number, RtpMap>;
  address: string | null;
  rtcpPort: number | null;
  rtcpAddress: string | null;
  rtcpMux: boolean;
  direction: AudioDirection;
  crypto: CryptoAttribute[];
  zrtpHash: string | null;
  ptime: number | null;
}

const STATIC: Record<number, Omit<RtpMap, 'pt'>> = {
  0: { name: 'PCMU', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 },
  9: { name: 'G722', clockRate: 8000 },
};

const DIRECTIONS: readonly AudioDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

export function parseAudioSection(text: string): AudioSection {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const m = lines[0] === undefined ? null : /^m=audio (\d+)(?:\/\d+)? (\S+)((?: \S+)*)$/.exec(lines[0].trim());
  if (!m) throw new AudioNegotiationError('not an m=audio section');
  const port = Number(m[1]);
  if (port > 65535) throw new AudioNegotiationError(`port ${port}`);
  const formats = m[3]!
    .trim()
    .split(' ')
    .filter((f) => /^\d{1,3}$/.test(f))
    .map(Number);
  const s: AudioSection = {
    port,
    proto: m[2]!,
    formats,
    rtpmaps: new Map(),
    address: null,
    rtcpPort: null,
    rtcpAddress: null,
    rtcpMux: false,
    direction: 'sendrecv',
    crypto: [],
    zrtpHash: null,
    ptime: null,
  };
  for (const f of formats) {
    const st = STATIC[f];
    if (st) s.rtpmaps.set(f, { pt: f, ...st });
  }
  const fmtps = new Map<number, string>();
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    let a: RegExpExecArray | null;
    if ((a = /^c=IN IP[46] (\S+)/.exec(line))) s.address = a[1]!;
    else if ((a = /^a=rtpmap:(\d{1,3}) ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(line))) {
      const pt = Number(a[1]);
      const map: RtpMap = { pt, name: a[2]!, clockRate: Number(a[3]) };
      if (a[4]) map.channels = Number(a[4]);
      s.rtpmaps.set(pt, map);
    } else if ((a = /^a=fmtp:(\d{1,3}) (.*)$/.exec(line))) fmtps.set(Number(a[1]), a[2]!);
    else if ((a = /^a=rtcp:(\d+)(?: IN IP[46] (\S+))?/.exec(line))) {
      s.rtcpPort = Number(a[1]);
      s.rtcpAddress = a[2] ?? null;
    } else if (line === 'a=rtcp-mux') s.rtcpMux = true;
    else if ((a = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line))) s.direction = a[1] as AudioDirection;
    else if ((a = /^a=crypto:(.*)$/.exec(line))) {
      const c = parseCryptoAttribute(a[1]!);
      if (c) s.crypto.push(c);
    } else if ((a = /^a=zrtp-hash:(.*)$/.exec(line))) s.zrtpHash = a[1]!.trim();
    else if ((a = /^a=ptime:(\d+)/.exec(line))) s.ptime = Number(a[1]);
  }
  for (const [pt, f] of fmtps) {
    const map = s.rtpmaps.get(pt);
    if (map) map.fmtp = f;
  }
  return s;
}

export interface BuildSection {
  port: number;
  address: string;
  proto: string;
  codecs: RtpMap[];
  rtcpPort: number | null;
  rtcpMux: boolean;
  crypto: string | null;
  /** Our a=zrtp-hash value ("1.10 <hex>", RFC 6189 §8.1), when ZRTP is offered or answered. */
  zrtpHash?: string | null;
  direction: AudioDirection;
}

export function buildAudioSection(b: BuildSection): string {
  const out = [
    `m=audio ${b.port} ${b.proto} ${b.codecs.map((c) => c.pt).join(' ')}`,
    `c=IN ${addressType(b.address)} ${b.address}`,
  ];
  for (const c of b.codecs) {
    out.push(`a=rtpmap:${c.pt} ${c.name}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`);
    if (c.fmtp) out.push(`a=fmtp:${c.pt} ${c.fmtp}`);
  }
  if (b.rtcpMux) out.push('a=rtcp-mux');
  else if (b.rtcpPort !== null) out.push(`a=rtcp:${b.rtcpPort}`);
  if (b.crypto) out.push(`a=crypto:${b.crypto}`);
  if (b.zrtpHash) out.push(`a=zrtp-hash:${b.zrtpHash}`);
  out.push(`a=${b.direction}`);
  return out.join('\r\n') + '\r\n';
}

/** Our full offer list in Blink's order: opus, G722, PCMU, PCMA, telephone-event/48000, telephone-event/8000. */
export function offerCodecs(allowed?: string[]): RtpMap[] {
  const list: RtpMap[] = allowedCodecs(allowed).map((c) => toMap(c, c.pt));
  for (const t of TELEPHONE_EVENTS)
    list.push({ pt: t.pt, name: 'telephone-event', clockRate: t.clockRate, fmtp: '0-16' });
  return list;
}

/** Our codecs restricted to `allowed` (names, case-insensitive) in its order; all of them, Blink's order, if absent. */
export function allowedCodecs(allowed?: string[]): CodecSpec[] {
  if (!allowed) return [...CODECS];
  return allowed
    .map((n) => CODECS.find((c) => c.name.toLowerCase() === n.toLowerCase()))
    .filter((c): c is CodecSpec => !!c);
}

function toMap(c: CodecSpec, pt: number): RtpMap {
  const m: RtpMap = { pt, name: c.name, clockRate: c.clockRate };
  if (c.channels) m.channels = c.channels;
  if (c.fmtp) m.fmtp = c.fmtp;
  return m;
}

export interface Negotiated {
  codec: CodecSpec;
  /** The payload type the peer uses for the codec (the offer's number, mapped by name). */
  pt: number;
  /** telephone-event payload type and clock, null when the peer did not list one we can use. */
  dtmf: { pt: number; clockRate: number } | null;
}

/**
 * The codec and telephone-event to use from the peer's section: the first format in ITS order that we support
 * (an offer's order is the offerer's preference; an answer lists what it accepted).
 */
export function chooseCodec(peer: AudioSection, allowed?: string[]): Negotiated | null {
  const ours = allowedCodecs(allowed);
  for (const pt of peer.formats) {
    const map = peer.rtpmaps.get(pt);
    if (!map) continue;
    const codec = findCodec(map.name, map.clockRate);
    if (!codec || !ours.includes(codec)) continue;
    const events = peer.formats
      .map((f) => peer.rtpmaps.get(f))
      .filter((e): e is RtpMap => !!e && e.name.toLowerCase() === 'telephone-event');
    const ev = events.find((e) => e.clockRate === codec.clockRate) ?? events[0] ?? null;
    return { codec, pt, dtmf: ev ? { pt: ev.pt, clockRate: ev.clockRate } : null };
  }
  return null;
}

/** RFC 3264 6.1: what we may do given what the offer says and what we want. */
export function answerDirection(offered: AudioDirection, wanted: AudioDirection): AudioDirection {
  const peerSends = offered === 'sendrecv' || offered === 'sendonly';
  const peerRecvs = offered === 'sendrecv' || offered === 'recvonly';
  const weSend = (wanted === 'sendrecv' || wanted === 'sendonly') && peerRecvs;
  const weRecv = (wanted === 'sendrecv' || wanted === 'recvonly') && peerSends;
  return weSend && weRecv ? 'sendrecv' : weSend ? 'sendonly' : weRecv ? 'recvonly' : 'inactive';
}

/** The offer's usable a=crypto line (our suite, a well-formed key), or null. */
export function usableCrypto(s: AudioSection): CryptoAttribute | null {
  return s.crypto.find((c) => c.suite === SDES_SUITE && c.key !== null) ?? null;
}

export { DIRECTIONS };
