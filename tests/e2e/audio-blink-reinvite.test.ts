// A scripted peer that speaks as Blink does (tests/helpers/sip-raw.ts: hand-written SIP over UDP, a real MSRP
// session of ours behind it) against a real headless blink-tui: a chat, then Blink's "Add audio" re-INVITE (the
// m=message line unchanged, then Blink's m=audio with opus/G722/PCMU/PCMA, two telephone-events, a=zrtp-hash and
// a=crypto). blink-tui must ring (180 on the re-INVITE), answer both lines on /accept (never m=message alone) with
// ZRTP as Blink's SIP stack expects (its a=zrtp-hash, no a=crypto), complete ZRTP with the scripted Blink's engine
// (src/zrtp on a UDP socket, standing in for ZRTPCPP) to the same SAS, take audio away when Blink's re-offer says
// m=audio 0, and refuse a proposal the user declines with 488, the chat alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessClient, toneCalleeArgs } from '../helpers/client.js';
import { RawUdpPeer, buildRequest } from '../helpers/sip-raw.js';
import { findFreePort } from '../../src/sip/free-port.js';
import { createMsrpSession } from '../../src/msrp/index.js';
import { splitSdp } from '../../src/chat/sdp-compose.js';
import { MemoryZidCache, ZrtpEngine } from '../../src/zrtp/index.js';
import { ZrtpUdp } from '../helpers/zrtp-udp.js';
import { randomBytes } from 'node:crypto';

const BLINK_AUDIO = (port: number, zrtpHash = '1.10 ' + 'ab'.repeat(32)) =>
  [
    `m=audio ${port} RTP/AVP 96 9 0 8 101 102`,
    'c=IN IP4 127.0.0.1',
    `a=rtcp:${port + 1}`,
    'a=rtpmap:96 opus/48000/2',
    'a=fmtp:96 useinbandfec=1',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/48000',
    'a=fmtp:101 0-16',
    'a=rtpmap:102 telephone-event/8000',
    'a=fmtp:102 0-16',
    `a=zrtp-hash:${zrtpHash}`,
    'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' + Buffer.alloc(30, 7).toString('base64'),
    'a=sendrecv',
    '',
  ].join('\r\n');

const status = (text: string) => Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 0);
const cseqOf = (text: string) => Number(/^CSeq:\s*(\d+)/im.exec(text)?.[1] ?? 0);
const bodyOf = (text: string) => text.slice(text.indexOf('\r\n\r\n') + 4);

