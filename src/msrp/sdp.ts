// The MSRP part of SDP (RFC 4975 section 8, RFC 6135 COMEDIA). Pure string helpers; the SIP layer owns the
// offer/answer exchange itself.
import { createHash } from 'node:crypto';
import { addressType } from '../sdp/sdp.js';
import { MsrpSdpError } from './errors.js';
import { parseMsrpUri } from './uri.js';

export type SetupRole = 'active' | 'passive' | 'actpass';

export const DEFAULT_ACCEPT_TYPES = ['message/cpim', 'text/plain', 'application/im-iscomposing+xml'] as const;
export const DEFAULT_ACCEPT_WRAPPED_TYPES = ['text/plain', 'application/im-iscomposing+xml'] as const;

export interface MsrpSdpOptions {
  /** Address for c= and o=; defaults to the host of the last path URI. */
  readonly host?: string;
  /** Our a=path, relays first, our own URI last. */
  readonly path: readonly string[];
  readonly setup: SetupRole;
  readonly acceptTypes?: readonly string[];
  readonly acceptWrappedTypes?: readonly string[];
  /** Values of a=blink-features, e.g. ["history-control"]. */
  readonly blinkFeatures?: readonly string[];
  readonly maxSize?: number;
  readonly originUser?: string;
  readonly sessionId?: string;
  readonly sessionVersion?: number;
  readonly sessionName?: string;
  /** a=fingerprint value for a TLS session (RFC 4975 14.4, RFC 4572), e.g. "SHA-256 AB:CD:..". */
  readonly fingerprint?: string;
  /** More media-level attribute lines, without "a=" (RFC 5547's direction, file-selector...), in order. */
  readonly extraAttributes?: readonly string[];
}

function checkToken(v: string, what: string): string {
  if (/[\r\n]/.test(v) || v.trim() === '') throw new MsrpSdpError(`bad ${what} ${JSON.stringify(v)}`);
  return v;
}

/** The m=message section alone (m=, c=, a= lines), CRLF terminated, for a caller assembling its own SDP. */
export function buildMsrpMedia(o: MsrpSdpOptions): string {
  if (o.path.length === 0) throw new MsrpSdpError('empty a=path');
  const own = parseMsrpUri(o.path[o.path.length - 1]!);
  const first = parseMsrpUri(o.path[0]!);
  // With a relay the m-line carries the first hop, the one the peer actually connects to.
  const port = first.port ?? 2855;
  const host = o.host ?? own.host;
  const proto = first.scheme === 'msrps' ? 'TCP/TLS/MSRP' : 'TCP/MSRP';
  const lines = [
    `m=message ${port} ${proto} *`,
    `c=IN ${addressType(host)} ${checkToken(host, 'host')}`,
    `a=path:${o.path.map((p) => checkToken(p, 'path')).join(' ')}`,
    `a=accept-types:${(o.acceptTypes ?? DEFAULT_ACCEPT_TYPES).map((t) => checkToken(t, 'type')).join(' ')}`,
  ];
  const wrapped = o.acceptWrappedTypes ?? DEFAULT_ACCEPT_WRAPPED_TYPES;
  if (wrapped.length > 0) lines.push(`a=accept-wrapped-types:${wrapped.map((t) => checkToken(t, 'type')).join(' ')}`);
  if (o.maxSize !== undefined) lines.push(`a=max-size:${o.maxSize}`);
  lines.push(`a=setup:${o.setup}`);
  if (o.blinkFeatures && o.blinkFeatures.length > 0)
    lines.push(`a=blink-features:${o.blinkFeatures.map((f) => checkToken(f, 'feature')).join(' ')}`);
  if (o.fingerprint !== undefined) lines.push(`a=fingerprint:${checkToken(o.fingerprint, 'fingerprint')}`);
  for (const a of o.extraAttributes ?? []) lines.push(`a=${checkToken(a, 'attribute')}`);
  return lines.join('\r\n') + '\r\n';
}

