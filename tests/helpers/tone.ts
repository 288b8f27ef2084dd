// Test tones in WAV files: write one (16-bit PCM), read back what a peer recorded, and find a tone in it.
// The detector runs the Goertzel filter for the wanted frequency over short Hann-windowed frames and asks
// two things of each frame: is most of the frame's energy at that frequency, and is it well above every
// other probe frequency? A codec's distortion keeps the first share high; another tone or broadband noise
// fails both. Pure TypeScript so the same code checks baresip, linphonec and blink-tui recordings.
import { readFileSync, writeFileSync } from 'node:fs';

export class WavError extends Error {
  override readonly name = 'WavError';
}

export interface ToneSpec {
  readonly rate: number;
  readonly hz: number;
  readonly seconds: number;
  /** Peak amplitude, 0..1 of full scale. */
  readonly amplitude: number;
  /** Silence before the tone starts (seconds, default 0): a known onset for latency measurements. */
  readonly leadSilence?: number;
  /** Silence after the tone (seconds, default 0). */
  readonly tailSilence?: number;
  /** Add white noise of this peak amplitude (0..1) everywhere, from a seeded generator. Default none. */
  readonly noise?: number;
  readonly seed?: number;
}

export interface Wav {
  readonly rate: number;
  readonly channels: number;
  /** Mono samples in -1..1 (channels averaged). */
  readonly samples: Float32Array;
}

/** A small deterministic PRNG (mulberry32) so noisy fixtures are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples of a tone as described (mono, -1..1). */
export function toneSamples(spec: ToneSpec): Float32Array {
  const lead = Math.round((spec.leadSilence ?? 0) * spec.rate);
  const body = Math.round(spec.seconds * spec.rate);
  const tail = Math.round((spec.tailSilence ?? 0) * spec.rate);
  const out = new Float32Array(lead + body + tail);
  const w = (2 * Math.PI * spec.hz) / spec.rate;
  for (let i = 0; i < body; i++) out[lead + i] = spec.amplitude * Math.sin(w * i);
  if (spec.noise) {
    const rnd = seededRandom(spec.seed ?? 1);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) + spec.noise * (2 * rnd() - 1);
  }
  return out;
}

/** A canonical 44-byte-header WAV: PCM 16-bit little-endian, mono. */
export function encodeWav(samples: Float32Array, rate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const v = new DataView(bytes.buffer);
  const ascii = (off: number, s: string): void => {
    for (let i = 0; i < s.length; i++) bytes[off + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] ?? 0));
    v.setInt16(44 + i * 2, Math.round(s * 32767), true);
  }
  return bytes;
}

export function writeToneWav(path: string, spec: ToneSpec): void {
  writeFileSync(path, encodeWav(toneSamples(spec), spec.rate));
}

/**
 * Reads 16-bit PCM WAV (any channel count). Recorders that are killed, or that stream (ALSA's file plugin,
 * linphone while recording), leave the RIFF/data sizes at 0 or 0xffffffff: the data chunk is then taken to
 * run to the end of the file, never past it.
 */
export function parseWav(bytes: Uint8Array): Wav {
  if (bytes.length < 12) throw new WavError('too short for a RIFF header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (off: number): string => String.fromCharCode(...bytes.subarray(off, off + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new WavError('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const declared = v.getUint32(off + 4, true);
    const bodyStart = off + 8;
    if (id === 'fmt ') {
      if (declared < 16 || bodyStart + 16 > bytes.length) throw new WavError('fmt chunk too short');
      fmt = {
        format: v.getUint16(bodyStart, true),
        channels: v.getUint16(bodyStart + 2, true),
        rate: v.getUint32(bodyStart + 4, true),
        bits: v.getUint16(bodyStart + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk before fmt chunk');
      // 0xfffe is WAVE_FORMAT_EXTENSIBLE: libsndfile writes it; the samples are the same 16-bit PCM
      if ((fmt.format !== 1 && fmt.format !== 0xfffe) || fmt.bits !== 16) {
        throw new WavError(`unsupported sample format ${fmt.format}/${fmt.bits} bits (16-bit PCM only)`);
      }
      if (fmt.channels < 1 || fmt.channels > 8) throw new WavError(`unsupported channel count ${fmt.channels}`);
      if (fmt.rate < 1000 || fmt.rate > 384000) throw new WavError(`implausible sample rate ${fmt.rate}`);
      const available = bytes.length - bodyStart;
      const len = declared === 0 || declared > available ? available : declared;
      const frameBytes = 2 * fmt.channels;
      const frames = Math.floor(len / frameBytes);
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < fmt.channels; c++) sum += v.getInt16(bodyStart + i * frameBytes + c * 2, true);
        samples[i] = sum / fmt.channels / 32768;
      }
      return { rate: fmt.rate, channels: fmt.channels, samples };
    }
    if (declared > bytes.length - bodyStart) break;
    off = bodyStart + declared + (declared & 1);
  }
  throw new WavError('no data chunk');
}

