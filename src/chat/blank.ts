// Starting points shared by the core, the start-up rehearsal and the in-process tests: a new session's view, and
// trust kept in memory (for a session whose fingerprints must not reach trusted_peers).
import type { StoredTrust, TrustPort } from './session.js';
import type { SessionState, SessionView } from './types.js';

export function blankSessionView(v: {
  id: string;
  peer: string;
  peerUri?: string;
  displayName?: string;
  direction: 'in' | 'out';
  state?: SessionState;
  ourFingerprint?: string;
}): SessionView {
  return {
    id: v.id,
    peer: v.peer,
    peerUri: v.peerUri ?? `sip:${v.peer}`,
    displayName: v.displayName ?? v.peer,
    state: v.state ?? (v.direction === 'in' ? 'incoming' : 'connecting'),
    isFocus: false,
    direction: v.direction,
    transport: 'msrp/tcp',
    otr: {
      state: 'plaintext',
      trust: null,
      version: null,
      theirFingerprint: null,
      ourFingerprint: v.ourFingerprint ?? '',
      smp: null,
      pending: 0,
    },
    loggingDisabled: false,
    remoteComposing: false,
    unread: 0,
    lines: [],
  };
}

/** Trust that lives only as long as this object: every fingerprint is new and unverified until set. */
export function memoryTrust(): TrustPort {
  const trust = new Map<string, StoredTrust>();
  return {
    learn: (_uid, fp) => {
      const isNew = !trust.has(fp);
      if (isNew) trust.set(fp, '');
      return { isNew, changed: false };
    },
    trustOf: (_uid, fp) => trust.get(fp) ?? '',
    setTrust: (_uid, fp, t) => void trust.set(fp, t),
    fingerprints: () => [...trust].map(([fingerprint, t]) => ({ fingerprint, trust: t })),
  };
}
