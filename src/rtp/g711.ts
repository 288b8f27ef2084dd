// G.711 (ITU-T G.711) μ-law and A-law, 16-bit linear in and out. Computed from the segment rules, not from a copied
// table: μ-law adds the bias 0x84 and takes the segment from the highest set bit; A-law works on 13-bit magnitudes
// and inverts the even bits (XOR 0x55). Decoding goes through 256-entry tables built once from those rules.

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

export function linearToUlaw(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > ULAW_CLIP) s = ULAW_CLIP;
  s += ULAW_BIAS;
  const exp = 31 - Math.clz32(s) - 7; // segment 0..7: s is at least 0x84, so its top bit is bit 7..14
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const exp = (u >> 4) & 7;
  const mag = ((((u & 0x0f) << 3) + ULAW_BIAS) << exp) - ULAW_BIAS;
  return u & 0x80 ? -mag | 0 : mag; // | 0: the negative zero code decodes to 0, not -0
}

export function linearToAlaw(sample: number): number {
  const s = sample | 0;
  const sign = s >= 0 ? 0x80 : 0; // A-law: the sign bit is 1 for positive values
  let mag = (s >= 0 ? s : -s - 1) >> 3; // 13-bit magnitude, 0..4095
  if (mag > 4095) mag = 4095;
  let exp = 0;
  let mant: number;
  if (mag < 32) mant = mag >> 1;
  else {
    exp = 31 - Math.clz32(mag) - 4;
    mant = (mag >> exp) & 0x0f;
  }
  return (sign | (exp << 4) | mant) ^ 0x55;
}

export function alawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  const exp = (a >> 4) & 7;
  const mant = a & 0x0f;
  const mag = exp === 0 ? (mant << 4) + 8 : ((mant << 4) + 0x108) << (exp - 1);
  return a & 0x80 ? mag : -mag;
}

const ULAW_DECODE = Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i));
const ALAW_DECODE = Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i));

export function encodeG711(pcm: Int16Array, law: 'u' | 'a'): Uint8Array {
  const out = new Uint8Array(pcm.length);
  const f = law === 'u' ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = f(pcm[i]!);
  return out;
}

export function decodeG711(bytes: Uint8Array, law: 'u' | 'a'): Int16Array {
  const t = law === 'u' ? ULAW_DECODE : ALAW_DECODE;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = t[bytes[i]!]!;
  return out;
}