export function readWav(path: string): Wav {
  return parseWav(readFileSync(path));
}

export interface DetectOptions {
  /** Analysis frame (ms, default 20) and hop between frames (ms, default 5). */
  readonly windowMs?: number;
  readonly hopMs?: number;
  /** Only look at this part of the file (seconds). */
  readonly fromSec?: number;
  readonly toSec?: number;
  /** Share of a frame's energy that must be at the target frequency (default 0.5). */
  readonly minEnergyShare?: number;
  /** The target must exceed every other probe frequency by this factor in power (default 20, 13 dB). */
  readonly minContrast?: number;
  /** Frames quieter than this tone level (dBFS, default -50) never count as the tone. */
  readonly minDbfs?: number;
  /** Consecutive present frames needed to call an onset (default 4, i.e. 20 ms at the default hop). */
  readonly onsetFrames?: number;
}

export interface Detection {
  /** Frames analysed. */
  readonly frames: number;
  /** Share of frames (0..1) in which the tone is present. */
  readonly fraction: number;
  /** Start (seconds from the beginning of the file) of the first run of onsetFrames present frames, or null. */
  readonly onsetSec: number | null;
  /** Median estimated level of the tone in present frames (dBFS), or null. */
  readonly levelDbfs: number | null;
}

/** Goertzel power of one frequency over samples[from, from+n) weighted by w. */
function goertzel(samples: Float32Array, from: number, w: Float32Array, hz: number, rate: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    const s0 = (samples[from + i] ?? 0) * (w[i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Probe frequencies spread over the band, none within 150 Hz of the target (its own Hann main lobe). */
function probes(hz: number, rate: number): number[] {
  const out: number[] = [];
  const top = rate / 2 - 100;
  for (let f = 150; f <= top; f *= 1.12) if (Math.abs(f - hz) > 150) out.push(f);
  return out;
}

export function detectTone(wav: Wav, hz: number, options: DetectOptions = {}): Detection {
  const { rate, samples } = wav;
  if (!(hz > 0 && hz < rate / 2)) throw new RangeError(`tone ${hz} Hz outside 0..${rate / 2} Hz`);
  const n = Math.max(16, Math.round(((options.windowMs ?? 20) * rate) / 1000));
  const hop = Math.max(1, Math.round(((options.hopMs ?? 5) * rate) / 1000));
  const from = Math.max(0, Math.round((options.fromSec ?? 0) * rate));
  const to = Math.min(samples.length, Math.round((options.toSec ?? Infinity) * rate));
  const minShare = options.minEnergyShare ?? 0.5;
  const minContrast = options.minContrast ?? 20;
  const minAmp = Math.pow(10, (options.minDbfs ?? -50) / 20);
  const runNeeded = options.onsetFrames ?? 4;
  const w = new Float32Array(n);
  let wSum = 0;
  let w2Sum = 0;
  for (let i = 0; i < n; i++) {
    const v = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    w[i] = v;
    wSum += v;
    w2Sum += v * v;
  }
  const others = probes(hz, rate);
  let frames = 0;
  let present = 0;
  let run = 0;
  let onset: number | null = null;
  const levels: number[] = [];
  for (let start = from; start + n <= to; start += hop) {
    frames++;
    const p = goertzel(samples, start, w, hz, rate);
    // a sine of amplitude A gives |X| = A * sum(w) / 2
    const amp = (2 * Math.sqrt(Math.max(0, p))) / wSum;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const x = (samples[start + i] ?? 0) * (w[i] ?? 0);
      energy += x * x;
    }
    // windowed mean power against the windowed power of the sine alone (A^2/2 * sum(w^2))
    const share = energy > 0 ? ((amp * amp) / 2) * (w2Sum / energy) : 0;
    let hit = amp >= minAmp && share >= minShare;
    if (hit) {
      for (const f of others) {
        if (goertzel(samples, start, w, f, rate) * minContrast > p) {
          hit = false;
          break;
        }
      }
    }
    if (hit) {
      present++;
      levels.push(20 * Math.log10(amp));
      run++;
      if (run === runNeeded && onset === null) onset = (start - (runNeeded - 1) * hop) / rate;
    } else {
      run = 0;
    }
  }
  levels.sort((a, b) => a - b);
  return {
    frames,
    fraction: frames === 0 ? 0 : present / frames,
    onsetSec: onset,
    levelDbfs: levels.length ? (levels[Math.floor(levels.length / 2)] ?? null) : null,
  };
}
