// The hashes, MACs and cipher OTR uses, behind one module so the rest of the engine never picks a primitive
// by string. Two implementations give the same bytes: OpenSSL through node:crypto (the default: measured
// about 5x faster for AES-128-CTR and HMAC-SHA1 on OTR-sized messages, which is what lets message throughput
// reach libotr's) and @noble (pure TypeScript, audited; used where node:crypto is unavailable and as the
// cross-check in tests, see tests/unit/otr-crypto-primitives.test.ts).
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createHash, createHmac, type Cipher } from 'node:crypto';
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

// --- keyed primitives for the data-message hot path ----------------------------------------------------
//
// A Data Message costs one AES-128-CTR and one HMAC-SHA1 with keys that stay the same for many messages. Through
// node:crypto every createCipheriv/createHmac pays for an OpenSSL 3 algorithm fetch, a key schedule and a native
// object, several times the cost of the work itself on a 1 KB message. The keyed objects below pay those once
// per key: the cipher is one reused AES-128-ECB context that encrypts OTR's counter blocks (top half || block
// index) into a keystream, which is then XORed in; the MAC is two one-shot SHA-1 hashes over the precomputed
// inner and outer padded keys (RFC 2104, exactly what HMAC is). Tests check both against the one-shot functions
// above and against @noble.

/** AES-128-CTR with a fixed key and OTR's counter layout (see aes128Ctr). */
export interface CtrCipher {
  /**
   * Writes src XOR keystream(topHalf || 0, topHalf || 1, ...) to dst at dstOffset (dst may be src itself).
   * Encryption and decryption are the same operation.
   */
  apply(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset?: number): void;
}

/** HMAC-SHA1 with a fixed key. */
export interface Mac {
  mac(data: Uint8Array): Uint8Array;
}

const BLOCKS_PER_CALL = 4096; // 64 KiB of counter blocks per ECB call
const counterBlocks = new Uint8Array(BLOCKS_PER_CALL * 16);
const counterView = new DataView(counterBlocks.buffer);
const counterWords = new Uint32Array(counterBlocks.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const bswap = (x: number): number => ((x & 0xff) << 24 | (x & 0xff00) << 8 | (x >>> 8) & 0xff00 | x >>> 24) >>> 0;
// The low halves (0 || block index) of the blocks in counterBlocks are those of blocks lowFirst.. lowFirst+lowValid-1.
let lowFirst = 0;
let lowValid = 0;

/** Writes the counter blocks topHalf || (first + b) for b < blocks into counterBlocks. */
function fillCounterBlocks(t0: number, t1: number, first: number, blocks: number): void {
  if (first !== lowFirst) { lowFirst = first; lowValid = 0; }
  if (blocks > lowValid) {
    for (let b = lowValid, o = lowValid << 4; b < blocks; b++, o += 16) {
      counterView.setUint32(o + 8, 0);
      counterView.setUint32(o + 12, first + b);
    }
    lowValid = blocks;
  }
  if (LITTLE_ENDIAN) {
    const w0 = bswap(t0), w1 = bswap(t1);
    for (let b = 0, w = 0; b < blocks; b++, w += 4) { counterWords[w] = w0; counterWords[w + 1] = w1; }
  } else {
    for (let b = 0, o = 0; b < blocks; b++, o += 16) { counterView.setUint32(o, t0); counterView.setUint32(o + 4, t1); }
  }
}

/** dst[d..d+n) = a[aOff..aOff+n) ^ b[0..n); word by word when all three are 4-byte aligned. */
function xorInto(dst: Uint8Array, d: number, a: Uint8Array, aOff: number, b: Uint8Array, n: number): void {
  let i = 0;
  const da = dst.byteOffset + d, aa = a.byteOffset + aOff;
  if (n >= 16 && ((da | aa | b.byteOffset) & 3) === 0) {
    const w = n >>> 2;
    const D = new Int32Array(dst.buffer, da, w), A = new Int32Array(a.buffer, aa, w), B = new Int32Array(b.buffer, b.byteOffset, w);
    for (let j = 0; j < w; j++) D[j] = A[j]! ^ B[j]!;
    i = w << 2;
  }
  for (; i < n; i++) dst[d + i] = a[aOff + i]! ^ b[i]!;
}

function checkCtrArgs(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset: number): void {
  if (topHalf.length !== 8) throw new RangeError('CtrCipher: counter top half must be 8 bytes');
  if (!Number.isInteger(dstOffset) || dstOffset < 0 || dstOffset + src.length > dst.length) throw new RangeError('CtrCipher: output does not fit');
}

class OpensslCtr implements CtrCipher {
  private readonly ecb: Cipher;
  constructor(key: Uint8Array) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
  }
  apply(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset = 0): void {
    checkCtrArgs(topHalf, src, dst, dstOffset);
    const top = new DataView(topHalf.buffer, topHalf.byteOffset, 8);
    const t0 = top.getUint32(0), t1 = top.getUint32(4);
    for (let done = 0; done < src.length; ) {
      const n = Math.min(src.length - done, BLOCKS_PER_CALL * 16);
      const blocks = (n + 15) >>> 4;
      const first = done / 16; // block index of this run's first block (< 2^32: messages are far smaller)
      fillCounterBlocks(t0, t1, first, blocks);
      xorInto(dst, dstOffset + done, src, done, this.ecb.update(counterBlocks.subarray(0, blocks << 4)), n);
      done += n;
    }
  }
}

