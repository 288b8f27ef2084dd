// Small signal helpers: a streaming resampler (low-pass FIR when going down, then linear interpolation), the
// Goertzel single-frequency power used by tests and level meters, peak level.

/** Streaming mono resampler; keeps its state across calls so 20 ms frames join without clicks. */
export class Resampler {
  /**
   * Position of the next output sample relative to `last`, in 1/to of an input sample: whole numbers, so the
   * positions are exact and the same however the input is cut into blocks (a float step drifted with the cuts).
   */
  private pos = 0;
  private last = 0;
  private readonly taps: Float64Array | null;
  /** The last taps - 1 input samples (the FIR's history), then the block being processed. */
  private buf: Float64Array;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
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
      this.buf = new Float64Array(n - 1);
    } else {
      this.taps = null;
      this.buf = new Float64Array(0);
    }
  }

  process(input: Int16Array): Int16Array {
    if (this.from === this.to) return input.slice();
    const n = input.length;
    // Sample j of [last, ...x] is (j === 0 ? last : x[j-1]); outputs are at pos, pos + from/to, ... while pos < n
    // (an output between the last two samples is made now: it used to wait for the next block, which no longer
    // had the sample before `last`, and came out as 0 — six zeros every 20 ms going 8 -> 48 kHz, a 50 Hz buzz).
    // Going down, x is the low-passed input, computed only where an output needs it (one sample in from/to for
    // an integer ratio: 48 -> 8 kHz filtered every input sample before, six times the work).
    const x = this.taps !== null;
    if (x) this.loadBlock(input);
    const { from, to } = this;
    const end = n * to;
    const r = new Int16Array(this.pos < end ? Math.ceil((end - this.pos) / from) : 0); // exactly the outputs due
    let pos = this.pos;
    let i = 0;
    while (pos < end) {
      const j = Math.floor(pos / to);
      const f = (pos - j * to) / to;
      const a = j === 0 ? this.last : x ? this.filtered(j - 1) : input[j - 1]!;
      const v = f === 0 ? a : a + ((x ? this.filtered(j) : input[j]!) - a) * f;
      r[i++] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
      pos += from;
    }
    this.pos = pos - end;
    if (n) this.last = x ? this.filtered(n - 1) : input[n - 1]!;
    if (x) this.buf.copyWithin(0, n, n + this.taps!.length - 1); // the history for the next block
    return r;
  }

  /** Puts a block after the FIR's history in `buf`. */
  private loadBlock(input: Int16Array): void {
    const h = this.taps!.length - 1;
    if (this.buf.length < h + input.length) {
      const grown = new Float64Array(h + input.length);
      grown.set(this.buf.subarray(0, h));
      this.buf = grown;
    }
    this.buf.set(input, h);
  }

  /** The anti-aliasing FIR's output at sample i of the current block: taps over inputs i - (taps - 1) .. i. */
  private filtered(i: number): number {
    const taps = this.taps!;
    const b = this.buf;
    let acc = 0;
    for (let k = 0; k < taps.length; k++) acc += taps[k]! * b[i + k]!;
    return acc;
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
