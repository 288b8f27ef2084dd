/**
 * Key derivation (spec "Computing AES keys, MAC keys, and the secure session id") and the symmetric primitives
 * OTR uses: AES-128-CTR, SHA-1/SHA-256 and their HMACs.
 */
import { G, modPow, randomBytes, randomExponent, type RandomSource } from './crypto/group.js';
// One module picks the implementation of every symmetric primitive (OpenSSL, or @noble), for the whole engine.
import { aes128Ctr, hmacSha1 as hmac1, hmacSha256 as hmac256, sha1, sha256 } from './crypto/primitives.js';
import { concatBytes, encodeMpi } from '../bytes/bytes.js';

export { sha1, sha256 };

const ZERO_TOP = new Uint8Array(8);

/** AES-128 in counter mode. `top` is the 8-byte top half of the initial counter (all zeros for the AKE). */
export function aesCtr(key: Uint8Array, data: Uint8Array, top: Uint8Array = ZERO_TOP): Uint8Array {
  return aes128Ctr(key, top, data);
}

export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return hmac256(key, msg);
}
export function hmacSha1(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return hmac1(key, msg);
}

/** s written as a minimum-length MPI. */
export function secbytesOf(s: bigint): Uint8Array {
  return encodeMpi(s);
}

function h2(b: number, secbytes: Uint8Array): Uint8Array {
  return sha256(concatBytes(Uint8Array.of(b), secbytes));
}
function h1(b: number, secbytes: Uint8Array): Uint8Array {
  return sha1(concatBytes(Uint8Array.of(b), secbytes));
}

export interface AkeKeys {
  ssid: Uint8Array; // 8 bytes
  c: Uint8Array; // 16
  cp: Uint8Array; // 16 (c')
  m1: Uint8Array; // 32
  m2: Uint8Array;
  m1p: Uint8Array; // m1'
  m2p: Uint8Array; // m2'
}

export function deriveAkeKeys(s: bigint): AkeKeys {
  const sb = secbytesOf(s);
  const k1 = h2(0x01, sb);
  return {
    ssid: h2(0x00, sb).slice(0, 8),
    c: k1.slice(0, 16),
    cp: k1.slice(16, 32),
    m1: h2(0x02, sb),
    m2: h2(0x03, sb),
    m1p: h2(0x04, sb),
    m2p: h2(0x05, sb),
  };
}

export interface SessionKeys {
  sendAes: Uint8Array;
  sendMac: Uint8Array;
  recvAes: Uint8Array;
  recvMac: Uint8Array;
  /** h2(0xFF): the v3 extra symmetric key for this key pair. */
  extraKey: Uint8Array;
}

/** Data-message keys for our key pair and their public key; "high" end is the one with the larger public key. */
export function deriveSessionKeys(ourPub: bigint, ourPriv: bigint, theirPub: bigint): SessionKeys {
  const s = modPow(theirPub, ourPriv);
  return sessionKeysFromSecret(ourPub, theirPub, s);
}

export function sessionKeysFromSecret(ourPub: bigint, theirPub: bigint, s: bigint): SessionKeys {
  const sb = secbytesOf(s);
  const high = ourPub > theirPub;
  const sendByte = high ? 0x01 : 0x02;
  const recvByte = high ? 0x02 : 0x01;
  const sendAes = h1(sendByte, sb).slice(0, 16);
  const recvAes = h1(recvByte, sb).slice(0, 16);
  return { sendAes, sendMac: sha1(sendAes), recvAes, recvMac: sha1(recvAes), extraKey: h2(0xff, sb) };
}

export interface DhKeyPair {
  priv: bigint;
  pub: bigint;
}

/** A fresh D-H key pair with a 320-bit private part (from the system CSPRNG unless `random` is given). */
export function newDhKeyPair(random: RandomSource = randomBytes): DhKeyPair {
  const priv = randomExponent(40, random);
  return { priv, pub: modPow(G, priv) };
}
