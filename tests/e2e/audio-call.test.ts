// Two real blink-tui processes (headless, serverless, SIP over TCP on 127.0.0.1) talking: each plays a tone from a
// WAV file (--audio-in) and records what it hears (--audio-out); the tones are found (Goertzel) in the other side's
// recording. Audio-only calls, audio added to a chat and removed, hold/resume (a silent stretch in both recordings),
// DTMF, refusals (486 / 488, the chat going on), glare, and SRTP on the wire (captured: every RTP packet
// authenticates under an SDES key from the SDP, and what it carries is not what it decrypts to).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { LoopbackCapture } from '../helpers/capture.js';
import { findFreePort } from '../../src/sip/free-port.js';
import { SrtpContext, encodeWav, goertzel, readWav, toMono } from '../../src/rtp/index.js';
import { parseCryptoAttribute } from '../../src/rtp/sdes.js';

const RATE = 16000;
const A_HZ = 1000;
const B_HZ = 1600;

function toneWav(path: string, hz: number, seconds: number): void {
  const n = RATE * seconds;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * hz * i) / RATE));
  writeFileSync(path, encodeWav(RATE, pcm));
}

interface Peer {
  c: HeadlessClient;
  port: number;
  uri: string;
  out: string;
}

async function peer(
  user: string,
  dir: string,
  hz: number,
  env: Record<string, string> = {},
  host = '127.0.0.1',
): Promise<Peer> {
  const port = await findFreePort('tcp', host, 20000 + Math.floor(Math.random() * 20000));
  const input = join(dir, `${user}-in.wav`);
  const out = join(dir, `${user}-out.wav`);
  toneWav(input, hz, 40);
  const c = await HeadlessClient.start({
    env,
    args: [
      '--user',
      user,
      '--host',
      host,
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
  });
  return { c, port, uri: `sip:${user}@${host}:${port};transport=tcp`, out };
}

/** Tone power per 100 ms window of a recording, at `hz` and at a frequency nobody plays. */
function windows(path: string, hz: number): { tone: number[]; off: number[] } {
  const w = readWav(path);
  const pcm = toMono(w);
  const step = Math.round(w.sampleRate / 10);
  const tone: number[] = [];
  const off: number[] = [];
  for (let i = 0; i + step <= pcm.length; i += step) {
    const part = pcm.subarray(i, i + step);
    tone.push(goertzel(part, w.sampleRate, hz));
    off.push(goertzel(part, w.sampleRate, 3170));
  }
  return { tone, off };
}

const HEARD = 0.005; // a 0.4 full-scale sine gives ~0.04; silence and codec noise stay far below 1e-4

/** The tone is in the recording (loud, clean) and the other side's own tone is not (no echo, no mix-up). */
function assertHears(path: string, hz: number, notHz: number, what: string): void {
  const w = windows(path, hz);
  const heard = w.tone.filter((p) => p > HEARD).length;
  assert.ok(heard >= 10, `${what}: ${hz} Hz heard in ${heard} windows (max ${Math.max(...w.tone)})`);
  const loudest = Math.max(...w.tone);
  assert.ok(Math.max(...w.off) < loudest / 100, `${what}: noise at 3170 Hz`);
  assert.ok(Math.max(...windows(path, notHz).tone) < loudest / 100, `${what}: its own ${notHz} Hz came back`);
}

/** Tone, then at least `gap` windows of silence, then tone again: a hold heard as such. */
function assertGap(path: string, hz: number, gap: number, what: string): void {
  const t = windows(path, hz).tone.map((p) => p > HEARD);
  const first = t.indexOf(true);
  let run = 0;
  let best = 0;
  let after = false;
  for (let i = first; i >= 0 && i < t.length; i++) {
    if (!t[i]) run++;
    else {
      if (run >= gap) {
        best = run;
        after = true;
      }
      run = 0;
    }
  }
  assert.ok(first >= 0 && after, `${what}: no silent stretch of ${gap} windows between tones (longest ${best})`);
}

const is = (ev: string, fields: Record<string, unknown>) => (e: Ev) =>
  e.ev === ev && Object.entries(fields).every(([k, v]) => e[k] === v);

/**
 * Two clients; `sdesOnly`: ZRTP off (BLINK_TUI_ZRTP=0), so the call is keyed by SDES in SDP, as with baresip. `host`:
 * where both listen (SIP and RTP), 127.0.0.1 unless a test captures its own traffic on an address of its own.
 */
async function startPair(dir: string, sdesOnly = false, host?: string): Promise<{ a: Peer; b: Peer }> {
  const env: Record<string, string> = sdesOnly ? { BLINK_TUI_ZRTP: '0' } : {};
  const a = await peer('alice', dir, A_HZ, env, host);
  const b = await peer('bob', dir, B_HZ, env, host);
  return { a, b };
}

async function chatPair(a: Peer, b: Peer): Promise<{ sa: string; sb: string }> {
  const ma = a.c.events.length;
  const mb = b.c.events.length;
  a.c.send({ cmd: 'chat', to: b.uri });
  const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000, mb);
  const sb = String(inc.session);
  assert.deepEqual(inc.media, ['chat']);
  b.c.send({ cmd: 'accept', session: sb });
  const act = await a.c.waitFor(is('session', { state: 'active' }), 15000, ma);
  await b.c.waitFor(is('session', { session: sb, state: 'active' }), 15000, mb);
  return { sa: String(act.session), sb };
}

