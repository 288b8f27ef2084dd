// Thin, typed wrappers over @noble for the hashes, MACs and cipher OTR uses, so the rest of the engine
// imports one module and never picks a primitive by string.
import { sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { ctr } from '@noble/ciphers/aes.js';

export function sha1(data: Uint8Array): Uint8Array {
  return nobleSha1(data);
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha1, key, data);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}

/**
 * AES-128 in counter mode with OTR's counter layout: the 16-byte initial counter block is the 8-byte
 * top half followed by eight zero bytes (pass topHalf = 8 zero bytes for the AKE's "counter 0").
 * Encryption and decryption are the same operation.
 */
export function aes128Ctr(key: Uint8Array, topHalf: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError('aes128Ctr: key must be 16 bytes');
  if (topHalf.length !== 8) throw new RangeError('aes128Ctr: counter top half must be 8 bytes');
  const iv = new Uint8Array(16);
  iv.set(topHalf, 0);
  return ctr(key, iv).encrypt(data);
}
