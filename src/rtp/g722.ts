// G.722 at 64 kbit/s (ITU-T G.722 mode 1), written from the Recommendation's block description: a QMF splits
// 16 kHz audio into two 8 kHz sub-bands; the lower band is coded with 6-bit ADPCM (its 4 upper bits drive the
// predictor so that a decoder that only gets 4 or 5 bits stays in step), the higher band with 2-bit ADPCM. Each
// band has a pole-zero predictor (2 poles, 6 zeros) adapted with sign-sign updates. Arithmetic follows the
// Recommendation's 16-bit fixed point (shifts, saturation) so both ends stay in step. One byte per input sample
// pair; samples are 16-bit linear in and out, the sub-band signals 15-bit. Bit-exact with FFmpeg's G.722 encoder
// and decoder (tests/interop/rtp-ffmpeg.test.ts), whose decoder passes the ITU-T test sequences.

// QMF coefficients (Recommendation table), symmetric, 24 taps.
const QMF = [
  3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3,
];

// Lower band quantizer decision levels (x detl >> 12), and the code words for negative / positive differences.
const Q6 = [
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339,
  1458, 1612, 1765, 1980, 2195, 2557, 2919,
];
const ILN = [
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
];
const ILP = [
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33,
  32,
];
// 4-bit inverse quantizer (the predictor's input) and 6-bit inverse quantizer (the decoder's output), x detl >> 15.
const QM4 = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808,
  21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008,
  3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
// Lower band log scale factor multipliers, indexed through RL42 (4-bit code -> magnitude class).
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
// Inverse log base 2 (scale factor from the log domain), 32 steps of one octave.
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
  3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
// Higher band: 2-bit codes, inverse quantizer, log scale factor multipliers.
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];
const QM2 = [-7408, -1616, 7408, 1616];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];

const sat = (x: number): number => (x > 32767 ? 32767 : x < -32768 ? -32768 : x);

/** One sub-band's adaptive predictor and scale factor (the Recommendation's blocks 3 and 4). */
class Band {
  s = 0; // signal estimate
  sp = 0; // pole part
  sz = 0; // zero part
  r = [0, 0, 0]; // reconstructed signal, r[0] newest
  a = [0, 0, 0]; // pole coefficients a[1], a[2]
  p = [0, 0, 0]; // partial reconstructed signal
  d = [0, 0, 0, 0, 0, 0, 0]; // quantized differences, d[0] newest
  b = [0, 0, 0, 0, 0, 0, 0]; // zero coefficients b[1..6]
  nb = 0; // log scale factor
  det: number;
  constructor(det: number) {
    this.det = det;
  }

  /** Block 4: update the predictor with the quantized difference `dq`; leaves the next estimate in `s`. */
  update(dq: number): void {
    const d = this.d;
    const b = this.b;
    const a = this.a;
    const p = this.p;
    const r = this.r;
    d[0] = dq;
    r[0] = sat(this.s + dq);
    p[0] = sat(this.sz + dq);
    // pole coefficients (UPPOL2 then UPPOL1); the sign of zero counts as positive
    const sg0 = p[0] >> 15;
    const sg1 = p[1]! >> 15;
    const sg2 = p[2]! >> 15;
    const wd1 = sat(a[1]! * 4);
    let wd2 = sg0 === sg1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let ap2 = (wd2 >> 7) + (sg0 === sg2 ? 128 : -128) + ((a[2]! * 32512) >> 15);
    ap2 = ap2 > 12288 ? 12288 : ap2 < -12288 ? -12288 : ap2;
    let ap1 = (sg0 === sg1 ? 192 : -192) + ((a[1]! * 32640) >> 15);
    const lim = 15360 - ap2;
    ap1 = ap1 > lim ? lim : ap1 < -lim ? -lim : ap1;
    // zero coefficients (UPZERO)
    const step = dq === 0 ? 0 : 128;
    const sgd = dq >> 15;
    for (let i = 1; i <= 6; i++) {
      const w = d[i]! >> 15 === sgd ? step : -step;
      b[i] = sat(w + ((b[i]! * 32640) >> 15));
    }
    // delays
    for (let i = 6; i > 0; i--) d[i] = d[i - 1]!;
    r[2] = r[1]!;
    r[1] = r[0];
    p[2] = p[1]!;
    p[1] = p[0];
    a[1] = ap1;
    a[2] = ap2;
    // FILTEP, FILTEZ, PREDIC
    this.sp = sat(((a[1] * sat(r[1] * 2)) >> 15) + ((a[2] * sat(r[2]! * 2)) >> 15));
    let sz = 0;
    for (let i = 1; i <= 6; i++) sz += (b[i]! * sat(d[i]! * 2)) >> 15;
    this.sz = sat(sz);
    this.s = sat(this.sp + this.sz);
  }
}