/** A complete SDP body with one MSRP media section. */
export function buildMsrpSdp(o: MsrpSdpOptions): string {
  const own = parseMsrpUri(o.path[o.path.length - 1] ?? '');
  const host = o.host ?? own.host;
  const sid = o.sessionId ?? String(Math.floor(Date.now() / 1000));
  const head = [
    'v=0',
    `o=${checkToken(o.originUser ?? '-', 'user').replace(/\s/g, '')} ${sid} ${o.sessionVersion ?? 1} IN ${addressType(host)} ${host}`,
    `s=${o.sessionName ?? 'blink-tui'}`,
    `c=IN ${addressType(host)} ${host}`,
    't=0 0',
  ];
  // The session-level c= line covers the media; drop the media-level duplicate.
  const media = buildMsrpMedia({ ...o, host }).replace(/^c=.*\r\n/m, '');
  return head.join('\r\n') + '\r\n' + media;
}

export interface MsrpMediaDescription {
  readonly host: string | null;
  readonly port: number;
  readonly protocol: string;
  readonly secure: boolean;
  readonly path: readonly string[];
  readonly acceptTypes: readonly string[];
  readonly acceptWrappedTypes: readonly string[];
  /** a=setup; null when absent or holdconn (RFC 6135: treat holdconn as absent). */
  readonly setup: SetupRole | null;
  /** a=blink-features values. */
  readonly features: readonly string[];
  readonly maxSize: number | null;
  /** sendrecv / sendonly / recvonly / inactive if given. */
  readonly direction: string | null;
  /** a=fingerprint (media level, else session level): the certificate the peer will present over TLS. */
  readonly fingerprint: SdpFingerprint | null;
}

export interface SdpFingerprint {
  /** Hash function name as written, e.g. "SHA-256". */
  readonly hash: string;
  /** Hex bytes, colon-separated as written. */
  readonly value: string;
}

