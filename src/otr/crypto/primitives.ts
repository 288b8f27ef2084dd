// The hashes, MACs and cipher OTR uses, behind one module so the rest of the engine never picks a primitive
// by string. Two implementations give the same bytes: OpenSSL through node:crypto (the default: measured
// about 5x faster for AES-128-CTR and HMAC-SHA1 on OTR-sized messages, which is what lets message throughput
// reach libotr's) and @noble (pure TypeScript, audited; used where node:crypto is unavailable and as the
// cross-check in tests, see tests/unit/otr-crypto-primitives.test.ts).
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { ctr } from '@noble/ciphers/aes.js';

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export const noble = {
  sha1: (data: Uint8Array): Uint8Array => nobleSha1(data),
  sha256: (data: Uint8Array): Uint8Array => nobleSha256(data),
  hmacSha1: (key: Uint8Array, data: Uint8Array): Uint8Array => hmac(nobleSha1, key, data),
  hmacSha256: (key: Uint8Array, data: Uint8Array): Uint8Array => hmac(nobleSha256, key, data),
  aes128Ctr: (key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array => ctr(key, iv).encrypt(data),
};

export const openssl = {
  sha1: (data: Uint8Array): Uint8Array => u8(createHash('sha1').update(data).digest()),
  sha256: (data: Uint8Array): Uint8Array => u8(createHash('sha256').update(data).digest()),
  hmacSha1: (key: Uint8Array, data: Uint8Array): Uint8Array => u8(createHmac('sha1', key).update(data).digest()),
  hmacSha256: (key: Uint8Array, data: Uint8Array): Uint8Array => u8(createHmac('sha256', key).update(data).digest()),
  aes128Ctr: (key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array => {
    const c = createCipheriv('aes-128-ctr', key, iv);
    const a = c.update(data);
    const b = c.final();
    return b.length === 0 ? u8(a) : u8(Buffer.concat([a, b]));
  },
};

// BLINK_TUI_CRYPTO=noble selects the pure-TypeScript path (benchmarks compare both).
const impl = process.env.BLINK_TUI_CRYPTO === 'noble' ? noble : openssl;

export function sha1(data: Uint8Array): Uint8Array {
  return impl.sha1(data);
}

export function sha256(data: Uint8Array): Uint8Array {
  return impl.sha256(data);
}

export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return impl.hmacSha1(key, data);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return impl.hmacSha256(key, data);
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
  return impl.aes128Ctr(key, iv, data);
}
