// RFC 3994 is-composing indications (application/im-iscomposing+xml). A tiny, strict-enough reader: no XML
// library, no entity expansion, bounded input.
import { MsrpCpimError } from './errors.js';

export const ISCOMPOSING_CONTENT_TYPE = 'application/im-iscomposing+xml';

export interface IsComposing {
  readonly state: 'active' | 'idle';
  /** Seconds until an 'active' state expires if not refreshed (RFC 3994 recommends 120, minimum 60). */
  readonly refresh: number | null;
  /** The kind of content being composed, e.g. "text/plain". */
  readonly contentType: string | null;
  readonly lastActive: Date | null;
}

export class IsComposingError extends MsrpCpimError {
  override readonly name = 'IsComposingError';
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function xmlUnescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

export function buildIsComposing(ic: {
  state: 'active' | 'idle';
  refresh?: number | null;
  contentType?: string | null;
  lastActive?: Date | null;
}): Uint8Array {
  let xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n' +
    `  <state>${ic.state}</state>\n`;
  if (ic.lastActive) xml += `  <lastactive>${ic.lastActive.toISOString()}</lastactive>\n`;
  if (ic.contentType) xml += `  <contenttype>${xmlEscape(ic.contentType)}</contenttype>\n`;
  if (ic.refresh !== undefined && ic.refresh !== null) {
    if (!Number.isInteger(ic.refresh) || ic.refresh < 1) throw new RangeError('refresh must be a positive integer');
    xml += `  <refresh>${ic.refresh}</refresh>\n`;
  }
  xml += '</isComposing>\n';
  return new TextEncoder().encode(xml);
}

const MAX_DOC = 16 * 1024;

export function parseIsComposing(data: Uint8Array | string): IsComposing {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  if (text.length > MAX_DOC) throw new IsComposingError('is-composing document too large');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new IsComposingError('is-composing document with a DTD');
  const root = /<(?:([A-Za-z_][\w.-]*):)?isComposing[\s>]/.exec(text);
  if (!root) throw new IsComposingError('not an isComposing document');
  const p = root[1] ? root[1] + ':' : '';
  const field = (name: string): string | null => {
    const m = new RegExp(`<${p}${name}\\s*>([^<]*)</${p}${name}\\s*>`).exec(text);
    return m ? xmlUnescape(m[1]!.trim()) : null;
  };
  const state = field('state');
  if (state !== 'active' && state !== 'idle')
    throw new IsComposingError(`bad is-composing state ${JSON.stringify(state)}`);
  const refreshText = field('refresh');
  let refresh: number | null = null;
  if (refreshText !== null) {
    if (!/^\d{1,9}$/.test(refreshText)) throw new IsComposingError(`bad refresh ${JSON.stringify(refreshText)}`);
    refresh = Number(refreshText);
  }
  const la = field('lastactive');
  const lastActive = la === null ? null : new Date(la);
  return {
    state,
    refresh,
    contentType: field('contenttype'),
    lastActive: lastActive && !Number.isNaN(lastActive.getTime()) ? lastActive : null,
  };
}
