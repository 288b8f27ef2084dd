// message/cpim (RFC 3862): message headers, a blank line, then a MIME part (its headers, a blank line, content).
// We write standard CRLF; we read what Blink and SylkServer write too: bare-LF MIME headers, charset="utf8",
// an empty Content-Transfer-Encoding, DateTime with microseconds.
import { TextDecoder } from 'node:util';
import { MsrpCpimError } from './errors.js';
import { decodeUtf8, encodeUtf8Into, utf8Length } from './text.js';

export interface CpimAddress {
  readonly displayName: string | null;
  readonly uri: string;
}

export interface CpimHeader {
  /** Full name as written, e.g. "From" or "agp.Message-Type". */
  readonly name: string;
  /** Namespace prefix ("agp"), or null for the default namespace. */
  readonly prefix: string | null;
  /** Name without prefix ("Message-Type"). */
  readonly localName: string;
  /** Value with CPIM escapes decoded. */
  readonly value: string;
  /** Parameters between the colon and the value, e.g. [["lang","fr"]]. */
  readonly params: ReadonlyArray<readonly [string, string]>;
}

export interface CpimMessage {
  readonly from: CpimAddress | null;
  readonly to: readonly CpimAddress[];
  readonly cc: readonly CpimAddress[];
  /** DateTime as written. */
  readonly dateTimeText: string | null;
  /** DateTime parsed (microseconds truncated to milliseconds), null when absent or unparsable. */
  readonly dateTime: Date | null;
  readonly subject: string | null;
  /** Prefix -> namespace URI, from NS headers. */
  readonly namespaces: ReadonlyMap<string, string>;
  /** Every message header in order. */
  readonly headers: readonly CpimHeader[];
  /** Inner Content-Type without parameters, lower case ("text/plain"); "text/plain" if absent (RFC 2045 default). */
  readonly contentType: string;
  /** The inner Content-Type header exactly as written. */
  readonly contentTypeHeader: string | null;
  /** Normalised charset ("utf8" -> "utf-8"), or null if none given. */
  readonly charset: string | null;
  /** Inner MIME headers in order. */
  readonly contentHeaders: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/** Namespace SylkServer uses for its own headers (agp.Message-Type: status for join/leave notices). */
export const AG_PROJECTS_CPIM_NS = 'urn:ag-projects:xml:ns:cpim';

const NAME_RE = /^[!#-'*+\-0-9A-Z^-z|~]+$/;

export function parseCpimAddress(text: string): CpimAddress {
  const t = text.trim();
  const lt = t.lastIndexOf('<');
  if (lt >= 0 && t.endsWith('>')) {
    let name = t.slice(0, lt).trim();
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1);
    return { displayName: name === '' ? null : name, uri: t.slice(lt + 1, -1).trim() };
  }
  return { displayName: null, uri: t };
}

export function formatCpimAddress(a: CpimAddress | string): string {
  if (typeof a === 'string') return a.includes('<') ? a : `<${a}>`;
  if (a.displayName === null || a.displayName === '') return `<${a.uri}>`;
  const plain = /^[A-Za-z0-9!#$%&'*+\-.^_`|~ ]+$/.test(a.displayName);
  return `${plain ? a.displayName : `"${a.displayName.replace(/"/g, '\\"')}"`} <${a.uri}>`;
}

function unescapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = v[i + 1];
    if (n === undefined) break; // an isolated trailing backslash is ignored
    i++;
    if (n === 'u' && /^[0-9A-Fa-f]{4}$/.test(v.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(v.slice(i + 1, i + 5), 16));
      i += 4;
    } else out += ({ b: '\b', t: '\t', n: '\n', r: '\r' } as Record<string, string>)[n] ?? n;
  }
  return out;
}

function escapeValue(v: string): string {
  return v.replace(/[\\\x00-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\b':
        return '\\b';
      case '\t':
        return '\\t';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      default:
        return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
    }
  });
}

/** Finds the end of a header block: index of the blank line's first byte and where the next part starts. */
function findBlankLine(buf: Uint8Array, from: number): { end: number; next: number } | null {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    // i is a line end; is the following line empty (LF or CRLF)?
    if (buf[i + 1] === 0x0a) return { end: i + 1, next: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { end: i + 1, next: i + 3 };
  }
  return null;
}

function headerLines(text: string): string[] {
  const lines: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw === '') continue;
    // Folded continuation (RFC 5322 style), as mail libraries may emit.
    if ((raw.startsWith(' ') || raw.startsWith('\t')) && lines.length > 0) lines[lines.length - 1] += ' ' + raw.trim();
    else lines.push(raw);
  }
  return lines;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function parseDateTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})$/.exec(text.trim());
  if (!m) return null;
  const ms = m[7] ? Number((m[7] + '00').slice(0, 3)) : 0;
  let offsetMin = 0;
  if (m[8] !== 'Z' && m[8] !== 'z') {
    const sign = m[8]![0] === '-' ? -1 : 1;
    const digits = m[8]!.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  const t =
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms) -
    offsetMin * 60_000;
  return Number.isNaN(t) ? null : new Date(t);
}

