// Key derivation for DH mode (§4.4.1.4, §4.5): total_hash, KDF_Context, s0 and everything derived from it, and
// the shared-secret IDs of §4.3.1.
import { CIPHERS, HASHES, type Chosen, type HashAlgo } from './algorithms.js';
import { hash, hmac, kdf } from './crypto.js';

const be32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};

/** total_hash = hash(Hello of responder || Commit || DHPart1 || DHPart2), each message preamble to MAC. */
export function totalHash(algo: HashAlgo, helloR: Uint8Array, commit: Uint8Array, dh1: Uint8Array, dh2: Uint8Array) {
  return hash(algo, helloR, commit, dh1, dh2);
}

/** hvi = hash(initiator's DHPart2 || responder's Hello), truncated to 256 bits (§4.4.1.1). */
export function hvi(algo: HashAlgo, dhPart2: Uint8Array, helloR: Uint8Array): Uint8Array {
  return hash(algo, dhPart2, helloR).slice(0, 32);
}

/**
 * s0 = hash(counter=1 || DHResult || "ZRTP-HMAC-KDF" || ZIDi || ZIDr || total_hash || len(s1) || s1 || len(s2) ||
 * s2 || len(s3) || s3); an absent secret has length 0 and no bytes.
 */
export function s0(
  algo: HashAlgo,
  dhResult: Uint8Array,
  zidi: Uint8Array,
  zidr: Uint8Array,
  total: Uint8Array,
  s1?: Uint8Array,
  s2?: Uint8Array,
  s3?: Uint8Array,
): Uint8Array {
  const none = new Uint8Array(0);
  const parts = [be32(1), dhResult, new TextEncoder().encode('ZRTP-HMAC-KDF'), zidi, zidr, total];
  for (const s of [s1, s2, s3]) parts.push(be32(s?.length ?? 0), s ?? none);
  return hash(algo, ...parts);
}

export interface SessionKeys {
  kdfContext: Uint8Array;
  zrtpSession: Uint8Array;
  sashash: Uint8Array;
  srtpKeyI: Uint8Array;
  srtpSaltI: Uint8Array;
  srtpKeyR: Uint8Array;
  srtpSaltR: Uint8Array;
  macKeyI: Uint8Array;
  macKeyR: Uint8Array;
  zrtpKeyI: Uint8Array;
  zrtpKeyR: Uint8Array;
  /** The next retained secret (§4.6.1). */
  newRs1: Uint8Array;
}

/** §4.5.2-§4.5.3 and §4.6.1: every key of the run from s0 and KDF_Context = ZIDi || ZIDr || total_hash. */
export function deriveKeys(chosen: Chosen, s0v: Uint8Array, zidi: Uint8Array, zidr: Uint8Array, total: Uint8Array) {
  const h = chosen.hash;
  const ctx = new Uint8Array(24 + total.length);
  ctx.set(zidi, 0);
  ctx.set(zidr, 12);
  ctx.set(total, 24);
  const hbits = HASHES[h].length * 8;
  const kbits = CIPHERS[chosen.cipher].keyLength * 8;
  const k = (label: string, bits: number) => kdf(h, s0v, label, ctx, bits);
  const keys: SessionKeys = {
    kdfContext: ctx,
    zrtpSession: k('ZRTP Session Key', hbits),
    sashash: k('SAS', 256),
    srtpKeyI: k('Initiator SRTP master key', kbits),
    srtpSaltI: k('Initiator SRTP master salt', 112),
    srtpKeyR: k('Responder SRTP master key', kbits),
    srtpSaltR: k('Responder SRTP master salt', 112),
    macKeyI: k('Initiator HMAC key', hbits),
    macKeyR: k('Responder HMAC key', hbits),
    zrtpKeyI: k('Initiator ZRTP key', kbits),
    zrtpKeyR: k('Responder ZRTP key', kbits),
    newRs1: k('retained secret', 256),
  };
  return keys;
}

/** §4.3.1: rs1IDi = MAC(rs1, "Initiator"), rs1IDr = MAC(rs1, "Responder"), 64 bits, negotiated HMAC. */
export function secretId(algo: HashAlgo, secret: Uint8Array, role: 'Initiator' | 'Responder'): Uint8Array {
  return hmac(algo, secret, new TextEncoder().encode(role)).slice(0, 8);
}