class NobleCtr implements CtrCipher {
  constructor(private readonly key: Uint8Array) {}
  apply(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset = 0): void {
    checkCtrArgs(topHalf, src, dst, dstOffset);
    const iv = new Uint8Array(16);
    iv.set(topHalf, 0);
    dst.set(ctr(this.key, iv).encrypt(src), dstOffset);
  }
}

// Node >= 20.12 has a one-shot crypto.hash (no Hash object); older runtimes get the same bytes from createHash.
type OneShot = (data: Uint8Array) => Uint8Array;
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
const sha1OneShot: OneShot = oneShotHash
  ? (data) => oneShotHash('sha1', data, 'buffer')
  : (data) => createHash('sha1').update(data).digest();

const MAC_SCRATCH_MAX = 64 * 1024;
const macScratch = new Uint8Array(64 + MAC_SCRATCH_MAX);

class OpensslHmacSha1 implements Mac {
  private readonly key: Uint8Array;
  private readonly ipad = new Uint8Array(64);
  /** opad-keyed block followed by room for the inner hash: the outer hash's whole input. */
  private readonly outer = new Uint8Array(64 + 20);
  constructor(key: Uint8Array) {
    this.key = key.slice();
    const k = key.length > 64 ? sha1OneShot(key) : key;
    for (let i = 0; i < 64; i++) {
      const b = i < k.length ? k[i]! : 0;
      this.ipad[i] = b ^ 0x36;
      this.outer[i] = b ^ 0x5c;
    }
  }
  mac(data: Uint8Array): Uint8Array {
    // Large inputs: the copy into the scratch buffer would cost more than the object it saves.
    if (data.length > MAC_SCRATCH_MAX) return u8(createHmac('sha1', this.key).update(data).digest());
    macScratch.set(this.ipad, 0);
    macScratch.set(data, 64);
    this.outer.set(sha1OneShot(macScratch.subarray(0, 64 + data.length)), 64);
    return u8(sha1OneShot(this.outer) as Buffer);
  }
}

class NobleHmacSha1 implements Mac {
  private readonly h: ReturnType<typeof hmac.create>;
  constructor(key: Uint8Array) { this.h = hmac.create(nobleSha1, key); }
  mac(data: Uint8Array): Uint8Array { return this.h.clone().update(data).digest(); }
}

export const keyedImpls = {
  openssl: { ctr: (key: Uint8Array): CtrCipher => new OpensslCtr(key), hmacSha1: (key: Uint8Array): Mac => new OpensslHmacSha1(key) },
  noble: { ctr: (key: Uint8Array): CtrCipher => new NobleCtr(key), hmacSha1: (key: Uint8Array): Mac => new NobleHmacSha1(key) },
};
const keyed = impl === noble ? keyedImpls.noble : keyedImpls.openssl;

/** An AES-128-CTR cipher keyed once (16-byte key), for many messages. */
export function aes128CtrKeyed(key: Uint8Array): CtrCipher {
  if (key.length !== 16) throw new RangeError('aes128CtrKeyed: key must be 16 bytes');
  return keyed.ctr(key);
}

/** An HMAC-SHA1 keyed once, for many messages. */
export function hmacSha1Keyed(key: Uint8Array): Mac {
  return keyed.hmacSha1(key);
}
