// The audio peers the client will be tested against, proven against themselves first: baresip 1.0 (SDES-SRTP)
// calls baresip, serverless and through Kamailio; linphonec 5.1 (ZRTP) calls linphonec. Each side sends its own
// tone (800 Hz from the caller, 1200 Hz from the callee) and each recording must hold the other's tone and not
// its own. A loopback capture shows what crossed: the SDPs, that SRTP payloads are not the plaintext, and the
// ZRTP algorithms. What these tests found is written up in tests/helpers/README.md. Every peer (and Kamailio) runs
// on an address of this file's own in 127/8 and only that address is captured: other runs' SIP and RTP on lo
// neither get into the capture nor fill it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip, type BaresipOptions } from '../helpers/baresip.js';
import { Linphonec } from '../helpers/linphonec.js';
import { startKamailio, type KamailioInstance } from '../helpers/kamailio.js';
import { LoopbackCapture, ownAddressFilter, ownLoopbackAddress } from '../helpers/capture.js';
import {
  callPackets,
  rtpPayloads,
  sdpBodies,
  udpPackets,
  zrtpCommitAlgorithms,
  zrtpHelloOffer,
  zrtpMessages,
} from '../helpers/pcap.js';
import { detectTone, readWav, writeToneWav } from '../helpers/tone.js';

