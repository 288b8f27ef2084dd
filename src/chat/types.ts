// The contract between the chat core (src/chat) and its two front ends (src/ui, src/headless).
// The core owns all state; front ends read snapshots, subscribe to changes, and dispatch commands.
// Nothing in here may import from ui/ or headless/.

/** Encryption status of one message, and the lock shown for a session. */
export type Encryption = 'none' | 'unverified' | 'verified' | 'changed';
export type Trust = 'unverified' | 'verified' | 'changed';
export type SessionState = 'incoming' | 'connecting' | 'active' | 'ended';
export type OtrState = 'plaintext' | 'encrypted' | 'finished';
export type RegistrationState = 'none' | 'registering' | 'registered' | 'unregistered' | 'failed';
/**
 * An outgoing message: 'pending' on its way; 'delivered' the peer has it (and, with OTR, could read it);
 * 'resent' the peer could not read it and it went out again under new keys; 'failed' it did not arrive (or could
 * not be read) and will not be retried: `failReason` says why.
 */
export type Delivery = 'pending' | 'delivered' | 'resent' | 'failed';

export interface ChatLine {
  id: string;
  time: number; // ms since epoch
  kind: 'message' | 'system';
  direction?: 'in' | 'out';
  /** Display name of the sender (conference rooms show one per line). */
  sender?: string;
  text: string;
  encryption: Encryption;
  delivery?: Delivery;
  /** The message was re-sent once after the peer could not read it (stays true once delivered). */
  resent?: boolean;
  /** Why a 'failed' message failed. */
  failReason?: string;
  /** System lines about security events are 'warning' (shown red) or 'info'. */
  level?: 'info' | 'warning';
}

export interface SmpView {
  /** 'asked': the peer asked us (question may be set) and waits for our secret; 'waiting': we asked. */
  phase: 'asked' | 'waiting';
  question?: string;
  /** The check from the call (call-verification.ts): answered or declined by the client, not by the user. */
  fromCall?: true;
}

export interface OtrView {
  state: OtrState;
  /** Only meaningful when state is 'encrypted' or 'finished'. */
  trust: Trust | null;
  version: 2 | 3 | null;
  theirFingerprint: string | null; // 40 hex digits, upper case
  ourFingerprint: string; // 40 hex digits, upper case
  smp: SmpView | null;
  /** Why OTR is not used, when it is not (conference room, disabled for this contact, ...). */
  disabledReason?: string;
  /** Messages held back until encryption is up (always-OTR contact). */
  pending: number;
}

/** The audio stream of a session, as front ends show it. */
export type AudioState = 'proposed' | 'connecting' | 'active' | 'held' | 'ended';
export type AudioEncryptionView = 'none' | 'sdes' | 'zrtp';

/** ZRTP on the call (RFC 6189): what the header shows and the user reads aloud. */
export type ZrtpState = 'negotiating' | 'secure' | 'failed';
export type ZrtpCacheView = 'match' | 'new' | 'mismatch';
export interface ZrtpView {
  state: ZrtpState;
  /** The short authentication string as both sides read it (B32: 4 letters/digits, as ZRTP reports it). */
  sas: string | null;
  /** The same SAS as PGP words (B256 rendering), easier to read aloud over a bad line. */
  sasWords: string | null;
  /** Shown as verified: the cache says both sides confirmed it before, or our user confirmed it in this call. */
  verified: boolean;
  /** Our user's verdict in this call, if any (rejected: a red alarm until the call ends). */
  verdict: 'confirmed' | 'rejected' | null;
  cipher: string | null;
  cache: ZrtpCacheView | null;
  /** The peer's ZID (hex), for the verification view. */
  peerZid: string | null;
  reason?: string;
}

export interface AudioView {
  /** proposed: the peer offers audio and waits for /accept; connecting: our offer is out; held: either side holds. */
  state: AudioState;
  codec: string | null;
  encryption: AudioEncryptionView;
  /** We hold (nothing sent, nothing played) / the peer holds us (its offer was sendonly or inactive). */
  localHold: boolean;
  remoteHold: boolean;
  muted: boolean;
  /** When media started (epoch ms), for the duration. */
  since: number | null;
  /** 0..1 peak levels of the last moment, for the meters. */
  rxLevel: number;
  txLevel: number;
  rxPackets: number;
  lost: number;
  jitterMs: number;
  rttMs: number | null;
  reason?: string;
  /** ZRTP on this stream, once the SDP chose it (absent: SDES or no encryption). */
  zrtp?: ZrtpView;
}

export interface SessionView {
  id: string;
  /** Remote address of record, e.g. "bob@example.org" (no "sip:"). */
  peer: string;
  peerUri: string;
  displayName: string;
  state: SessionState;
  reason?: string;
  /** The remote Contact carries `isfocus`: a conference room (OTR never used). */
  isFocus: boolean;
  direction: 'in' | 'out';
  transport: string; // e.g. "msrp/tcp"
  otr: OtrView;
  /** The peer asked not to be logged, or logging is off for this contact. */
  loggingDisabled: boolean;
  remoteComposing: boolean;
  unread: number;
  lines: ChatLine[];
  /** The streams of the session, in m-line order ('chat' alone when absent: a chat session as before). */
  media?: MediaKind[];
  /** The session's audio, while it has (or was offered) one. */
  audio?: AudioView;
}

