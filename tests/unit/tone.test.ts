import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectTone, encodeWav, parseWav, seededRandom, toneSamples, WavError, type Wav } from '../helpers/tone.js';

const wavOf = (samples: Float32Array, rate: number): Wav => parseWav(encodeWav(samples, rate));

for (const rate of [8000, 16000, 48000]) {
  test(`a generated 800 Hz tone is found at ${rate} Hz, from its onset`, () => {
    const wav = wavOf(toneSamples({ rate, hz: 800, seconds: 1, amplitude: 0.3, leadSilence: 0.25 }), rate);
    const d = detectTone(wav, 800);
    assert.ok(d.onsetSec !== null);
    assert.ok(Math.abs(d.onsetSec - 0.25) <= 0.02, `onset ${d.onsetSec}`);
    // 1 s of tone out of 1.25 s: about 80 % of the frames
    assert.ok(d.fraction > 0.7 && d.fraction < 0.85, `fraction ${d.fraction}`);
    assert.ok(d.levelDbfs !== null && Math.abs(d.levelDbfs - 20 * Math.log10(0.3)) < 1, `level ${d.levelDbfs}`);
  });
}

test('silence is not a tone', () => {
  const d = detectTone(wavOf(new Float32Array(16000), 16000), 800);
  assert.equal(d.fraction, 0);
  assert.equal(d.onsetSec, null);
});

test('a different tone is not the tone, even a loud one 400 Hz away', () => {
  const wav = wavOf(toneSamples({ rate: 8000, hz: 1200, seconds: 1, amplitude: 0.9 }), 8000);
  assert.equal(detectTone(wav, 800).fraction, 0);
  assert.ok(detectTone(wav, 1200).fraction > 0.95);
});

test('noise at -20 dBFS alone is not a tone; under a tone it does not hide it', () => {
  const rate = 8000;
  const noise = toneSamples({ rate, hz: 800, seconds: 1, amplitude: 0, noise: 0.1, seed: 7 });
  const dn = detectTone(wavOf(noise, rate), 800);
  assert.equal(dn.fraction, 0);
  // tone at 0 dB against noise 20 dB below it
  const mixed = toneSamples({ rate, hz: 800, seconds: 1, amplitude: 0.5, noise: 0.05, seed: 9 });
  assert.ok(detectTone(wavOf(mixed, rate), 800).fraction > 0.95);
});

test('two tones at once: neither dominates, so neither counts', () => {
  const rate = 16000;
  const a = toneSamples({ rate, hz: 800, seconds: 0.5, amplitude: 0.3 });
  const b = toneSamples({ rate, hz: 1200, seconds: 0.5, amplitude: 0.3 });
  const sum = a.map((x, i) => x + (b[i] ?? 0));
  assert.equal(detectTone(wavOf(sum, rate), 800).fraction, 0);
});

test('a tone too quiet (below -50 dBFS) is not reported', () => {
  const wav = wavOf(toneSamples({ rate: 8000, hz: 800, seconds: 0.5, amplitude: 0.001 }), 8000);
  assert.equal(detectTone(wav, 800).fraction, 0);
});

test('fromSec/toSec restrict the analysis', () => {
  const wav = wavOf(toneSamples({ rate: 8000, hz: 800, seconds: 0.5, amplitude: 0.3, leadSilence: 0.5 }), 8000);
  assert.equal(detectTone(wav, 800, { toSec: 0.45 }).fraction, 0);
  assert.ok(detectTone(wav, 800, { fromSec: 0.55 }).fraction > 0.95);
});

test('WAV reader: round trip, streaming headers, stereo, hostile input', () => {
  const s = toneSamples({ rate: 8000, hz: 440, seconds: 0.1, amplitude: 0.5 });
  const bytes = encodeWav(s, 8000);
  const back = parseWav(bytes);
  assert.equal(back.rate, 8000);
  assert.equal(back.samples.length, s.length);
  assert.ok(Math.abs((back.samples[10] ?? 0) - (s[10] ?? 0)) < 1 / 16000);
  // a recorder killed mid-write leaves data size 0 or 0xffffffff: read to the end of the file
  for (const size of [0, 0xffffffff]) {
    const copy = bytes.slice();
    new DataView(copy.buffer).setUint32(40, size, true);
    assert.equal(parseWav(copy).samples.length, s.length);
  }
  // stereo: channels are averaged
  const st = bytes.slice();
  const dv = new DataView(st.buffer);
  dv.setUint16(22, 2, true);
  assert.equal(parseWav(st).samples.length, Math.floor(s.length / 2));
  // hostile: never anything but WavError
  const rnd = seededRandom(3);
  for (let i = 0; i < 500; i++) {
    const junk = bytes.slice(0, 12 + Math.floor(rnd() * 60));
    for (let j = 12; j < junk.length; j++) if (rnd() < 0.2) junk[j] = Math.floor(rnd() * 256);
    try {
      parseWav(junk);
    } catch (e) {
      assert.ok(e instanceof WavError, String(e));
    }
  }
  assert.throws(() => parseWav(new Uint8Array(4)), WavError);
  const float = bytes.slice();
  new DataView(float.buffer).setUint16(20, 3, true);
  assert.throws(() => parseWav(float), WavError);
});
