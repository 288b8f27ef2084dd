// How encryption and trust are shown: one place decides the marker, word and colour of every lock, so the
// session list, the chat header, each message and the tab bar can never disagree.
import type { Encryption, SessionView } from '../chat/types.js';

/** What a session's lock shows. 'finished': the peer ended OTR and sending is blocked until /otr init or finish. */
export type Lock = 'none' | 'unverified' | 'verified' | 'changed' | 'finished' | 'conf';

export const LOCK_COLOR: Record<Lock, string | undefined> = {
  none: undefined,
  unverified: 'yellow',
  verified: 'green',
  changed: 'red',
  finished: 'yellow',
  conf: 'cyan',
};

/** Markers survive NO_COLOR: the state is readable from the text alone. */
export const LOCK_MARKER: Record<Lock, string> = {
  none: '',
  unverified: '[U]',
  verified: '[V]',
  changed: '[!]',
  finished: '[-]',
  conf: 'conf',
};

/** One-letter form for the tab bar. */
export const LOCK_LETTER: Record<Lock, string> = {
  none: '',
  unverified: 'U',
  verified: 'V',
  changed: '!',
  finished: '-',
  conf: 'conf',
};

export const LOCK_WORD: Record<Lock, string> = {
  none: 'plaintext',
  unverified: 'OTR unverified',
  verified: 'OTR verified',
  changed: 'OTR KEY CHANGED',
  finished: 'OTR finished by peer',
  conf: 'conference',
};

export function sessionLock(s: SessionView): Lock {
  if (s.isFocus) return 'conf';
  // A changed key stays loud even if OTR has since dropped: the user must verify again.
  if (s.otr.trust === 'changed') return 'changed';
  if (s.otr.state === 'encrypted') return s.otr.trust === 'verified' ? 'verified' : 'unverified';
  if (s.otr.state === 'finished') return 'finished';
  return 'none';
}

export function messageLock(e: Encryption): Lock {
  return e;
}
