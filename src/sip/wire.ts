// Just enough SIP parsing for the transport layer: routing, transaction keys and Via stamping.
// sip.js parses the full message itself afterwards; this module never needs the body.
import { SipParseError } from './errors.js';

export interface SipHeader {
  /** Lower-case long form ("v" becomes "via"). */
  readonly name: string;
  readonly value: string;
}

export type SipStartLine =
  | { readonly kind: 'request'; readonly method: string; readonly uri: string }
  | { readonly kind: 'response'; readonly status: number; readonly reason: string };

export interface SipHead {
  readonly start: SipStartLine;
  readonly headers: readonly SipHeader[];
}

const COMPACT: Readonly<Record<string, string>> = {
  v: 'via',
  l: 'content-length',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  r: 'refer-to',
  u: 'allow-events',
};

export function canonicalHeaderName(raw: string): string {
  const lower = raw.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Parses the start line and header section of a SIP message (text up to the first empty line, or all of it). */
export function parseHead(message: string): SipHead {
  const end = message.indexOf('\r\n\r\n');
  const section = end >= 0 ? message.slice(0, end) : message;
  const rawLines = section.split(/\r\n|\n/);
  const first = rawLines.shift();
  if (first === undefined || first.length === 0) throw new SipParseError('empty SIP message');
  const start = parseStartLine(first);
  const headers: SipHeader[] = [];
  let current: { name: string; value: string } | undefined;
  for (const line of rawLines) {
    if (line.length === 0) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      // RFC 3261 7.3.1: folded continuation of the previous header value
      if (!current) throw new SipParseError('header continuation line without a header');
      current.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`malformed header line: ${truncate(line)}`);
    const rawName = line.slice(0, colon).trim();
    if (!TOKEN.test(rawName)) throw new SipParseError(`malformed header name: ${truncate(rawName)}`);
    if (current) headers.push(current);
    current = { name: canonicalHeaderName(rawName), value: line.slice(colon + 1).trim() };
  }
  if (current) headers.push(current);
  return { start, headers };
}

function parseStartLine(line: string): SipStartLine {
  if (line.startsWith('SIP/2.0 ')) {
    const m = /^SIP\/2\.0 (\d{3})(?: (.*))?$/.exec(line);
    if (!m) throw new SipParseError(`malformed status line: ${truncate(line)}`);
    return { kind: 'response', status: Number(m[1]), reason: m[2] ?? '' };
  }
  const m = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP\/2\.0$/.exec(line);
  if (!m || m[1] === undefined || m[2] === undefined)
    throw new SipParseError(`malformed request line: ${truncate(line)}`);
  return { kind: 'request', method: m[1].toUpperCase(), uri: m[2] };
}

function truncate(s: string): string {
  return s.length > 80 ? s.slice(0, 80) + '...' : s;
}

export function headerValues(head: SipHead, name: string): string[] {
  const out: string[] = [];
  for (const h of head.headers) if (h.name === name) out.push(h.value);
  return out;
}

export function firstHeader(head: SipHead, name: string): string | undefined {
  for (const h of head.headers) if (h.name === name) return h.value;
  return undefined;
}

/** Splits a header value at top-level commas (not inside quotes or angle brackets). */
export function splitCommaList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let inQuote = false;
  let startIdx = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (ch === '"') inQuote = true;
    else if (ch === '<') depthAngle++;
    else if (ch === '>') depthAngle = Math.max(0, depthAngle - 1);
    else if (ch === ',' && depthAngle === 0) {
      out.push(value.slice(startIdx, i).trim());
      startIdx = i + 1;
    }
  }
  const last = value.slice(startIdx).trim();
  if (last.length > 0) out.push(last);
  return out;
}

export interface ViaValue {
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  /** Parameter names are lower-case; a parameter without a value maps to ''. */
  readonly params: ReadonlyMap<string, string>;
}

export function parseVia(value: string): ViaValue {
  const m =
    /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s;:]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/.exec(
      value.trim(),
    );
  if (!m || m[1] === undefined || m[2] === undefined) throw new SipParseError(`malformed Via: ${truncate(value)}`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new SipParseError(`Via port out of range: ${m[3]}`);
  return { transport: m[1].toUpperCase(), host: m[2], port, params: parseParams(m[4] ?? '') };
}

function parseParams(s: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of s.split(';')) {
    const p = part.trim();
    if (p.length === 0) continue;
    const eq = p.indexOf('=');
    if (eq < 0) params.set(p.toLowerCase(), '');
    else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  return params;
}

