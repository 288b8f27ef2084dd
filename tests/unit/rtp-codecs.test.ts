// Codecs: G.711 against the ITU-T G.711 values, G.722 and Opus round trips measured with Goertzel and SNR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, ulawToLinear } from '../../src/rtp/g711.js';
import { G722Decoder, G722Encoder } from '../../src/rtp/g722.js';
import { CODECS, createCodec } from '../../src/rtp/codecs.js';
import { goertzel } from '../../src/rtp/dsp.js';
import { OpusCodecState } from '../../src/rtp/opus.js';
import { OpusDecoder } from '../../src/rtp/opus-decoder.js';

test('G.711 μ-law: ITU values (14-bit decoder outputs x 4), bias and segments', () => {
  assert.equal(linearToUlaw(0), 0xff);
  assert.equal(ulawToLinear(0xff), 0);
  assert.equal(ulawToLinear(0x7f), 0); // negative zero
  assert.equal(ulawToLinear(0x80), 8031 * 4);
  assert.equal(ulawToLinear(0x00), -8031 * 4);
  // segment 0 steps by 2 (x4 = 8), segment 1 starts at 33 (x4) and steps by 4
  assert.equal(ulawToLinear(0xfe), 8);
  assert.equal(ulawToLinear(0xef), 33 * 4);
  assert.equal(ulawToLinear(0xee), 37 * 4);
  assert.equal(linearToUlaw(32767), 0x80);
  assert.equal(linearToUlaw(-32768), 0x00);
});

test('G.711 A-law: ITU values (13-bit decoder outputs x 8), even-bit inversion', () => {
  assert.equal(linearToAlaw(0), 0xd5);
  assert.equal(alawToLinear(0xd5), 8); // 1 x 8
  assert.equal(alawToLinear(0x55), -8);
  assert.equal(alawToLinear(0xaa), 4032 * 8);
  assert.equal(alawToLinear(0x2a), -4032 * 8);
  assert.equal(alawToLinear(0xd4), 3 * 8);
  assert.equal(alawToLinear(0xc5), 33 * 8); // first value of segment 1
  assert.equal(linearToAlaw(32767), 0xaa);
  assert.equal(linearToAlaw(-32768), 0x2a);
});

test('G.711: every code decodes to a value that encodes back to it; encoding is monotonic', () => {
  for (let c = 0; c < 256; c++) {
    if (c !== 0x7f) assert.equal(linearToUlaw(ulawToLinear(c)), c, `μ-law ${c}`);
    assert.equal(linearToAlaw(alawToLinear(c)), c, `A-law ${c}`);
  }
  let prevU = -Infinity;
  let prevA = -Infinity;
  for (let x = -32768; x < 32768; x += 7) {
    const u = ulawToLinear(linearToUlaw(x));
    const a = alawToLinear(linearToAlaw(x));
    assert.ok(u >= prevU && a >= prevA);
    prevU = u;
    prevA = a;
    // quantization error within half a step of the segment (relative error under 1/16 + the smallest step)
    assert.ok(Math.abs(u - x) <= Math.abs(x) / 16 + 140, `μ-law ${x} -> ${u}`);
    assert.ok(Math.abs(a - x) <= Math.abs(x) / 16 + 140, `A-law ${x} -> ${a}`);
  }
  const pcm = Int16Array.from([0, 1000, -1000, 32000]);
  assert.deepEqual(decodeG711(encodeG711(pcm, 'u'), 'u').length, 4);
});

function sine(rate: number, hz: number, n: number, amp = 0.3): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amp * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)));
}

/** Best SNR (dB) of `out` against `ref` over lags 0..maxLag (codecs delay the signal). */
function snr(ref: Int16Array, out: Int16Array, from: number, maxLag = 400): number {
  let best = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let s = 0;
    let n = 0;
    for (let i = from; i + lag < out.length && i < ref.length; i++) {
      s += ref[i]! ** 2;
      n += (ref[i]! - out[i + lag]!) ** 2;
    }
    best = Math.max(best, 10 * Math.log10(s / n));
  }
  return best;
}

test('G.722: tones in both sub-bands survive encode -> decode (SNR, Goertzel)', () => {
  for (const [hz, minSnr] of [
    [300, 35],
    [1000, 30],
    [3000, 25],
    [5000, 12],
    [6500, 12],
  ] as const) {
    const pcm = sine(16000, hz, 16000);
    const enc = new G722Encoder();
    const bytes = enc.encode(pcm);
    assert.equal(bytes.length, 8000, 'one byte per two samples: 64 kbit/s');
    const out = new G722Decoder().decode(bytes);
    const s = snr(pcm, out, 4000, 40);
    assert.ok(s > minSnr, `${hz} Hz: SNR ${s.toFixed(1)} dB`);
    const tail = out.subarray(8000);
    assert.ok(goertzel(tail, 16000, hz) > 100 * goertzel(tail, 16000, hz === 1000 ? 2000 : 1000));
  }
});

