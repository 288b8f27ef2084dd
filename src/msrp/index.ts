// The MSRP layer's public face for the chat orchestrator: make a local session (listening or behind a relay),
// describe it in SDP, start it in the role COMEDIA picked, send, listen to events, close.
import type * as tls from 'node:tls';
import { newSessionId } from './ids.js';
import { MsrpListener } from './listener.js';
import { authenticateRelay, type MsrpRelayConfig } from './relay.js';
import { buildMsrpMedia, buildMsrpSdp, type MsrpSdpOptions, type SetupRole } from './sdp.js';
import { MsrpSession, type MsrpSessionOptions } from './session.js';
import { makeMsrpUri } from './uri.js';

export interface CreateMsrpSessionOptions
  extends Omit<MsrpSessionOptions, 'localUri' | 'relayPath' | 'relayConnection' | 'listener' | 'ownsListener'> {
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
    const s = new LocalMsrpSession({ ...base, localUri, relayPath: binding.usePath, relayConnection: binding.connection }, sdpDefaults);
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
    return new LocalMsrpSession({ ...base, localUri: makeMsrpUri(advertise, listener.port, sid, secure), listener, ownsListener: true }, sdpDefaults);
  } catch (e) {
    listener.close();
    throw e;
  }
}

export { MsrpSession } from './session.js';
export type {
  MsrpSessionOptions,
  MsrpSendOptions,
  MsrpIncomingMessage,
  MsrpReportEvent,
  MsrpDeliveryEvent,
  MsrpRejectedEvent,
  MsrpSessionEvents,
} from './session.js';
export { MsrpListener } from './listener.js';
export { MsrpConnection } from './connection.js';
export type { MsrpCloseInfo } from './connection.js';
export { authenticateRelay } from './relay.js';
export type { MsrpRelayConfig, MsrpRelayBinding } from './relay.js';
export { MsrpParser, DEFAULT_PARSER_LIMITS } from './parser.js';
export type { MsrpParserLimits } from './parser.js';
export { serializeRequest, serializeResponse, serializeSend, serializeReport } from './serializer.js';
export { getHeader, getHeaders, splitPath, parseByteRange, formatByteRange, parseStatusHeader } from './frame.js';
export type { MsrpFrame, MsrpRequest, MsrpResponse, MsrpHeader, EndFlag, ByteRange } from './frame.js';
export { parseMsrpUri, formatMsrpUri, makeMsrpUri, msrpUriEquals, sessionIdOf } from './uri.js';
export type { MsrpUri } from './uri.js';
export * from './errors.js';
export * from './sdp.js';
export * from './cpim.js';
export * from './iscomposing.js';
export { newMessageId, newSessionId, newTransactionId } from './ids.js';
export { decodeUtf8, encodeUtf8 } from './text.js';
