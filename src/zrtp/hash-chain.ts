// The hash chain of §9: H0 random, H1 = SHA-256(H0), H2 = SHA-256(H1), H3 = SHA-256(H2). H3 goes in Hello, H2 in
// Commit, H1 in DHPart, H0 in Confirm; each message's MAC is keyed with the link the *next* message reveals, so a
// receiver checks a message's MAC once the preimage arrives (§8.1, §10).
import { constantTimeEqual } from '../bytes/bytes.js';
import { hmacSha256, sha256 } from './crypto.js';

export interface HashChain {
  h0: Uint8Array;
  h1: Uint8Array;
  h2: Uint8Array;
  h3: Uint8Array;
}

export function hashChain(h0: Uint8Array): HashChain {
  const h1 = sha256(h0);
  const h2 = sha256(h1);
  return { h0, h1, h2, h3: sha256(h2) };
}

/** The 64-bit MAC of Hello (key H2), Commit (key H1) and DHPart (key H0): implicit HMAC-SHA-256, truncated. */
export function messageMac(key: Uint8Array, messageWithoutMac: Uint8Array): Uint8Array {
  return hmacSha256(key, messageWithoutMac).slice(0, 8);
}

/** Checks a received message (preamble to MAC) against the chain link that keys its MAC. */
export function checkMessageMac(key: Uint8Array, raw: Uint8Array): boolean {
  if (raw.length < 8) return false;
  return constantTimeEqual(messageMac(key, raw.subarray(0, raw.length - 8)), raw.subarray(raw.length - 8));
}

/** Whether `preimage` hashes `times` times to `image` (H2 -> H3, H1 -> H3 via H2, ...). */
export function chainsTo(preimage: Uint8Array, image: Uint8Array, times: number): boolean {
  let h = preimage;
  for (let i = 0; i < times; i++) h = sha256(h);
  return constantTimeEqual(h, image);
}
