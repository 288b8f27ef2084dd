// Pure helpers for audio latency measurements (used by bench/audio-latency.ts, unit-tested in
// tests/unit/audio-latency.test.ts): tone onsets in files and on the wire, and the arithmetic that aligns them.
import { detectTone, readWav, type DetectOptions } from './tone.js';

/** Seconds from the start of the file to the tone's onset, or null when the tone is not there. */
export function toneOnsetSec(file: string, hz: number, options: DetectOptions = {}): number | null {
  return detectTone(readWav(file), hz, options).onsetSec;
}

export interface OnsetAlignment {
  /** Tone onset in the source file (s) and wall time of its first sample (ms since epoch, or any common clock). */
  readonly sourceOnsetSec: number;
  readonly sourceStartMs: number;
  /** Tone onset in the recording (s) and wall time of its first sample (same clock). */
  readonly recordedOnsetSec: number;
  readonly recordedStartMs: number;
}

/** Mouth-to-ear latency in ms: when the tone was heard minus when it was said, both on the common clock. */
export function mouthToEarMs(a: OnsetAlignment): number {
  return a.recordedStartMs + a.recordedOnsetSec * 1000 - (a.sourceStartMs + a.sourceOnsetSec * 1000);
}

/**
 * The same when both files start at the same instant (a marker: e.g. a recorder and a player started together,
 * or one file holding both a reference click and the far side's tone).
 */
export function markerAlignedMs(sourceOnsetSec: number, recordedOnsetSec: number, recordedLagMs = 0): number {
  return (recordedOnsetSec - sourceOnsetSec) * 1000 + recordedLagMs;
}

/** G.711 mu-law byte to a sample in -1..1. */
export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
  return (u & 0x80 ? -magnitude : magnitude) / 32768;
}

/** Wall time at which the tone's onset crossed the relay: PCMU RTP packets in arrival order, with their times. */
export function wireOnsetMs(packets: ReadonlyArray<{ data: Buffer; at: number }>, hz: number): number | null {
  const frames: Array<{ payload: Buffer; at: number }> = [];
  for (const p of packets) {
    if (p.data.length < 12 || p.data[0]! >> 6 !== 2 || (p.data[1]! & 0x7f) !== 0) continue;
    frames.push({ payload: p.data.subarray(12 + 4 * (p.data[0]! & 0x0f)), at: p.at });
  }
  const total = frames.reduce((n, f) => n + f.payload.length, 0);
  const samples = new Float32Array(total);
  const starts: number[] = [];
  let k = 0;
  for (const f of frames) {
    starts.push(k);
    for (const b of f.payload) samples[k++] = ulawToLinear(b);
  }
  const onset = detectTone({ rate: 8000, channels: 1, samples }, hz).onsetSec;
  if (onset === null) return null;
  const idx = Math.round(onset * 8000);
  // the packet holding the onset sample, plus the sample's place in it: the same convention as the ends (a frame's
  // first sample is at the frame's sending time), so a right alignment gives mouth to wire ~0
  let i = 0;
  while (i + 1 < starts.length && starts[i + 1]! <= idx) i++;
  const f = frames[i];
  return f ? f.at + (idx - (starts[i] ?? 0)) / 8 : null;
}
