// `npm run bench:rtp`: what the audio engine spends per 20 ms packet. SRTP's two primitives (AES-128 counter mode
// and HMAC-SHA1) through node:crypto (what src/rtp/srtp.ts uses) and through @noble (pure JS), the whole SRTP
// protect + unprotect, each codec's encode + decode of one frame, and how evenly the 20 ms pacer ticks.
//
//   npm run bench:rtp               default iteration counts (a few seconds)
//   npm run bench:rtp -- --scale 0.2
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ctr } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { CODECS, createCodec } from '../src/rtp/codecs.js';
import { serializeRtp } from '../src/rtp/packet.js';
import { Pacer } from '../src/rtp/pacer.js';
import { SrtpContext } from '../src/rtp/srtp.js';
import { ToneSource } from '../src/rtp/io.js';

const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;

function time(label: string, n: number, f: () => void): number {
  for (let i = 0; i < Math.min(2000, n); i++) f(); // warm-up: let the JIT compile
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${label.padEnd(48)} ${us.toFixed(2).padStart(8)} µs/packet`);
  return us;
}

const N = Math.round(50000 * scale);
const key = randomBytes(16);
const authKey = randomBytes(20);
const iv = randomBytes(16);
for (const size of [160, 80]) {
  const data = randomBytes(size);
  const hdr = randomBytes(12);
  console.log(`-- SRTP primitives, ${size}-byte payload (${size === 160 ? 'PCMU / G.722' : 'Opus, about 32 kbit/s'})`);
  const node = time('node:crypto aes-128-ctr + hmac-sha1', N, () => {
    const c = createCipheriv('aes-128-ctr', key, iv);
    c.update(data);
    c.final();
    createHmac('sha1', authKey).update(hdr).update(data).digest();
  });
  const noble = time('@noble ctr + hmac(sha1)', N, () => {
    ctr(key, iv).encrypt(data);
    hmac(sha1, authKey, data);
  });
  console.log(`node:crypto is ${(noble / node).toFixed(1)}x @noble's speed per packet`);
}

console.log('-- SRTP protect + unprotect of a 160-byte RTP payload (src/rtp/srtp.ts)');
const k = { masterKey: new Uint8Array(randomBytes(16)), masterSalt: new Uint8Array(randomBytes(14)) };
const tx = SrtpContext.fromKeys(k);
const rx = SrtpContext.fromKeys(k);
let seq = 0;
time('protectRtp + unprotectRtp', N, () => {
  const p = serializeRtp({
    payloadType: 0,
    marker: false,
    sequence: seq & 0xffff,
    timestamp: seq * 160,
    ssrc: 1,
    payload: new Uint8Array(160),
  });
  seq++;
  rx.unprotectRtp(tx.protectRtp(p));
});

console.log('-- codecs: encode + decode of one 20 ms frame of a 1 kHz tone');
for (const spec of CODECS) {
  const c = createCodec(spec);
  const frame = new ToneSource(1000).read(spec.sampleRate, c.frameSamples);
  time(`${spec.name}/${spec.clockRate}`, Math.round((spec.name === 'opus' ? 2000 : 20000) * scale), () =>
    c.decode(c.encode(frame)),
  );
  c.close();
}

console.log('-- pacer: 250 ticks of 20 ms (5 s), intervals between ticks');
const stamps: number[] = [];
await new Promise<void>((resolve) => {
  const p = new Pacer(20, () => {
    stamps.push(performance.now());
    if (stamps.length === Math.max(20, Math.round(250 * scale))) {
      p.stop();
      resolve();
    }
  });
  p.begin();
});
const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!);
gaps.sort((a, b) => a - b);
const drift = stamps[stamps.length - 1]! - stamps[0]! - 20 * (stamps.length - 1);
console.log(
  `intervals: median ${gaps[gaps.length >> 1]!.toFixed(2)} ms, min ${gaps[0]!.toFixed(2)}, max ${gaps[gaps.length - 1]!.toFixed(2)}; ` +
    `drift over the run ${drift.toFixed(2)} ms (scheduled from a monotonic start: does not accumulate)`,
);
