// The primitives ZRTP is built from, over node:crypto: the implicit hash (SHA-256: hash chain, message MACs,
// a=zrtp-hash), the negotiated hash and HMAC, the KDF of §4.5.1, AES-CFB for the Confirm body (§5.7), and the two
// key agreements (§5.1.5). Pure functions: randomness is always passed in.
import { createCipheriv, createDecipheriv, createDiffieHellman, createECDH, createHash, createHmac } from 'node:crypto';
import { getDiffieHellman } from 'node:crypto';
import {
  CIPHERS,
  HASHES,
  KEY_AGREEMENTS,
  type CipherAlgo,
  type HashAlgo,
  type KeyAgreementAlgo,
} from './algorithms.js';
import { bytesToBigint } from '../bytes/bytes.js';
import { ZrtpError } from './errors.js';

export type Random = (n: number) => Uint8Array;

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

/** The implicit HMAC (§5.1.2.1): HMAC-SHA-256, used on Hello, Commit and DHPart, truncated to 64 bits there. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return u8(createHmac('sha256', key).update(data).digest());
}

export function hash(algo: HashAlgo, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(HASHES[algo].node);
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

export function hmac(algo: HashAlgo, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(HASHES[algo].node, key);
  for (const p of parts) h.update(p);
  return u8(h.digest());
}

const be32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};

/**
 * §4.5.1: KDF(KI, Label, Context, L) = HMAC(KI, i || Label || 0x00 || Context || L), i = 1 (one block is always
 * enough: L is at most the hash length), L in bits as a 32-bit big-endian number, result truncated to L bits.
 */
export function kdf(algo: HashAlgo, ki: Uint8Array, label: string, context: Uint8Array, bits: number): Uint8Array {
  if (bits % 8 !== 0 || bits / 8 > HASHES[algo].length) throw new ZrtpError('bad-argument', `KDF length ${bits}`);
  const out = hmac(algo, ki, be32(1), new TextEncoder().encode(label), new Uint8Array([0]), context, be32(bits));
  return out.slice(0, bits / 8);
}

/** AES in 128-bit CFB mode (§5.7: Confirm's encrypted part; key from zrtpkeyi/zrtpkeyr, IV sent in the clear). */
export function cfb(cipher: CipherAlgo, key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt: boolean) {
  if (key.length !== CIPHERS[cipher].keyLength || iv.length !== 16) throw new ZrtpError('bad-argument', 'CFB key/IV');
  const c = decrypt ? createDecipheriv(CIPHERS[cipher].cfb, key, iv) : createCipheriv(CIPHERS[cipher].cfb, key, iv);
  return u8(Buffer.concat([c.update(data), c.final()]));
}

/** One side's key pair for one run. `publicValue` is what DHPart carries (pvi/pvr). */
export interface KeyPair {
  readonly algo: KeyAgreementAlgo;
  readonly publicValue: Uint8Array;
  /** DHResult (§4.4.1.4) from the peer's public value; undefined when the value is refused (Error 0x61). */
  agree(peer: Uint8Array): Uint8Array | undefined;
}

let modp15: Buffer | undefined;
/** RFC 3526 group 15 (3072-bit MODP), generator 2: the DH3k group. */
export function dh3kPrime(): Buffer {
  modp15 ??= getDiffieHellman('modp15').getPrime();
  return modp15;
}

/** A fresh key pair; the secret comes from `random` so an in-process run is a fixed transcript. */
export function generateKeyPair(algo: KeyAgreementAlgo, random: Random): KeyPair {
  if (algo === 'EC25') {
    const ecdh = createECDH('prime256v1');
    // A random 256-bit scalar is below the group order except with probability ~2^-32; retry the rare miss.
    for (let i = 0; ; i++) {
      try {
        ecdh.setPrivateKey(random(32));
        break;
      } catch (e) {
        if (i > 8) throw e;
      }
    }
    const pub = u8(ecdh.getPublicKey()).slice(1); // drop the 0x04 prefix: ZRTP sends x || y
    return {
      algo,
      publicValue: pub,
      agree(peer) {
        if (peer.length !== 64) return undefined;
        try {
          // OpenSSL checks that the point lies on the curve; the result is the x coordinate (32 bytes).
          return u8(ecdh.computeSecret(Buffer.concat([Buffer.from([4]), peer])));
        } catch {
          return undefined;
        }
      },
    };
  }
  const p = dh3kPrime();
  const dh = createDiffieHellman(p, 2);
  // §5.1.5: the secret exponent is twice the key size of the strongest cipher (AES3: 256 bits), so 512 bits.
  const x = random(64);
  x[0] = (x[0]! | 0x80) >>> 0; // full length, never zero
  dh.setPrivateKey(x);
  const pub = leftPad(u8(dh.generateKeys()), KEY_AGREEMENTS.DH3k.pvLength);
  const pMinus1 = bytesToBigint(p) - 1n;
  return {
    algo,
    publicValue: pub,
    agree(peer) {
      if (peer.length !== 384) return undefined;
      // §4.4.1.1: refuse 0, 1 and p-1 (and anything not below p).
      const v = bytesToBigint(peer);
      if (v < 2n || v >= pMinus1) return undefined;
      try {
        return leftPad(u8(dh.computeSecret(peer)), 384);
      } catch {
        return undefined;
      }
    },
  };
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}
