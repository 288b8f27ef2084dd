// blink-tui (a real headless process, SIP over UDP on 127.0.0.1) and Debian's linphonec (liblinphone + bzrtp, ZRTP
// mandatory) calling each other both ways: blink-tui answers linphonec's ZRTP offer with ZRTP and linphonec
// answers our opportunistic offer (a=crypto and a=zrtp-hash) with ZRTP; both show the same SAS, and the SRTP keyed
// by ZRTP carries each side's tone to the other (Goertzel on both recordings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { Linphonec, linphonecAvailable } from '../helpers/linphonec.js';
import { writeToneWav } from '../helpers/tone.js';
import { findFreePort } from '../../src/sip/free-port.js';
import { goertzel, readWav, toMono } from '../../src/rtp/index.js';

const LP_HZ = 800;
const US_HZ = 1200;
const B32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{4}$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 100 ms windows of a recording where `hz` is clearly there. */
function heard(path: string, hz: number): number {
  const w = readWav(path);
  const pcm = toMono(w);
  const step = Math.round(w.sampleRate / 10);
  let n = 0;
  for (let i = 0; i + step <= pcm.length; i += step)
    if (goertzel(pcm.subarray(i, i + step), w.sampleRate, hz) > 0.002) n++;
  return n;
}

async function start(dir: string, autoAnswer: boolean) {
  const out = join(dir, 'blink-tui-heard.wav');
  const port = await findFreePort('udp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const c = await HeadlessClient.start({
    args: [
      '--user',
      'bob',
      '--port',
      String(port),
      '--transport',
      'udp',
      '--no-otr',
      '--audio-in',
      `tone:${US_HZ}`,
      '--audio-out',
      out,
    ],
  });
  const play = join(dir, 'lp-800.wav');
  writeToneWav(play, { rate: 48000, hz: LP_HZ, seconds: 60, amplitude: 0.3 });
  const lp = await Linphonec.start({ user: 'alice', play, mediaEncryption: 'zrtp', autoAnswer });
  return { c, uri: `sip:bob@127.0.0.1:${port}`, out, lp };
}

async function checkCall(c: HeadlessClient, session: string, lp: Linphonec, out: string, since: number) {
  const z = await c.waitFor((e: Ev) => e.ev === 'zrtp' && e.session === session && e.state !== 'negotiating', 20000);
  assert.equal(z.state, 'secure', JSON.stringify(z));
  const theirs = await lp.sas(15000, since);
  assert.match(String(z.sas), B32);
  assert.equal(z.sas, theirs.sas, 'the same SAS on both sides');
  assert.match(String(z.cipher), /^AES1\//);
  const a = await c.waitFor((e) => e.ev === 'audio' && e.session === session && e.encryption === 'zrtp', 10000);
  assert.equal(a.state, 'active');
  await sleep(3000);
  lp.terminate();
  await c.waitFor((e) => e.ev === 'session' && e.session === session && e.state === 'ended', 15000);
  await lp.waitLine(/ended/, 10000, since);
  assert.ok(heard(out, LP_HZ) >= 10, `blink-tui heard linphonec's ${LP_HZ} Hz in ${heard(out, LP_HZ)} windows`);
  assert.ok(
    heard(lp.recordPath, US_HZ) >= 10,
    `linphonec heard our ${US_HZ} Hz in ${heard(lp.recordPath, US_HZ)} windows`,
  );
}

test(
  'linphonec (bzrtp) calls blink-tui: ZRTP, the same SAS, tones both ways',
  { skip: !linphonecAvailable() },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-zrtp-lp-'));
    const { c, uri, out, lp } = await start(dir, false);
    try {
      const since = lp.lines.length;
      lp.call(uri);
      const inc = await c.waitFor((e) => e.ev === 'incoming', 15000);
      assert.deepEqual(inc.media, ['audio']);
      const session = String(inc.session);
      c.send({ cmd: 'accept', session });
      await checkCall(c, session, lp, out, since);
    } finally {
      await c.quit();
      await lp.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'blink-tui calls linphonec: our opportunistic offer answered with ZRTP, the same SAS, tones both ways',
  { skip: !linphonecAvailable() },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-zrtp-lp-'));
    const { c, out, lp } = await start(dir, true);
    try {
      const since = lp.lines.length;
      const mark = c.events.length;
      c.send({ cmd: 'call', to: lp.contact });
      const act = await c.waitFor((e) => e.ev === 'audio' && e.state === 'active', 15000, mark);
      await checkCall(c, String(act.session), lp, out, since);
    } finally {
      await c.quit();
      await lp.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