function lowScale(band: Band, code4: number): void {
  let nb = ((band.nb * 127) >> 7) + WL[RL42[code4]!]!;
  nb = nb < 0 ? 0 : nb > 18432 ? 18432 : nb;
  band.nb = nb;
  const shift = 8 - (nb >> 11);
  const v = ILB[(nb >> 6) & 31]!;
  band.det = (shift >= 0 ? v >> shift : v << -shift) << 2;
}

function highScale(band: Band, code: number): void {
  let nb = ((band.nb * 127) >> 7) + WH[RH2[code]!]!;
  nb = nb < 0 ? 0 : nb > 22528 ? 22528 : nb;
  band.nb = nb;
  const shift = 10 - (nb >> 11);
  const v = ILB[(nb >> 6) & 31]!;
  band.det = (shift >= 0 ? v >> shift : v << -shift) << 2;
}

export class G722Encoder {
  private readonly x = new Int32Array(24); // QMF delay line, x[0] newest
  private readonly low = new Band(32);
  private readonly high = new Band(8);

  /** 16 kHz 16-bit samples (an even count) -> one byte per pair. */
  encode(pcm: Int16Array): Uint8Array {
    const out = new Uint8Array(pcm.length >> 1);
    const x = this.x;
    for (let j = 0; j < out.length; j++) {
      x.copyWithin(2, 0, 22);
      x[1] = pcm[2 * j]!;
      x[0] = pcm[2 * j + 1]!;
      let even = 0;
      let odd = 0;
      for (let i = 0; i < 12; i++) {
        even += x[2 * i]! * QMF[2 * i]!;
        odd += x[2 * i + 1]! * QMF[2 * i + 1]!;
      }
      const xl = sat((even + odd) >> 14);
      const xh = sat((even - odd) >> 14);
      out[j] = (this.encodeHigh(xh) << 6) | this.encodeLow(xl);
    }
    return out;
  }

  private encodeLow(xl: number): number {
    const band = this.low;
    const el = sat(xl - band.s);
    const wd = el >= 0 ? el : -(el + 1);
    let mil = 1;
    while (mil < 30 && wd >= (Q6[mil]! * band.det) >> 12) mil++;
    const code = el < 0 ? ILN[mil]! : ILP[mil]!;
    const ril = code >> 2;
    const dlt = (band.det * QM4[ril]!) >> 15;
    lowScale(band, ril);
    band.update(dlt);
    return code;
  }

  private encodeHigh(xh: number): number {
    const band = this.high;
    const eh = sat(xh - band.s);
    const wd = eh >= 0 ? eh : -(eh + 1);
    const mih = wd >= (564 * band.det) >> 12 ? 2 : 1;
    const code = eh < 0 ? IHN[mih]! : IHP[mih]!;
    const dh = (band.det * QM2[code]!) >> 15;
    highScale(band, code);
    band.update(dh);
    return code;
  }
}

export class G722Decoder {
  private readonly xd = new Int32Array(12); // QMF delay lines of the difference and sum signals, [0] newest
  private readonly xs = new Int32Array(12);
  private readonly low = new Band(32);
  private readonly high = new Band(8);

  decode(bytes: Uint8Array): Int16Array {
    const out = new Int16Array(bytes.length * 2);
    const xd = this.xd;
    const xs = this.xs;
    for (let j = 0; j < bytes.length; j++) {
      const code = bytes[j]!;
      const rl = this.decodeLow(code & 0x3f);
      const rh = this.decodeHigh(code >> 6);
      xd.copyWithin(1, 0, 11);
      xs.copyWithin(1, 0, 11);
      xd[0] = rl - rh;
      xs[0] = rl + rh;
      let o1 = 0;
      let o2 = 0;
      for (let i = 0; i < 12; i++) {
        o1 += xd[i]! * QMF[2 * i]!;
        o2 += xs[i]! * QMF[2 * i + 1]!;
      }
      out[2 * j] = sat(o1 >> 11);
      out[2 * j + 1] = sat(o2 >> 11);
    }
    return out;
  }

  private decodeLow(code: number): number {
    const band = this.low;
    const dl = (band.det * QM6[code]!) >> 15; // the output uses all 6 bits
    const rl = sat(band.s + dl);
    const ril = code >> 2;
    const dlt = (band.det * QM4[ril]!) >> 15; // the predictor only the upper 4, as the encoder does
    lowScale(band, ril);
    band.update(dlt);
    return rl > 16383 ? 16383 : rl < -16384 ? -16384 : rl;
  }

  private decodeHigh(code: number): number {
    const band = this.high;
    const dh = (band.det * QM2[code]!) >> 15;
    const rh = sat(band.s + dh);
    highScale(band, code);
    band.update(dh);
    return rh > 16383 ? 16383 : rh < -16384 ? -16384 : rh;
  }
}
