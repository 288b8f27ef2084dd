// SRTP and SRTCP with AES_CM_128_HMAC_SHA1_80 (RFC 3711): key derivation (4.3, key derivation rate 0), AES counter
// mode (4.1.1), HMAC-SHA1 tag of 80 bits (4.2), ROC estimation (3.3.1 / appendix A), a 64-packet replay window
// (3.3.2), the SRTCP index with its E flag (3.4). One SrtpContext per direction: our sending master key protects,
// the peer's unprotects. Keys come from SDES (a=crypto) today and can be set from outside (ZRTP) with fromKeys.
// Also AES_256_CM (RFC 6188: 32-byte master key, the same 14-byte salt, the PRF is AES-256 in counter mode giving
// 32-byte session keys) and the 32-bit tag (_32 profiles), which ZRTP's AES3 and HS32 ask for.
import { createCipheriv, timingSafeEqual, type Cipher } from 'node:crypto';
import { SrtpError } from './errors.js';
import { HmacSha1 } from './hmac-sha1.js';
import { rtpHeaderLength } from './packet.js';

export const SRTP_KEY_LEN = 16;
export const SRTP_SALT_LEN = 14;
export const SRTP_TAG_LEN = 10;
export const SRTP_TAG32_LEN = 4;

/** The SRTP profiles we do: the names RFC 4568 / RFC 6188 give them (and ZRTP's `srtpProfile` reports). */
export type SrtpProfile =
  'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32' | 'AES_256_CM_HMAC_SHA1_80' | 'AES_256_CM_HMAC_SHA1_32';
export const SRTP_PROFILES: Record<SrtpProfile, { keyLength: number; tagLength: number }> = {
  AES_CM_128_HMAC_SHA1_80: { keyLength: 16, tagLength: SRTP_TAG_LEN },
  AES_CM_128_HMAC_SHA1_32: { keyLength: 16, tagLength: SRTP_TAG32_LEN },
  AES_256_CM_HMAC_SHA1_80: { keyLength: 32, tagLength: SRTP_TAG_LEN },
  AES_256_CM_HMAC_SHA1_32: { keyLength: 32, tagLength: SRTP_TAG32_LEN },
};
export function isSrtpProfile(name: string): name is SrtpProfile {
  return Object.hasOwn(SRTP_PROFILES, name);
}
const REPLAY_WINDOW = 64;

/**
 * PRF of RFC 3711 4.3.3: AES-CM keyed by the master key over (label || r) XOR salt, r = 0 (kdr 0). AES-128 or
 * AES-256 by the master key's length (RFC 6188 4.3: AES_256_CM_PRF is the same construction with AES-256).
 */
export function deriveSessionKey(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  len: number,
): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(masterSalt, 0);
  iv[7]! ^= label; // key_id = label || r (48-bit index DIV kdr = 0): label is byte 7 of the 112-bit value
  return aesCm(masterKey, iv, new Uint8Array(len));
}

/** AES name for node:crypto by key length: 16 or 32 bytes (nothing else reaches here: SrtpContext checks). */
function aesName(key: Uint8Array, mode: 'ctr' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 32) throw new SrtpError('bad-key', `AES key of ${key.length} bytes`);
  return `aes-${key.length * 8}-${mode}`;
}

