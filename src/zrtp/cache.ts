// The retained-secret cache, pure (RFC 6189 §4.3, §4.6.1, §4.9): what one record holds, the port a store
// implements (the file-backed one is src/chat-storage/zrtp-cache.ts), and the matching rule that decides s1 and the
// "cache mismatch" alarm.
import type { HashAlgo } from './algorithms.js';
import { constantTimeEqual, toHex } from '../bytes/bytes.js';
import { secretId } from './keys.js';

export interface ZidRecord {
  /** The newest retained secret (32 bytes) and the one before it (§4.6.1). */
  rs1?: Uint8Array;
  rs2?: Uint8Array;
  /** The user compared the SAS with this peer (the V flag we send). */
  verified: boolean;
  /** When we last completed a run with this ZID (ms since the epoch). */
  lastSeen: number;
  /** The remote SIP identity of the last run, for the UI. */
  peerIdentity?: string;
}

/** Where records live. Synchronous: the engine is sans-IO and a file store writes in well under a millisecond. */
export interface ZidCachePort {
  load(zid: Uint8Array): ZidRecord | undefined;
  save(zid: Uint8Array, record: ZidRecord): void;
}

/** An in-memory store (tests, and a session that must not persist anything). */
export class MemoryZidCache implements ZidCachePort {
  private readonly records = new Map<string, ZidRecord>();
  load(zid: Uint8Array): ZidRecord | undefined {
    const r = this.records.get(toHex(zid));
    return r && { ...r };
  }
  save(zid: Uint8Array, record: ZidRecord): void {
    this.records.set(toHex(zid), { ...record });
  }
}

export type CacheResult = 'match' | 'new' | 'mismatch';

/**
 * §4.3.2: each side checks its own rs1, then its own rs2, against the two IDs the peer sent (computed with the
 * peer's role label). The first local secret that matches becomes s1. Having no secret at all is 'new' (no alarm:
 * first call, or a peer that forgot us is told by its own side); having one that matches nothing is 'mismatch',
 * the warning the RFC requires (a MiTM, or a peer that lost its cache).
 */
export function matchRetainedSecret(
  algo: HashAlgo,
  record: ZidRecord | undefined,
  peerRole: 'Initiator' | 'Responder',
  peerRs1Id: Uint8Array,
  peerRs2Id: Uint8Array,
): { result: CacheResult; s1?: Uint8Array } {
  const mine = [record?.rs1, record?.rs2].filter((s): s is Uint8Array => s !== undefined);
  if (mine.length === 0) return { result: 'new' };
  for (const s of mine) {
    const id = secretId(algo, s, peerRole);
    if (constantTimeEqual(id, peerRs1Id) || constantTimeEqual(id, peerRs2Id)) return { result: 'match', s1: s };
  }
  return { result: 'mismatch' };
}
