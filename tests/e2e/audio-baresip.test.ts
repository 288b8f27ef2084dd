// blink-tui and baresip 1.0 (Debian baresip-core: a second, independent SIP and RTP stack, with its SDES `srtp`
// module) calling each other through a real Kamailio registrar + proxy with digest auth, on 127.0.0.1. baresip
// answers by itself (answermode=auto). Each side plays its own tone from a WAV file; each side's recording of what it
// heard must carry the other's tone (Goertzel), with SRTP on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { startKamailio, type KamailioInstance } from '../helpers/kamailio.js';
import { encodeWav, goertzel, readWav, toMono } from '../../src/rtp/index.js';

const USERS = { alice: 'alice-pw-1', bob: 'bob-pw-2' };
const OURS_HZ = 1000;
const BARESIP_HZ = 1600;
let kam: KamailioInstance;

before(async () => {
  kam = await startKamailio({ users: USERS });
});
after(async () => {
  await kam?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A tone WAV; baresip's file source wants the codec's rate and channels (Opus: 48 kHz stereo). */
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

interface Baresip {
  proc: ChildProcess;
  log: () => string;
  dump: string;
}

/** baresip registered as bob through Kamailio, answering by itself, SDES SRTP, Opus only, calls dumped to WAV. */
async function startBaresip(dir: string, dial?: string): Promise<Baresip> {
  const dump = join(dir, 'dump');
  const conf = join(dir, 'conf');
  mkdirSync(dump);
  mkdirSync(conf);
  const tone = join(dir, 'bs-tone.wav');
  toneWav(tone, BARESIP_HZ, 48000, 2, 30);
  const port = 20000 + Math.floor(Math.random() * 9000);
  writeFileSync(
    join(conf, 'config'),
    [
      `sip_listen 127.0.0.1:${port}`,
      'audio_player aubridge,nil',
      'audio_alert aubridge,nil',
      `audio_source aufile,${tone}`,
      'rtp_ports 41000-41998',
      'module_path /usr/lib/baresip/modules',
      ...['opus', 'aufile', 'aubridge', 'sndfile', 'srtp'].map((m) => `module ${m}.so`),
      'module_app account.so',
      ...(dial ? ['module_app menu.so'] : []),
      `snd_path ${dump}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(conf, 'accounts'),
    `<sip:bob@${kam.domain};transport=udp>;auth_pass=${USERS.bob};outbound="sip:127.0.0.1:${kam.udpPort}";` +
      'regint=300;answermode=auto;mediaenc=srtp\n',
  );
  const proc = spawn('baresip', ['-f', conf, ...(dial ? ['-e', `/dial ${dial}`] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await until('baresip registered', () => /200 OK/.test(out) || proc.exitCode !== null).catch((e: Error) => {
    throw new Error(`${e.message}\n${out}`);
  });
  assert.match(out, /200 OK/, out);
  return { proc, log: () => out, dump };
}

async function stopBaresip(bs: Baresip): Promise<void> {
  bs.proc.kill('SIGTERM'); // baresip hangs up (closing its dump files) and exits
  await until('baresip gone', () => bs.proc.exitCode !== null || bs.proc.signalCode !== null, 5000).catch(() => {
    bs.proc.kill('SIGKILL');
  });
}

async function alice(dir: string): Promise<{ c: HeadlessClient; out: string }> {
  const input = join(dir, 'alice-in.wav');
  const out = join(dir, 'alice-out.wav');
  toneWav(input, OURS_HZ, 16000, 1, 40);
  const c = await HeadlessClient.start({
    args: [
      '--user',
      'alice',
      '--password',
      USERS.alice,
      '--registrar',
      `sip:${kam.domain}`,
      '--outbound-proxy',
      `sip:127.0.0.1:${kam.tcpPort};transport=tcp`,
      '--transport',
      'tcp',
      '--port',
      '0',
      '--no-otr',
      '--audio-in',
      input,
      '--audio-out',
      out,
    ],
  });
  await c.waitFor((e) => e.ev === 'registered', 15000);
  return { c, out };
}

/** The loudest second of a recording at `hz`, against a frequency nobody plays. */
function heard(path: string, hz: number): { tone: number; off: number } {
  const w = readWav(path);
  const pcm = toMono(w);
  let best = { tone: 0, off: 0 };
  for (let i = 0; i + w.sampleRate <= pcm.length; i += w.sampleRate / 4) {
    const part = pcm.subarray(i, i + w.sampleRate);
    const t = goertzel(part, w.sampleRate, hz);
    if (t > best.tone) best = { tone: t, off: goertzel(part, w.sampleRate, 3170) };
  }
  return best;
}

function assertTones(ours: string, dump: string): void {
  const we = heard(ours, BARESIP_HZ);
  assert.ok(we.tone > 0.02 && we.tone > 100 * we.off, `blink-tui heard baresip: ${JSON.stringify(we)}`);
  const dec = readdirSync(dump).find((f) => f.endsWith('-dec.wav'));
  assert.ok(dec, `baresip dumped what it decoded: ${readdirSync(dump).join(', ')}`);
  const they = heard(join(dump, dec), OURS_HZ);
  assert.ok(they.tone > 0.02 && they.tone > 100 * they.off, `baresip heard blink-tui: ${JSON.stringify(they)}`);
}

const is = (ev: string, fields: Record<string, unknown>) => (e: Ev) =>
  e.ev === ev && Object.entries(fields).every(([k, v]) => e[k] === v);

test(
  'blink-tui calls baresip through Kamailio: Opus with SDES SRTP, each hears the other',
  { timeout: 90000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-baresip-'));
    const bs = await startBaresip(dir);
    const a = await alice(dir);
    try {
      a.c.send({ cmd: 'call', to: `bob@${kam.domain}` });
      const act = await a.c.waitFor(is('audio', { state: 'active' }), 20000).catch((e: Error) => {
        throw new Error(`${e.message}\n${bs.log()}`);
      });
      assert.equal(act.encryption, 'sdes');
      assert.match(String(act.codec), /^opus\//i);
      await sleep(3000);
      a.c.send({ cmd: 'hangup', session: act.session });
      await a.c.waitFor(is('session', { session: act.session, state: 'ended' }), 15000);
      await until('baresip saw the BYE', () => /terminated|closed/i.test(bs.log()), 5000).catch(() => {});
    } finally {
      await a.c.quit();
      await stopBaresip(bs);
    }
    try {
      assertTones(a.out, bs.dump);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'baresip calls blink-tui through Kamailio: incoming audio call accepted, each hears the other',
  { timeout: 90000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-baresip-'));
    const a = await alice(dir);
    let bs: Baresip | null = null;
    try {
      bs = await startBaresip(dir, `sip:alice@${kam.domain}`);
      const inc = await a.c
        .waitFor((e) => e.ev === 'incoming', 20000)
        .catch((e: Error) => {
          throw new Error(`${e.message}\n${bs?.log()}`);
        });
      assert.deepEqual(inc.media, ['audio']);
      a.c.send({ cmd: 'accept', session: inc.session });
      const act = await a.c.waitFor(is('audio', { session: inc.session, state: 'active' }), 15000);
      assert.equal(act.encryption, 'sdes');
      await sleep(3000);
      a.c.send({ cmd: 'hangup', session: inc.session });
      await a.c.waitFor(is('session', { session: inc.session, state: 'ended' }), 15000);
    } finally {
      await a.c.quit();
      if (bs) await stopBaresip(bs);
    }
    try {
      assertTones(a.out, bs.dump);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
