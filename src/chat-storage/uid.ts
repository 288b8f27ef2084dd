import { peerId } from '../peer-id/peer-id.js';

/**
 * A peer's address of record as stored in every file: `user@domain`, user part case-sensitive, domain lower
 * case. The one rule lives in src/peer-id (shared with SIP and the orchestrator); this name stays for the storage API.
 */
export function normalizeUid(uid: string): string {
  return peerId(uid);
}