test("Blink's Add audio re-INVITE on a chat: 180, then both lines answered; m=audio 0 removes it; a refusal is 488", async () => {
  const port = await findFreePort('udp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const c = await HeadlessClient.start({
    args: toneCalleeArgs('bob', port),
  });
  const sip = await RawUdpPeer.open();
  const blinkSsrc = 0x426c6e6b;
  const zu = await ZrtpUdp.open(
    new ZrtpEngine({ zid: new Uint8Array(randomBytes(12)), ssrc: blinkSsrc, cache: new MemoryZidCache() }),
  );
  const msrp = await createMsrpSession({ host: '127.0.0.1' });
  const uri = `sip:bob@127.0.0.1:${port}`;
  const callId = `blinkish-${Date.now()}`;
  const contact = [`Contact: <sip:blink@127.0.0.1:${sip.port}>`];
  const head = 'v=0\r\no=blink 3 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n';
  const chatSection = splitSdp(msrp.sdp('actpass')).sections[0]!.text;
  let toTag = '';
  const final = async (cseq: number): Promise<string> => {
    await sip.waitFor((all) => all.some((d) => status(d.text) >= 200 && cseqOf(d.text) === cseq), 15000);
    return sip.received.find((d) => status(d.text) >= 200 && cseqOf(d.text) === cseq)!.text;
  };
  // RFC 3261: an ACK's CSeq names ACK (whatever the helper writes); the ACK of a 2xx is a transaction of its own
  // (a new branch, 13.2.2.4), the ACK of a non-2xx belongs to the INVITE's (its branch, 17.1.1.3).
  const ack = (cseq: number, branch: string) =>
    sip.send(
      buildRequest({ method: 'ACK', uri, viaPort: sip.port, branch, callId, cseq, toTag, extra: contact }).replace(
        /^CSeq: (\d+) INVITE/m,
        'CSeq: $1 ACK',
      ),
      port,
    );
  const reinvite = async (cseq: number, body: string) => {
    await new Promise((r) => setTimeout(r, 300));
    await sip.send(
      buildRequest({
        method: 'INVITE',
        uri,
        viaPort: sip.port,
        branch: `z9hG4bKre${cseq}`,
        callId,
        cseq,
        toTag,
        extra: contact,
        body,
      }),
      port,
    );
  };
  try {
    // the chat, as Blink starts it
    await sip.send(
      buildRequest({
        method: 'INVITE',
        uri,
        viaPort: sip.port,
        branch: 'z9hG4bKinv1',
        callId,
        extra: contact,
        body: head + chatSection,
      }),
      port,
    );
    const inc = await c.waitFor((e) => e.ev === 'incoming', 15000);
    assert.deepEqual(inc.media, ['chat']);
    const session = String(inc.session);
    c.send({ cmd: 'accept', session });
    const ok1 = await final(1);
    assert.equal(status(ok1), 200);
    toTag = /^To:.*;tag=([^;\r\n]+)/im.exec(ok1)![1]!;
    await ack(1, 'z9hG4bKack1');
    const answer1 = splitSdp(bodyOf(ok1));
    const theirChat = answer1.sections[0]!;
    const path = /^a=path:(.*)$/m.exec(theirChat.text)![1]!.trim().split(/\s+/);
    await msrp.startPassive({ remotePath: path, timeoutMs: 10000 });
    await c.waitFor((e) => e.ev === 'session' && e.session === session && e.state === 'active', 15000);

    // Add audio: the m=message line unchanged, Blink's m=audio after it
    const before = c.events.length;
    await reinvite(
      2,
      head.replace('o=blink 3 3', 'o=blink 3 4') + chatSection + BLINK_AUDIO(zu.port, zu.engine.helloHash()),
    );
    await sip.waitFor((all) => all.some((d) => status(d.text) === 180 && cseqOf(d.text) === 2), 15000);
    const prop = await c.waitFor((e) => e.ev === 'incoming' && e.session === session, 15000, before);
    assert.deepEqual(prop.media, ['chat', 'audio']);
    c.send({ cmd: 'accept', session });
    const ok2 = await final(2);
    assert.equal(status(ok2), 200);
    await ack(2, 'z9hG4bKack2');
    const a2 = splitSdp(bodyOf(ok2)).sections;
    assert.deepEqual(
      a2.map((s) => [s.media.type, s.media.port > 0]),
      [
        ['message', true],
        ['audio', true],
      ],
    );
    assert.equal(a2[1]!.media.proto, 'RTP/AVP');
    assert.deepEqual(a2[1]!.media.formats.slice(0, 1), ['96'], 'opus first, as offered');
    assert.doesNotMatch(a2[1]!.text, /^a=crypto:/m, 'ZRTP answered: no SDES key');
    const ourHash = /^a=zrtp-hash:(.*)$/m.exec(a2[1]!.text);
    assert.ok(ourHash, 'our a=zrtp-hash in the answer');
    zu.engine.setPeerHelloHash(ourHash[1]!.trim());
    zu.start(a2[1]!.media.port, blinkSsrc);
    const theirs = await zu.waitSecure(10000);
    const z = await c.waitFor((e) => e.ev === 'zrtp' && e.session === session && e.state === 'secure', 15000);
    assert.equal(z.sas, theirs.sas, 'the same SAS on both sides');
    assert.equal(z.cache, 'new');
    const act = await c.waitFor(
      (e) => e.ev === 'audio' && e.session === session && e.state === 'active' && e.encryption === 'zrtp',
      15000,
    );
    assert.equal(act.codec, 'opus/48000');

    // Blink removes audio: m=audio 0, same formats; the chat goes on
    await reinvite(
      3,
      head.replace('o=blink 3 3', 'o=blink 3 5') + chatSection + 'm=audio 0 RTP/AVP 96 9 0 8 101 102\r\n',
    );
    const ok3 = await final(3);
    assert.equal(status(ok3), 200);
    await ack(3, 'z9hG4bKack3');
    assert.deepEqual(
      splitSdp(bodyOf(ok3)).sections.map((s) => [s.media.type, s.media.port > 0]),
      [
        ['message', true],
        ['audio', false],
      ],
    );
    await c.waitFor((e) => e.ev === 'audio' && e.session === session && e.state === 'ended', 15000);

    // audio proposed again, in the port-0 slot, and declined by the user: 488, the chat stays up
    const mark = c.events.length;
    await reinvite(4, head.replace('o=blink 3 3', 'o=blink 3 6') + chatSection + BLINK_AUDIO(45010));
    await c.waitFor((e) => e.ev === 'audio' && e.session === session && e.state === 'proposed', 15000, mark);
    c.send({ cmd: 'reject', session });
    const no4 = await final(4);
    assert.equal(status(no4), 488);
    await ack(4, 'z9hG4bKre4');
    await msrp.send('text/plain', new TextEncoder().encode('still chatting'), {
      successReport: false,
      failureReport: 'no',
    });
    await c.waitFor((e) => e.ev === 'message' && e.session === session && e.text === 'still chatting', 15000);
    assert.equal(
      c.events.some((e) => e.ev === 'session' && e.session === session && e.state === 'ended'),
      false,
    );
  } finally {
    await c.quit();
    msrp.close('done');
    await zu.close();
    await sip.close();
  }
});
