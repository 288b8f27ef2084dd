// MSRP URIs (RFC 4975 section 6): msrp[s]://[user@]host[:port][/session-id];transport[;param...]
import { isIPv6 } from 'node:net';
import { MsrpUriError } from './errors.js';

export interface MsrpUri {
  readonly scheme: 'msrp' | 'msrps';
  readonly user: string | null;
  /** Host as written; IPv6 without brackets. */
  readonly host: string;
  readonly port: number | null;
  readonly sessionId: string | null;
  readonly transport: string;
  readonly params: ReadonlyArray<readonly [string, string | null]>;
}

const SESSION_ID_RE = /^[A-Za-z0-9\-._~+=/%]+$/;
const TOKEN_RE = /^[!#-'*+\-.0-9A-Z^-~]+$/;

export function parseMsrpUri(text: string): MsrpUri {
  const m = /^(msrps?):\/\/([^/;]+)(?:\/([^;]*))?;(.+)$/i.exec(text.trim());
  if (!m) throw new MsrpUriError(`not an MSRP URI: ${JSON.stringify(text.slice(0, 120))}`);
  const scheme = m[1]!.toLowerCase() as 'msrp' | 'msrps';
  let authority = m[2]!;
  let user: string | null = null;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    user = authority.slice(0, at);
    authority = authority.slice(at + 1);
  }
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new MsrpUriError(`bad IPv6 host in ${text}`);
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new MsrpUriError(`bad authority in ${text}`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon >= 0 ? authority.slice(0, colon) : authority;
    portText = colon >= 0 ? authority.slice(colon + 1) : undefined;
  }
  if (host === '' || /[\s<>"]/.test(host)) throw new MsrpUriError(`bad host in ${text}`);
  let port: number | null = null;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new MsrpUriError(`bad port in ${text}`);
    port = Number(portText);
  }
  const sessionId = m[3] === undefined ? null : m[3];
  if (sessionId !== null && !SESSION_ID_RE.test(sessionId)) throw new MsrpUriError(`bad session-id in ${text}`);
  const [transport, ...rawParams] = m[4]!.split(';');
  if (!transport || !/^[A-Za-z0-9]+$/.test(transport)) throw new MsrpUriError(`bad transport in ${text}`);
  const params = rawParams.map((p): readonly [string, string | null] => {
    const eq = p.indexOf('=');
    const name = eq >= 0 ? p.slice(0, eq) : p;
    const value = eq >= 0 ? p.slice(eq + 1) : null;
    if (!TOKEN_RE.test(name) || (value !== null && !TOKEN_RE.test(value)))
      throw new MsrpUriError(`bad URI parameter in ${text}`);
    return [name, value];
  });
  return { scheme, user, host, port, sessionId, transport, params };
}

export function formatMsrpUri(u: MsrpUri): string {
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  let s = `${u.scheme}://${u.user !== null ? u.user + '@' : ''}${host}${u.port !== null ? ':' + u.port : ''}`;
  if (u.sessionId !== null) s += '/' + u.sessionId;
  s += ';' + u.transport;
  for (const [n, v] of u.params) s += ';' + n + (v !== null ? '=' + v : '');
  return s;
}

export function makeMsrpUri(host: string, port: number, sessionId: string, secure = false): MsrpUri {
  return { scheme: secure ? 'msrps' : 'msrp', user: null, host, port, sessionId, transport: 'tcp', params: [] };
}

/**
 * The authority's host as compared by RFC 4975 6.1: percent-decoded, case-insensitive, and an IPv6 literal by
 * address (so ::1 equals 0:0:0:0:0:0:0:1). Userinfo is not part of it.
 */
function comparableHost(h: string): string {
  let host: string;
  try {
    host = decodeURIComponent(h).toLowerCase();
  } catch {
    host = h.toLowerCase();
  }
  if (isIPv6(host)) {
    // The WHATWG URL parser writes IPv6 addresses in their one canonical form (RFC 5952).
    try {
      return new URL(`http://[${host}]/`).hostname;
    } catch {
      return host;
    }
  }
  return host;
}

/**
 * RFC 4975 6.1: scheme (case-insensitive), host (case-insensitive, percent-decoded, IP literals by address),
 * port (an explicit port never equals a missing one), session-id (case-sensitive; missing never equals present)
 * and transport (case-insensitive); userinfo and other parameters are ignored.
 */
export function msrpUriEquals(a: MsrpUri | string, b: MsrpUri | string): boolean {
  let x: MsrpUri;
  let y: MsrpUri;
  try {
    x = typeof a === 'string' ? parseMsrpUri(a) : a;
    y = typeof b === 'string' ? parseMsrpUri(b) : b;
  } catch {
    return false;
  }
  return (
    x.scheme.toLowerCase() === y.scheme.toLowerCase() &&
    x.port === y.port &&
    x.sessionId === y.sessionId &&
    x.transport.toLowerCase() === y.transport.toLowerCase() &&
    comparableHost(x.host) === comparableHost(y.host)
  );
}

/** Session id of a URI string, or null if it has none or is not an MSRP URI. */
export function sessionIdOf(uri: string | undefined): string | null {
  if (uri === undefined) return null;
  try {
    return parseMsrpUri(uri).sessionId;
  } catch {
    return null;
  }
}
