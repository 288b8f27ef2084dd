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
// index) into a keystream, which is then XORed in; the MAC is HMAC spelled out (RFC 2104): one one-shot SHA-1
// over the precomputed inner padded key and the data, then the outer hash, a single block from the state the
// outer padded key left, compressed here. Tests check both against the one-shot functions above and @noble.

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

// Messages from ONE_SHOT_FROM bytes on take a fresh CTR context (its fixed cost is then small next to the
// work); below that, counter blocks are built here and encrypted by the reused ECB context in one call.
const ONE_SHOT_FROM = 16 * 1024;
const counterBlocks = new Uint8Array(ONE_SHOT_FROM);
const counterView = new DataView(counterBlocks.buffer);
const counterWords = new Uint32Array(counterBlocks.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Writes the counter blocks topHalf || b, for b < blocks, into counterBlocks. */
function fillCounterBlocks(top: Uint8Array, blocks: number): void {
  if (LITTLE_ENDIAN) {
    // The words as they lie in memory: big-endian bytes read little-endian.
    const w0 = (top[0]! | (top[1]! << 8) | (top[2]! << 16) | (top[3]! << 24)) >>> 0;
    const w1 = (top[4]! | (top[5]! << 8) | (top[6]! << 16) | (top[7]! << 24)) >>> 0;
    for (let b = 0, w = 0; b < blocks; b++, w += 4) {
      counterWords[w] = w0;
      counterWords[w + 1] = w1;
      counterWords[w + 2] = 0;
      counterWords[w + 3] = (((b & 0xff) << 24) | ((b & 0xff00) << 8)) >>> 0; // b < 2^16 here
    }
  } else {
    const t = new DataView(top.buffer, top.byteOffset, 8);
    const t0 = t.getUint32(0),
      t1 = t.getUint32(4);
    for (let b = 0, o = 0; b < blocks; b++, o += 16) {
      counterView.setUint32(o, t0);
      counterView.setUint32(o + 4, t1);
      counterView.setUint32(o + 8, 0);
      counterView.setUint32(o + 12, b);
    }
  }
}

/** dst[d..d+n) = a[aOff..aOff+n) ^ b[0..n); word by word for longer runs when all three are 4-byte aligned. */
function xorInto(dst: Uint8Array, d: number, a: Uint8Array, aOff: number, b: Uint8Array, n: number): void {
  let i = 0;
  const da = dst.byteOffset + d,
    aa = a.byteOffset + aOff;
  // Making three Int32Array views costs about as much as XORing 1 KB byte by byte.
  if (n >= 2048 && ((da | aa | b.byteOffset) & 3) === 0) {
    const w = n >>> 2;
    const D = new Int32Array(dst.buffer, da, w),
      A = new Int32Array(a.buffer, aa, w),
      B = new Int32Array(b.buffer, b.byteOffset, w);
    for (let j = 0; j < w; j++) D[j] = A[j]! ^ B[j]!;
    i = w << 2;
  }
  for (; i < n; i++) dst[d + i] = a[aOff + i]! ^ b[i]!;
}

function checkCtrArgs(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset: number): void {
  if (topHalf.length !== 8) throw new RangeError('CtrCipher: counter top half must be 8 bytes');
  if (!Number.isInteger(dstOffset) || dstOffset < 0 || dstOffset + src.length > dst.length)
    throw new RangeError('CtrCipher: output does not fit');
}

class OpensslCtr implements CtrCipher {
  private readonly key: Uint8Array;
  private readonly ecb: Cipher;
  constructor(key: Uint8Array) {
    this.key = key.slice();
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
  }
  apply(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset = 0): void {
    checkCtrArgs(topHalf, src, dst, dstOffset);
    if (src.length >= ONE_SHOT_FROM) {
      dst.set(openssl.aes128Ctr(this.key, counterIv(topHalf), src), dstOffset);
      return;
    }
    const blocks = (src.length + 15) >>> 4;
    fillCounterBlocks(topHalf, blocks);
    xorInto(dst, dstOffset, src, 0, this.ecb.update(counterBlocks.subarray(0, blocks << 4)), src.length);
  }
}

function counterIv(topHalf: Uint8Array): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(topHalf, 0);
  return iv;
}

class NobleCtr implements CtrCipher {
  constructor(private readonly key: Uint8Array) {}
  apply(topHalf: Uint8Array, src: Uint8Array, dst: Uint8Array, dstOffset = 0): void {
    checkCtrArgs(topHalf, src, dst, dstOffset);
    dst.set(ctr(this.key, counterIv(topHalf)).encrypt(src), dstOffset);
  }
}

