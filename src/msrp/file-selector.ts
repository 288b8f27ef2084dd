// RFC 5547 file transfer: the a=file-selector attribute and the other file attributes of an m=message section.
// Pure string helpers. Written the way Blink writes them (STACK.md): the name raw UTF-8 in double quotes (only the
// characters that would break the attribute are %-encoded), the hash as `sha-1:` + 20 upper-case colon hex pairs —
// Blink answers 488 to any other hash form.
import { MsrpSdpError } from './errors.js';

export interface FileSelector {
  readonly name?: string;
  /** MIME type, parameters included as written (e.g. "text/plain;charset=utf-8"). */
  readonly type?: string;
  readonly size?: number;
  /** SHA-1 of the file as 20 bytes (the only hash Blink sends or takes). */
  readonly sha1?: Uint8Array;
}

/** RFC 5547 file attributes of one m=message section. */
export interface FileAttributes {
  readonly selector: FileSelector | null;
  readonly transferId: string | null;
  /** a=file-disposition (Blink sends none: absent means "render" or "attachment" to taste). */
  readonly disposition: string | null;
  /** Blink's a=x-file-offset: the side will answer / send FILE_OFFSET for a resume. */
  readonly fileOffset: boolean;
  /** sendonly / recvonly / sendrecv / inactive, as written. */
  readonly direction: string | null;
  /** The format list of the m= line (RFC 5547 and Blink: exactly "*"). */
  readonly formats: string;
  /** Media-level attributes not named above, lower-cased names, values as written. */
  readonly other: ReadonlyMap<string, string>;
}

const MAX_SELECTOR = 8192;
const MAX_NAME_BYTES = 1024;

