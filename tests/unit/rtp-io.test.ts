// Audio I/O: WAV read/write (including a writer that never got to close), resampling, tone, and the device
// fallback: with no sound tool that works, a warning and silence, and the stream goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav, goertzel, parseWav, readWav, toMono, RtpParseError } from '../../src/rtp/index.js';
import { WavWriter } from '../../src/rtp/wav.js';
import { Resampler } from '../../src/rtp/dsp.js';
import { DeviceSink, DeviceSource, FileSource, ToneSource } from '../../src/rtp/io.js';
import { openDevice } from '../../src/rtp/device.js';

const dir = mkdtempSync(join(tmpdir(), 'rtp-io-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('WAV: encode -> parse round trip; stereo to mono; hostile files throw RtpParseError', () => {
  const pcm = Int16Array.from({ length: 100 }, (_, i) => i * 300 - 15000);
  const w = parseWav(encodeWav(8000, pcm));
  assert.equal(w.sampleRate, 8000);
  assert.equal(w.channels, 1);
  assert.deepEqual(w.samples, pcm);
  assert.deepEqual(
    toMono({ sampleRate: 8000, channels: 2, samples: Int16Array.from([100, 300, -50, -150]) }),
    Int16Array.from([200, -100]),
  );
  const bad = encodeWav(8000, pcm);
  for (const b of [new Uint8Array(8), Uint8Array.from(bad).fill(0, 0, 4), Uint8Array.from(bad.subarray(0, 30))]) {
    assert.throws(() => parseWav(b), RtpParseError);
  }
  const eightBit = Uint8Array.from(bad);
  eightBit[34] = 8;
  assert.throws(() => parseWav(eightBit), RtpParseError);
});

test('WAV writer: valid while growing (header patched), and complete after close', () => {
  const path = join(dir, 'grow.wav');
  const w = new WavWriter(path, 8000);
  const frame = Int16Array.from({ length: 160 }, (_, i) => (i % 2 ? 1000 : -1000));
  for (let i = 0; i < 60; i++) w.write(frame); // 1.2 s: one header patch on the way
  const midway = readWav(path);
  assert.ok(midway.samples.length >= 8000, 'readable before close, with at least a second in it');
  assert.equal(new DataView(readFileSync(path).buffer).getUint32(40, true) >= 16000, true, 'sizes patched');
  w.close();
  w.close();
  const done = readWav(path);
  assert.equal(done.samples.length, 60 * 160);
  assert.deepEqual(done.samples.subarray(0, 160), frame);
});

test('WAV writer: pieces of any size (smaller and larger than its 100 ms buffer) come back in order', () => {
  const path = join(dir, 'pieces.wav');
  const w = new WavWriter(path, 8000); // a 1600-byte buffer
  const all: number[] = [];
  let k = 0;
  for (const n of [7, 333, 1000, 1, 799, 2500, 160, 160]) {
    const piece = Int16Array.from({ length: n }, () => ((k++ * 7919) % 65536) - 32768);
    all.push(...piece);
    w.write(piece);
  }
  w.close();
  assert.deepEqual([...readWav(path).samples], all);
});

test('resampler: a 1 kHz tone keeps its frequency up and down, in 20 ms pieces', () => {
  for (const [from, to] of [
    [8000, 48000],
    [48000, 8000],
    [44100, 16000],
    [16000, 48000],
  ] as const) {
    const r = new Resampler(from, to);
    const tone = new ToneSource(1000, 0.5);
    const out: number[] = [];
    for (let i = 0; i < 50; i++) out.push(...r.process(tone.read(from, from / 50)));
    // the interpolator starts one input sample late: at most one input period of output is still inside it
    assert.ok(out.length <= to && out.length >= to - Math.ceil(to / from), `${from}->${to}: ${out.length}`);
    const tail = out.slice(out.length / 2);
    const on = goertzel(tail, to, 1000);
    assert.ok(on > 0.2 && on > 1000 * goertzel(tail, to, 2700), `${from}->${to}: ${on}`);
  }
});