// Node >= 20.12 has a one-shot crypto.hash (no Hash object); older runtimes get the same bytes from createHash.
// The digest comes back as a Latin-1 string (one character per byte): in Node 20 that is ~1 µs faster per call
// than asking for a Buffer, and the caller only reads 20 bytes from it.
// ('binary' is Node's name for Latin-1 in these typings.)
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'binary') => string }).hash;
const sha1Latin1: (data: Uint8Array) => string = oneShotHash
  ? (data) => oneShotHash('sha1', data, 'binary')
  : (data) => createHash('sha1').update(data).digest('binary');

const MAC_SCRATCH_MAX = 64 * 1024;
const macScratch = new Uint8Array(64 + MAC_SCRATCH_MAX);

// SHA-1's compression function (FIPS 180-4, 6.1.2) on one block given as 16 big-endian words in w[0..16); w has
// room for the 80-word schedule. Used only for HMAC's outer hash, which is always exactly one block after the
// precomputed key block: one compression here is cheaper than one more call into OpenSSL.
function sha1Compress(h: Int32Array, w: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = h[0]!,
    b = h[1]!,
    c = h[2]!,
    d = h[3]!,
    e = h[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number, k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc | 0;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6 | 0;
    }
    const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
}

const SHA1_IV = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0);
const schedule = new Int32Array(80);
const hState = new Int32Array(5);

function beWord(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

class OpensslHmacSha1 implements Mac {
  private readonly key: Uint8Array;
  private readonly ipad = new Uint8Array(64);
  /** SHA-1 state after the opad-keyed block: the outer hash starts from here. */
  private readonly outerState = new Int32Array(5);
  constructor(key: Uint8Array) {
    this.key = key.slice();
    const k = key.length > 64 ? openssl.sha1(key) : key;
    const opad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) {
      const b = i < k.length ? k[i]! : 0;
      this.ipad[i] = b ^ 0x36;
      opad[i] = b ^ 0x5c;
    }
    this.outerState.set(SHA1_IV);
    for (let i = 0; i < 16; i++) schedule[i] = beWord(opad, 4 * i);
    sha1Compress(this.outerState, schedule);
  }
  mac(data: Uint8Array): Uint8Array {
    // Large inputs: the copy into the scratch buffer would cost more than the object it saves.
    if (data.length > MAC_SCRATCH_MAX) return u8(createHmac('sha1', this.key).update(data).digest());
    macScratch.set(this.ipad, 0);
    macScratch.set(data, 64);
    const inner = sha1Latin1(macScratch.subarray(0, 64 + data.length));
    macScratch.fill(0, 0, 64); // no key-derived bytes left lying in the shared buffer
    // Outer: SHA-1 over opad block || inner digest = one more block: the digest, 0x80, zeros, bit length 84*8.
    for (let i = 0; i < 5; i++) {
      const j = 4 * i;
      schedule[i] =
        (inner.charCodeAt(j) << 24) |
        (inner.charCodeAt(j + 1) << 16) |
        (inner.charCodeAt(j + 2) << 8) |
        inner.charCodeAt(j + 3);
    }
    schedule[5] = 0x80000000 | 0;
    schedule.fill(0, 6, 15);
    schedule[15] = (64 + 20) * 8;
    hState.set(this.outerState);
    sha1Compress(hState, schedule);
    const out = new Uint8Array(20);
    for (let i = 0; i < 5; i++) {
      const v = hState[i]!;
      out[4 * i] = v >>> 24;
      out[4 * i + 1] = v >>> 16;
      out[4 * i + 2] = v >>> 8;
      out[4 * i + 3] = v;
    }
    return out;
  }
}

class NobleHmacSha1 implements Mac {
  private readonly h: ReturnType<typeof hmac.create>;
  constructor(key: Uint8Array) {
    this.h = hmac.create(nobleSha1, key);
  }
  mac(data: Uint8Array): Uint8Array {
    return this.h.clone().update(data).digest();
  }
}

export const keyedImpls = {
  openssl: {
    ctr: (key: Uint8Array): CtrCipher => new OpensslCtr(key),
    hmacSha1: (key: Uint8Array): Mac => new OpensslHmacSha1(key),
  },
  noble: {
    ctr: (key: Uint8Array): CtrCipher => new NobleCtr(key),
    hmacSha1: (key: Uint8Array): Mac => new NobleHmacSha1(key),
  },
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
