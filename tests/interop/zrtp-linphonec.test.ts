// Our ZRTP engine against bzrtp for real: Debian's linphonec on 127.0.0.1 calls us and is called by us (hand-written
// SIP, tests/helpers/sip-raw.ts; the engine on a UDP socket, tests/helpers/zrtp-udp.ts). Both sides must print the
// same SAS; linphonec's choice (DH3k, S256, AES1, HS80, B32) exercises the DH3k path; a=zrtp-hash is checked both
// ways. SRTP media itself belongs to the audio layer and is not carried here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { buildRequest, buildResponse, RawUdpPeer } from '../helpers/sip-raw.js';
import { Linphonec } from '../helpers/linphonec.js';
import { ZrtpUdp } from '../helpers/zrtp-udp.js';
import { openSrtp } from '../helpers/srtp-check.js';
import { seededRandom, unit } from '../helpers/zrtp-link.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryZidCache, ZrtpEngine } from '../../src/zrtp/index.js';
import { firstHeader, parseHead } from '../../src/sip/wire.js';

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function sdp(rtpPort: number, zrtpHash: string): string {
  return (
    [
      'v=0',
      'o=raw 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${rtpPort} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      `a=zrtp-hash:${zrtpHash}`,
      'a=sendrecv',
    ].join('\r\n') + '\r\n'
  );
}

const body = (msg: string) => msg.slice(msg.indexOf('\r\n\r\n') + 4);
const audioPort = (s: string) => Number(/^m=audio (\d+)/m.exec(s)?.[1]);
const zrtpHashOf = (s: string) => /^a=zrtp-hash:(.+?)\s*$/m.exec(s)?.[1];

/** A 440 Hz sine, 8 kHz 16-bit mono WAV, 3 s. */
function toneWav(): Buffer {
  const n = 8000 * 3;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
  return b;
}

function newEngine(cache = new MemoryZidCache(), zid = new Uint8Array(randomBytes(12)), passive = false) {
  const ssrc = randomBytes(4).readUInt32BE(0);
  return { engine: new ZrtpEngine({ zid, ssrc, cache, passive, peerIdentity: 'sip:lp@127.0.0.1' }), ssrc };
}