test('resampler: the same output whether the input comes whole or in pieces of any size (the filter history carries over)', () => {
  for (const [from, to] of [
    [48000, 8000],
    [44100, 16000],
    [16000, 8000],
    [8000, 48000],
  ] as const) {
    const input = Int16Array.from({ length: 4000 }, (_, i) =>
      Math.round(20000 * Math.sin(i * 0.37) * Math.cos(i * 0.011)),
    );
    const whole = [...new Resampler(from, to).process(input)];
    const r = new Resampler(from, to);
    const pieces: number[] = [];
    let at = 0;
    for (const n of [1, 5, 31, 32, 33, 960, 2, 700]) {
      pieces.push(...r.process(input.subarray(at, at + n)));
      at += n;
    }
    pieces.push(...r.process(input.subarray(at)));
    assert.deepEqual(pieces, whole, `${from}->${to}`);
  }
});

test('resampler: a steady input stays steady across 20 ms blocks (no samples lost or zeroed at the joins)', () => {
  for (const [from, to] of [
    [8000, 48000],
    [16000, 48000],
    [48000, 8000],
    [44100, 16000],
  ] as const) {
    const r = new Resampler(from, to);
    let produced = 0;
    for (let b = 0; b < 20; b++) {
      const y = r.process(new Int16Array(from / 50).fill(10000));
      produced += y.length;
      // after the first block (the filter and the interpolator start from silence) every sample is the input's
      if (b > 1)
        assert.ok(
          y.every((v) => Math.abs(v - 10000) <= 1),
          `${from}->${to} block ${b}: ${y.subarray(0, 8).join(',')}`,
        );
    }
    assert.equal(produced, (to * 20) / 50, `${from}->${to}: one output sample per 1/${to} s`);
  }
});

test('file source: plays the file at the asked rate, then silence', () => {
  const path = join(dir, 'tone.wav');
  const tone = new ToneSource(1000, 0.5).read(16000, 1600); // 100 ms
  writeFileSync(path, encodeWav(16000, tone));
  const src = new FileSource(path);
  const a = src.read(8000, 400);
  assert.ok(goertzel(a, 8000, 1000) > 0.2);
  src.read(8000, 400);
  src.read(8000, 160); // the low-pass filter's tail
  assert.ok(
    src.read(8000, 160).every((v) => v === 0),
    'after the end: silence',
  );
  assert.equal(src.finished, true);
});

test('devices: with no working tool, one warning each way and silence; the source keeps giving frames', async () => {
  const none = [{ cmd: 'blink-tui-no-such-sound-tool', args: () => [] }];
  const failing = [{ cmd: process.execPath, args: () => ['-e', 'process.exit(3)'] }];
  const r = await openDevice('capture', undefined, [...none, ...failing]);
  assert.equal(r.handle, null);
  assert.equal(r.reasons[0], 'blink-tui-no-such-sound-tool: not installed');
  assert.match(r.reasons[1]!, /exited \(3\)/);

  const warnings: string[] = [];
  const src = new DeviceSource(
    undefined,
    (w) => warnings.push(w),
    () => {},
    none,
  );
  const sink = new DeviceSink(
    undefined,
    (w) => warnings.push(w),
    () => {},
    failing,
  );
  const f = src.read(8000, 160);
  assert.equal(f.length, 160);
  sink.write(f);
  for (let i = 0; i < 100 && warnings.length < 2; i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(warnings.length, 2);
  assert.ok(
    warnings.every((w) => /^no sound device for (capture|playback): .*; the call goes on$/.test(w)),
    warnings.join('\n'),
  );
  assert.ok(src.read(48000, 960).every((v) => v === 0));
  src.close();
  sink.close();
});

test('devices: a tool that keeps running is taken, and its PCM is read', async () => {
  // a stand-in capture tool: writes 100 ms of a 1 kHz tone as s16le at 48 kHz, then stays up
  const script =
    'const b=Buffer.alloc(9600);for(let i=0;i<4800;i++)b.writeInt16LE(Math.round(16000*Math.sin(2*Math.PI*1000*i/48000)),i*2);' +
    'process.stdout.write(b);setTimeout(()=>{},5000)';
  const logs: string[] = [];
  const src = new DeviceSource(
    undefined,
    () => {},
    (m) => logs.push(m),
    [{ cmd: process.execPath, args: () => ['-e', script] }],
  );
  try {
    for (let i = 0; i < 100 && logs.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.match(logs[0] ?? '', /audio capture through/);
    const f = src.read(48000, 2400);
    assert.ok(goertzel(f, 48000, 1000) > 0.1);
  } finally {
    src.close();
  }
});
