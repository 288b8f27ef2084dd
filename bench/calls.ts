// `npm run bench:calls`: CPU of one active audio call, blink-tui beside baresip 1.0, on 127.0.0.1. Each side of a
// call is its own process (two blink-tui --headless, or two baresip), both play a tone and record what they hear, SDES
// SRTP on; the CPU time (utime + stime from /proc/PID/stat) each process spends over a window of the running call is
// reported as a share of one core, per side, for Opus and for PCMU. The calls are checked to carry the tone both ways
// (Goertzel on the recordings) so an idle, broken call is never measured.
//
//   npm run bench:calls                   10 s windows, 3 rounds alternating blink-tui / baresip
//   npm run bench:calls -- --seconds 5 --rounds 1
//   npm run bench:calls -- --compare /path/to/other/bin/blink-tui.js   another build's calls too, in the same rounds
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient } from '../tests/helpers/client.js';
import { findFreePort } from '../src/sip/free-port.js';
import { encodeWav, goertzel, readWav, toMono } from '../src/rtp/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
/**
 * A second window of each call, starting this many seconds after it is up (0: none). A fresh blink-tui spends its
 * first seconds compiling (V8 optimizing the media path, the Opus WebAssembly tiering up) and settling its heap
 * (V8's memory reducer): CPU the first call of a process pays once, which a client that stays up for hours does
 * not pay again on its next call. Both windows are reported, for both clients.
 */
const SETTLE = arg('settle', 20);
const ROUNDS = arg('rounds', 3);
const compareAt = process.argv.indexOf('--compare');
/** Another build of blink-tui (its bin/blink-tui.js, with its dist/ beside it), measured in the same rounds. */
const COMPARE = compareAt > 0 ? process.argv[compareAt + 1] : undefined;
const TICK = 100; // USER_HZ on Linux
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICK; // utime, stime (fields 14 and 15)
}

function toneWav(path: string, hz: number, rate: number, channels: number, seconds: number): void {
  const n = rate * seconds;
  const mono = Int16Array.from({ length: n }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)));
  const wav = encodeWav(rate, channels === 1 ? mono : Int16Array.from({ length: n * 2 }, (_, i) => mono[i >> 1]!));
  const dv = new DataView(wav.buffer);
  dv.setUint16(22, channels, true);
  dv.setUint32(28, rate * 2 * channels, true);
  dv.setUint16(32, 2 * channels, true);
  writeFileSync(path, wav);
}

function hears(path: string, hz: number): boolean {
  const w = readWav(path);
  const pcm = toMono(w);
  for (let i = 0; i + w.sampleRate <= pcm.length; i += w.sampleRate / 2)
    if (goertzel(pcm.subarray(i, i + w.sampleRate), w.sampleRate, hz) > 0.02) return true;
  return false;
}

async function measure(pids: number[], seconds = SECONDS): Promise<number[]> {
  const t0 = process.hrtime.bigint();
  const c0 = pids.map(cpuSeconds);
  await sleep(seconds * 1000);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return pids.map((p, i) => (cpuSeconds(p) - c0[i]!) / dt);
}

/** The CPU of two idle blink-tui processes (no call), measured before the call of the same round. */
const idle: number[] = [];

/** CPU shares of the two sides: [early window, settled window (or [] without one)]. */
type Shares = [number[], number[]];

/** The early window 2 s after the call is up, then (with SETTLE) the settled one. */
async function windows(pids: number[], upAt: number): Promise<Shares> {
  await sleep(Math.max(0, upAt + 2000 - Date.now())); // past the start (first RTCP, jitter buffer fill, Opus warm-up)
  const early = await measure(pids);
  if (SETTLE <= 0) return [early, []];
  await sleep(Math.max(0, upAt + SETTLE * 1000 - Date.now()));
  return [early, await measure(pids)];
}

