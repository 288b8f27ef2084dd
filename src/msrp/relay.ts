// RFC 4976 relay client: open a connection to our relay, AUTH with digest, learn the Use-Path. The session then
// sends everything over that connection, with the relay's URIs in front of its own path.
import { MsrpConnection } from './connection.js';
import { buildDigestAuthorization, parseDigestChallenge } from './digest.js';
import { MsrpAuthError, MsrpStatusError, MsrpTimeoutError } from './errors.js';
import { getHeader, splitPath, type MsrpHeader, type MsrpResponse } from './frame.js';
import type { MsrpParserLimits } from './parser.js';
import { serializeRequest } from './serializer.js';
import { formatMsrpUri, parseMsrpUri, type MsrpUri } from './uri.js';

export interface MsrpRelayConfig {
  /** The relay's URI, e.g. msrps://relay.example.org:2855;tcp (a session-id is optional). */
  readonly uri: string;
  readonly username: string;
  readonly password: string;
  /** Requested lifetime in seconds (sent as Expires); the relay may cap it. */
  readonly expires?: number;
  readonly timeoutMs?: number;
  /** A function: the options are built only when the relay connection is opened (trust stores can be costly). */
  readonly tls?: import('node:tls').ConnectionOptions | (() => import('node:tls').ConnectionOptions);
  readonly limits?: Partial<MsrpParserLimits>;
}

export interface MsrpRelayBinding {
  readonly connection: MsrpConnection;
  /** URIs to put before our own in a=path and before the peer's path in To-Path. */
  readonly usePath: readonly string[];
  readonly expires: number | null;
}

/**
 * Connects to the relay and authenticates (AUTH, 401 with a Digest challenge, AUTH with Authorization, 200 with
 * Use-Path). Rejects with MsrpAuthError / MsrpStatusError / MsrpTimeoutError and closes the connection on failure.
 */
export async function authenticateRelay(localUri: MsrpUri | string, cfg: MsrpRelayConfig): Promise<MsrpRelayBinding> {
  const relay = parseMsrpUri(cfg.uri);
  if (relay.port === null) throw new MsrpAuthError(`relay URI without a port: ${cfg.uri}`);
  const from = typeof localUri === 'string' ? localUri : formatMsrpUri(localUri);
  const relayUri = formatMsrpUri(relay);
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  const conn = await MsrpConnection.connect({
    host: relay.host,
    port: relay.port,
    secure: relay.scheme === 'msrps',
    timeoutMs,
    ...(cfg.tls ? { tls: typeof cfg.tls === 'function' ? cfg.tls() : cfg.tls } : {}),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
  });
  try {
    const auth = (extra: MsrpHeader[]): Promise<MsrpResponse> => {
      const headers: MsrpHeader[] = [...extra];
      if (cfg.expires !== undefined) headers.push(['Expires', String(cfg.expires)]);
      const { bytes, transactionId } = serializeRequest({
        method: 'AUTH',
        toPath: [relayUri],
        fromPath: [from],
        headers,
      });
      const answer = awaitResponse(conn, transactionId, timeoutMs);
      answer.catch(() => undefined); // a failed write below reports the error; this one must not go unhandled
      return conn.write(bytes).then(() => answer);
    };
    let resp = await auth([]);
    for (let attempt = 0; resp.status === 401 && attempt < 2; attempt++) {
      const www = getHeader(resp.headers, 'WWW-Authenticate');
      if (www === undefined) throw new MsrpAuthError('401 without WWW-Authenticate');
      const challenge = parseDigestChallenge(www);
      const authorization = buildDigestAuthorization(challenge, cfg, 'AUTH', relayUri);
      resp = await auth([['Authorization', authorization]]);
      // A second 401 is only worth another try when the nonce went stale.
      if (
        resp.status === 401 &&
        !parseDigestChallenge(getHeader(resp.headers, 'WWW-Authenticate') ?? 'Digest realm="",nonce=""').stale
      )
        break;
    }
    if (resp.status === 401) throw new MsrpAuthError('relay rejected our credentials');
    if (resp.status < 200 || resp.status >= 300) throw new MsrpStatusError(resp.status, resp.comment);
    const usePath = splitPath(getHeader(resp.headers, 'Use-Path'));
    if (usePath.length === 0) throw new MsrpAuthError('relay accepted AUTH without a Use-Path');
    for (const u of usePath) parseMsrpUri(u);
    const exp = getHeader(resp.headers, 'Expires');
    return { connection: conn, usePath, expires: exp !== undefined && /^\d+$/.test(exp) ? Number(exp) : null };
  } catch (e) {
    conn.close(`relay authentication failed: ${(e as Error).message}`);
    throw e;
  }
}

function awaitResponse(conn: MsrpConnection, transactionId: string, timeoutMs: number): Promise<MsrpResponse> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new MsrpTimeoutError(`relay did not answer AUTH within ${timeoutMs} ms`));
    }, timeoutMs);
    const onFrame = (f: import('./frame.js').MsrpFrame) => {
      if (f.kind !== 'response' || f.transactionId !== transactionId) return;
      done();
      resolve(f);
    };
    const onClose = (info: { reason: string }) => {
      done();
      reject(new MsrpAuthError(`relay connection closed during AUTH: ${info.reason}`));
    };
    const done = () => {
      clearTimeout(timer);
      conn.off('frame', onFrame);
      conn.off('close', onClose);
    };
    conn.on('frame', onFrame);
    conn.on('close', onClose);
  });
}
