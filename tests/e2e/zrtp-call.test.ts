// Two real blink-tui processes (headless, serverless, SIP over TCP on an address of their own in 127/8) with ZRTP
// on their calls: the SAS is the same on both sides; SRTP keyed by ZRTP carries each side's tone to the other
// (Goertzel on the recordings) while the captured RTP payloads are not the tone in the clear; both users confirm
// the SAS and the SMP from the call (Blink's question, the SAS as secret) marks each OTR peer verified; the next
// call finds the retained secret (cache "match") and is verified without comparing; one side's cache record
// deleted gives the other side the cache-mismatch alarm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { LoopbackCapture } from '../helpers/capture.js';
import { findFreePort } from '../../src/sip/free-port.js';
import { encodeWav, goertzel, readWav, toMono } from '../../src/rtp/index.js';
import { decodeG711 } from '../../src/rtp/g711.js';

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
  uri: string;
  out: string;
}

// Both clients (SIP and RTP) on an address of their own in 127/8, and only that address captured: other runs' RTP
// on lo is not this test's, and cannot fill its capture.
const HOST = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;

async function peer(user: string, dir: string, hz: number): Promise<Peer> {
  const port = await findFreePort('tcp', HOST, 20000 + Math.floor(Math.random() * 20000));
  const input = join(dir, `${user}-in.wav`);
  const out = join(dir, `${user}-out.wav`);
  toneWav(input, hz, 120);
  const c = await HeadlessClient.start({
    args: [
      '--user',
      user,
      '--host',
      HOST,
      '--port',
      String(port),
      '--transport',
      'tcp',
      '--audio-in',
      input,
      '--audio-out',
      out,
    ],
    // G.711 so that a tone sent in the clear would be found in the captured payloads
    env: { BLINK_TUI_AUDIO_CODECS: 'PCMU' },
  });
  return { c, uri: `sip:${user}@${HOST}:${port};transport=tcp`, out };
}

const is = (ev: string, fields: Record<string, unknown>) => (e: Ev) =>
  e.ev === ev && Object.entries(fields).every(([k, v]) => e[k] === v);

const HEARD = 0.005;

function heardWindows(samples: Int16Array, rate: number, hz: number): number {
  const step = Math.round(rate / 10);
  let n = 0;
  for (let i = 0; i + step <= samples.length; i += step)
    if (goertzel(samples.subarray(i, i + step), rate, hz) > HEARD) n++;
  return n;
}

function windowPower(samples: Int16Array, rate: number, hz: number): number {
  const step = Math.round(rate / 10);
  let sum = 0;
  for (let i = 0; i + step <= samples.length; i += step) sum += goertzel(samples.subarray(i, i + step), rate, hz);
  return sum;
}

function hears(path: string, hz: number): number {
  const w = readWav(path);
  return heardWindows(toMono(w), w.sampleRate, hz);
}

/** The UDP payloads of a pcap (Ethernet or Linux cooked framing on lo). */
function udpPayloads(pcap: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const link = pcap.readUInt32LE(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : 0;
  for (let off = 24; off + 16 <= pcap.length;) {
    const len = pcap.readUInt32LE(off + 8);
    const pkt = pcap.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    const ip = pkt.subarray(l2);
    if (ip.length < 28 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    out.push(ip.subarray((ip[0]! & 15) * 4 + 8));
  }
  return out;
}

const ZRTP_COOKIE = 0x5a525450;

/** A call from a to b (chat first when `chat`), accepted; resolves with both session ids once ZRTP is secure. */
async function call(a: Peer, b: Peer, chat: boolean): Promise<{ sa: string; sb: string; za: Ev; zb: Ev }> {
  const ma = a.c.events.length;
  const mb = b.c.events.length;
  let sa: string;
  let sb: string;
  if (chat) {
    a.c.send({ cmd: 'chat', to: b.uri });
    const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000, mb);
    sb = String(inc.session);
    b.c.send({ cmd: 'accept', session: sb });
    sa = String((await a.c.waitFor(is('session', { state: 'active' }), 15000, ma)).session);
    await a.c.waitFor(is('otr', { session: sa, state: 'encrypted' }), 20000, ma);
    await b.c.waitFor(is('otr', { session: sb, state: 'encrypted' }), 20000, mb);
    const mb2 = b.c.events.length;
    a.c.send({ cmd: 'audio', session: sa, action: 'add' });
    const prop = await b.c.waitFor((e) => e.ev === 'incoming' && e.session === sb, 15000, mb2);
    assert.deepEqual(prop.media, ['chat', 'audio']);
    b.c.send({ cmd: 'accept', session: sb });
  } else {
    a.c.send({ cmd: 'call', to: b.uri });
    const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000, mb);
    sb = String(inc.session);
    b.c.send({ cmd: 'accept', session: sb });
    sa = String((await a.c.waitFor((e) => e.ev === 'audio' && e.state === 'active', 15000, ma)).session);
  }
  const za = await a.c.waitFor((e) => e.ev === 'zrtp' && e.session === sa && e.state !== 'negotiating', 20000, ma);
  const zb = await b.c.waitFor((e) => e.ev === 'zrtp' && e.session === sb && e.state !== 'negotiating', 20000, mb);
  assert.equal(za.state, 'secure', JSON.stringify(za));
  assert.equal(zb.state, 'secure', JSON.stringify(zb));
  return { sa, sb, za, zb };
}

