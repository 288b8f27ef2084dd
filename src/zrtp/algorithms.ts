// The algorithm names of RFC 6189 §5.1.2-§5.1.6 that this engine implements, their sizes, and the choice rule of
// §4.1.2. Names are the 4-character blocks carried in Hello and Commit.

export type HashAlgo = 'S256' | 'S384';
export type CipherAlgo = 'AES1' | 'AES3';
export type AuthTagAlgo = 'HS32' | 'HS80';
export type KeyAgreementAlgo = 'EC25' | 'DH3k';
export type SasAlgo = 'B32' | 'B256';

export interface AlgorithmLists {
  hash: HashAlgo[];
  cipher: CipherAlgo[];
  authTag: AuthTagAlgo[];
  keyAgreement: KeyAgreementAlgo[];
  sas: SasAlgo[];
}

/** What one run uses: chosen by the initiator and carried in its Commit. */
export interface Chosen {
  hash: HashAlgo;
  cipher: CipherAlgo;
  authTag: AuthTagAlgo;
  keyAgreement: KeyAgreementAlgo;
  sas: SasAlgo;
}

/**
 * Our Hello: what bzrtp (linphone) and ZRTPCPP (Blink) can both settle on. S256, AES1, HS32/HS80, DH3k and B32 are
 * the RFC's mandatory ones; EC25 comes first because both peers offer it and it is the fastest we have.
 */
export const DEFAULT_ALGORITHMS: AlgorithmLists = {
  hash: ['S256', 'S384'],
  cipher: ['AES1', 'AES3'],
  authTag: ['HS32', 'HS80'],
  keyAgreement: ['EC25', 'DH3k'],
  sas: ['B32', 'B256'],
};

export const HASHES: Record<HashAlgo, { node: string; length: number }> = {
  S256: { node: 'sha256', length: 32 },
  S384: { node: 'sha384', length: 48 },
};
export const CIPHERS: Record<CipherAlgo, { keyLength: number; cfb: string; srtp: string }> = {
  AES1: { keyLength: 16, cfb: 'aes-128-cfb', srtp: 'AES_CM_128' },
  AES3: { keyLength: 32, cfb: 'aes-256-cfb', srtp: 'AES_CM_256' },
};
export const AUTH_TAGS: Record<AuthTagAlgo, { bits: number }> = { HS32: { bits: 32 }, HS80: { bits: 80 } };
/** Public value and DHResult sizes (§5.1.5): EC25 sends x||y and keeps x; DH3k both 384 bytes. */
export const KEY_AGREEMENTS: Record<KeyAgreementAlgo, { pvLength: number; resultLength: number; speed: number }> = {
  EC25: { pvLength: 64, resultLength: 32, speed: 1 },
  DH3k: { pvLength: 384, resultLength: 384, speed: 2 },
};

/** Strength order used when the two sides' first choices differ (higher wins). */
const STRENGTH: Record<string, number> = { S256: 1, S384: 2, AES1: 1, AES3: 3, HS32: 1, HS80: 2 };

export const ALL_NAMES = {
  hash: Object.keys(HASHES) as HashAlgo[],
  cipher: Object.keys(CIPHERS) as CipherAlgo[],
  authTag: Object.keys(AUTH_TAGS) as AuthTagAlgo[],
  keyAgreement: Object.keys(KEY_AGREEMENTS) as KeyAgreementAlgo[],
  sas: ['B32', 'B256'] as SasAlgo[],
};

/** The mandatory algorithms (§5.1.2-§5.1.6): implied in every Hello even when not listed. */
export const MANDATORY = { hash: 'S256', cipher: 'AES1', authTag: ['HS32', 'HS80'], keyAgreement: 'DH3k', sas: 'B32' };

/** The peer's list with the mandatory algorithms added at the end if absent (§5.1.2: they are always supported). */
function withMandatory(list: readonly string[], mandatory: string | string[]): string[] {
  const out = [...list];
  for (const m of Array.isArray(mandatory) ? mandatory : [mandatory]) if (!out.includes(m)) out.push(m);
  return out;
}

function common<T extends string>(mine: readonly T[], theirs: readonly string[]): T[] {
  return mine.filter((a) => theirs.includes(a));
}

/**
 * §4.1.2: the key agreement is the first choice of both if they agree, otherwise the faster of the two first choices
 * (both sides compute the same answer, so a Commit contention rarely mixes types). Hash, cipher and auth tag: the
 * stronger of the two sides' first common choices (so a peer that prefers AES3 or S384 gets it). SAS: our first.
 * Returns undefined when one family has nothing in common (the caller answers with the matching Error code).
 */
export function choose(
  ours: AlgorithmLists,
  peer: AlgorithmLists,
): { chosen: Chosen } | { missing: keyof AlgorithmLists } {
  const peerFull: AlgorithmLists = {
    hash: withMandatory(peer.hash, MANDATORY.hash) as HashAlgo[],
    cipher: withMandatory(peer.cipher, MANDATORY.cipher) as CipherAlgo[],
    authTag: withMandatory(peer.authTag, MANDATORY.authTag) as AuthTagAlgo[],
    keyAgreement: withMandatory(peer.keyAgreement, MANDATORY.keyAgreement) as KeyAgreementAlgo[],
    sas: withMandatory(peer.sas, MANDATORY.sas) as SasAlgo[],
  };
  const pick = <K extends keyof AlgorithmLists>(k: K, rule: 'strong' | 'fast' | 'ours') => {
    const a = common(ours[k] as string[], peerFull[k]);
    const b = common(peerFull[k], ours[k] as string[]);
    const x = a[0];
    const y = b[0];
    if (x === undefined || y === undefined) return undefined;
    if (x === y || rule === 'ours') return x;
    if (rule === 'fast') {
      const sx = KEY_AGREEMENTS[x as KeyAgreementAlgo].speed;
      const sy = KEY_AGREEMENTS[y as KeyAgreementAlgo].speed;
      return sx <= sy ? x : y;
    }
    return (STRENGTH[x] ?? 0) >= (STRENGTH[y] ?? 0) ? x : y;
  };
  const keyAgreement = pick('keyAgreement', 'fast');
  if (!keyAgreement) return { missing: 'keyAgreement' };
  const hash = pick('hash', 'strong');
  if (!hash) return { missing: 'hash' };
  const cipher = pick('cipher', 'strong');
  if (!cipher) return { missing: 'cipher' };
  const authTag = pick('authTag', 'strong');
  if (!authTag) return { missing: 'authTag' };
  const sas = pick('sas', 'ours');
  if (!sas) return { missing: 'sas' };
  return {
    chosen: {
      hash: hash as HashAlgo,
      cipher: cipher as CipherAlgo,
      authTag: authTag as AuthTagAlgo,
      keyAgreement: keyAgreement as KeyAgreementAlgo,
      sas: sas as SasAlgo,
    },
  };
}