/** "42:E3:..." (upper-case, colon-separated) for a SHA-1 digest, as Blink writes it. */
export function formatSha1(digest: Uint8Array): string {
  if (digest.length !== 20) throw new RangeError('a SHA-1 digest has 20 bytes');
  return Array.from(digest, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

function parseSha1(text: string): Uint8Array {
  if (!/^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){19}$/.test(text))
    throw new MsrpSdpError(
      `file-selector hash is not 20 colon-separated hex pairs: ${JSON.stringify(text.slice(0, 80))}`,
    );
  return Uint8Array.from(text.split(':'), (h) => parseInt(h, 16));
}

/** %-encodes what cannot stand inside the quoted name (RFC 5547's filename-string); all else stays raw UTF-8. */
function quoteName(name: string): string {
  return name.replace(/[%"\r\n\0]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** Undoes quoteName only: a name that really contains "%41" keeps it (Blink does not %-encode names at all). */
function unquoteName(text: string): string {
  return text.replace(/%(22|25|0D|0A|00)/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The attribute value (after "a=file-selector:"). */
export function buildFileSelector(sel: FileSelector): string {
  const parts: string[] = [];
  if (sel.name !== undefined) parts.push(`name:"${quoteName(sel.name)}"`);
  if (sel.type !== undefined) {
    if (/[\s"]/.test(sel.type) || sel.type === '') throw new MsrpSdpError(`bad file type ${JSON.stringify(sel.type)}`);
    parts.push(`type:${sel.type}`);
  }
  if (sel.size !== undefined) {
    if (!Number.isSafeInteger(sel.size) || sel.size < 0) throw new MsrpSdpError(`bad file size ${sel.size}`);
    parts.push(`size:${sel.size}`);
  }
  if (sel.sha1 !== undefined) parts.push(`hash:sha-1:${formatSha1(sel.sha1)}`);
  return parts.join(' ');
}

/**
 * Parses an a=file-selector value. Unknown selectors are skipped (a later RFC may add some); a hash other than
 * sha-1 is ignored (we could not check it). Throws MsrpSdpError, and nothing else, on malformed input.
 */
export function parseFileSelector(value: string): FileSelector {
  if (value.length > MAX_SELECTOR) throw new MsrpSdpError('file-selector too long');
  let name: string | undefined;
  let type: string | undefined;
  let size: number | undefined;
  let sha1: Uint8Array | undefined;
  let rest = value.trim();
  while (rest !== '') {
    const m = /^([A-Za-z-]+):/.exec(rest);
    if (!m) throw new MsrpSdpError(`malformed file-selector near ${JSON.stringify(rest.slice(0, 40))}`);
    const key = m[1]!.toLowerCase();
    rest = rest.slice(m[0].length);
    let val: string;
    if (key === 'name') {
      if (!rest.startsWith('"')) throw new MsrpSdpError('file-selector name is not quoted');
      const end = rest.indexOf('"', 1);
      if (end < 0) throw new MsrpSdpError('file-selector name has no closing quote');
      val = rest.slice(1, end);
      rest = rest.slice(end + 1);
      if (Buffer.byteLength(val, 'utf8') > MAX_NAME_BYTES) throw new MsrpSdpError('file name too long');
      name = unquoteName(val);
    } else {
      const sp = rest.search(/\s/);
      val = sp < 0 ? rest : rest.slice(0, sp);
      rest = sp < 0 ? '' : rest.slice(sp);
      if (key === 'type') type = val;
      else if (key === 'size') {
        if (!/^\d{1,16}$/.test(val) || !Number.isSafeInteger(Number(val)))
          throw new MsrpSdpError(`bad file-selector size ${JSON.stringify(val.slice(0, 20))}`);
        size = Number(val);
      } else if (key === 'hash') {
        const colon = val.indexOf(':');
        const alg = colon < 0 ? '' : val.slice(0, colon).toLowerCase();
        if (alg === 'sha-1') sha1 = parseSha1(val.slice(colon + 1));
      }
    }
    if (rest !== '' && !/^\s/.test(rest)) throw new MsrpSdpError('file-selector items must be separated by spaces');
    rest = rest.trimStart();
  }
  return {
    ...(name !== undefined ? { name } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(sha1 !== undefined ? { sha1 } : {}),
  };
}

/**
 * Reads the RFC 5547 attributes of the first m=message section of an SDP body (parseMsrpSdp reads the MSRP ones).
 * Throws MsrpSdpError when there is no such section or its file-selector is malformed.
 */
export function parseFileAttributes(sdp: string): FileAttributes {
  if (sdp.length > 64 * 1024) throw new MsrpSdpError('SDP too large');
  const lines = sdp.split(/\r?\n/).map((l) => l.trimEnd());
  const start = lines.findIndex((l) => /^m=message /.test(l));
  if (start < 0) throw new MsrpSdpError('no m=message section in SDP');
  const formats = /^m=message \S+ \S+ (.*)$/.exec(lines[start]!)?.[1]?.trim() ?? '';
  const attrs = new Map<string, string>();
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('m='); i++) {
    const a = /^a=([^:]+)(?::(.*))?$/.exec(lines[i]!);
    if (a && !attrs.has(a[1]!.toLowerCase())) attrs.set(a[1]!.toLowerCase(), (a[2] ?? '').trim());
  }
  const fs = attrs.get('file-selector');
  const direction = ['sendonly', 'recvonly', 'sendrecv', 'inactive'].find((d) => attrs.has(d)) ?? null;
  const named = new Set(['file-selector', 'file-transfer-id', 'file-disposition', 'x-file-offset', direction ?? '']);
  return {
    selector: fs === undefined ? null : parseFileSelector(fs),
    transferId: attrs.get('file-transfer-id') || null,
    disposition: attrs.get('file-disposition') || null,
    fileOffset: attrs.has('x-file-offset'),
    direction,
    formats,
    other: new Map([...attrs].filter(([k]) => !named.has(k))),
  };
}

/**
 * Is this SDP an RFC 5547 file offer? Any a=file-selector in the m=message section makes it one, malformed or not:
 * the file layer then refuses it (488), rather than the chat layer taking it for a chat. Never throws.
 */
export function isFileOffer(sdp: string): boolean {
  const m = /^m=message [^\r\n]*$/m.exec(sdp);
  if (!m) return false;
  const section = sdp.slice(m.index).split(/\r?\n(?=m=)/)[0]!;
  return /^a=file-selector:/m.test(section);
}
