// Small signal helpers: a streaming resampler (low-pass FIR when going down, then linear interpolation), the
// Goertzel single-frequency power used by tests and level meters, peak level.

/** Streaming mono resampler; keeps its state across calls so 20 ms frames join without clicks. */
export class Resampler {
  private readonly step: number;
  private pos = 0; // position of the next output sample, in input samples, relative to `last`
  private last = 0;
  private readonly taps: Float64Array | null;
  private readonly hist: Float64Array | null;
  private hi = 0;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    this.step = from / to;
    if (to < from) {
      // windowed-sinc low-pass at 0.45 of the output rate, 33 taps
      const n = 33;
      const fc = (0.45 * to) / from;
      const taps = new Float64Array(n);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const k = i - (n - 1) / 2;
        const sinc = k === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * k) / (Math.PI * k);
        const w = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (n - 1));
        taps[i] = sinc * w;
        sum += taps[i]!;
      }
      for (let i = 0; i < n; i++) taps[i]! /= sum;
      this.taps = taps;
      this.hist = new Float64Array(n);
    } else {
      this.taps = null;
      this.hist = null;
    }
  }

  process(input: Int16Array): Int16Array {
    if (this.from === this.to) return input.slice();
    const x = this.taps && this.hist ? this.lowPass(input) : input;
    // sample j of [last, ...x] is (j === 0 ? last : x[j-1]); outputs are at pos, pos + step, ... while pos + 1 <= n
    const n = x.length;
    const r = new Int16Array(Math.ceil(n / this.step) + 1);
    let pos = this.pos;
    let i = 0;
    while (pos + 1 <= n) {
      const j = Math.floor(pos);
      const f = pos - j;
      const a = j === 0 ? this.last : x[j - 1]!;
      const v = f === 0 ? a : a + (x[j]! - a) * f;
      r[i++] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
      pos += this.step;
    }
    this.pos = pos - n;
    if (n) this.last = x[n - 1]!;
    return i === r.length ? r : r.slice(0, i);
  }

  /** The anti-aliasing FIR over one block, its history kept across blocks. */
  private lowPass(input: Int16Array): Float64Array {
    const taps = this.taps!;
    const hist = this.hist!;
    const n = taps.length;
    const x = new Float64Array(input.length);
    for (let i = 0; i < input.length; i++) {
      hist[this.hi] = input[i]!;
      this.hi = this.hi + 1 === n ? 0 : this.hi + 1;
      let acc = 0;
      let h = this.hi;
      for (let k = 0; k < n; k++) {
        acc += taps[k]! * hist[h]!;
        h = h + 1 === n ? 0 : h + 1;
      }
      x[i] = acc;
    }
    return x;
  }
}

/**
 * Power of one frequency in a block (Goertzel), normalized so that a full-scale sine at that frequency gives
 * about 1 and silence 0 (samples are taken as 16-bit values over 32768).
 */
export function goertzel(samples: ArrayLike<number>, rate: number, hz: number): number {
  const n = samples.length;
  if (n === 0) return 0;
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = samples[i]! / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (4 * p) / (n * n);
}

export function peakLevel(pcm: Int16Array): number {
  let m = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.abs(pcm[i]!);
    if (v > m) m = v;
  }
  return Math.min(1, m / 32768);
}
