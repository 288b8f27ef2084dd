// The latency helpers (tests/helpers/audio-latency.ts, used by bench/audio-latency.ts) on synthetic input (the measurement itself is a benchmark).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markerAlignedMs, mouthToEarMs, ulawToLinear, wireOnsetMs } from '../helpers/audio-latency.js';
import { toneSamples } from '../helpers/tone.js';

/** Linear sample (-1..1) to G.711 mu-law (the standard biased-segment encoder), for building test packets. */
function linearToUlaw(x: number): number {
  let v = Math.round(Math.max(-1, Math.min(1, x)) * 32767);
  const sign = v < 0 ? 0x80 : 0;
  if (v < 0) v = -v;
  v = Math.min(v, 32635) + 0x84;
  let exp = 7;
  for (let mask = 0x4000; (v & mask) === 0 && exp > 0; mask >>= 1) exp--;
  return ~(sign | (exp << 4) | ((v >> (exp + 3)) & 0x0f)) & 0xff;
}

test('mu-law decoding: silence, extremes, and round trip of the encoder used here', () => {
  assert.equal(ulawToLinear(0xff), 0);
  assert.ok(ulawToLinear(0x7f) === 0); // negative zero
  assert.ok(Math.abs(ulawToLinear(0x00) + 32124 / 32768) < 1e-9);
  assert.ok(Math.abs(ulawToLinear(0x80) - 32124 / 32768) < 1e-9);
  for (const x of [-0.9, -0.3, -0.01, 0.002, 0.25, 0.8]) {
    assert.ok(Math.abs(ulawToLinear(linearToUlaw(x)) - x) < Math.abs(x) * 0.07 + 0.001, `x=${x}`);
  }
});

test('wireOnsetMs finds the tone in PCMU packets and places it inside its packet', () => {
  // 0.5 s of silence then 1000 Hz, 20 ms packets sent every 20 ms from t=10000
  const s = toneSamples({ rate: 8000, hz: 1000, seconds: 0.5, amplitude: 0.3, leadSilence: 0.51 });
  const packets: Array<{ data: Buffer; at: number }> = [];
  for (let n = 0; n * 160 < s.length; n++) {
    const pkt = Buffer.alloc(12 + 160, 0xff);
    pkt[0] = 0x80;
    pkt[1] = 0;
    for (let i = 0; i < 160; i++) pkt[12 + i] = linearToUlaw(s[n * 160 + i] ?? 0);
    packets.push({ data: pkt, at: 10000 + n * 20 });
  }
  // an RTCP-like packet and a packet of another payload type are ignored
  packets.splice(3, 0, { data: Buffer.from([0x80, 200, 0, 1]), at: 0 }, { data: Buffer.alloc(172, 0x88), at: 0 });
  const at = wireOnsetMs(packets, 1000);
  assert.ok(at !== null);
  // the onset is at 510 ms of samples; the detector's 20 ms frames find it within 20 ms early or 5 ms late
  assert.ok(at >= 10510 - 20 && at <= 10510 + 5, `at ${at}`);
  assert.equal(wireOnsetMs(packets, 1500), null);
});

test('mouthToEarMs and markerAlignedMs are the plain differences', () => {
  assert.equal(
    mouthToEarMs({ sourceOnsetSec: 1, sourceStartMs: 1000, recordedOnsetSec: 0.9, recordedStartMs: 1250 }),
    150,
  );
  assert.ok(Math.abs(markerAlignedMs(1, 1.12) - 120) < 1e-9);
  assert.ok(Math.abs(markerAlignedMs(1, 1.12, 5) - 125) < 1e-9);
});
