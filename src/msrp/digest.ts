// HTTP Digest (RFC 2617 / RFC 7616 MD5 subset) as RFC 4976 uses it for AUTH. Pure.
import { createHash, randomBytes } from 'node:crypto';
import { MsrpAuthError } from './errors.js';

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  /** msrplib insists on it; Kamailio may leave it out. Echoed back when present. */
  readonly opaque: string | null;
  readonly qop: readonly string[];
  readonly algorithm: string;
  readonly stale: boolean;
}

/** Parses `Digest realm="x", nonce="y", qop="auth", opaque="z"` (quoted or token values, any order). */
export function parseDigestChallenge(header: string): DigestChallenge {
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) throw new MsrpAuthError(`not a Digest challenge: ${JSON.stringify(header.slice(0, 80))}`);
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const rest = m[1]!;
  let pm: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (pm = re.exec(rest)) !== null) {
    params.set(pm[1]!.toLowerCase(), pm[2] !== undefined ? pm[2].replace(/\\(.)/g, '$1') : pm[3]!);
  }
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined) throw new MsrpAuthError('Digest challenge without realm or nonce');
  const algorithm = params.get('algorithm') ?? 'MD5';
  if (!/^MD5(-sess)?$/i.test(algorithm)) throw new MsrpAuthError(`unsupported digest algorithm ${algorithm}`);
  return {
    realm,
    nonce,
    opaque: params.get('opaque') ?? null,
    qop: (params.get('qop') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    algorithm,
    stale: (params.get('stale') ?? '').toLowerCase() === 'true',
  };
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

function quote(s: string): string {
  if (/[\r\n]/.test(s)) throw new MsrpAuthError('digest parameter with a line break');
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

/** Computes the response hash (exposed for test vectors). */
export function digestResponse(o: {
  username: string;
  password: string;
  realm: string;
  method: string;
  uri: string;
  nonce: string;
  algorithm?: string;
  qop?: string | null;
  nc?: string;
  cnonce?: string;
}): string {
  let ha1 = md5(`${o.username}:${o.realm}:${o.password}`);
  if ((o.algorithm ?? 'MD5').toLowerCase() === 'md5-sess') ha1 = md5(`${ha1}:${o.nonce}:${o.cnonce ?? ''}`);
  const ha2 = md5(`${o.method}:${o.uri}`);
  return o.qop ? md5(`${ha1}:${o.nonce}:${o.nc}:${o.cnonce}:${o.qop}:${ha2}`) : md5(`${ha1}:${o.nonce}:${ha2}`);
}

/** The Authorization header value answering `challenge` for `method` on `uri`. */
export function buildDigestAuthorization(
  challenge: DigestChallenge,
  creds: DigestCredentials,
  method: string,
  uri: string,
  opts: { cnonce?: string; nc?: number } = {},
): string {
  const qop = challenge.qop.includes('auth') ? 'auth' : null;
  if (challenge.qop.length > 0 && qop === null) throw new MsrpAuthError(`unsupported qop ${challenge.qop.join(',')}`);
  const cnonce = opts.cnonce ?? randomBytes(8).toString('hex');
  const nc = (opts.nc ?? 1).toString(16).padStart(8, '0');
  const response = digestResponse({
    ...creds,
    realm: challenge.realm,
    method,
    uri,
    nonce: challenge.nonce,
    algorithm: challenge.algorithm,
    qop,
    nc,
    cnonce,
  });
  const parts = [
    `username=${quote(creds.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (qop) parts.push(`qop=${qop}`, `cnonce=${quote(cnonce)}`, `nc=${nc}`);
  if (challenge.opaque !== null) parts.push(`opaque=${quote(challenge.opaque)}`);
  return 'Digest ' + parts.join(', ');
}
