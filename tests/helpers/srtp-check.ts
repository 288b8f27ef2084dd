// Just enough SRTP (RFC 3711) to check that keys from ZRTP are the peer's: session keys from the master key and
// salt by the AES-CM PRF, then the HMAC-SHA1 tag of a received packet, and the payload decrypted. Test code only:
// the SRTP layer proper belongs to the audio engine.
import { createCipheriv, createHmac } from 'node:crypto';

function aesCm(key: Uint8Array, iv: Buffer, n: number): Buffer {
  const alg = key.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr';
  const c = createCipheriv(alg, key, iv);
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** RFC 3711 §4.3 with kdr = 0: x = label (at byte 7) XOR salt, keystream from IV x || 0x0000. */
function derive(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, n: number): Buffer {
  const x = Buffer.alloc(16);
  Buffer.from(masterSalt).copy(x, 0);
  x[7]! ^= label;
  return aesCm(masterKey, x, n);
}

/**
 * Checks an SRTP packet's tag (ROC 0) with the given master key and salt; on success returns the decrypted payload.
 */
export function openSrtp(
  packet: Uint8Array,
  keys: { masterKey: Uint8Array; masterSalt: Uint8Array },
  tagLength: number,
): Buffer | undefined {
  const p = Buffer.from(packet);
  if (p.length < 12 + tagLength) return undefined;
  const ka = derive(keys.masterKey, keys.masterSalt, 1, 20);
  const authed = p.subarray(0, p.length - tagLength);
  const tag = createHmac('sha1', ka).update(authed).update(Buffer.alloc(4)).digest().subarray(0, tagLength);
  if (!tag.equals(p.subarray(p.length - tagLength))) return undefined;
  const ke = derive(keys.masterKey, keys.masterSalt, 0, keys.masterKey.length);
  const ks = derive(keys.masterKey, keys.masterSalt, 2, 14);
  const cc = p[0]! & 0x0f;
  const ext = (p[0]! & 0x10) !== 0;
  let off = 12 + cc * 4;
  if (ext) off += 4 + p.readUInt16BE(off + 2) * 4;
  const iv = Buffer.alloc(16);
  ks.copy(iv, 0);
  const ssrc = p.readUInt32BE(8);
  const seq = p.readUInt16BE(2);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  iv.writeUInt16BE(iv.readUInt16BE(12) ^ seq, 12);
  const payload = authed.subarray(off);
  const stream = aesCm(ke, iv, payload.length);
  return Buffer.from(payload.map((b, i) => b ^ stream[i]!));
}