test('G.722: silence stays silent and state carries across 20 ms frames', () => {
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const pcm = sine(16000, 1000, 16000);
  const out = new Int16Array(16000);
  for (let i = 0; i < 16000; i += 320) out.set(dec.decode(enc.encode(pcm.subarray(i, i + 320))), i);
  const whole = new G722Decoder().decode(new G722Encoder().encode(pcm));
  assert.deepEqual(out, whole, 'framing does not change the bit stream');
  const quiet = new G722Decoder().decode(new G722Encoder().encode(new Int16Array(3200)));
  assert.ok(quiet.every((s) => Math.abs(s) < 64));
});

test('codec table: Blink order and payload types; frame sizes follow the media clocks', () => {
  assert.deepEqual(
    CODECS.map((c) => `${c.pt} ${c.name}/${c.clockRate}`),
    ['96 opus/48000', '9 G722/8000', '0 PCMU/8000', '8 PCMA/8000'],
  );
  const frames = CODECS.map((c) => {
    const k = createCodec(c);
    const r = [k.frameSamples, k.frameTicks];
    k.close();
    return r;
  });
  assert.deepEqual(frames, [
    [960, 960],
    [320, 160], // G.722: 16 kHz audio, 8 kHz RTP clock (RFC 3551)
    [160, 160],
    [160, 160],
  ]);
});

test('every codec carries a 1 kHz tone through 50 frames', () => {
  for (const spec of CODECS) {
    const c = createCodec(spec);
    const tone = sine(spec.sampleRate, 1000, c.frameSamples * 50);
    const out: number[] = [];
    for (let f = 0; f < 50; f++) {
      const payload = c.encode(tone.subarray(f * c.frameSamples, (f + 1) * c.frameSamples));
      assert.ok(payload.length > 0 && payload.length <= 400);
      out.push(...c.decode(payload));
    }
    c.close();
    assert.equal(out.length, tone.length, spec.name);
    const tail = out.slice(out.length / 2);
    const on = goertzel(tail, spec.sampleRate, 1000);
    const off = goertzel(tail, spec.sampleRate, 2500);
    assert.ok(on > 0.05, `${spec.name}: tone power ${on}`);
    assert.ok(on > off * 100, `${spec.name}: ${on} vs ${off}`);
    if (spec.name === 'opus') assert.ok(snr(tone, Int16Array.from(out), tone.length / 2, 600) > 10);
  }
});

test("Opus: a lost frame rebuilt from the next packet's in-band FEC is closer to the real one than concealment", () => {
  // two tones (a voice-like mix), 60 frames; frames 20, 25, ..., 50 are "lost" on two decoders: one rebuilds each
  // from the next packet's FEC, the other conceals; both are compared with a third that got every packet
  const enc = new OpusCodecState();
  const n = 960;
  const sig = (k: number) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 440 * k) / 48000) + 3000 * Math.sin((2 * Math.PI * 1330 * k) / 48000));
  const packets = Array.from({ length: 60 }, (_, f) =>
    enc.encode(Int16Array.from({ length: n }, (_, i) => sig(f * n + i))),
  );
  enc.close();
  const ref = new OpusDecoder();
  const fec = new OpusDecoder();
  const plc = new OpusDecoder();
  const err = (x: Int16Array, y: Int16Array) => {
    let e = 0;
    let s = 0;
    for (let i = 0; i < y.length; i++) {
      e += (x[i]! - y[i]!) ** 2;
      s += y[i]! ** 2;
    }
    return 10 * Math.log10(s / Math.max(1, e));
  };
  const gains: number[] = [];
  for (let k = 0; k < 60; k++) {
    const real = ref.decode(packets[k]!);
    if (k >= 20 && k <= 50 && k % 5 === 0) {
      const a = fec.decodeFec(packets[k + 1]!);
      const b = plc.conceal();
      assert.equal(a.length, n);
      assert.equal(b.length, n);
      gains.push(err(a, real) - err(b, real));
    } else {
      fec.decode(packets[k]!);
      plc.decode(packets[k]!);
    }
  }
  for (const d of [ref, fec, plc]) d.close();
  const mean = gains.reduce((s, g) => s + g, 0) / gains.length;
  assert.ok(mean > 3, `FEC over concealment: ${gains.map((g) => g.toFixed(1)).join(' ')} dB`);
  assert.throws(() => new OpusDecoder().decode(new Uint8Array(2000)), RangeError);
});
