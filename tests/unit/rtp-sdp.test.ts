// Offer/answer of one m=audio section: Blink's offer (as STACK.md records it) answered, our own offer in Blink's
// form, payload type mapping by name, telephone-event clock, crypto tags, directions, rtcp-mux, refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAudioStream, AudioNegotiationError, type AudioStream } from '../../src/rtp/index.js';
import { parseAudioSection, answerDirection } from '../../src/rtp/sdp.js';
import { buildCryptoAttribute, newMasterKey } from '../../src/rtp/sdes.js';

const KEY = buildCryptoAttribute(1, newMasterKey()).split(' ')[2];
const blinkOffer = (extra: { proto?: string; direction?: string; mux?: boolean; tag?: number } = {}) =>
  [
    `m=audio 50000 ${extra.proto ?? 'RTP/AVP'} 96 9 0 8 101 102`,
    'c=IN IP4 192.0.2.10',
    'a=rtpmap:96 opus/48000/2',
    'a=fmtp:96 useinbandfec=1',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/48000',
    'a=fmtp:101 0-16',
    'a=rtpmap:102 telephone-event/8000',
    'a=fmtp:102 0-16',
    'a=rtcp:50001',
    ...(extra.mux ? ['a=rtcp-mux'] : []),
    `a=zrtp-hash:1.10 ${'ab'.repeat(32)}`,
    `a=crypto:${extra.tag ?? 1} AES_CM_128_HMAC_SHA1_80 ${KEY}`,
    `a=${extra.direction ?? 'sendrecv'}`,
    '',
  ].join('\r\n');

async function stream(o: { codecs?: string[]; sdes?: boolean } = {}): Promise<AudioStream> {
  return createAudioStream({
    host: '127.0.0.1',
    input: { kind: 'silence' },
    output: { kind: 'none' },
    log: () => {},
    ...o,
  });
}