async function hangup(a: Peer, sa: string, b: Peer, sb: string): Promise<void> {
  a.c.send({ cmd: 'hangup', session: sa });
  await b.c.waitFor(is('session', { session: sb, state: 'ended' }), 15000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('ZRTP between two blink-tui: same SAS, tones both ways under ZRTP keys, SMP from the call, cache match, mismatch alarm', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-zrtp-e2e-'));
  const cap = await LoopbackCapture.start(`udp and host ${HOST}`);
  let captured: Buffer | null = null;
  const a = await peer('alice', dir, A_HZ);
  const b = await peer('bob', dir, B_HZ);
  try {
    // 1. A chat with OTR, audio added: ZRTP, first time (no retained secret)
    const first = await call(a, b, true);
    const { sa, sb } = first;
    assert.match(String(first.za.sas), /^[ybndrfg8ejkmcpqxot1uwisza345h769]{4}$/);
    assert.equal(first.za.sas, first.zb.sas, 'the same SAS on both sides');
    assert.equal(first.za.cache, 'new');
    assert.equal(first.zb.cache, 'new');
    assert.equal(first.za.verified, false);
    const audioA = await a.c.waitFor(is('audio', { session: sa, encryption: 'zrtp' }), 15000);
    assert.equal(audioA.state, 'active');
    await b.c.waitFor(is('audio', { session: sb, encryption: 'zrtp' }), 15000);
    await sleep(3000);
    // both users compare the SAS and confirm: the SMP from the call runs and verifies both OTR peers
    const ma = a.c.events.length;
    const mb = b.c.events.length;
    a.c.send({ cmd: 'sas', session: sa, action: 'confirm' });
    b.c.send({ cmd: 'sas', session: sb, action: 'confirm' });
    await a.c.waitFor(is('zrtp', { session: sa, verified: true }), 10000, ma);
    // crossing SMP1s are aborted and tried again (call-verification.ts): wait for the check's end
    const end = (e: Ev) => e.ev === 'smp' && (e.result === 'success' || e.result === 'failure');
    const okA = await a.c.waitFor(end, 30000, ma);
    const okB = await b.c.waitFor(end, 30000, mb);
    assert.equal(okA.result, 'success', JSON.stringify(okA));
    assert.equal(okB.result, 'success', JSON.stringify(okB));
    assert.equal(okA.from_call, true);
    assert.equal(okB.from_call, true);
    await a.c.waitFor(is('otr', { session: sa, trust: 'verified' }), 10000, ma);
    await b.c.waitFor(is('otr', { session: sb, trust: 'verified' }), 10000, mb);
    await hangup(a, sa, b, sb);
    captured = await cap.stop();

    // the tones crossed, and no RTP payload on the wire is the tone in the clear (mu-law decoded)
    assert.ok(hears(b.out, A_HZ) >= 10, "bob heard alice's tone");
    assert.ok(hears(a.out, B_HZ) >= 10, "alice heard bob's tone");
    const udp = udpPayloads(captured);
    const zrtp = udp.filter((p) => p.length >= 12 && p.readUInt32BE(4) === ZRTP_COOKIE);
    assert.ok(zrtp.length >= 8, `ZRTP packets on the wire: ${zrtp.length}`);
    const rtp = udp.filter((p) => p.length === 12 + 160 + 10 && p[0]! >> 6 === 2 && (p[1]! & 0x7f) === 0);
    assert.ok(rtp.length > 100, `SRTP PCMU packets on the wire: ${rtp.length}`);
    const clear = new Int16Array(rtp.length * 160);
    rtp.forEach((p, i) => clear.set(decodeG711(new Uint8Array(p.subarray(12, 12 + 160)), 'u'), i * 160));
    // decrypted noise has about the same power at every frequency; a tone in the clear would stand 100x out
    const power = (hz: number) => windowPower(clear, 8000, hz);
    for (const hz of [A_HZ, B_HZ])
      assert.ok(power(hz) < 10 * power(3170), `${hz} Hz stands out of the payloads: ${power(hz)} vs ${power(3170)}`);

    // 2. A second call (audio only): the retained secret matches and the SAS is verified without comparing
    const second = await call(a, b, false);
    assert.equal(second.za.sas, second.zb.sas);
    assert.equal(second.za.cache, 'match');
    assert.equal(second.zb.cache, 'match');
    assert.equal(second.za.verified, true);
    assert.equal(second.zb.verified, true);
    await hangup(a, second.sa, b, second.sb);

    // 3. Bob's record of alice deleted: bob starts afresh, alice finds a secret that matches nothing: the alarm
    const cacheDir = join(b.c.configDir, 'chat', 'zrtp_cache');
    const files = readdirSync(cacheDir);
    assert.equal(files.length, 1, 'bob keeps one record, for alice');
    unlinkSync(join(cacheDir, files[0]!));
    const ma3 = a.c.events.length;
    const third = await call(a, b, false);
    assert.equal(third.za.cache, 'mismatch');
    assert.equal(third.za.verified, false);
    assert.equal(third.zb.cache, 'new');
    assert.equal(third.za.sas, third.zb.sas);
    const alarm = await a.c.waitFor(
      (e) => e.ev === 'system' && e.level === 'warning' && /CACHE MISMATCH/.test(String(e.text)),
      5000,
      ma3,
    );
    assert.ok(alarm);
    await hangup(a, third.sa, b, third.sb);
  } finally {
    if (!captured) await cap.stop().catch(() => undefined);
    await a.c.quit();
    await b.c.quit();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SMP from the call: declined while the peer has not confirmed, run by the peer once it does; a typed SMP still works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-zrtp-e2e-'));
  const a = await peer('alice', dir, A_HZ);
  const b = await peer('bob', dir, B_HZ);
  try {
    const { sa, sb, za, zb } = await call(a, b, true);
    assert.equal(za.sas, zb.sas);
    // a user-typed SMP with its own question, during the call and before any SAS verdict: left to the users
    const m0a = a.c.events.length;
    const m0b = b.c.events.length;
    a.c.send({ cmd: 'smp', session: sa, secret: 'blue', question: 'Favourite colour?' });
    const asked = await b.c.waitFor((e) => e.ev === 'smp' && e.result === 'asked', 15000, m0b);
    assert.equal(asked.question, 'Favourite colour?');
    assert.equal(asked.from_call, undefined);
    b.c.send({ cmd: 'smp_respond', session: sb, secret: 'blue' });
    const typed = await a.c.waitFor((e) => e.ev === 'smp' && e.result !== 'asked', 15000, m0a);
    assert.equal(typed.result, 'success');
    assert.equal(typed.from_call, undefined);
    // only alice confirms the SAS: her check from the call reaches bob, who has not compared: declined, with a word
    const ma = a.c.events.length;
    const mb = b.c.events.length;
    a.c.send({ cmd: 'sas', session: sa, action: 'confirm' });
    const declined = await a.c.waitFor(
      (e) => e.ev === 'smp' && e.from_call === true && e.result !== 'asked',
      20000,
      ma,
    );
    assert.equal(declined.result, 'aborted', JSON.stringify(declined));
    assert.equal(
      b.c.events.slice(mb).some((e) => e.ev === 'smp' && e.result === 'success'),
      false,
      'bob did not answer with the SAS',
    );
    // bob compares later: his side starts the check (Blink would not ask again) and both end verified
    const ma2 = a.c.events.length;
    const mb2 = b.c.events.length;
    b.c.send({ cmd: 'sas', session: sb, action: 'confirm' });
    // an SMP1 that crosses alice's retry is aborted on both sides and tried again (call-verification.ts): the end
    // of the check is its success or failure
    const done = (e: Ev) =>
      e.ev === 'smp' && e.from_call === true && (e.result === 'success' || e.result === 'failure');
    const okB = await b.c.waitFor(done, 30000, mb2);
    const okA = await a.c.waitFor(done, 30000, ma2);
    assert.equal(okB.result, 'success', JSON.stringify(okB));
    assert.equal(okA.result, 'success', JSON.stringify(okA));
    const line = await b.c.waitFor(
      (e) => e.ev === 'system' && e.session === sb && /call/i.test(String(e.text)) && /verified/i.test(String(e.text)),
      5000,
      mb2,
    );
    assert.ok(line);
    await hangup(a, sa, b, sb);
  } finally {
    await a.c.quit();
    await b.c.quit();
    rmSync(dir, { recursive: true, force: true });
  }
});
