/**
 * The unencoded OTR messages: Query Messages, whitespace tags on plaintext, and Error Messages.
 */

export const WS_BASE = ' \t  \t\t\t\t \t \t \t  ';
export const WS_V1 = ' \t \t  \t ';
export const WS_V2 = '  \t\t  \t ';
export const WS_V3 = '  \t\t  \t\t';

const ERROR_PREFIX = '?OTR Error:';

/**
 * Parse the version list of a Query Message anywhere in `msg`.
 * Returns null if `msg` is not a Query Message. "?" right after "?OTR" means version 1; a "v" starts a list of
 * one-character version identifiers that ends at the next "?" (or at the end of the text). Identifiers that are
 * not digits (hypothetical future versions such as "x") are skipped.
 */
export function parseQuery(msg: string): number[] | null {
  let from = 0;
  for (;;) {
    const at = msg.indexOf('?OTR', from);
    if (at < 0) return null;
    let i = at + 4;
    const c = msg[i];
    if (c !== '?' && c !== 'v') {
      from = at + 4;
      continue;
    }
    const versions: number[] = [];
    if (c === '?') {
      versions.push(1);
      i++;
    }
    if (msg[i] === 'v') {
      i++;
      while (i < msg.length && msg[i] !== '?') {
        const ch = msg[i]!;
        if (ch >= '0' && ch <= '9') {
          const v = ch.charCodeAt(0) - 48;
          if (!versions.includes(v)) versions.push(v);
        }
        i++;
      }
    }
    return versions;
  }
}

/** "?OTRv23?" (or v2 / v3 alone) per the allowed versions, followed by the human text. */
export function buildQuery(allowV2: boolean, allowV3: boolean, text: string): string {
  const v = (allowV2 ? '2' : '') + (allowV3 ? '3' : '');
  const tag = `?OTRv${v}?`;
  return text ? `${tag} ${text}` : tag;
}

export interface WhitespaceTagResult {
  versions: number[];
  stripped: string;
}

/**
 * Find an OTR whitespace tag (base tag + one or more 8-character version tags). Returns the offered versions and
 * the text with the tag removed, or null when there is no tag.
 */
export function findWhitespaceTag(msg: string): WhitespaceTagResult | null {
  const at = msg.indexOf(WS_BASE);
  if (at < 0) return null;
  let i = at + WS_BASE.length;
  const versions: number[] = [];
  // Every 8-character run of spaces and tabs after the base is a version tag; unknown ones (an OTRv4 client sends
  // its own first) are skipped, as libotr, potr and otr3 do.
  while (i + 8 <= msg.length && isTagChunk(msg, i)) {
    const chunk = msg.slice(i, i + 8);
    if (chunk === WS_V1) {
      if (!versions.includes(1)) versions.push(1);
    } else if (chunk === WS_V2) {
      if (!versions.includes(2)) versions.push(2);
    } else if (chunk === WS_V3) {
      if (!versions.includes(3)) versions.push(3);
    }
    i += 8;
  }
  // A base tag with no version tag after it is not a valid tag; leave such text alone.
  if (versions.length === 0) return null;
  return { versions, stripped: msg.slice(0, at) + msg.slice(i) };
}

function isTagChunk(msg: string, at: number): boolean {
  for (let k = at; k < at + 8; k++) {
    const c = msg.charCodeAt(k);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

export function buildWhitespaceTag(allowV2: boolean, allowV3: boolean): string {
  return WS_BASE + (allowV2 ? WS_V2 : '') + (allowV3 ? WS_V3 : '');
}

/** The human-readable text of an Error Message, or null when `msg` is not one. */
export function parseErrorMessage(msg: string): string | null {
  const at = msg.indexOf(ERROR_PREFIX);
  if (at < 0) return null;
  return msg.slice(at + ERROR_PREFIX.length).trim();
}

export function buildErrorMessage(text: string): string {
  return `${ERROR_PREFIX} ${text}`;
}
