// The MSRP layer's public face for the chat orchestrator: make a local session (listening or behind a relay),
// describe it in SDP, start it in the role COMEDIA picked, send, listen to events, close.
import type * as tls from 'node:tls';
import { newSessionId } from './ids.js';
import { MsrpListener } from './listener.js';
import { authenticateRelay, type MsrpRelayConfig } from './relay.js';
import { buildMsrpMedia, buildMsrpSdp, type MsrpSdpOptions, type SetupRole } from './sdp.js';
import { MsrpSession, type MsrpSessionOptions } from './session.js';
import { makeMsrpUri } from './uri.js';

export interface CreateMsrpSessionOptions extends Omit<
  MsrpSessionOptions,
  'localUri' | 'relayPath' | 'relayConnection' | 'listener' | 'ownsListener'
> {
  /** Address to listen on and to advertise. Default 127.0.0.1. */
  readonly host?: string;
  /** Address written into a=path and c= when it differs from the bind address. */
  readonly advertiseHost?: string;
  /** Listening port; default 0 (any). */
  readonly port?: number;
  /** TLS server options: the session is msrps and listens with TLS. */
  readonly tls?: tls.TlsOptions;
  /** Use an RFC 4976 relay: AUTH first, then everything goes over the relay connection (no listener). */
  readonly relay?: MsrpRelayConfig;
  readonly acceptTypes?: readonly string[];
  readonly acceptWrappedTypes?: readonly string[];
  readonly blinkFeatures?: readonly string[];
}

/** An MsrpSession that knows how to describe itself in SDP. */
export class LocalMsrpSession extends MsrpSession {
  /**
   * Behind a relay: when its AUTH runs out (epoch ms), if it said (Expires in its 200). After that the relay drops
   * what we send; a new AUTH yields a new path, which the peer must learn (re-INVITE).
   */
  relayExpiresAt: number | null = null;

  constructor(
    options: MsrpSessionOptions,
    private readonly sdpDefaults: Omit<MsrpSdpOptions, 'path' | 'setup'>,
  ) {
    super(options);
  }

  /** A complete SDP offer/answer body for this session. */
  sdp(setup: SetupRole, overrides: Partial<Omit<MsrpSdpOptions, 'path' | 'setup'>> = {}): string {
    return buildMsrpSdp({ ...this.sdpDefaults, ...overrides, path: this.localPath, setup });
  }

  /** Only the m=message section, for a caller that assembles its own SDP. */
  media(setup: SetupRole, overrides: Partial<Omit<MsrpSdpOptions, 'path' | 'setup'>> = {}): string {
    return buildMsrpMedia({ ...this.sdpDefaults, ...overrides, path: this.localPath, setup });
  }
}

/**
 * Creates a session with a fresh random session id. Without a relay it listens (127.0.0.1:0 unless told) so it
 * can be passive; the listener is closed with the session. With a relay it authenticates first.
 */
export async function createMsrpSession(opts: CreateMsrpSessionOptions = {}): Promise<LocalMsrpSession> {
  const host = opts.host ?? '127.0.0.1';
  const advertise = opts.advertiseHost ?? host;
  const secure = opts.tls !== undefined;
  const sdpDefaults = {
    host: advertise,
    ...(opts.acceptTypes ? { acceptTypes: opts.acceptTypes } : {}),
    ...(opts.acceptWrappedTypes ? { acceptWrappedTypes: opts.acceptWrappedTypes } : {}),
    ...(opts.blinkFeatures ? { blinkFeatures: opts.blinkFeatures } : {}),
  };
  const base: Omit<MsrpSessionOptions, 'localUri'> = {
    ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
    ...(opts.maxMessageSize !== undefined ? { maxMessageSize: opts.maxMessageSize } : {}),
    ...(opts.maxPendingBytes !== undefined ? { maxPendingBytes: opts.maxPendingBytes } : {}),
    ...(opts.transactionTimeoutMs !== undefined ? { transactionTimeoutMs: opts.transactionTimeoutMs } : {}),
    ...(opts.reportTimeoutMs !== undefined ? { reportTimeoutMs: opts.reportTimeoutMs } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  const sid = newSessionId();
  if (opts.relay) {
    // Behind a relay nobody connects to us directly; port 9 marks the URI as not a listening address (RFC 4145).
    const localUri = makeMsrpUri(advertise, 9, sid, secure);
    const binding = await authenticateRelay(localUri, opts.relay);
    const s = new LocalMsrpSession(
      { ...base, localUri, relayPath: binding.usePath, relayConnection: binding.connection },
      sdpDefaults,
    );
    if (binding.expires !== null) s.relayExpiresAt = Date.now() + binding.expires * 1000;
    return s;
  }
  const listener = await MsrpListener.listen({
    host,
    port: opts.port ?? 0,
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  // Our offer says actpass: the peer may connect before we have read its answer.
  listener.reserve(sid);
  try {
    return new LocalMsrpSession(
      { ...base, localUri: makeMsrpUri(advertise, listener.port, sid, secure), listener, ownsListener: true },
      sdpDefaults,
    );
  } catch (e) {
    listener.close();
    throw e;
  }
}

// The session: what arrives, how it closes, a relay to reach the peer through.
export type { MsrpIncomingMessage } from './session.js';
export { MsrpClosedError } from './errors.js';
export type { MsrpRelayConfig } from './relay.js';
// SDP (RFC 4975, RFC 6135 setup, RFC 4572 fingerprints): read the peer's description, pick roles and formats.
export {
  DEFAULT_ACCEPT_TYPES,
  certificateFingerprint,
  fingerprintMatches,
  negotiateSetup,
  parseMsrpSdp,
  peerAccepts,
  shouldUseCpim,
} from './sdp.js';
export type { MsrpMediaDescription } from './sdp.js';
// Message bodies: CPIM wrapping (RFC 3862), is-composing (RFC 3994), UTF-8 text.
export { cpimText, decodeCpim, encodeCpim, isSylkStatusMessage } from './cpim.js';
export { buildIsComposing, parseIsComposing } from './iscomposing.js';
export { decodeUtf8, encodeUtf8 } from './text.js';
// RFC 5547 file transfer: the file attributes of an offer, and file data streamed over a session.
export { buildFileSelector, formatSha1, isFileOffer, parseFileAttributes, parseFileSelector } from './file-selector.js';
export type { FileAttributes, FileSelector } from './file-selector.js';
export { FILE_CHUNK_SIZE, queryFileOffset, receiveFileStream, sendFileStream } from './file-stream.js';
export { releaseBody, trimBodyPool } from './parser.js';
export type { FileSink, FileSource } from './file-stream.js';
export type { MsrpSession } from './session.js';