/** AES-128/256 in counter mode from a 16-byte IV (the counter is its low 16 bits: SRTP needs at most 2^16 blocks). */
export function aesCm(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(aesName(key, 'ctr'), key, iv);
  const out = c.update(data);
  c.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * AES counter mode (128 or 256 by the key's length) for one session key, reusing one AES-ECB object: the keystream is the encryption of the
 * counter blocks IV, IV + 1, ... (the counter is the IV's low 16 bits, which SRTP's IVs leave at zero), so one
 * `update` over the blocks gives it. Same output as `aesCm`, without a new cipher object (an OpenSSL context,
 * key schedule included) for every packet.
 */
export class AesCtr {
  private readonly ecb: Cipher;
  private blocks = new Uint8Array(0);

  constructor(key: Uint8Array) {
    this.ecb = createCipheriv(aesName(key, 'ecb'), key, null);
    this.ecb.setAutoPadding(false);
  }

  /** data XOR keystream(iv), into `out` at `offset`. */
  xorInto(iv: Uint8Array, data: Uint8Array, out: Uint8Array, offset: number): void {
    const n = Math.ceil(data.length / 16);
    if (n === 0) return;
    // a UDP datagram is at most 4096 blocks: the 16-bit counter never wraps
    if (this.blocks.length < n * 16) this.blocks = new Uint8Array(n * 16);
    const b = this.blocks;
    for (let i = 0; i < n; i++) {
      const o = i * 16;
      b.set(iv, o);
      b[o + 14] = i >>> 8;
      b[o + 15] = i & 0xff;
    }
    const ks = this.ecb.update(b.subarray(0, n * 16));
    for (let i = 0; i < data.length; i++) out[offset + i] = data[i]! ^ ks[i]!;
  }
}

/** The 16-byte IV of RFC 3711 4.1.1: (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). */
export function srtpIv(salt: Uint8Array, ssrc: number, index: number): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(salt, 0);
  iv[4]! ^= ssrc >>> 24;
  iv[5]! ^= (ssrc >>> 16) & 0xff;
  iv[6]! ^= (ssrc >>> 8) & 0xff;
  iv[7]! ^= ssrc & 0xff;
  // index is at most 48 bits: split to stay exact in doubles
  const hi = Math.floor(index / 0x100000000);
  const lo = index >>> 0;
  iv[8]! ^= (hi >>> 8) & 0xff;
  iv[9]! ^= hi & 0xff;
  iv[10]! ^= lo >>> 24;
  iv[11]! ^= (lo >>> 16) & 0xff;
  iv[12]! ^= (lo >>> 8) & 0xff;
  iv[13]! ^= lo & 0xff;
  return iv;
}

interface SessionKeys {
  encKey: Uint8Array;
  authKey: Uint8Array;
  salt: Uint8Array;
  ctr: AesCtr;
  mac: HmacSha1;
}

function sessionKeys(masterKey: Uint8Array, masterSalt: Uint8Array, base: number): SessionKeys {
  // the session encryption key is as long as the master key (16 for AES_CM_128, 32 for AES_256_CM)
  const encKey = deriveSessionKey(masterKey, masterSalt, base, masterKey.length);
  const authKey = deriveSessionKey(masterKey, masterSalt, base + 1, 20);
  return {
    encKey,
    authKey,
    salt: deriveSessionKey(masterKey, masterSalt, base + 2, 14),
    ctr: new AesCtr(encKey),
    mac: new HmacSha1(authKey),
  };
}

/**
 * A 64-entry sliding replay window over packet indexes (RFC 3711 3.3.2). Slot (index mod 64) holds the last index
 * accepted there: within the window [top - 63, top] each index has its own slot, so "seen" is "its slot holds it".
 * (Was a BigInt bit mask: a few BigInt allocations per packet.)
 */
class ReplayWindow {
  private top = -1;
  private readonly slots = new Float64Array(REPLAY_WINDOW).fill(-1);

  /** Throws SrtpError when the index was seen or is too old; does not record it (call accept after auth). */
  check(index: number): void {
    if (this.top < 0 || index > this.top) return;
    if (this.top - index >= REPLAY_WINDOW) throw new SrtpError('too-old', `index ${index} is behind the replay window`);
    if (this.slots[index % REPLAY_WINDOW] === index) throw new SrtpError('replay', `index ${index} replayed`);
  }
  accept(index: number): void {
    this.slots[index % REPLAY_WINDOW] = index;
    if (index > this.top) this.top = index;
  }
}

interface RecvState {
  roc: number;
  sl: number; // highest sequence number authenticated
  window: ReplayWindow;
}

export interface SrtpMasterKey {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
}

export class SrtpContext {
  private readonly rtp: SessionKeys;
  private readonly rtcp: SessionKeys;
  private readonly sendState = new Map<number, { roc: number; last: number }>();
  private readonly recvState = new Map<number, RecvState>();
  private readonly rtcpWindows = new Map<number, ReplayWindow>();
  private srtcpIndex = 0;
  /** SRTP tag length: 10 (_80) or 4 (_32). */
  private readonly tagLen: number;

  private constructor(
    k: SrtpMasterKey,
    readonly profile: SrtpProfile,
  ) {
    const p = SRTP_PROFILES[profile];
    if (k.masterKey.length !== p.keyLength || k.masterSalt.length !== SRTP_SALT_LEN) {
      throw new SrtpError('bad-key', `${profile} needs a ${p.keyLength}-byte master key and a 14-byte master salt`);
    }
    this.tagLen = p.tagLength;
    this.rtp = sessionKeys(k.masterKey, k.masterSalt, 0);
    this.rtcp = sessionKeys(k.masterKey, k.masterSalt, 3);
  }

  /** A context for one direction from its master key and salt (SDES inline key, or what ZRTP derives). */
  static fromKeys(k: SrtpMasterKey, profile: SrtpProfile = 'AES_CM_128_HMAC_SHA1_80'): SrtpContext {
    return new SrtpContext(k, profile);
  }

  protectRtp(packet: Uint8Array): Uint8Array {
    const hl = rtpHeaderLength(packet);
    const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const seq = dv.getUint16(2);
    const ssrc = dv.getUint32(8);
    let st = this.sendState.get(ssrc);
    if (!st) this.sendState.set(ssrc, (st = { roc: 0, last: seq }));
    else {
      if (seq < st.last && st.last - seq > 0x8000) st.roc = (st.roc + 1) >>> 0;
      st.last = seq;
    }
    const index = st.roc * 0x10000 + seq;
    const out = new Uint8Array(packet.length + this.tagLen);
    out.set(packet.subarray(0, hl), 0);
    this.rtp.ctr.xorInto(srtpIv(this.rtp.salt, ssrc, index), packet.subarray(hl), out, hl);
    const roc = new Uint8Array(4);
    new DataView(roc.buffer).setUint32(0, st.roc);
    out.set(this.rtp.mac.digest(out.subarray(0, packet.length), roc, this.tagLen), packet.length);
    return out;
  }

  /** The plain RTP packet; throws SrtpError (auth, replay, too-old, too-short) or RtpParseError. */
  unprotectRtp(packet: Uint8Array): Uint8Array {
    if (packet.length < 12 + this.tagLen) throw new SrtpError('too-short', `SRTP packet of ${packet.length} bytes`);
    const body = packet.subarray(0, packet.length - this.tagLen);
    const hl = rtpHeaderLength(body);
    const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const seq = dv.getUint16(2);
    const ssrc = dv.getUint32(8);
    const st = this.recvState.get(ssrc);
    let v: number;
    if (!st) v = 0;
    else if (st.sl < 0x8000) v = seq - st.sl > 0x8000 ? st.roc - 1 : st.roc;
    else v = st.sl - 0x8000 > seq ? st.roc + 1 : st.roc;
    if (v < 0) throw new SrtpError('too-old', 'packet from before the first rollover');
    v = v >>> 0;
    const index = v * 0x10000 + seq;
    st?.window.check(index);
    const roc = new Uint8Array(4);
    new DataView(roc.buffer).setUint32(0, v);
    const expect = this.rtp.mac.digest(body, roc, this.tagLen);
    if (!timingSafeEqual(expect, packet.subarray(body.length))) throw new SrtpError('auth', 'SRTP tag mismatch');
    const out = new Uint8Array(body.length);
    out.set(body.subarray(0, hl));
    this.rtp.ctr.xorInto(srtpIv(this.rtp.salt, ssrc, index), body.subarray(hl), out, hl);
    if (!st) {
      const w = new ReplayWindow();
      w.accept(index);
      this.recvState.set(ssrc, { roc: v, sl: seq, window: w });
    } else {
      st.window.accept(index);
      if (v === st.roc + 1) {
        st.roc = v;
        st.sl = seq;
      } else if (v === st.roc && seq > st.sl) st.sl = seq;
    }
    return out;
  }

  // SRTCP's tag is 80 bits whatever the SRTP profile: RFC 4568 6.2.2 and RFC 6188 say so for the _32 suites, and
  // libSRTP's _32 policy is documented as not for SRTCP. ZRTPCPP (Blink's engine) keys SRTCP with the SRTP tag length
  // instead, so with a _32 profile we also accept a 32-bit SRTCP tag (each length is checked by its HMAC: a packet
  // authenticates under one reading at most, in practice) and send the RFC's 80 bits.
  protectRtcp(packet: Uint8Array): Uint8Array {
    if (packet.length < 8) throw new SrtpError('too-short', `RTCP packet of ${packet.length} bytes`);
    const ssrc = new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(4);
    const index = this.srtcpIndex;
    this.srtcpIndex = (this.srtcpIndex + 1) & 0x7fffffff;
    const out = new Uint8Array(packet.length + 4 + SRTP_TAG_LEN);
    out.set(packet.subarray(0, 8));
    this.rtcp.ctr.xorInto(srtpIv(this.rtcp.salt, ssrc, index), packet.subarray(8), out, 8);
    new DataView(out.buffer).setUint32(packet.length, (0x80000000 | index) >>> 0); // E flag: encrypted
    out.set(this.rtcp.mac.digest(out.subarray(0, packet.length + 4), null, SRTP_TAG_LEN), packet.length + 4);
    return out;
  }

  unprotectRtcp(packet: Uint8Array): Uint8Array {
    const lengths = this.tagLen === SRTP_TAG_LEN ? [SRTP_TAG_LEN] : [SRTP_TAG_LEN, this.tagLen];
    if (packet.length < 8 + 4 + Math.min(...lengths)) {
      throw new SrtpError('too-short', `SRTCP packet of ${packet.length}`);
    }
    let authEnd = -1;
    for (const len of lengths) {
      if (packet.length < 8 + 4 + len) continue;
      const end = packet.length - len;
      const expect = this.rtcp.mac.digest(packet.subarray(0, end), null, len);
      if (timingSafeEqual(expect, packet.subarray(end))) {
        authEnd = end;
        break;
      }
    }
    if (authEnd < 0) throw new SrtpError('auth', 'SRTCP tag mismatch');
    const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const ssrc = dv.getUint32(4);
    const ei = dv.getUint32(authEnd - 4);
    const encrypted = (ei & 0x80000000) !== 0;
    const index = ei & 0x7fffffff;
    let w = this.rtcpWindows.get(ssrc);
    w?.check(index);
    if (!w) this.rtcpWindows.set(ssrc, (w = new ReplayWindow()));
    w.accept(index);
    const plainLen = authEnd - 4;
    const out = new Uint8Array(plainLen);
    out.set(packet.subarray(0, 8));
    const payload = packet.subarray(8, plainLen);
    if (encrypted) this.rtcp.ctr.xorInto(srtpIv(this.rtcp.salt, ssrc, index), payload, out, 8);
    else out.set(payload, 8);
    return out;
  }
}
