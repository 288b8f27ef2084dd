// The ZRTP binding (src/chat/zrtp-binding.ts) on real audio streams over 127.0.0.1: two bindings agree (same SAS,
// SRTP keyed from ZRTP, media flows and authenticates), the peer's a=zrtp-hash is checked against its Hello (a wrong
// one: no agreement), and a peer that never answers ends in `failed` with nothing but ZRTP on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudioStream, goertzel, readWav, RtpAudioStream, toMono } from '../../src/rtp/index.js';
import { MemoryZidCache, type AlgorithmLists, type ZrtpSecure } from '../../src/zrtp/index.js';
import { CALL_ALGORITHMS, ZrtpBinding, zrtpSeamOf } from '../../src/chat/zrtp-binding.js';
import { REAL_CLOCK } from '../../src/chat/session.js';
import { randomBytes } from 'node:crypto';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const stream = async () =>
  (await createAudioStream({
    host: '127.0.0.1',
    input: { kind: 'tone', hz: 440 },
    output: { kind: 'none' },
    codecs: ['PCMU'],
    log: () => {},
  })) as RtpAudioStream;
const store = () => Object.assign(new MemoryZidCache(), { zid: new Uint8Array(randomBytes(12)) });

interface Seen {
  secure: ZrtpSecure[];
  failed: string[];
}
function bind(s: RtpAudioStream, seen: Seen) {
  const seam = zrtpSeamOf(s);
  assert.ok(seam, 'the RTP engine has the ZRTP seam');
  return new ZrtpBinding(seam, store(), REAL_CLOCK, 'peer@example.org', {
    secure: (i) => seen.secure.push(i),
    failed: (r) => seen.failed.push(r),
    log: () => {},
  });
}

test('two bindings: same SAS, SRTP keyed by ZRTP, media authenticates', async () => {
  const a = await stream();
  const b = await stream();
  const sa: Seen = { secure: [], failed: [] };
  const sb: Seen = { secure: [], failed: [] };
  const za = bind(a, sa);
  const zb = bind(b, sb);
  try {
    await a.applyAnswer(await b.createAnswer(await a.createOffer('sendrecv'), 'sendrecv'));
    assert.ok(za.chosen && zb.chosen, 'the SDP chose ZRTP');
    a.start();
    b.start();
    // b starts first: a's copy of b's first Hello waits for a's start
    zb.start();
    await sleep(30);
    za.start();
    await until('secure on both', () => sa.secure.length > 0 && sb.secure.length > 0);
    assert.equal(sa.secure[0]!.sas, sb.secure[0]!.sas);
    assert.equal(sa.secure[0]!.srtpProfile, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(a.encryption, 'zrtp');
    await until('SRTP media both ways', () => a.stats().rxPackets > 20 && b.stats().rxPackets > 20);
    assert.deepEqual([sa.failed, sb.failed], [[], []]);
  } finally {
    za.close();
    zb.close();
    a.close();
    b.close();
  }
});

test("a peer's Hello that does not hash to its a=zrtp-hash is not taken", async () => {
  const a = await stream();
  const b = await stream();
  const sa: Seen = { secure: [], failed: [] };
  const sb: Seen = { secure: [], failed: [] };
  const za = bind(a, sa);
  const zb = bind(b, sb);
  try {
    const offer = await a.createOffer('sendrecv');
    // the offer's a=zrtp-hash altered on its way (a party in the middle replacing the Hello)
    const forged = offer.replace(
      /(a=zrtp-hash:1\.10 )([0-9a-f])/,
      (_m, p: string, c: string) => p + (c === '0' ? '1' : '0'),
    );
    await a.applyAnswer(await b.createAnswer(forged, 'sendrecv'));
    a.start();
    b.start();
    za.start();
    zb.start();
    await sleep(1500);
    assert.equal(sb.secure.length, 0, 'b never accepts a Hello that does not match the SDP');
    assert.equal(sa.secure.length, 0);
  } finally {
    za.close();
    zb.close();
    a.close();
    b.close();
  }
});

test('a peer that never answers ZRTP: failed, and nothing but ZRTP packets went out', async () => {
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  peer.on('message', (m) => got.push(m));
  const a = await stream();
  const sa: Seen = { secure: [], failed: [] };
  const za = bind(a, sa);
  try {
    const port = peer.address().port;
    const answer = [
      `m=audio ${port} RTP/AVP 0`,
      'c=IN IP4 127.0.0.1',
      'a=rtpmap:0 PCMU/8000',
      `a=zrtp-hash:1.10 ${'cd'.repeat(32)}`,
      'a=sendrecv',
      '',
    ].join('\r\n');
    await a.createOffer('sendrecv');
    await a.applyAnswer(answer);
    assert.ok(za.chosen);
    a.start();
    za.start();
    await until('failed', () => sa.failed.length > 0, 30000);
    assert.match(sa.failed[0]!, /no ZRTP answer/);
    assert.ok(got.length > 5);
    for (const p of got) assert.equal(p.readUInt32BE(4), 0x5a525450, 'only ZRTP packets (cookie) on the wire');
  } finally {
    za.close();
    a.close();
    peer.close();
  }
});

/** A call's audio between two bindings with the given Hello lists; the tone (440 Hz) is heard in b's WAV output. */
async function toneCall(algA: AlgorithmLists | undefined, algB: AlgorithmLists | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'zrtp-aes3-'));
  const mk = async (hz: number, out: string) =>
    (await createAudioStream({
      host: '127.0.0.1',
      input: { kind: 'tone', hz },
      output: { kind: 'file', path: out },
      codecs: ['PCMU'],
      log: () => {},
    })) as RtpAudioStream;
  const outB = join(dir, 'b.wav');
  const a = await mk(440, join(dir, 'a.wav'));
  const b = await mk(1000, outB);
  const sa: Seen = { secure: [], failed: [] };
  const sb: Seen = { secure: [], failed: [] };
  const on = (seen: Seen) => ({
    secure: (i: ZrtpSecure) => seen.secure.push(i),
    failed: (r: string) => seen.failed.push(r),
    log: () => {},
  });
  const za = new ZrtpBinding(zrtpSeamOf(a)!, store(), REAL_CLOCK, 'b@example.org', on(sa), algA);
  const zb = new ZrtpBinding(zrtpSeamOf(b)!, store(), REAL_CLOCK, 'a@example.org', on(sb), algB);
  try {
    await a.applyAnswer(await b.createAnswer(await a.createOffer('sendrecv'), 'sendrecv'));
    a.start();
    b.start();
    za.start();
    zb.start();
    await until('secure on both', () => sa.secure.length > 0 && sb.secure.length > 0);
    await until('a second of SRTP media at b', () => b.stats().rxPackets > 50);
    assert.deepEqual([sa.failed, sb.failed], [[], []]);
    assert.equal(b.srtpFailures, 0, 'every SRTP packet authenticated');
  } finally {
    za.close();
    zb.close();
    a.close();
    b.close();
  }
  await sleep(50);
  const w = readWav(outB);
  const mono = toMono(w);
  const step = w.sampleRate / 10;
  let heard = 0;
  let other = 0;
  for (let i = 0; i + step <= mono.length; i += step) {
    if (goertzel(mono.subarray(i, i + step), w.sampleRate, 440) > 0.005) heard++;
    if (goertzel(mono.subarray(i, i + step), w.sampleRate, 1000) > 0.005) other++;
  }
  rmSync(dir, { recursive: true, force: true });
  return { a: sa.secure[0]!, b: sb.secure[0]!, heard, other };
}