export type MediaKind = 'chat' | 'audio';

export interface AccountView {
  uri: string; // "sip:alice@127.0.0.1:5060"
  registration: RegistrationState;
  registrationError?: string;
  /** When the next REGISTER goes out after a failure (epoch ms). */
  registrationRetryAt?: number;
  transport: 'udp' | 'tcp' | 'tls';
  serverless: boolean;
}

export interface CoreState {
  account: AccountView;
  sessions: SessionView[];
  /** Global notices (errors not tied to a session, e.g. "trusted_peers line 7 could not be parsed"). */
  notices: ChatLine[];
}

/** Commands, one per user action; the same set the headless mode accepts (see README). */
export type CoreCommand =
  | { cmd: 'chat'; to: string }
  | { cmd: 'call'; to: string }
  | { cmd: 'audio'; session: string; action: 'add' | 'remove' | 'hold' | 'resume' | 'mute' | 'unmute' }
  | { cmd: 'dtmf'; session: string; digits: string }
  // The user's verdict on the call's ZRTP SAS: compared and equal (confirm) or different (reject).
  | { cmd: 'sas'; session: string; action: 'confirm' | 'reject' }
  | { cmd: 'accept'; session: string }
  | { cmd: 'reject'; session: string }
  | { cmd: 'hangup'; session: string }
  | { cmd: 'send'; session: string; text: string }
  | { cmd: 'composing'; session: string; active: boolean }
  | { cmd: 'otr'; session: string; action: 'start' | 'end' }
  | { cmd: 'smp'; session: string; secret: string; question?: string }
  | { cmd: 'smp_respond'; session: string; secret: string }
  | { cmd: 'smp_abort'; session: string }
  | { cmd: 'trust'; session: string }
  | { cmd: 'distrust'; session: string }
  | { cmd: 'genkey' }
  | { cmd: 'policy'; session?: string; value: 'always' | 'never' | 'default' }
  | { cmd: 'read'; session: string }
  // File transfers (README "File transfer"): to a chat's peer or a URI; plain: the user agreed to send it unencrypted.
  | { cmd: 'send_file'; session?: string; to?: string; path: string; plain?: boolean }
  | { cmd: 'accept_file'; transfer: string; dir?: string }
  | { cmd: 'reject_file'; transfer: string }
  | { cmd: 'cancel_file'; transfer: string }
  | { cmd: 'open_file'; transfer: string }
  | { cmd: 'quit' };

/** Events, as the headless mode prints them (one JSON object per line). */
export type CoreEvent =
  | { ev: 'ready'; uri: string }
  | { ev: 'registered' }
  | { ev: 'registration'; state: RegistrationState; error?: string; retryIn?: number }
  | { ev: 'incoming'; session: string; from: string; media?: MediaKind[] }
  | {
      ev: 'audio';
      session: string;
      state: AudioState;
      codec: string | null;
      encryption: AudioEncryptionView;
      reason?: string;
    }
  | { ev: 'audio_stats'; session: string; rx_packets: number; lost: number; jitter_ms: number; rtt_ms: number | null }
  | { ev: 'dtmf'; session: string; digit: string }
  | {
      ev: 'zrtp';
      session: string;
      state: ZrtpState;
      sas?: string;
      verified?: boolean;
      cipher?: string;
      cache?: ZrtpCacheView;
      reason?: string;
    }
  | { ev: 'session'; session: string; state: SessionState; reason?: string; to?: string; isfocus?: boolean }
  | {
      ev: 'otr';
      session: string;
      state: OtrState;
      fingerprint: string | null;
      trust: Trust | null;
      version?: number | null;
    }
  | {
      ev: 'message';
      session: string;
      direction: 'in' | 'out';
      text: string;
      encryption: Encryption;
      id?: string;
      sender?: string;
    }
  | { ev: 'delivery'; session: string; message: string; status: 'delivered' | 'resent' | 'failed'; reason?: string }
  | {
      ev: 'smp';
      session: string;
      result: 'asked' | 'success' | 'failure' | 'aborted';
      question?: string;
      /** The SMP from the call: the call's SAS checked against the chat's OTR key (src/chat/call-verification.ts). */
      from_call?: true;
    }
  | { ev: 'system'; session?: string; text: string; level: 'info' | 'warning' }
  | { ev: 'composing'; session: string; active: boolean }
  | {
      ev: 'file';
      transfer: string;
      /** The chat with the peer, when one is open. */
      session?: string;
      direction: 'in' | 'out';
      state: 'preparing' | 'offered' | 'progress' | 'done' | 'failed' | 'cancelled';
      name: string;
      /** MIME type, as offered. */
      type?: string;
      /** Plaintext size and bytes so far. */
      size: number;
      bytes: number;
      path?: string;
      encrypted: boolean;
      /** The lock of the conversation whose OTR key protects the file (encrypted only). */
      lock?: Encryption;
      reason?: string;
    }
  | { ev: 'error'; message: string; session?: string };

export interface Core {
  getState(): CoreState;
  /** Called after every state change; returns an unsubscribe function. */
  subscribe(listener: (state: CoreState) => void): () => void;
  /** Called for every event, in order. */
  onEvent(listener: (event: CoreEvent) => void): () => void;
  /** Runs a command; rejects with an Error whose message is fit to show to the user. */
  command(cmd: CoreCommand): Promise<void>;
}