test(
  'we call linphonec: same SAS on both sides, DH3k, its Hello matches its a=zrtp-hash',
  { timeout: 40_000 },
  async () => {
    const lpSip = await freePort();
    const lpRtp = await freePort();
    const toneDir = mkdtempSync(join(tmpdir(), 'zrtp-tone-'));
    const tone = join(toneDir, 'tone.wav');
    writeFileSync(tone, toneWav());
    const lp = await Linphonec.start({ user: 'lp', sipPort: lpSip, rtpPort: lpRtp, play: tone });
    const sip = await RawUdpPeer.open();
    const { engine, ssrc } = newEngine();
    const media = await ZrtpUdp.open(engine);
    try {
      await lp.waitLine(/Ready|linphonec>/i, 10_000).catch(() => undefined);
      const callId = `zrtp-${Date.now()}`;
      const uri = `sip:lp@127.0.0.1:${lpSip}`;
      const invite = buildRequest({
        method: 'INVITE',
        uri,
        viaPort: sip.port,
        branch: 'z9hG4bK' + randomBytes(6).toString('hex'),
        callId,
        extra: [`Contact: <sip:raw@127.0.0.1:${sip.port}>`],
        body: sdp(media.port, engine.helloHash()),
      });
      // linphonec may need a moment before its SIP port answers; resend the INVITE until anything comes back.
      for (let i = 0; i < 20 && !sip.received.some((d) => d.text.startsWith('SIP/2.0')); i++) {
        await sip.send(invite, lpSip);
        await sip.waitFor((all) => all.some((d) => d.text.startsWith('SIP/2.0')), 500).catch(() => undefined);
      }
      await sip.waitFor((all) => all.some((d) => /^SIP\/2\.0 200/.test(d.text)), 15_000);
      const ok = sip.received.find((d) => /^SIP\/2\.0 200/.test(d.text))!.text;
      const answer = body(ok);
      const toTag = /;\s*tag=([^;\s>]+)/.exec(firstHeader(parseHead(ok), 'to') ?? '')?.[1];
      await sip.send(
        buildRequest({
          method: 'ACK',
          uri,
          viaPort: sip.port,
          branch: 'z9hG4bKack' + randomBytes(4).toString('hex'),
          callId,
          toTag,
        }),
        lpSip,
      );
      const theirHash = zrtpHashOf(answer);
      assert.ok(theirHash, `linphonec's answer carries a=zrtp-hash:\n${answer}`);
      engine.setPeerHelloHash(theirHash);
      media.start(audioPort(answer), ssrc);
      const secure = await media.waitSecure(15_000);
      const token = (await lp.waitLine(/auth token is (\S+?)\.?$/i, 15_000))[1];
      assert.equal(secure.sas, token);
      assert.equal(secure.keyAgreement, 'DH3k');
      assert.equal(secure.hash, 'S256');
      assert.equal(secure.cache, 'new');
      assert.match(secure.peerClientId, /BZRTP/);
      // linphonec's SRTP (it plays a tone file) authenticates and decrypts with the remote keys ZRTP gave us, and
      // not with our own: the keys and salts are bzrtp's, in the form an SRTP layer takes them.
      await new Promise((r) => setTimeout(r, 400));
      const tagLength = secure.authTag === 'HS80' ? 10 : 4;
      const srtp = media.media.filter((p) => p.length > 12 + tagLength && p[0]! >> 6 === 2);
      const opened = srtp.map((p) => openSrtp(p, secure.srtp.remote, tagLength)).filter((x) => x !== undefined);
      assert.ok(
        srtp.length > 5 && opened.length >= srtp.length - 2,
        `${opened.length} of ${srtp.length} SRTP packets open`,
      );
      assert.equal(srtp.filter((p) => openSrtp(p, secure.srtp.local, tagLength)).length, 0);
      // The tone is not silence: PCMU of a 440 Hz sine has many distinct byte values.
      const distinct = new Set(Buffer.concat(opened as Buffer[]));
      if (process.env['ZRTP_DEBUG']) console.log(srtp.length, opened.length, distinct.size, secure.sas);
      assert.ok(distinct.size > 20, `decrypted payload has ${distinct.size} distinct bytes`);
      // Nothing was dropped for a bad MAC, chain or hash.
      const bad = media.events.filter((e) => e.type === 'ignored' && /MAC|chain|H2|H1|H0|hash/.test(e.reason));
      assert.deepEqual(bad, []);
    } finally {
      await media.close();
      await sip.close();
      await lp.stop();
      rmSync(toneDir, { recursive: true, force: true });
    }
  },
);

test(
  'linphonec calls us: same SAS (we are responder the first time), and the second call matches the retained secret on both sides',
  { timeout: 60_000 },
  async () => {
    const lpSip = await freePort();
    const lpRtp = await freePort();
    const lp = await Linphonec.start({ user: 'lp', sipPort: lpSip, rtpPort: lpRtp, autoAnswer: false });
    const sip = await RawUdpPeer.open();
    const cache = new MemoryZidCache();
    const zid = new Uint8Array(randomBytes(12));
    try {
      for (const round of [1, 2]) {
        // The first call passive (P flag): bzrtp must be the initiator and we the responder, whatever the hvi.
        const { engine, ssrc } = newEngine(cache, zid, round === 1);
        const media = await ZrtpUdp.open(engine);
        try {
          const before = sip.received.length;
          lp.send(`call sip:us@127.0.0.1:${sip.port}`);
          await sip.waitFor((all) => all.slice(before).some((d) => d.text.startsWith('INVITE ')), 15_000);
          const inv = sip.received.slice(before).find((d) => d.text.startsWith('INVITE '))!;
          const offer = body(inv.text);
          const theirHash = zrtpHashOf(offer);
          assert.ok(theirHash, 'the offer carries a=zrtp-hash');
          engine.setPeerHelloHash(theirHash);
          const contact = `Contact: <sip:us@127.0.0.1:${sip.port}>`;
          await sip.send(buildResponse(inv.text, 200, 'OK', [contact], sdp(media.port, engine.helloHash())), inv.port);
          media.start(audioPort(offer), ssrc);
          const secure = await media.waitSecure(15_000);
          const tokens = () => lp.lines.map((l) => l.text).filter((l) => /auth token is/i.test(l));
          await lp.waitLine(/auth token is/i, 15_000);
          for (let i = 0; i < 50 && tokens().length < round; i++) await new Promise((r) => setTimeout(r, 100));
          const token = /auth token is (\S+?)\.?$/i.exec(tokens()[round - 1] ?? '')?.[1];
          assert.equal(secure.sas, token);
          assert.equal(secure.cache, round === 1 ? 'new' : 'match');
          if (round === 1) assert.equal(secure.role, 'responder');
          if (process.env['ZRTP_DEBUG']) console.log(round, secure.sas, token, lp.output());
          if (round === 2) {
            // bzrtp found our retained secret too: it reports no cache mismatch (it would print a warning line).
            assert.ok(!lp.lines.some((l) => /cache mismatch/i.test(l.text)), lp.output());
          }
          lp.send('terminate');
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          await media.close();
        }
      }
    } finally {
      await sip.close();
      await lp.stop();
    }
  },
);

