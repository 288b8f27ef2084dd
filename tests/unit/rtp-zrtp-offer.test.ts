// The ZRTP side of a stream's offer/answer (Blink's "opportunistic" form, STACK.md): with our a=zrtp-hash set the
// offer carries it beside a=crypto; an RTP/AVP offer with a=zrtp-hash is answered with ZRTP (our hash, no key);
// RTP/SAVP still needs SDES; an answer with a=crypto means SDES, one with only a=zrtp-hash means ZRTP; and until
// keys come from ZRTP nothing at all is sent (no clear media), after that SRTP flows. Once ZRTP keys the stream, a
// re-offer with a=crypto only never switches it to SDES (RTP/AVP: answered with ZRTP; RTP/SAVP: 488 via the
// session layer's AudioSection), and our re-offers carry no a=crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createAudioStream, RtpAudioStream, SrtpContext, SrtpDowngradeError } from '../../src/rtp/index.js';
import { newMasterKey } from '../../src/rtp/sdes.js';
import { AudioSection } from '../../src/chat/sections.js';
import { splitSdp } from '../../src/chat/sdp-compose.js';
import { OfferRefusedError } from '../../src/chat/session-media.js';

const HASH_A = '1.10 ' + 'a1'.repeat(32);
const HASH_B = '1.10 ' + 'b2'.repeat(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const make = async (zrtpHash: string | null, codecs = ['PCMU']) => {
  const s = (await createAudioStream({
    host: '127.0.0.1',
    input: { kind: 'tone', hz: 440 },
    output: { kind: 'none' },
    codecs,
    log: () => {},
  })) as RtpAudioStream;
  s.zrtpHash = zrtpHash;
  return s;
};

test('offer with both; ZRTP answered to ZRTP; the offerer reads the answer right', async () => {
  const a = await make(HASH_A);
  const b = await make(HASH_B);
  try {
    const offer = await a.createOffer('sendrecv');
    assert.match(offer, /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m);
    assert.match(offer, new RegExp(`^a=zrtp-hash:${HASH_A}\r$`, 'm'));
    assert.match(offer, /^m=audio \d+ RTP\/AVP /);
    const answer = await b.createAnswer(offer, 'sendrecv');
    assert.doesNotMatch(answer, /^a=crypto:/m);
    assert.match(answer, new RegExp(`^a=zrtp-hash:${HASH_B}\r$`, 'm'));
    assert.equal(b.encryption, 'zrtp');
    assert.equal(b.peerZrtpHash, HASH_A);
    await a.applyAnswer(answer);
    assert.equal(a.encryption, 'zrtp');
    assert.equal(a.peerZrtpHash, HASH_B);
  } finally {
    a.close();
    b.close();
  }
});

test('without ZRTP on our side, or with RTP/SAVP, or an SDES answer: SDES as before', async () => {
  const plain = await make(null);
  const z = await make(HASH_A);
  const z2 = await make(HASH_B);
  try {
    // we do not speak ZRTP (no hash set): the offer has no a=zrtp-hash, a ZRTP offer gets SDES
    assert.doesNotMatch(await plain.createOffer('sendrecv'), /zrtp-hash/);
    const zOffer = await z.createOffer('sendrecv');
    const sdesAnswer = await plain.createAnswer(zOffer, 'sendrecv');
    assert.match(sdesAnswer, /^a=crypto:/m);
    assert.equal(plain.encryption, 'sdes');
    await z.applyAnswer(sdesAnswer);
    assert.equal(z.encryption, 'sdes', 'an answer with a=crypto means SDES');
    // RTP/SAVP with a=crypto and a=zrtp-hash: the profile needs SDES keys in SDP
    const savp = zOffer.replace('RTP/AVP', 'RTP/SAVP');
    const a2 = await z2.createAnswer(savp, 'sendrecv');
    assert.match(a2, /^a=crypto:/m);
    assert.doesNotMatch(a2, /zrtp-hash/);
    assert.equal(z2.encryption, 'sdes');
  } finally {
    plain.close();
    z.close();
    z2.close();
  }
});

test('ZRTP chosen: nothing is sent before the keys; SRTP once they are set', async () => {
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  peer.on('message', (m) => got.push(m));
  const a = await make(HASH_A);
  try {
    const port = peer.address().port;
    const offer = [
      `m=audio ${port} RTP/AVP 0`,
      'c=IN IP4 127.0.0.1',
      'a=rtpmap:0 PCMU/8000',
      `a=zrtp-hash:${HASH_B}`,
      'a=sendrecv',
      '',
    ].join('\r\n');
    await a.createAnswer(offer, 'sendrecv');
    assert.equal(a.encryption, 'zrtp');
    a.start();
    await sleep(400); // 20 frames' worth: none may leave in the clear
    assert.equal(got.length, 0, `${got.length} packets sent before ZRTP keys`);
    a.setSrtpKeys({ tx: newMasterKey(), rx: newMasterKey() });
    const t0 = Date.now();
    while (got.length < 5 && Date.now() - t0 < 5000) await sleep(20);
    assert.ok(got.length >= 5, 'media flows once keyed');
    // SRTP: 12-byte header + 160 bytes of PCMU + the 10-byte tag
    assert.ok(got.some((p) => p.length === 12 + 160 + 10));
  } finally {
    a.close();
    peer.close();
  }
});

/** `a` answers a ZRTP offer from a raw socket and is keyed as ZRTP would key it; returns what it sends. */
async function zrtpKeyed() {
  const a = await make(HASH_A);
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const got: Buffer[] = [];
  peer.on('message', (m) => got.push(m));
  const port = peer.address().port;
  const section = (proto: string, extra: string[]) =>
    [`m=audio ${port} ${proto} 0`, 'c=IN IP4 127.0.0.1', 'a=rtpmap:0 PCMU/8000', ...extra, 'a=sendrecv', ''].join(
      '\r\n',
    );
  await a.createAnswer(section('RTP/AVP', [`a=zrtp-hash:${HASH_B}`]), 'sendrecv');
  const tx = newMasterKey();
  a.setSrtpKeys({ tx, rx: newMasterKey() });
  a.start();
  return { a, peer, got, tx, section };
}
const sdesLine = (k = newMasterKey()) =>
  `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.concat([k.masterKey, k.masterSalt]).toString('base64')}`;

test('after ZRTP, an RTP/AVP re-offer with a=crypto only is answered with ZRTP and the ZRTP keys stay', async () => {
  const { a, peer, got, tx, section } = await zrtpKeyed();
  try {
    const answer = await a.createAnswer(section('RTP/AVP', [sdesLine()]), 'sendrecv');
    assert.doesNotMatch(answer, /^a=crypto:/m, 'no SDES key of ours in the answer');
    assert.match(answer, new RegExp(`^a=zrtp-hash:${HASH_A}\r$`, 'm'), 'the answer says ZRTP');
    assert.equal(a.encryption, 'zrtp');
    assert.equal(a.peerZrtpHash, HASH_B, "the peer's hash the ZRTP session was checked against stays");
    got.length = 0;
    const t0 = Date.now();
    while (got.length < 3 && Date.now() - t0 < 5000) await sleep(20);
    assert.ok(got.length >= 3);
    // what leaves after the re-offer is protected with the ZRTP key (a fresh context reads the first one it sees)
    const rx = SrtpContext.fromKeys(tx);
    assert.doesNotThrow(() => rx.unprotectRtp(new Uint8Array(got[got.length - 1]!)));
  } finally {
    a.close();
    peer.close();
  }
});

test('after ZRTP, an RTP/SAVP re-offer with a=crypto only is refused (SrtpDowngradeError) and nothing changes', async () => {
  const { a, peer, section } = await zrtpKeyed();
  try {
    await assert.rejects(a.createAnswer(section('RTP/SAVP', [sdesLine()]), 'sendrecv'), SrtpDowngradeError);
    assert.equal(a.encryption, 'zrtp');
    // our own re-offer carries no a=crypto any more: an answer could not switch us to SDES either
    const offer = await a.createOffer('sendrecv');
    assert.doesNotMatch(offer, /^a=crypto:/m);
    assert.match(offer, new RegExp(`^a=zrtp-hash:${HASH_A}\r$`, 'm'));
  } finally {
    a.close();
    peer.close();
  }
});

test('without ZRTP in use an SDES re-offer is still taken (an SDES call stays SDES)', async () => {
  const a = await make(HASH_A);
  try {
    const sec = ['m=audio 40000 RTP/AVP 0', 'c=IN IP4 127.0.0.1', 'a=rtpmap:0 PCMU/8000', sdesLine(), 'a=sendrecv', ''];
    assert.match(await a.createAnswer(sec.join('\r\n'), 'sendrecv'), /^a=crypto:1 /m);
    assert.equal(a.encryption, 'sdes');
    assert.match(await a.createAnswer(sec.join('\r\n'), 'sendrecv'), /^a=crypto:1 /m);
    assert.equal(a.encryption, 'sdes');
    assert.match(await a.createOffer('sendrecv'), /^a=crypto:1 /m);
  } finally {
    a.close();
  }
});

test('the session layer turns the refused RTP/SAVP re-offer into 488 for the whole re-offer (the call stays)', async () => {
  const { a, peer, section } = await zrtpKeyed();
  try {
    const audio = new AudioSection(a);
    const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', section('RTP/SAVP', [sdesLine()])].join('\r\n');
    await assert.rejects(
      audio.answer(splitSdp(sdp).sections[0]!),
      (e: unknown) => e instanceof OfferRefusedError && e.statusCode === 488,
    );
    assert.equal(a.encryption, 'zrtp');
  } finally {
    a.close();
    peer.close();
  }
});
