// ZRTP's retained secrets on disk (RFC 6189 §4.9): our own ZID in chat/zrtp_zid (made once, like private_key.dsa),
// and one small JSON file per peer ZID under chat/zrtp_cache/. Every write is atomic and 0600: the secrets are
// as sensitive as the OTR key. It satisfies src/zrtp's ZidCachePort structurally (storage does not import the
// engine).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { toHex } from '../bytes/bytes.js';
import { atomicWriteFile, ensureDir } from './atomic.js';

export interface ZrtpCacheRecord {
  rs1?: Uint8Array;
  rs2?: Uint8Array;
  verified: boolean;
  lastSeen: number;
  peerIdentity?: string;
}

export interface ZrtpCacheStore {
  /** Our 96-bit ZID, created on first use and kept for good. */
  readonly zid: Uint8Array;
  load(zid: Uint8Array): ZrtpCacheRecord | undefined;
  save(zid: Uint8Array, record: ZrtpCacheRecord): void;
  /** Every peer we hold a record for (for a "forget" command or the UI). */
  list(): { zid: string; record: ZrtpCacheRecord }[];
}

const ZID_HEX = /^[0-9a-f]{24}$/;
const unhex = (s: unknown): Uint8Array | undefined =>
  typeof s === 'string' && /^[0-9a-f]{64}$/.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : undefined;

export function zrtpCachePaths(chatDir: string) {
  return { zidFile: join(chatDir, 'zrtp_zid'), dir: join(chatDir, 'zrtp_cache') };
}

/** Opens (and on first use creates) the store under `<configDir>/chat`. */
export function openZrtpCache(
  chatDir: string,
  random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
): ZrtpCacheStore {
  const { zidFile, dir } = zrtpCachePaths(chatDir);
  ensureDir(chatDir);
  let zid: Uint8Array;
  let text = '';
  try {
    text = readFileSync(zidFile, 'utf8').trim();
  } catch {
    // first run
  }
  if (ZID_HEX.test(text)) zid = new Uint8Array(Buffer.from(text, 'hex'));
  else {
    // A damaged file gets a new ZID: peers then see a new ZID (no cache, no alarm) rather than a wrong one.
    zid = random(12);
    atomicWriteFile(zidFile, toHex(zid) + '\n', { mode: 0o600, forceMode: true });
  }
  const file = (peer: Uint8Array) => join(dir, toHex(peer));
  const read = (path: string): ZrtpCacheRecord | undefined => {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      return undefined;
    }
    if (typeof j !== 'object' || j === null) return undefined;
    const rec: ZrtpCacheRecord = {
      verified: j['verified'] === true,
      lastSeen: typeof j['lastSeen'] === 'number' ? j['lastSeen'] : 0,
    };
    const rs1 = unhex(j['rs1']);
    const rs2 = unhex(j['rs2']);
    if (rs1) rec.rs1 = rs1;
    if (rs2) rec.rs2 = rs2;
    if (typeof j['peerIdentity'] === 'string') rec.peerIdentity = j['peerIdentity'];
    return rec;
  };
  return {
    zid,
    load: (peer) => (peer.length === 12 ? read(file(peer)) : undefined),
    save(peer, record) {
      if (peer.length !== 12) throw new RangeError('a ZID is 12 bytes');
      ensureDir(dir);
      const out = {
        rs1: record.rs1 ? toHex(record.rs1) : undefined,
        rs2: record.rs2 ? toHex(record.rs2) : undefined,
        verified: record.verified,
        lastSeen: record.lastSeen,
        peerIdentity: record.peerIdentity,
      };
      atomicWriteFile(file(peer), JSON.stringify(out) + '\n', { mode: 0o600, forceMode: true });
    },
    list() {
      let names: string[] = [];
      try {
        names = readdirSync(dir).filter((n) => ZID_HEX.test(n));
      } catch {
        return [];
      }
      return names.flatMap((n) => {
        const record = read(join(dir, n));
        return record ? [{ zid: n, record }] : [];
      });
    },
  };
}
