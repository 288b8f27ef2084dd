// The session-level frame of an SDP body and its media sections (RFC 4566 5, RFC 3264): splits a body into the
// session lines and one section per m= line, and puts them back together. Pure; knows nothing of MSRP or RTP.
import { addressType } from '../sdp/sdp.js';

/** The SDP is not usable at all (no m= line, a malformed m= line, oversized). */
export class SdpComposeError extends Error {
  override name = 'SdpComposeError';
}

const MAX_SDP = 64 * 1024;
const MAX_SECTIONS = 16;

export interface MediaLine {
  /** 'audio', 'message', 'video'... */
  readonly type: string;
  readonly port: number;
  readonly proto: string;
  readonly formats: readonly string[];
}

export interface SdpSection {
  readonly media: MediaLine;
  /** The whole section, m= line first, CRLF line ends, a c= line of its own when the body had one anywhere. */
  readonly text: string;
  /** RFC 3264 direction of the section (media level, else session level, else sendrecv). */
  readonly direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

export interface SplitSdp {
  /** Session-level lines (v=, o=, s=, c=, t=, a=...), without the line ends. */
  readonly session: readonly string[];
  readonly sections: readonly SdpSection[];
}

const DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const;

function directionOf(lines: readonly string[]): SdpSection['direction'] | null {
  for (const l of lines) {
    const d = DIRECTIONS.find((x) => l === `a=${x}`);
    if (d) return d;
  }
  return null;
}

export function parseMediaLine(line: string): MediaLine {
  const m = /^m=([a-z0-9_-]+) (\d+)(?:\/\d+)? (\S+)((?: \S+)*)\s*$/i.exec(line);
  if (!m) throw new SdpComposeError(`bad media line ${JSON.stringify(line.slice(0, 80))}`);
  const port = Number(m[2]);
  if (port > 65535) throw new SdpComposeError(`bad port in ${JSON.stringify(line.slice(0, 80))}`);
  return { type: m[1]!.toLowerCase(), port, proto: m[3]!, formats: m[4]!.trim().split(/\s+/).filter(Boolean) };
}

/**
 * Splits an SDP body. A session-level c= line is copied into every section that has none, so each section stands
 * alone (what a stream's own parser expects); a session-level direction likewise decides a section's direction.
 */
export function splitSdp(sdp: string): SplitSdp {
  if (sdp.length > MAX_SDP) throw new SdpComposeError('SDP too large');
  const lines = sdp
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  const first = lines.findIndex((l) => l.startsWith('m='));
  if (first < 0) throw new SdpComposeError('no media section in SDP');
  const session = lines.slice(0, first);
  const sessionC = session.find((l) => l.startsWith('c='));
  const sessionDir = directionOf(session);
  const sections: SdpSection[] = [];
  let i = first;
  while (i < lines.length) {
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith('m=')) j++;
    if (sections.length >= MAX_SECTIONS) throw new SdpComposeError('too many media sections');
    const own = lines.slice(i, j);
    const media = parseMediaLine(own[0]!);
    if (sessionC !== undefined && !own.some((l) => l.startsWith('c='))) own.splice(1, 0, sessionC);
    sections.push({ media, text: own.join('\r\n') + '\r\n', direction: directionOf(own) ?? sessionDir ?? 'sendrecv' });
    i = j;
  }
  return { session, sections };
}

/** A section's text without its m= line's port: `m=audio 0 RTP/AVP 96 0`, the form that refuses or removes it. */
export function disabledSection(media: MediaLine): string {
  return `m=${media.type} 0 ${media.proto} ${media.formats.join(' ') || '*'}\r\n`;
}

export interface SessionLines {
  /** o= session id (digits), fixed for the life of the session. */
  readonly sessionId: string;
  readonly version: number;
  readonly host: string;
  readonly user?: string;
  readonly name?: string;
}

/** A whole body: our session lines, then the sections in m-line order (each one CRLF-terminated). */
export function composeSdp(s: SessionLines, sections: readonly string[]): string {
  if (sections.length === 0) throw new SdpComposeError('an SDP needs at least one media section');
  const host = s.host;
  const head = [
    'v=0',
    `o=${s.user ?? '-'} ${s.sessionId} ${s.version} IN ${addressType(host)} ${host}`,
    `s=${s.name ?? 'blink-tui'}`,
    `c=IN ${addressType(host)} ${host}`,
    't=0 0',
  ];
  return head.join('\r\n') + '\r\n' + sections.map((x) => (x.endsWith('\r\n') ? x : x + '\r\n')).join('');
}

/**
 * A section as a stream's parser expects it: the stream writers of this client (MSRP) produce whole bodies; this
 * takes the first section of `sdp` whose m= type is `type`, with its own c= line.
 */
export function sectionOf(sdp: string, type: string): string {
  const s = splitSdp(sdp).sections.find((x) => x.media.type === type);
  if (!s) throw new SdpComposeError(`no m=${type} section`);
  return s.text;
}

/** A section wrapped into a minimal body, for a stream parser that reads whole bodies (parseMsrpSdp). */
export function bodyOf(section: string): string {
  return `v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n${section}`;
}
