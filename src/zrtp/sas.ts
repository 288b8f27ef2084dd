// SAS rendering (RFC 6189 §5.1.6). sasvalue is the leftmost 32 bits of sashash; B32 shows its leftmost 20 bits as
// four characters of the z-base-32 alphabet, B256 its leftmost 16 bits as two PGP words.
import { PGP_EVEN, PGP_ODD } from './pgp-words.js';
import type { SasAlgo } from './algorithms.js';

export const B32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function sasValue(sashash: Uint8Array): number {
  return new DataView(sashash.buffer, sashash.byteOffset, 4).getUint32(0);
}

export function renderB32(sasvalue: number): string {
  let s = '';
  for (let shift = 27; shift >= 12; shift -= 5) s += B32_ALPHABET[(sasvalue >>> shift) & 31];
  return s;
}

export function renderB256(sasvalue: number): string {
  return `${PGP_EVEN[(sasvalue >>> 24) & 0xff]} ${PGP_ODD[(sasvalue >>> 16) & 0xff]}`;
}

/** Both renderings, and the one the run negotiated (what the two users read aloud, and the SMP secret). */
export function renderSas(sashash: Uint8Array, algo: SasAlgo): { sas: string; b32: string; b256: string } {
  const v = sasValue(sashash);
  const b32 = renderB32(v);
  const b256 = renderB256(v);
  return { sas: algo === 'B32' ? b32 : b256, b32, b256 };
}