/** `count` calls from linphonec to our engine, both sides free to commit; `loss` drops ZRTP packets on our socket. */
async function callsFromLinphonec(count: number, loss?: number) {
  const lp = await Linphonec.start({
    user: 'lp',
    sipPort: await freePort(),
    rtpPort: await freePort(),
    autoAnswer: false,
  });
  const sip = await RawUdpPeer.open();
  const cache = new MemoryZidCache();
  const zid = new Uint8Array(randomBytes(12));
  const roles: string[] = [];
  let contention = 0;
  let dropped = 0;
  try {
    for (let round = 1; round <= count; round++) {
      const { engine, ssrc } = newEngine(cache, zid);
      const rand = seededRandom(`linphonec-loss/${round}`);
      const media = await ZrtpUdp.open(engine, loss ? { p: loss, rand: () => unit(rand) } : undefined);
      try {
        const before = sip.received.length;
        const tokensBefore = lp.lines.map((l) => l.text).filter((l) => /auth token is/i.test(l)).length;
        lp.send(`call sip:us@127.0.0.1:${sip.port}`);
        await sip.waitFor((all) => all.slice(before).some((d) => d.text.startsWith('INVITE ')), 15_000);
        const inv = sip.received.slice(before).find((d) => d.text.startsWith('INVITE '))!;
        const offer = body(inv.text);
        engine.setPeerHelloHash(zrtpHashOf(offer)!);
        const contact = `Contact: <sip:us@127.0.0.1:${sip.port}>`;
        await sip.send(buildResponse(inv.text, 200, 'OK', [contact], sdp(media.port, engine.helloHash())), inv.port);
        media.start(audioPort(offer), ssrc);
        const secure = await media.waitSecure(20_000);
        let tokens: string[] = [];
        for (let i = 0; i < 200 && tokens.length <= tokensBefore; i++) {
          tokens = lp.lines.map((l) => l.text).filter((l) => /auth token is/i.test(l));
          if (tokens.length <= tokensBefore) await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(secure.sas, /auth token is (\S+?)\.?$/i.exec(tokens[tokensBefore] ?? '')?.[1], `call ${round}`);
        assert.equal(secure.cache, round === 1 ? 'new' : 'match');
        roles.push(secure.role);
        const sentCommit = media.events.some((e) => e.type === 'send' && e.message === 'Commit');
        if (sentCommit && secure.role === 'responder') contention++;
        if (sentCommit && media.events.some((e) => e.type === 'ignored' && /contention/.test(e.reason))) contention++;
        dropped += media.dropped.in + media.dropped.out;
        lp.send('terminate');
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await media.close();
      }
    }
  } finally {
    await sip.close();
    await lp.stop();
  }
  if (process.env['ZRTP_DEBUG']) console.log(roles.join(' '), `contention ${contention}`, `dropped ${dropped}`);
  return { roles, dropped };
}

test(
  'ten calls from linphonec in a row, both sides free to commit: every one ends with the same SAS',
  { timeout: 90_000 },
  async () => {
    const { roles } = await callsFromLinphonec(10);
    assert.equal(roles.length, 10);
  },
);

test(
  'five calls from linphonec with a quarter of the ZRTP packets lost each way: all reach the same SAS',
  { timeout: 150_000 },
  async () => {
    const { roles, dropped } = await callsFromLinphonec(5, 0.25);
    assert.equal(roles.length, 5);
    assert.ok(dropped > 5, `${dropped} packets dropped`);
  },
);