/** ZRTPCPP's preferences (Blink's Hello, less what we do not implement): S384 and AES3 first. */
const ZRTPCPP_LIKE: AlgorithmLists = {
  hash: ['S384', 'S256'],
  cipher: ['AES3', 'AES1'],
  authTag: ['HS32', 'HS80'],
  keyAgreement: ['EC25', 'DH3k'],
  sas: ['B32', 'B256'],
};

test('a peer that prefers AES3 gets AES3: AES_256_CM_HMAC_SHA1_80 keyed with 32-byte keys, the tone is heard', async () => {
  const r = await toneCall(undefined, ZRTPCPP_LIKE);
  assert.equal(r.a.cipher, 'AES3');
  assert.equal(r.a.srtpProfile, 'AES_256_CM_HMAC_SHA1_80');
  assert.equal(r.b.srtpProfile, 'AES_256_CM_HMAC_SHA1_80');
  assert.equal(r.a.srtp.local.masterKey.length, 32);
  assert.equal(r.a.sas, r.b.sas);
  assert.ok(r.heard > 5, `440 Hz heard in ${r.heard} windows`);
  assert.equal(r.other, 0, 'b does not hear its own tone');
});

test('HS32 chosen (both Hellos list only HS32 and AES3): AES_256_CM_HMAC_SHA1_32, the tone is heard', async () => {
  const only32: AlgorithmLists = { ...CALL_ALGORITHMS, cipher: ['AES3'], authTag: ['HS32'] };
  const r = await toneCall(only32, only32);
  assert.equal(r.a.srtpProfile, 'AES_256_CM_HMAC_SHA1_32');
  assert.equal(r.b.srtpProfile, 'AES_256_CM_HMAC_SHA1_32');
  assert.ok(r.heard > 5, `440 Hz heard in ${r.heard} windows`);
});

test('our own lists against each other stay on AES1/HS80 (what bzrtp also settles on)', async () => {
  const r = await toneCall(undefined, undefined);
  assert.equal(r.a.srtpProfile, 'AES_CM_128_HMAC_SHA1_80');
  assert.ok(r.heard > 5);
});