async function say(from: Peer, fromId: string, to: Peer, toId: string, text: string): Promise<void> {
  from.c.send({ cmd: 'send', session: fromId, text });
  await to.c.waitFor(is('message', { session: toId, direction: 'in', text }), 15000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every RTP packet of the capture, as UDP payloads (Ethernet or Linux cooked framing on lo). */
/** UDP payloads in a pcap, only those sent to one of `ports` (the capture holds every test's traffic on lo). */
function udpPayloads(pcap: Buffer, ports: ReadonlySet<number>): Buffer[] {
  const out: Buffer[] = [];
  const link = pcap.readUInt32LE(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : 0;
  for (let off = 24; off + 16 <= pcap.length;) {
    const len = pcap.readUInt32LE(off + 8);
    const pkt = pcap.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    const ip = pkt.subarray(l2);
    if (ip.length < 28 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = (ip[0]! & 15) * 4;
    if (!ports.has(ip.readUInt16BE(udp + 2))) continue;
    out.push(ip.subarray(udp + 8));
  }
  return out;
}

test('an audio-only call with SDES SRTP: each side hears the other tone; on the wire, SRTP under the SDP keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-audio-e2e-'));
  // Both clients (SIP and RTP) on an address of their own in 127/8, and only that address captured: other tests'
  // and benchmarks' traffic on lo must neither count against this one nor fill the capture.
  const host = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
  const cap = await LoopbackCapture.start(`(tcp or udp) and host ${host}`);
  let captured: Buffer | null = null;
  const { a, b } = await startPair(dir, true, host);
  try {
    a.c.send({ cmd: 'call', to: b.uri });
    const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000);
    assert.deepEqual(inc.media, ['audio']);
    const sb = String(inc.session);
    b.c.send({ cmd: 'accept', session: sb });
    const act = await a.c.waitFor(is('audio', { state: 'active' }), 15000);
    const sa = String(act.session);
    await b.c.waitFor(is('audio', { session: sb, state: 'active' }), 15000);
    assert.equal(act.encryption, 'sdes');
    assert.match(String(act.codec), /^opus\//i);
    const stats = await b.c.waitFor(is('audio_stats', { session: sb }), 15000);
    assert.equal(typeof stats.rx_packets, 'number');
    await sleep(3000);
    a.c.send({ cmd: 'hangup', session: sa });
    await b.c.waitFor(is('session', { session: sb, state: 'ended' }), 15000);
    await a.c.waitFor(is('audio', { session: sa, state: 'ended' }), 15000);
    await b.c.waitFor(is('audio', { session: sb, state: 'ended' }), 15000);
    captured = await cap.stop();
  } finally {
    if (!captured) await cap.stop().catch(() => undefined);
    await a.c.quit();
    await b.c.quit();
  }
  try {
    assertHears(b.out, A_HZ, B_HZ, "bob's recording");
    assertHears(a.out, B_HZ, A_HZ, "alice's recording");
    // The keys are in the SIP bodies (plain TCP here); every RTP packet must authenticate under one of them.
    const text = captured.toString('latin1');
    const keys = [...text.matchAll(/a=crypto:(\d+ AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/=|:^]+)/g)]
      .map((m) => parseCryptoAttribute(m[1]!)?.key)
      .filter((k) => k !== null && k !== undefined);
    assert.ok(keys.length >= 2, 'offer and answer keys in the SIP capture');
    // RTP version 2, not RTCP (packet types 200-204 where RTP has marker + payload type)
    // this call's media ports, from its SDPs: other tests' RTP on this shared machine is in the capture too
    const ports = new Set([...text.matchAll(/^m=audio (\d+) /gm)].map((m) => Number(m[1])));
    const media = udpPayloads(captured, ports).filter(
      (p) => p.length > 22 && p[0]! >> 6 === 2 && (p[1]! < 200 || p[1]! > 204),
    );
    assert.ok(media.length > 200, `RTP packets captured: ${media.length}`);
    const contexts = keys.map((k) => SrtpContext.fromKeys(k!));
    let plainEqual = 0;
    for (const p of media) {
      let clear: Uint8Array | null = null;
      for (const ctx of contexts) {
        try {
          clear = ctx.unprotectRtp(new Uint8Array(p));
          break;
        } catch {
          /* the other direction's key */
        }
      }
      assert.ok(clear, 'an RTP packet that authenticates under no SDES key of the call');
      const wire = p.subarray(12, p.length - 10);
      const plain = Buffer.from(clear.subarray(12));
      if (plain.equals(wire)) plainEqual++;
    }
    assert.equal(plainEqual, 0, 'payloads that are their own plaintext');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('audio added to a chat and removed again, hold and resume heard as silence, DTMF; the chat goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-audio-e2e-'));
  const { a, b } = await startPair(dir);
  try {
    const { sa, sb } = await chatPair(a, b);
    await say(a, sa, b, sb, 'before audio');
    a.c.send({ cmd: 'audio', session: sa, action: 'add' });
    const prop = await b.c.waitFor(
      (e) => e.ev === 'incoming' && e.session === sb && Array.isArray(e.media) && e.media.includes('audio'),
      15000,
    );
    assert.deepEqual(prop.media, ['chat', 'audio']);
    b.c.send({ cmd: 'accept', session: sb });
    await a.c.waitFor(is('audio', { session: sa, state: 'active' }), 15000);
    await b.c.waitFor(is('audio', { session: sb, state: 'active' }), 15000);
    await say(b, sb, a, sa, 'with audio');
    await sleep(2000);

    const mark = b.c.events.length;
    a.c.send({ cmd: 'audio', session: sa, action: 'hold' });
    await a.c.waitFor(is('audio', { session: sa, state: 'held' }), 15000);
    await b.c.waitFor(is('audio', { session: sb, state: 'held' }), 15000, mark);
    await sleep(2000);
    a.c.send({ cmd: 'audio', session: sa, action: 'resume' });
    await b.c.waitFor(is('audio', { session: sb, state: 'active' }), 15000, mark);
    await sleep(2000);

    a.c.send({ cmd: 'dtmf', session: sa, digits: '12#' });
    for (const d of ['1', '2', '#']) await b.c.waitFor(is('dtmf', { session: sb, digit: d }), 15000);
    // and the other way, with the letters and the star
    b.c.send({ cmd: 'dtmf', session: sb, digits: '*a9' });
    for (const d of ['*', 'A', '9']) await a.c.waitFor(is('dtmf', { session: sa, digit: d }), 15000);

    a.c.send({ cmd: 'audio', session: sa, action: 'remove' });
    await a.c.waitFor(is('audio', { session: sa, state: 'ended' }), 15000);
    await b.c.waitFor(is('audio', { session: sb, state: 'ended' }), 15000);
    await say(a, sa, b, sb, 'after audio');
    await say(b, sb, a, sa, 'still here');
    assert.equal(b.c.events.some(is('session', { session: sb, state: 'ended' })), false);
    // the peer's side: digits in order, once each
    const digits = b.c.events.filter(is('dtmf', { session: sb })).map((e) => e.digit);
    assert.deepEqual(digits, ['1', '2', '#']);
  } finally {
    await a.c.quit();
    await b.c.quit();
  }
  try {
    assertHears(b.out, A_HZ, B_HZ, "bob's recording");
    assertHears(a.out, B_HZ, A_HZ, "alice's recording");
    // alice held: she sent nothing (bob heard silence) and played nothing (her recording is silent too)
    assertGap(b.out, A_HZ, 12, "bob's recording");
    assertGap(a.out, B_HZ, 12, "alice's recording");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refusals: a call rejected with 486, an audio proposal with 488 and the chat goes on; glare resolved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-audio-e2e-'));
  const { a, b } = await startPair(dir);
  try {
    a.c.send({ cmd: 'call', to: b.uri });
    const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000);
    b.c.send({ cmd: 'reject', session: String(inc.session) });
    const end = await a.c.waitFor(is('session', { state: 'ended' }), 15000);
    assert.match(String(end.reason), /^486/);

    const { sa, sb } = await chatPair(a, b);
    const markA = a.c.events.length;
    a.c.send({ cmd: 'audio', session: sa, action: 'add' });
    await b.c.waitFor(is('audio', { session: sb, state: 'proposed' }), 15000);
    b.c.send({ cmd: 'reject', session: sb });
    const err = await a.c.waitFor((e) => e.ev === 'error' && e.session === sa, 15000, markA);
    assert.match(String(err.message), /488/);
    await say(a, sa, b, sb, 'after the refusal');
    await say(b, sb, a, sa, 'fine');

    // both at once: one 491 each, the retries settle on one audio stream that both sides see active
    const ma = a.c.events.length;
    const mb = b.c.events.length;
    a.c.send({ cmd: 'audio', session: sa, action: 'add' });
    b.c.send({ cmd: 'audio', session: sb, action: 'add' });
    await a.c.waitFor(is('audio', { session: sa, state: 'active' }), 20000, ma);
    await b.c.waitFor(is('audio', { session: sb, state: 'active' }), 20000, mb);
    await sleep(500);
    assert.equal(
      a.c.events.slice(ma).some((e) => e.ev === 'error'),
      false,
      JSON.stringify(a.c.events.slice(ma)),
    );
    assert.equal(
      b.c.events.slice(mb).some((e) => e.ev === 'error'),
      false,
      JSON.stringify(b.c.events.slice(mb)),
    );
    await say(a, sa, b, sb, 'after glare');
  } finally {
    await a.c.quit();
    await b.c.quit();
    rmSync(dir, { recursive: true, force: true });
  }
});