test("our offer is Blink's: codecs, payload types, fmtp, a=rtcp, a=crypto, direction, own c= line, CRLF", async () => {
  const s = await stream();
  try {
    const offer = await s.createOffer('sendrecv');
    const lines = offer.split('\r\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines[0], `m=audio ${s.localPort} RTP/AVP 96 9 0 8 101 102`);
    assert.equal(s.localPort % 2, 0, 'RTP on an even port');
    assert.equal(lines[1], 'c=IN IP4 127.0.0.1');
    for (const l of [
      'a=rtpmap:96 opus/48000/2',
      'a=fmtp:96 useinbandfec=1',
      'a=rtpmap:9 G722/8000',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/48000',
      'a=fmtp:101 0-16',
      'a=rtpmap:102 telephone-event/8000',
      'a=fmtp:102 0-16',
      `a=rtcp:${s.localPort + 1}`,
      'a=sendrecv',
    ]) {
      assert.ok(lines.includes(l), l);
    }
    assert.ok(lines.some((l) => /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/.test(l)));
    assert.ok(!lines.some((l) => /^(v|o|s|t)=/.test(l)), 'no session-level lines');
    assert.equal(s.codec, null);
    const clear = await stream({ sdes: false });
    const plain = await clear.createOffer('sendonly');
    clear.close();
    assert.ok(!plain.includes('a=crypto'));
    assert.ok(plain.includes('a=sendonly'));
  } finally {
    s.close();
  }
});

test("Blink's offer answered: opus at its PT, telephone-event/48000, crypto tag echoed, a=zrtp-hash ignored", async () => {
  const s = await stream();
  try {
    const answer = await s.createAnswer(blinkOffer(), 'sendrecv');
    const a = parseAudioSection(answer);
    assert.equal(a.proto, 'RTP/AVP');
    assert.deepEqual(a.formats, [96, 101]);
    assert.deepEqual(a.rtpmaps.get(96), {
      pt: 96,
      name: 'opus',
      clockRate: 48000,
      channels: 2,
      fmtp: 'useinbandfec=1',
    });
    assert.deepEqual(a.rtpmaps.get(101), { pt: 101, name: 'telephone-event', clockRate: 48000, fmtp: '0-16' });
    assert.equal(a.crypto.length, 1);
    assert.equal(a.crypto[0]!.tag, 1);
    assert.notEqual(
      `inline:${Buffer.concat([a.crypto[0]!.key!.masterKey, a.crypto[0]!.key!.masterSalt]).toString('base64')}`,
      KEY,
      'our own key',
    );
    assert.equal(a.zrtpHash, null);
    assert.equal(a.rtcpPort, s.localPort + 1);
    assert.equal(a.address, '127.0.0.1');
    assert.equal(a.direction, 'sendrecv');
    assert.equal(s.codec, 'opus/48000');
    assert.equal(s.encryption, 'sdes');
  } finally {
    s.close();
  }
});

test('answer with a restricted codec list: PCMU at 0 with telephone-event/8000 (102)', async () => {
  const s = await stream({ codecs: ['PCMU'] });
  try {
    const a = parseAudioSection(await s.createAnswer(blinkOffer(), 'sendrecv'));
    assert.deepEqual(a.formats, [0, 102]);
    assert.equal(a.rtpmaps.get(102)!.clockRate, 8000);
    assert.equal(s.codec, 'PCMU/8000');
  } finally {
    s.close();
  }
});

test('dynamic payload types follow the offer (mapped by rtpmap name), and the crypto tag too', async () => {
  const s = await stream({ codecs: ['G722', 'opus'] });
  try {
    const offer = [
      'm=audio 40000 RTP/SAVP 111 9 110',
      'c=IN IP4 192.0.2.20',
      'a=rtpmap:111 OPUS/48000/2',
      'a=rtpmap:110 telephone-event/48000',
      'a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:' + KEY!.slice(7),
      'a=crypto:9 AES_CM_128_HMAC_SHA1_80 ' + KEY,
      'a=rtcp-mux',
      'a=sendonly',
      '',
    ].join('\r\n');
    const a = parseAudioSection(await s.createAnswer(offer, 'sendrecv'));
    assert.equal(a.proto, 'RTP/SAVP');
    assert.deepEqual(a.formats, [111, 110], 'the offer order wins: opus first, at 111');
    assert.equal(a.crypto[0]!.tag, 9);
    assert.equal(a.direction, 'recvonly');
    assert.equal(a.rtcpMux, true);
    assert.equal(a.rtcpPort, null, 'no a=rtcp with rtcp-mux');
  } finally {
    s.close();
  }
});

test('refusals: RTP/SAVP without a usable key, no common codec, port 0, an answer with a foreign crypto tag', async () => {
  const s = await stream();
  try {
    const savp = blinkOffer({ proto: 'RTP/SAVP' }).replace(/a=crypto:.*\r\n/, '');
    await assert.rejects(s.createAnswer(savp, 'sendrecv'), AudioNegotiationError);
    const noCodec = 'm=audio 4000 RTP/AVP 18\r\nc=IN IP4 192.0.2.1\r\na=rtpmap:18 G729/8000\r\n';
    await assert.rejects(s.createAnswer(noCodec, 'sendrecv'), AudioNegotiationError);
    await assert.rejects(
      s.createAnswer(blinkOffer().replace('m=audio 50000', 'm=audio 0'), 'sendrecv'),
      AudioNegotiationError,
    );
    await assert.rejects(s.createAnswer('v=0\r\n', 'sendrecv'), AudioNegotiationError);
    await s.createOffer('sendrecv');
    await assert.rejects(s.applyAnswer(blinkOffer({ tag: 2 })), AudioNegotiationError);
  } finally {
    s.close();
  }
});

test('an RTP/AVP offer with a=crypto is answered in clear when SDES is off', async () => {
  const s = await stream({ sdes: false });
  try {
    const a = parseAudioSection(await s.createAnswer(blinkOffer(), 'sendrecv'));
    assert.equal(a.crypto.length, 0);
    assert.equal(s.encryption, 'none');
  } finally {
    s.close();
  }
});

test('the offerer applies an answer: codec, telephone-event, encryption from what came back', async () => {
  const a = await stream();
  const b = await stream({ codecs: ['PCMA'] });
  try {
    const answer = await b.createAnswer(await a.createOffer('sendrecv'), 'sendrecv');
    await a.applyAnswer(answer);
    assert.equal(a.codec, 'PCMA/8000');
    assert.equal(a.encryption, 'sdes');
    await assert.rejects(a.applyAnswer(answer), AudioNegotiationError, 'no offer pending any more');
  } finally {
    a.close();
    b.close();
  }
});

test('RFC 3264 direction intersection', () => {
  const table: [string, string, string][] = [
    ['sendrecv', 'sendrecv', 'sendrecv'],
    ['sendrecv', 'sendonly', 'sendonly'],
    ['sendonly', 'sendrecv', 'recvonly'],
    ['recvonly', 'sendrecv', 'sendonly'],
    ['sendonly', 'sendonly', 'inactive'],
    ['inactive', 'sendrecv', 'inactive'],
    ['sendrecv', 'inactive', 'inactive'],
  ];
  for (const [offered, wanted, got] of table) {
    assert.equal(answerDirection(offered as 'sendrecv', wanted as 'sendrecv'), got, `${offered} + ${wanted}`);
  }
});