/** RFC 3339 with microseconds and +00:00, the way Blink writes it. */
export function formatDateTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function normalizeCharset(cs: string): string {
  const c = cs.trim().replace(/^"|"$/g, '').toLowerCase();
  return c === 'utf8' ? 'utf-8' : c;
}

function contentTypeParams(ct: string): { type: string; params: Map<string, string> } {
  const [type, ...rest] = ct.split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params.set(
      p.slice(0, eq).trim().toLowerCase(),
      p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  return { type: (type ?? '').trim().toLowerCase(), params };
}

export function decodeCpim(data: Uint8Array): CpimMessage {
  const first = findBlankLine(data, 0);
  if (!first) throw new MsrpCpimError('message/cpim without the blank line after its message headers');
  const headers: CpimHeader[] = [];
  for (const line of headerLines(utf8.decode(data.subarray(0, first.end)))) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MsrpCpimError(`bad CPIM header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim();
    let rest = line.slice(colon + 1);
    const params: Array<[string, string]> = [];
    // Parameters sit between the colon and the first space: "Subject:;lang=fr text".
    while (rest.startsWith(';')) {
      const sp = rest.indexOf(' ');
      const seg = sp < 0 ? rest.slice(1) : rest.slice(1, sp);
      rest = sp < 0 ? '' : rest.slice(sp);
      for (const p of seg.split(';')) {
        const eq = p.indexOf('=');
        if (eq > 0) params.push([p.slice(0, eq), p.slice(eq + 1)]);
      }
    }
    const dot = name.indexOf('.');
    const prefix = dot > 0 ? name.slice(0, dot) : null;
    const localName = dot > 0 ? name.slice(dot + 1) : name;
    if (!NAME_RE.test(localName) || (prefix !== null && !NAME_RE.test(prefix)))
      throw new MsrpCpimError(`bad CPIM header name ${JSON.stringify(name.slice(0, 60))}`);
    headers.push({ name, prefix, localName, value: unescapeValue(rest.replace(/^ /, '').trimEnd()), params });
  }
  const namespaces = new Map<string, string>();
  for (const h of headers) {
    if (h.prefix === null && h.localName.toLowerCase() === 'ns') {
      const m = /^\s*(\S+)\s*<([^>]*)>\s*$/.exec(h.value);
      if (m) namespaces.set(m[1]!, m[2]!);
    }
  }
  const std = (n: string) => headers.filter((h) => h.prefix === null && h.localName.toLowerCase() === n);
  const fromH = std('from')[0];
  const dateH = std('datetime')[0];
  const subjectH = std('subject')[0];

  // The MIME part. A part with no headers at all starts with its blank line.
  let contentHeaders: Array<[string, string]> = [];
  let body: Uint8Array;
  const rest = data.subarray(first.next);
  const startsBlank = rest[0] === 0x0a || (rest[0] === 0x0d && rest[1] === 0x0a);
  const second = startsBlank ? { end: 0, next: rest[0] === 0x0a ? 1 : 2 } : findBlankLine(rest, 0);
  if (second) {
    for (const line of headerLines(utf8.decode(rest.subarray(0, second.end)))) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new MsrpCpimError(`bad MIME header line ${JSON.stringify(line.slice(0, 80))}`);
      contentHeaders.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    // A view, not a copy: the content of a 1 MiB message is the bulk of `data`, which the caller owns.
    body = rest.subarray(second.next);
  } else {
    // No blank line: tolerate a bare body without MIME headers only if it does not look like headers.
    const text = utf8.decode(rest);
    const lines = headerLines(text);
    if (lines.length > 0 && lines.every((l) => /^[A-Za-z][A-Za-z0-9-]*:/.test(l))) {
      for (const line of headerLines(text)) {
        const colon = line.indexOf(':');
        contentHeaders.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
      }
      body = new Uint8Array(0);
    } else {
      contentHeaders = [];
      body = rest;
    }
  }
  const ctHeader = contentHeaders.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? null;
  const ct = contentTypeParams(ctHeader ?? 'text/plain');
  const cs = ct.params.get('charset');
  return {
    from: fromH ? parseCpimAddress(fromH.value) : null,
    to: std('to').map((h) => parseCpimAddress(h.value)),
    cc: std('cc').map((h) => parseCpimAddress(h.value)),
    dateTimeText: dateH?.value ?? null,
    dateTime: dateH ? parseDateTime(dateH.value) : null,
    subject: subjectH?.value ?? null,
    namespaces,
    headers,
    contentType: ct.type || 'text/plain',
    contentTypeHeader: ctHeader,
    charset: cs === undefined ? null : normalizeCharset(cs),
    contentHeaders,
    body,
  };
}

/** Value of a header in the namespace `nsUri` (resolved through the message's NS headers), or undefined. */
export function getCpimHeader(msg: CpimMessage, nsUri: string | null, localName: string): string | undefined {
  const ln = localName.toLowerCase();
  for (const h of msg.headers) {
    if (h.localName.toLowerCase() !== ln) continue;
    if (nsUri === null ? h.prefix === null : h.prefix !== null && msg.namespaces.get(h.prefix) === nsUri)
      return h.value;
  }
  return undefined;
}

/** SylkServer's join/leave and other room notices (agp.Message-Type: status). */
export function isSylkStatusMessage(msg: CpimMessage): boolean {
  return getCpimHeader(msg, AG_PROJECTS_CPIM_NS, 'Message-Type')?.toLowerCase() === 'status';
}

/** The content decoded as text with its charset (UTF-8 by default; unknown charsets fall back to UTF-8). */
export function cpimText(msg: CpimMessage): string {
  if (msg.charset === null || msg.charset === 'utf-8') return decodeUtf8(msg.body);
  let dec: TextDecoder;
  try {
    dec = new TextDecoder(msg.charset ?? 'utf-8');
  } catch {
    dec = utf8;
  }
  return dec.decode(msg.body);
}

export interface CpimEncodeOptions {
  readonly from?: CpimAddress | string;
  readonly to?: ReadonlyArray<CpimAddress | string>;
  readonly cc?: ReadonlyArray<CpimAddress | string>;
  /** Defaults to now; null leaves DateTime out. */
  readonly dateTime?: Date | null;
  readonly subject?: string;
  /** prefix -> namespace URI, written as NS headers. */
  readonly namespaces?: Readonly<Record<string, string>>;
  /** Further message headers (e.g. ["agp.Message-Type", "status"]), after the standard ones. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** Inner content type, e.g. "text/plain". A charset=utf-8 parameter is added for text and string bodies. */
  readonly contentType: string;
  readonly contentHeaders?: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | string;
}

const enc = new TextEncoder();

export function encodeCpim(o: CpimEncodeOptions): Uint8Array {
  const lines: string[] = [];
  const hdr = (name: string, value: string) => {
    const dot = name.indexOf('.');
    const parts = dot > 0 ? [name.slice(0, dot), name.slice(dot + 1)] : [name];
    if (!parts.every((p) => NAME_RE.test(p))) throw new MsrpCpimError(`bad CPIM header name ${JSON.stringify(name)}`);
    lines.push(`${name}: ${escapeValue(value)}`);
  };
  if (o.from !== undefined) hdr('From', formatCpimAddress(o.from));
  for (const t of o.to ?? []) hdr('To', formatCpimAddress(t));
  for (const c of o.cc ?? []) hdr('cc', formatCpimAddress(c));
  if (o.dateTime !== null) hdr('DateTime', formatDateTime(o.dateTime ?? new Date()));
  if (o.subject !== undefined) hdr('Subject', o.subject);
  for (const [p, uri] of Object.entries(o.namespaces ?? {})) hdr('NS', `${p} <${uri}>`);
  for (const [n, v] of o.headers ?? []) hdr(n, v);
  let ct = o.contentType.trim();
  if (/[\r\n]/.test(ct)) throw new MsrpCpimError('bad content type');
  const { type, params } = contentTypeParams(ct);
  // SylkServer drops "?OTR:" text sent without a charset, so text always says which one it is.
  if (!params.has('charset') && (type.startsWith('text/') || typeof o.body === 'string')) ct += ';charset=utf-8';
  const mime = [`Content-Type: ${ct}`];
  for (const [n, v] of o.contentHeaders ?? []) {
    if (/[\r\n]/.test(n + v) || !/^[A-Za-z][A-Za-z0-9-]*$/.test(n))
      throw new MsrpCpimError(`bad MIME header ${JSON.stringify(n)}`);
    mime.push(`${n}: ${v}`);
  }
  const head = enc.encode(lines.join('\r\n') + '\r\n\r\n' + mime.join('\r\n') + '\r\n\r\n');
  // A string body is encoded straight into the message (no temporary copy of a large text).
  const bodyLength = typeof o.body === 'string' ? utf8Length(o.body) : o.body.length;
  const out = new Uint8Array(head.length + bodyLength);
  out.set(head, 0);
  if (typeof o.body === 'string') encodeUtf8Into(o.body, out, head.length, bodyLength);
  else out.set(o.body, head.length);
  return out;
}