const FINGERPRINT_RE = /^([A-Za-z0-9-]+)\s+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)$/;
const FINGERPRINT_HASHES: Record<string, string> = {
  'sha-1': 'sha1',
  'sha-224': 'sha224',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** "SHA-256 AB:CD:..." for a DER certificate: our own a=fingerprint. */
export function certificateFingerprint(der: Uint8Array): string {
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return `SHA-256 ${hex.match(/../g)!.join(':')}`;
}

/**
 * Does the DER certificate the peer presented hash to its a=fingerprint? False for a hash function we do not
 * know (RFC 4572 also allows md5/md2: refused rather than trusted).
 */
export function fingerprintMatches(fp: SdpFingerprint, der: Uint8Array): boolean {
  const alg = FINGERPRINT_HASHES[fp.hash.toLowerCase()];
  if (alg === undefined) return false;
  return createHash(alg).update(der).digest('hex') === fp.value.replace(/:/g, '').toLowerCase();
}

function parseFingerprint(v: string | undefined): SdpFingerprint | null {
  const m = v === undefined ? null : FINGERPRINT_RE.exec(v.trim());
  return m ? { hash: m[1]!, value: m[2]! } : null;
}

/** Reads the first m=message section of an SDP body. Throws MsrpSdpError when there is none or it lacks a=path. */
export function parseMsrpSdp(sdp: string): MsrpMediaDescription {
  if (sdp.length > 64 * 1024) throw new MsrpSdpError('SDP too large');
  const lines = sdp
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  let sessionHost: string | null = null;
  let sessionFingerprint: string | undefined;
  let i = 0;
  for (; i < lines.length && !lines[i]!.startsWith('m='); i++) {
    const c = /^c=IN IP[46] (\S+)/.exec(lines[i]!);
    if (c) sessionHost = c[1]!;
    const f = /^a=fingerprint:(.*)$/i.exec(lines[i]!);
    if (f) sessionFingerprint ??= f[1]!;
  }
  let m: RegExpExecArray | null = null;
  for (; i < lines.length; i++) {
    m = /^m=message (\d+)(?:\/\d+)? (\S+) /.exec(lines[i]! + ' ');
    if (m) break;
  }
  if (!m) throw new MsrpSdpError('no m=message section in SDP');
  const port = Number(m[1]);
  const protocol = m[2]!;
  let host = sessionHost;
  const attrs = new Map<string, string[]>();
  for (i++; i < lines.length && !lines[i]!.startsWith('m='); i++) {
    const line = lines[i]!;
    const c = /^c=IN IP[46] (\S+)/.exec(line);
    if (c) host = c[1]!;
    const a = /^a=([^:]+)(?::(.*))?$/.exec(line);
    if (a) {
      const list = attrs.get(a[1]!.toLowerCase()) ?? [];
      list.push((a[2] ?? '').trim());
      attrs.set(a[1]!.toLowerCase(), list);
    }
  }
  const words = (name: string) => (attrs.get(name) ?? []).flatMap((v) => v.split(/\s+/)).filter((w) => w !== '');
  const path = words('path');
  if (path.length === 0) throw new MsrpSdpError('MSRP media without a=path');
  for (const p of path) {
    try {
      parseMsrpUri(p);
    } catch (e) {
      throw new MsrpSdpError(`bad a=path URI: ${(e as Error).message}`);
    }
  }
  const setupText = attrs.get('setup')?.[0]?.toLowerCase() ?? null;
  const setup = setupText === 'active' || setupText === 'passive' || setupText === 'actpass' ? setupText : null;
  const maxSizeText = attrs.get('max-size')?.[0];
  const direction = ['sendrecv', 'sendonly', 'recvonly', 'inactive'].find((d) => attrs.has(d)) ?? null;
  return {
    host,
    port,
    protocol,
    secure: /TLS/i.test(protocol),
    path,
    acceptTypes: words('accept-types'),
    acceptWrappedTypes: words('accept-wrapped-types'),
    setup,
    features: words('blink-features'),
    maxSize: maxSizeText !== undefined && /^\d+$/.test(maxSizeText) ? Number(maxSizeText) : null,
    direction,
    fingerprint: parseFingerprint(attrs.get('fingerprint')?.[0] ?? sessionFingerprint),
  };
}

function bareType(t: string): string {
  return t.split(';')[0]!.trim().toLowerCase();
}

/** Does a list of accept-types (with "*" and "type/*" wildcards) cover this content type? */
export function typeAccepted(acceptList: readonly string[], contentType: string): boolean {
  const [type, sub] = bareType(contentType).split('/');
  return acceptList.some((pat) => {
    const p = bareType(pat);
    if (p === '*') return true;
    const [pt, ps] = p.split('/');
    return pt === type && (ps === '*' || ps === sub);
  });
}

/**
 * Would the peer take `contentType`, either directly or (when `wrapped`) inside message/cpim?
 * Per RFC 4975 8.6 a type listed only in accept-wrapped-types must come wrapped. Deliberately lenient: a peer
 * that accepts message/cpim and lists no wrapped types at all (SylkServer rooms) is taken to accept any
 * wrapped type, since that is how those servers behave.
 */
export function peerAccepts(
  media: Pick<MsrpMediaDescription, 'acceptTypes' | 'acceptWrappedTypes'>,
  contentType: string,
  wrapped = false,
): boolean {
  if (!wrapped) return typeAccepted(media.acceptTypes, contentType);
  if (!typeAccepted(media.acceptTypes, 'message/cpim')) return false;
  if (media.acceptWrappedTypes.length === 0) return true;
  return typeAccepted(media.acceptWrappedTypes, contentType) || typeAccepted(media.acceptTypes, contentType);
}

/** Whether to wrap our messages in CPIM: both sides list message/cpim (Blink's rule). */
export function shouldUseCpim(
  localAcceptTypes: readonly string[],
  remote: Pick<MsrpMediaDescription, 'acceptTypes'>,
): boolean {
  return typeAccepted(localAcceptTypes, 'message/cpim') && typeAccepted(remote.acceptTypes, 'message/cpim');
}

/**
 * RFC 6135 connection role. As offerer (we offered actpass), the answer's a=setup decides; an answer without one
 * follows RFC 4975, where the offerer connects. As answerer, we answer an actpass offer with `prefer`
 * (default active: it works from behind a NAT), and mirror active/passive; an offer without a=setup is an
 * RFC 4975 peer that will connect to us.
 */
export function negotiateSetup(
  role: 'offerer' | 'answerer',
  remoteSetup: SetupRole | null,
  prefer: 'active' | 'passive' = 'active',
): { local: 'active' | 'passive'; answer: 'active' | 'passive' | null } {
  if (role === 'offerer') {
    if (remoteSetup === 'active') return { local: 'passive', answer: null };
    return { local: 'active', answer: null };
  }
  if (remoteSetup === 'actpass') return { local: prefer, answer: prefer };
  if (remoteSetup === 'active') return { local: 'passive', answer: 'passive' };
  if (remoteSetup === 'passive') return { local: 'active', answer: 'active' };
  return { local: 'passive', answer: 'passive' };
}
