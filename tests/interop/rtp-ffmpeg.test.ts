// Our G.722 and G.711 against FFmpeg's (its G.722 decoder passes the ITU-T test sequences): the same input must give
// the same bytes from both encoders, and the same samples from both decoders, bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav, readWav } from '../../src/rtp/index.js';
import { G722Decoder, G722Encoder } from '../../src/rtp/g722.js';
import { decodeG711, encodeG711 } from '../../src/rtp/g711.js';

const dir = mkdtempSync(join(tmpdir(), 'rtp-ffmpeg-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

/** Two seconds of speech-like material: tones in both G.722 sub-bands, a sweep, noise and a loud burst. */
function material(rate: number): Int16Array {
  const n = rate * 2;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  return Int16Array.from({ length: n }, (_, i) => {
    const t = i / rate;
    const sweep = Math.sin(2 * Math.PI * (200 + 1800 * t) * t);
    const v =
      5000 * Math.sin(2 * Math.PI * 440 * t) +
      (rate > 8000 ? 2500 * Math.sin(2 * Math.PI * 5500 * t) : 0) +
      3000 * sweep +
      800 * rnd() +
      (t > 1.5 && t < 1.6 ? 20000 * Math.sin(2 * Math.PI * 1000 * t) : 0);
    return Math.max(-32768, Math.min(32767, Math.round(v)));
  });
}

test('G.722: our encoder writes the bytes FFmpeg writes, our decoder the samples FFmpeg decodes', () => {
  const pcm = material(16000);
  writeFileSync(join(dir, 'in16.wav'), encodeWav(16000, pcm));
  ffmpeg('-i', join(dir, 'in16.wav'), '-c:a', 'g722', '-f', 'g722', join(dir, 'ff.g722'));
  const theirs = new Uint8Array(readFileSync(join(dir, 'ff.g722')));
  const ours = new G722Encoder().encode(pcm);
  assert.equal(theirs.length, ours.length);
  assert.ok(Buffer.compare(theirs, ours) === 0, 'encoded streams are identical');

  ffmpeg('-f', 'g722', '-i', join(dir, 'ff.g722'), '-c:a', 'pcm_s16le', join(dir, 'ffdec.wav'));
  const ffDecoded = readWav(join(dir, 'ffdec.wav'));
  assert.equal(ffDecoded.sampleRate, 16000);
  const decoded = new G722Decoder().decode(theirs);
  assert.equal(decoded.length, ffDecoded.samples.length);
  assert.ok(
    Buffer.compare(Buffer.from(decoded.buffer), Buffer.from(ffDecoded.samples.buffer)) === 0,
    'decoded samples are identical',
  );
});

test('G.711 μ-law and A-law: FFmpeg decodes every code to our value; our codes differ from its by a step at most', () => {
  // We encode by the G.711 decision intervals (bias, segment from the leading bit); FFmpeg picks the nearest
  // reconstruction value after dropping the low bits. The two differ near decision values, by one step; what must
  // agree exactly is decoding.
  const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
  writeFileSync(join(dir, 'all16.wav'), encodeWav(8000, all));
  for (const [law, codec] of [
    ['u', 'pcm_mulaw'],
    ['a', 'pcm_alaw'],
  ] as const) {
    const fmt = law === 'u' ? 'mulaw' : 'alaw';
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    writeFileSync(join(dir, `codes.${law}`), codes);
    ffmpeg(
      '-f',
      fmt,
      '-ar',
      '8000',
      '-i',
      join(dir, `codes.${law}`),
      '-c:a',
      'pcm_s16le',
      join(dir, `codes-${law}.wav`),
    );
    assert.deepEqual(
      readWav(join(dir, `codes-${law}.wav`)).samples,
      decodeG711(codes, law),
      `${codec}: same decoded values`,
    );

    const levels = [...new Set(decodeG711(codes, law))].sort((a, b) => a - b);
    const rank = (v: number) => levels.indexOf(v);
    const raw = join(dir, `ff.${law}`);
    ffmpeg('-i', join(dir, 'all16.wav'), '-f', fmt, '-c:a', codec, raw);
    const theirs = decodeG711(new Uint8Array(readFileSync(raw)), law);
    const ours = decodeG711(encodeG711(all, law), law);
    let same = 0;
    for (let i = 0; i < all.length; i++) {
      if (ours[i] === theirs[i]) same++;
      else
        assert.equal(
          Math.abs(rank(ours[i]!) - rank(theirs[i]!)),
          1,
          `${codec}: ${all[i]} -> ${ours[i]} / ${theirs[i]}`,
        );
    }
    assert.ok(same / all.length > 0.97, `${codec}: ${same} of ${all.length} codes identical`);
  }
});