async function blinkCall(codec: string, bin?: string): Promise<Shares> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-calls-'));
  const env = { ...process.env, BLINK_TUI_AUDIO_CODECS: codec, BLINK_TUI_REHEARSAL: '0' };
  const peers: { c: HeadlessClient; port: number; out: string }[] = [];
  try {
    for (const [user, hz] of [
      ['alice', 1000],
      ['bob', 1600],
    ] as const) {
      const port = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
      const input = join(dir, `${user}.wav`);
      const out = join(dir, `${user}-out.wav`);
      toneWav(input, hz, 16000, 1, SETTLE + SECONDS + 20);
      const c = await HeadlessClient.start({
        args: [
          '--user',
          user,
          '--port',
          String(port),
          '--transport',
          'tcp',
          '--no-otr',
          '--audio-in',
          input,
          '--audio-out',
          out,
        ],
        env,
        ...(bin ? { bin } : {}),
      });
      peers.push({ c, port, out });
    }
    const [a, b] = peers as [(typeof peers)[0], (typeof peers)[0]];
    await sleep(1000);
    idle.push(...(await measure([a.c.proc.pid!, b.c.proc.pid!], Math.min(5, SECONDS))));
    a.c.send({ cmd: 'call', to: `sip:bob@127.0.0.1:${b.port};transport=tcp` });
    const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000);
    b.c.send({ cmd: 'accept', session: inc.session });
    const act = await a.c.waitFor((e) => e.ev === 'audio' && e.state === 'active', 15000);
    if (!new RegExp(`^${codec}/`, 'i').test(String(act.codec))) throw new Error(`negotiated ${String(act.codec)}`);
    const shares = await windows([a.c.proc.pid!, b.c.proc.pid!], Date.now());
    a.c.send({ cmd: 'hangup', session: act.session });
    await b.c.waitFor((e) => e.ev === 'session' && e.state === 'ended', 15000);
    await Promise.all(peers.map((p) => p.c.quit()));
    if (!hears(a.out, 1600) || !hears(b.out, 1000)) throw new Error('the blink-tui call did not carry the tones');
    return shares;
  } finally {
    for (const p of peers) p.c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function baresipCall(codec: string): Promise<Shares> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-calls-'));
  const module = codec === 'opus' ? 'opus' : 'g711';
  const rate = codec === 'opus' ? 48000 : 8000;
  const channels = codec === 'opus' ? 2 : 1;
  const procs: ChildProcess[] = [];
  const logs: string[] = [];
  const dumps: string[] = [];
  try {
    const ports = [20000 + Math.floor(Math.random() * 9000)];
    ports.push(ports[0]! + 7);
    for (let i = 0; i < 2; i++) {
      const conf = join(dir, `conf${i}`);
      const dump = join(dir, `dump${i}`);
      mkdirSync(conf);
      mkdirSync(dump);
      dumps.push(dump);
      const tone = join(dir, `tone${i}.wav`);
      toneWav(tone, i === 0 ? 1000 : 1600, rate, channels, SETTLE + SECONDS + 20);
      writeFileSync(
        join(conf, 'config'),
        [
          `sip_listen 127.0.0.1:${ports[i]}`,
          'audio_player aubridge,nil',
          'audio_alert aubridge,nil',
          `audio_source aufile,${tone}`,
          `rtp_ports ${42000 + i * 500}-${42000 + i * 500 + 498}`,
          'module_path /usr/lib/baresip/modules',
          ...[module, 'aufile', 'aubridge', 'sndfile', 'srtp'].map((m) => `module ${m}.so`),
          'module_app account.so',
          ...(i === 0 ? ['module_app menu.so'] : []),
          `snd_path ${dump}`,
          '',
        ].join('\n'),
      );
      writeFileSync(join(conf, 'accounts'), `<sip:u${i}@127.0.0.1>;regint=0;answermode=auto;mediaenc=srtp\n`);
    }
    // the answerer first, then the caller dials it
    for (const i of [1, 0]) {
      const args = ['-f', join(dir, `conf${i}`), ...(i === 0 ? ['-e', `/dial sip:u1@127.0.0.1:${ports[1]}`] : [])];
      const p = spawn('baresip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      logs[i] = '';
      p.stdout!.on('data', (d: Buffer) => (logs[i] += d.toString('utf8')));
      p.stderr!.on('data', (d: Buffer) => (logs[i] += d.toString('utf8')));
      procs[i] = p;
      const end = Date.now() + 10000;
      while (!/baresip is ready/.test(logs[i]!) && Date.now() < end) await sleep(50);
    }
    const end = Date.now() + 15000;
    while (!/established/i.test(logs[0] ?? '') && Date.now() < end) await sleep(50);
    if (!/established/i.test(logs[0] ?? '')) throw new Error(`baresip call not established:\n${logs.join('\n')}`);
    const shares = await windows([procs[0]!.pid!, procs[1]!.pid!], Date.now());
    for (const p of procs) p.kill('SIGTERM');
    for (const p of procs) await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
    const dec = (d: string) =>
      join(
        d,
        readdirSync(d).find((f) => f.endsWith('-dec.wav'))!,
      );
    if (!hears(dec(dumps[0]!), 1600) || !hears(dec(dumps[1]!), 1000))
      throw new Error('the baresip call did not carry the tones');
    return shares;
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

console.log(
  `CPU of one active call, per side (share of one core over ${SECONDS} s), SDES SRTP, ${ROUNDS} rounds; ` +
    `early window 2 s after the call is up${SETTLE > 0 ? `, settled window ${SETTLE} s after` : ''}`,
);
for (const codec of ['opus', 'PCMU']) {
  const ours: Shares = [[], []];
  const theirs: Shares = [[], []];
  const other: Shares = [[], []];
  const add = (to: Shares, s: Shares) => (to[0].push(...s[0]), to[1].push(...s[1]));
  for (let r = 0; r < ROUNDS; r++) {
    if (COMPARE) add(other, await blinkCall(codec, COMPARE));
    add(ours, await blinkCall(codec));
    add(theirs, await baresipCall(codec));
  }
  for (const w of SETTLE > 0 ? [0, 1] : [0]) {
    const o = median(ours[w]!);
    const t = median(theirs[w]!);
    const name = `${codec.padEnd(5)} ${w === 0 ? 'early  ' : 'settled'}`;
    console.log(
      `${name} blink-tui ${pct(o).padStart(7)} (idle ${pct(median(idle))})   baresip ${pct(t).padStart(7)}   ratio ${(o / t).toFixed(2)}   ` +
        `(blink-tui per side: ${ours[w]!.map(pct).join(', ')}; baresip: ${theirs[w]!.map(pct).join(', ')})`,
    );
    if (COMPARE) {
      const c = median(other[w]!);
      console.log(
        `${name} compared build ${pct(c).padStart(7)}   ratio to baresip ${(c / t).toFixed(2)}   (per side: ${other[w]!.map(pct).join(', ')})`,
      );
    }
  }
}