const CALLER_HZ = 800;
const CALLEE_HZ = 1200;
const B32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{4}$/;
const HOST = ownLoopbackAddress();
const CAPTURE = ownAddressFilter('udp', HOST);
let dir: string;
let callerWav: string;
let calleeWav: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'blink-audio-peers-'));
  callerWav = join(dir, 'caller-800.wav');
  calleeWav = join(dir, 'callee-1200.wav');
  // 48 kHz mono S16: what both peers read without conversion; longer than any call here
  writeToneWav(callerWav, { rate: 48000, hz: CALLER_HZ, seconds: 30, amplitude: 0.3 });
  writeToneWav(calleeWav, { rate: 48000, hz: CALLEE_HZ, seconds: 30, amplitude: 0.3 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** SDP for a diagnostic line: one attribute per line without the CRs. */
const crlf = (sdp: string): string => sdp.replace(/\r\n/g, '\n').trimEnd();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The heard file must carry `want` most of the time and `not` (the listener's own tone) never. */
function assertHears(file: string, want: number, not: number, who: string): void {
  const wav = readWav(file);
  // skip the first half second: codecs and jitter buffers start with silence
  const yes = detectTone(wav, want, { fromSec: 0.5 });
  const no = detectTone(wav, not, { fromSec: 0.5 });
  assert.ok(yes.frames > 100, `${who}: recording too short (${yes.frames} frames, ${wav.samples.length} samples)`);
  assert.ok(yes.fraction > 0.8, `${who} hears ${want} Hz in only ${(yes.fraction * 100).toFixed(1)} % of frames`);
  assert.ok(no.fraction < 0.02, `${who} hears its own ${not} Hz in ${(no.fraction * 100).toFixed(1)} % of frames`);
}

/** Share of payload bytes equal to the byte `lag` samples later: high for a periodic tone in G.711, ~1/256 if encrypted. */
function periodicity(payloads: readonly Uint8Array[], lag: number): number {
  let same = 0;
  let total = 0;
  for (const p of payloads) {
    // SRTP appends a 10-byte auth tag: compare the first 160 bytes (one 20 ms PCMU frame) only
    const n = Math.min(p.length, 160);
    for (let i = 0; i + lag < n; i++) {
      total++;
      if (p[i] === p[i + lag]) same++;
    }
  }
  return total === 0 ? 0 : same / total;
}

async function baresipCall(
  a: Baresip,
  b: Baresip,
  uri: string,
  seconds: number,
): Promise<{ aDec: string; bDec: string; answerMs: number }> {
  const t0 = Date.now();
  await a.dial(uri);
  const ea = await a.waitEvent('CALL_ESTABLISHED');
  await b.waitEvent('CALL_ESTABLISHED');
  await sleep(seconds * 1000);
  await a.hangup();
  await a.waitEvent('CALL_CLOSED');
  await b.waitEvent('CALL_CLOSED');
  const ra = a.recordings();
  const rb = b.recordings();
  assert.ok(ra.dec && rb.dec, `sndfile wrote no recordings: ${JSON.stringify({ ra, rb })}`);
  return { aDec: ra.dec, bDec: rb.dec, answerMs: ea.at - t0 };
}

async function twoBaresips(
  common: Omit<BaresipOptions, 'user' | 'source'>,
  extraA: Partial<BaresipOptions> = {},
  extraB: Partial<BaresipOptions> = {},
): Promise<[Baresip, Baresip]> {
  const a = await Baresip.start({ ...common, host: HOST, user: 'alice', source: callerWav, ...extraA });
  try {
    const b = await Baresip.start({ ...common, host: HOST, user: 'bob', source: calleeWav, ...extraB });
    return [a, b];
  } catch (e) {
    await a.stop();
    throw e;
  }
}

test(
  'baresip calls baresip serverless with SDES-SRTP (mediaenc=srtp): RTP/AVP + a=crypto, opus, tones both ways, DTMF',
  { timeout: 60000 },
  async (t) => {
    const cap = await LoopbackCapture.start(CAPTURE);
    const [a, b] = await twoBaresips({ mediaenc: 'srtp' });
    try {
      const since = b.events.length;
      await a.dial(b.contact);
      await a.waitEvent('CALL_ESTABLISHED');
      await b.waitEvent('CALL_ESTABLISHED');
      // both sides report SDES as negotiated, with the suite
      for (const p of [a, b]) {
        const menc = await p.waitEvent('CALL_MENC');
        assert.match(menc.param ?? '', /audio,AES_CM_128_HMAC_SHA1_80$/);
      }
      await sleep(1500);
      await a.sendDtmf('159#');
      await b.waitFor(() => b.dtmfReceived() === '159#', 5000, since);
      await sleep(1500);
      await b.hangup();
      await a.waitEvent('CALL_CLOSED');
      await b.waitEvent('CALL_CLOSED');
      assertHears(a.recordings().dec!, CALLEE_HZ, CALLER_HZ, 'caller');
      assertHears(b.recordings().dec!, CALLER_HZ, CALLEE_HZ, 'callee');
      const sdps = sdpBodies(callPackets(udpPackets(await cap.stop()), [a.sipPort, b.sipPort]));
      const offer = sdps.find((s) => s.startLine.startsWith('INVITE '));
      const answer = sdps.find((s) => s.startLine.startsWith('SIP/2.0 200'));
      assert.ok(offer && answer, `no offer/answer captured (${sdps.length} SDP bodies)`);
      t.diagnostic(`offer:\n${crlf(offer.sdp)}\nanswer:\n${crlf(answer.sdp)}`);
      for (const s of [offer.sdp, answer.sdp]) {
        assert.match(s, /^m=audio \d+ RTP\/AVP 96 /m); // best-effort SRTP stays on the plain profile
        assert.match(s, /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/m);
        assert.match(s, /^a=rtpmap:96 opus\/48000\/2$/m);
      }
      const key = (s: string): string | undefined => /inline:(\S+)/.exec(s)?.[1];
      assert.notEqual(key(offer.sdp), key(answer.sdp));
    } finally {
      await a.stop();
      await b.stop();
    }
  },
);

test(
  'SRTP hides the payload: a PCMU tone is periodic on the wire in plain RTP and not with baresip SRTP',
  { timeout: 60000 },
  async (t) => {
    const ratios: Record<string, number> = {};
    for (const mediaenc of ['none', 'srtp'] as const) {
      const cap = await LoopbackCapture.start(CAPTURE);
      const [a, b] = await twoBaresips({ mediaenc, codecs: ['pcmu'] });
      try {
        const { aDec, bDec } = await baresipCall(a, b, b.contact, 2);
        assertHears(aDec, CALLEE_HZ, CALLER_HZ, `caller (${mediaenc})`);
        assertHears(bDec, CALLER_HZ, CALLEE_HZ, `callee (${mediaenc})`);
      } finally {
        await a.stop();
        await b.stop();
      }
      const payloads = rtpPayloads(callPackets(udpPackets(await cap.stop()), [a.sipPort, b.sipPort]), 0);
      assert.ok(payloads.length > 100, `only ${payloads.length} PCMU packets captured`);
      // 800 Hz and 1200 Hz both repeat every 20 samples at 8 kHz
      ratios[mediaenc] = periodicity(payloads, 20);
    }
    t.diagnostic(
      `bytes equal 20 samples apart: plain ${ratios['none']?.toFixed(3)}, SRTP ${ratios['srtp']?.toFixed(3)}`,
    );
    assert.ok((ratios['none'] ?? 0) > 0.5, `the control (plain RTP) should show the tone: ${ratios['none']}`);
    assert.ok((ratios['srtp'] ?? 1) < 0.05, `SRTP payloads look periodic: ${ratios['srtp']}`);
  },
);

test(
  'baresip registered at Kamailio calls through the proxy with mandatory SRTP (RTP/SAVP): tones both ways',
  { timeout: 60000 },
  async (t) => {
    let kam: KamailioInstance | undefined;
    const cap = await LoopbackCapture.start(CAPTURE);
    let a: Baresip | undefined;
    let b: Baresip | undefined;
    try {
      kam = await startKamailio({ users: { alice: 'alice-pw-1', bob: 'bob-pw-2' }, host: HOST });
      const reg = (password: string) => ({ domain: kam!.domain, host: kam!.host, udpPort: kam!.udpPort, password });
      [a, b] = await twoBaresips(
        { mediaenc: 'srtp-mand' },
        { registrar: reg('alice-pw-1') },
        { registrar: reg('bob-pw-2') },
      );
      const { aDec, bDec } = await baresipCall(a, b, `sip:bob@${kam.domain}`, 3);
      assertHears(aDec, CALLEE_HZ, CALLER_HZ, 'caller');
      assertHears(bDec, CALLER_HZ, CALLEE_HZ, 'callee');
      const sdps = sdpBodies(callPackets(udpPackets(await cap.stop()), [a.sipPort, b.sipPort, kam.udpPort]));
      const offer = sdps.find((s) => s.startLine.startsWith('INVITE '));
      const answer = sdps.find((s) => s.startLine.startsWith('SIP/2.0 200'));
      assert.ok(offer && answer);
      t.diagnostic(`offer:\n${crlf(offer.sdp)}\nanswer:\n${crlf(answer.sdp)}`);
      for (const s of [offer.sdp, answer.sdp]) {
        assert.match(s, /^m=audio \d+ RTP\/SAVP /m);
        assert.match(s, /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m);
      }
    } finally {
      await a?.stop();
      await b?.stop();
      await kam?.stop();
    }
  },
);

for (const via of ['serverless', 'Kamailio'] as const) {
  test(
    `linphonec calls linphonec with ZRTP (${via}): both show the same SAS, tones both ways, a=zrtp-hash in both SDPs`,
    { timeout: 60000 },
    async (t) => {
      const cap = await LoopbackCapture.start(CAPTURE);
      const kam =
        via === 'Kamailio'
          ? await startKamailio({ users: { alice: 'alice-pw-1', bob: 'bob-pw-2' }, host: HOST })
          : undefined;
      const reg = (password: string) =>
        kam ? { registrar: { domain: kam.domain, host: kam.host, udpPort: kam.udpPort, password } } : {};
      let a: Linphonec | undefined;
      let b: Linphonec | undefined;
      try {
        a = await Linphonec.start({
          host: HOST,
          user: 'alice',
          play: callerWav,
          mediaEncryption: 'zrtp',
          ...reg('alice-pw-1'),
        });
        b = await Linphonec.start({
          host: HOST,
          user: 'bob',
          play: calleeWav,
          mediaEncryption: 'zrtp',
          ...reg('bob-pw-2'),
        });
        a.call(kam ? `sip:bob@${kam.domain}` : b.contact);
        const connected = await b.connected();
        const sasA = await a.sas();
        const sasB = await b.sas();
        assert.equal(sasA.sas, sasB.sas);
        assert.match(sasA.sas, B32);
        // zrtp-set-verified is taken: linphonec prints the SAS line again (it shows no verified flag)
        const before = a.lines.length;
        a.setVerified();
        assert.equal((await a.sas(5000, before)).sas, sasA.sas);
        await sleep(3000);
        a.terminate();
        await a.waitLine(/ended/);
        await b.waitLine(/ended/);
        assertHears(a.recordPath, CALLEE_HZ, CALLER_HZ, 'caller');
        assertHears(b.recordPath, CALLER_HZ, CALLEE_HZ, 'callee');
        const packets = callPackets(udpPackets(await cap.stop()), [
          a.sipPort,
          b.sipPort,
          ...(kam ? [kam.udpPort] : []),
        ]);
        const sdps = sdpBodies(packets);
        const offer = sdps.find((s) => s.startLine.startsWith('INVITE '));
        const answer = sdps.find((s) => s.startLine.startsWith('SIP/2.0 200'));
        assert.ok(offer && answer);
        for (const s of [offer.sdp, answer.sdp]) {
          assert.match(s, /^a=zrtp-hash:1\.10 [0-9a-f]{64}$/m);
          assert.doesNotMatch(s, /^a=crypto:/m);
        }
        const zrtp = zrtpMessages(packets);
        const commits = zrtp.filter((m) => m.type === 'Commit');
        assert.ok(commits.length > 0, `no ZRTP Commit on the wire (${zrtp.map((m) => m.type).join(',')})`);
        // opus (96) is what flows, and ZRTP's packets are not counted as RTP (their first byte is 0x10)
        assert.ok(rtpPayloads(packets, 96).length > 100, 'opus packets on the wire');
        const algos = zrtpCommitAlgorithms(commits[commits.length - 1]!.msg);
        assert.equal(algos.sas, 'B32');
        // what bzrtp offers (the Commit picks from both Hellos): blink-tui's ZRTP will meet this list
        const hello = zrtp.find((m) => m.type === 'Hello');
        assert.ok(hello);
        const offer0 = zrtpHelloOffer(hello.msg);
        assert.equal(offer0.version, '1.10');
        for (const [k, v] of Object.entries(algos)) {
          const list = offer0[k as keyof typeof algos];
          // an empty list means only the mandatory algorithms (RFC 6189 5.1.2), which the Commit may pick
          assert.ok(list.length === 0 || list.includes(v), `Commit's ${k} ${v} not in the Hello's ${list.join(',')}`);
        }
        t.diagnostic(
          `SAS ${sasA.sas}; answer to SAS ${sasB.at - connected.at} ms; Commit: ${JSON.stringify(algos)}; ` +
            `Hello: ${JSON.stringify(offer0)}; ` +
            `ZRTP messages: ${[...new Set(zrtp.map((m) => m.type))].join(' ')}\noffer:\n${crlf(offer.sdp)}\nanswer:\n${crlf(answer.sdp)}`,
        );
      } finally {
        await a?.stop();
        await b?.stop();
        await kam?.stop();
      }
    },
  );
}

test(
  'baresip calls linphonec with SDES-SRTP: mandatory (RTP/SAVP) is encrypted both ways; best effort (RTP/AVP + a=crypto) gets a plain answer',
  { timeout: 90000 },
  async (t) => {
    for (const mandatory of [true, false]) {
      const cap = await LoopbackCapture.start(CAPTURE);
      const a = await Baresip.start({
        host: HOST,
        user: 'alice',
        source: callerWav,
        mediaenc: mandatory ? 'srtp-mand' : 'srtp',
      });
      let b: Linphonec | undefined;
      try {
        b = await Linphonec.start({ host: HOST, user: 'bob', play: calleeWav, mediaEncryption: 'srtp', mandatory });
        await a.dial(b.contact);
        await a.waitEvent('CALL_ESTABLISHED');
        await sleep(3000);
        await a.hangup();
        await a.waitEvent('CALL_CLOSED');
        await b.waitLine(/ended/);
        assertHears(a.recordings().dec!, CALLEE_HZ, CALLER_HZ, `baresip (mandatory ${mandatory})`);
        assertHears(b.recordPath, CALLER_HZ, CALLEE_HZ, `linphonec (mandatory ${mandatory})`);
        const answer = sdpBodies(callPackets(udpPackets(await cap.stop()), [a.sipPort, b.sipPort])).find((s) =>
          s.startLine.startsWith('SIP/2.0 200'),
        );
        assert.ok(answer);
        const menc = a.events.some((e) => e.type === 'CALL_MENC');
        if (mandatory) {
          assert.ok(menc, 'baresip reports SRTP');
          assert.match(answer.sdp, /^m=audio \d+ RTP\/SAVP /m);
          assert.match(answer.sdp, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:/m);
        } else {
          // linphonec (srtp, not mandatory) ignores a=crypto on RTP/AVP: the call is plain RTP
          assert.ok(!menc, 'baresip reports no SRTP');
          assert.doesNotMatch(answer.sdp, /^a=crypto:/m);
        }
        t.diagnostic(`mandatory ${mandatory}: linphonec's answer:\n${crlf(answer.sdp)}`);
      } finally {
        await a.stop();
        await b?.stop();
      }
    }
  },
);