export function topVia(head: SipHead): ViaValue {
  const raw = firstHeader(head, 'via');
  if (raw === undefined) throw new SipParseError('message has no Via');
  const first = splitCommaList(raw)[0];
  if (first === undefined) throw new SipParseError('empty Via');
  return parseVia(first);
}

export function formatVia(via: ViaValue): string {
  const host = via.port === undefined ? via.host : `${via.host}:${via.port}`;
  let out = `SIP/2.0/${via.transport} ${host}`;
  for (const [k, v] of via.params) out += v === '' ? `;${k}` : `;${k}=${v}`;
  return out;
}

/**
 * Replaces the first Via value of a message's header section and returns the new message text.
 * The body is left untouched (byte for byte), so Content-Length stays valid.
 */
export function replaceTopVia(message: string, edit: (via: ViaValue) => ViaValue): string {
  const headerEnd = message.indexOf('\r\n\r\n');
  const limit = headerEnd >= 0 ? headerEnd : message.length;
  const re = /\r\n(via|v)[ \t]*:[ \t]*/gi;
  const m = re.exec(message);
  if (!m || m.index >= limit) throw new SipParseError('message has no Via');
  const valueStart = m.index + m[0].length;
  let lineEnd = message.indexOf('\r\n', valueStart);
  if (lineEnd < 0 || lineEnd > limit) lineEnd = limit;
  const line = message.slice(valueStart, lineEnd);
  const values = splitCommaList(line);
  const first = values[0];
  if (first === undefined) throw new SipParseError('empty Via');
  const replaced = formatVia(edit(parseVia(first)));
  const rest = values.slice(1);
  const newLine = rest.length === 0 ? replaced : [replaced, ...rest].join(', ');
  return message.slice(0, valueStart) + newLine + message.slice(lineEnd);
}

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: ReadonlyMap<string, string>;
}

/** Parses `sip:user@host:port;params?headers` (also accepts a bare `<...>` wrapper). */
export function parseSipUri(text: string): SipUri {
  let s = text.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  const m = /^(sips?):(?:([^@]+)@)?(\[[0-9A-Fa-f:.]+\]|[^;:?@\s]+)(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/i.exec(s);
  if (!m || m[1] === undefined || m[3] === undefined) throw new SipParseError(`malformed SIP URI: ${truncate(text)}`);
  const port = m[4] === undefined ? undefined : Number(m[4]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new SipParseError(`URI port out of range: ${m[4]}`);
  const user = m[2] === undefined ? undefined : decodeURIComponentSafe(m[2].split(':')[0] ?? '');
  return {
    scheme: m[1].toLowerCase() === 'sips' ? 'sips' : 'sip',
    user,
    host: m[3].toLowerCase(),
    port,
    params: parseParams(m[5] ?? ''),
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface NameAddr {
  readonly displayName: string | undefined;
  readonly uri: string;
  /** Header parameters after the URI (outside the angle brackets). */
  readonly params: ReadonlyMap<string, string>;
}

/** Parses a name-addr or addr-spec header value (From, To, Contact, Route). */
export function parseNameAddr(value: string): NameAddr {
  const v = value.trim();
  const lt = findUnquoted(v, '<');
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) throw new SipParseError(`unterminated <...> in ${truncate(value)}`);
    let display = v.slice(0, lt).trim();
    if (display.startsWith('"') && display.endsWith('"') && display.length >= 2) {
      display = display.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    return {
      displayName: display.length > 0 ? display : undefined,
      uri: v.slice(lt + 1, gt).trim(),
      params: parseParams(v.slice(gt + 1)),
    };
  }
  // addr-spec form: parameters after the URI belong to the header (RFC 3261 20.10)
  const semi = v.indexOf(';');
  return {
    displayName: undefined,
    uri: semi < 0 ? v : v.slice(0, semi).trim(),
    params: parseParams(semi < 0 ? '' : v.slice(semi)),
  };
}

function findUnquoted(s: string, ch: string): number {
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') inQuote = true;
    else if (c === ch) return i;
  }
  return -1;
}

export interface CSeqValue {
  readonly seq: number;
  readonly method: string;
}

export function parseCSeq(head: SipHead): CSeqValue {
  const raw = firstHeader(head, 'cseq');
  const m = raw === undefined ? null : /^(\d{1,10})\s+([A-Za-z]+)$/.exec(raw.trim());
  if (!m || m[1] === undefined || m[2] === undefined) throw new SipParseError('missing or malformed CSeq');
  return { seq: Number(m[1]), method: m[2].toUpperCase() };
}
