// Our audio stream against baresip 1.0 (Debian baresip-core: its own RTP stack, SDES `srtp` module, G.711, G.722
// and Opus modules): we offer over hand-written SIP, baresip answers on its own (answermode=auto), both send a
// 1 kHz tone, and each side's recording of what it heard must carry it. SRTP is on (AES_CM_128_HMAC_SHA1_80):
// a key or tag mismatch would leave both recordings silent and count SRTP failures on our side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudioStream, encodeWav, goertzel, readWav, toMono, type RtpAudioStream } from '../../src/rtp/index.js';
import { buildRequest, buildResponse, RawUdpPeer } from '../helpers/sip-raw.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** 10 s of a 1 kHz tone; baresip's file source wants the codec's own rate and channel count. */
function tone(path: string, rate: number, channels: number): void {
  const n = rate * 10;
  const mono = Int16Array.from({ length: n }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / rate)));
  const wav = encodeWav(rate, channels === 1 ? mono : Int16Array.from({ length: n * 2 }, (_, i) => mono[i >> 1]!));
  const dv = new DataView(wav.buffer);
  dv.setUint16(22, channels, true);
  dv.setUint32(28, rate * 2 * channels, true);
  dv.setUint16(32, 2 * channels, true);
  writeFileSync(path, wav);
}

/** baresip with one auto-answering account, a file source at the codec's rate, and every call dumped to WAV. */
async function startBaresip(
  dir: string,
  codecRate: number,
  opts: { mediaenc?: string; dial?: string } = {},
): Promise<{ proc: ChildProcess; port: number; log: () => string; dump: string }> {
  const port = randomInt(20000, 29000);
  const dump = join(dir, 'dump');
  mkdirSync(dump);
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  tone(join(dir, 'bs-tone.wav'), codecRate, codecRate === 48000 ? 2 : 1);
  writeFileSync(
    join(conf, 'config'),
    [
      `sip_listen 127.0.0.1:${port}`,
      'audio_player aubridge,nil',
      'audio_alert aubridge,nil',
      `audio_source aufile,${join(dir, 'bs-tone.wav')}`,
      'rtp_ports 40000-40998',
      'module_path /usr/lib/baresip/modules',
      ...['g711', 'g722', 'opus', 'aufile', 'aubridge', 'sndfile', 'srtp'].map((m) => `module ${m}.so`),
      'module_app account.so',
      ...(opts.dial ? ['module_app menu.so'] : []),
      `snd_path ${dump}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(conf, 'accounts'),
    `<sip:bob@127.0.0.1>;regint=0;answermode=auto;mediaenc=${opts.mediaenc ?? 'srtp'}\n`,
  );
  const args = ['-f', conf, ...(opts.dial ? ['-e', `/dial ${opts.dial}`] : [])];
  const proc = spawn('baresip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await until('baresip ready', () => out.includes('baresip is ready') || proc.exitCode !== null);
  assert.ok(out.includes('baresip is ready'), out);
  return { proc, port, log: () => out, dump };
}

/**
 * The tone's power in the best second of a recording (1 s windows, 250 ms apart). A recording runs on the wall clock
 * from the stream's start, silence included, so where the heard second lies depends on when media began: on a busy
 * machine the middle second alone held only part of the tone.
 */
function tonePower(path: string): { tone: number; off: number } {
  const w = readWav(path);
  const pcm = toMono(w);
  let best = { tone: 0, off: 0 };
  for (let at = 0; at + w.sampleRate <= pcm.length; at += w.sampleRate / 4) {
    const win = pcm.subarray(at, at + w.sampleRate);
    const tone = goertzel(win, w.sampleRate, 1000);
    if (tone > best.tone) best = { tone, off: goertzel(win, w.sampleRate, 3170) };
  }
  return best;
}

for (const [codec, rate] of [
  ['PCMU', 8000],
  ['G722', 16000],
  ['opus', 48000],
] as const) {
  test(`baresip answers our ${codec} offer with SDES SRTP; the tone crosses both ways`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtp-baresip-'));
    const bs = await startBaresip(dir, rate);
    const sip = await RawUdpPeer.open();
    const s = (await createAudioStream({
      host: '127.0.0.1',
      input: { kind: 'tone', hz: 1000 },
      output: { kind: 'file', path: join(dir, 'ours.wav') },
      codecs: [codec],
      log: () => {},
    })) as RtpAudioStream;
    const uri = `sip:bob@127.0.0.1:${bs.port}`;
    const common = { uri, viaPort: sip.port, callId: `rtp-${randomInt(1e9)}` };
    let toTag = '';
    try {
      const section = await s.createOffer('sendrecv');
      const body = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', ''].join('\r\n') + section;
      const contact = [`Contact: <sip:raw@127.0.0.1:${sip.port}>`];
      await sip.send(
        buildRequest({ ...common, method: 'INVITE', branch: 'z9hG4bKinv', body, extra: contact }),
        bs.port,
      );
      await sip
        .waitFor((all) => all.some((d) => /^SIP\/2.0 [2-6]\d\d/.test(d.text)), 8000)
        .catch((e: Error) => {
          throw new Error(`${e.message}\n${bs.log()}`);
        });
      const ok = sip.received.find((d) => /^SIP\/2.0 [2-6]\d\d/.test(d.text))!.text;
      assert.match(ok, /^SIP\/2.0 200/, ok);
      toTag = /^To:.*;tag=([^;\r\n]+)/im.exec(ok)![1]!;
      await sip.send(buildRequest({ ...common, method: 'ACK', branch: 'z9hG4bKack', toTag }), bs.port);
      // the session layer's job, done by hand: the m= section plus the session-level c= line
      const sdp = ok.slice(ok.indexOf('\r\n\r\n') + 4);
      const [mLine, ...rest] = sdp.slice(sdp.indexOf('m=audio')).split('\r\n');
      const answer = [mLine, /^c=.*$/m.exec(sdp)![0], ...rest].join('\r\n');
      await s.applyAnswer(answer);
      s.start();
      assert.equal(s.encryption, 'sdes');
      assert.match(s.codec ?? '', new RegExp(`^${codec}/`, 'i'));
      await until('2 s of media from baresip', () => s.stats().rxPackets > 100);
      await sleep(1000);
      assert.equal(s.srtpFailures, 0);
    } finally {
      if (toTag)
        await sip.send(buildRequest({ ...common, method: 'BYE', branch: 'z9hG4bKbye', toTag, cseq: 2 }), bs.port);
      await until('baresip ends the call', () => /terminated/.test(bs.log()), 5000).catch(() => {});
      s.close();
      await sip.close();
      bs.proc.kill();
    }
    try {
      const ours = tonePower(join(dir, 'ours.wav'));
      assert.ok(ours.tone > 0.05 && ours.tone > 100 * ours.off, `we heard baresip: ${JSON.stringify(ours)}`);
      const dec = readdirSync(bs.dump).find((f) => f.endsWith('-dec.wav'));
      assert.ok(dec, `baresip dumped what it decoded: ${readdirSync(bs.dump).join(', ')}`);
      const theirs = tonePower(join(bs.dump, dec));
      assert.ok(theirs.tone > 0.05 && theirs.tone > 100 * theirs.off, `baresip heard us: ${JSON.stringify(theirs)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('baresip calls us with an RTP/SAVP offer (SDES mandatory); we answer G.722 in its profile and the tone crosses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtp-baresip-'));
  const sip = await RawUdpPeer.open();
  const s = (await createAudioStream({
    host: '127.0.0.1',
    input: { kind: 'tone', hz: 1000 },
    output: { kind: 'file', path: join(dir, 'ours.wav') },
    codecs: ['G722'], // baresip offers PCMU first: we take G.722 from its list
    log: () => {},
  })) as RtpAudioStream;
  let answered = '';
  sip.onDatagram = (d) => {
    if (!d.text.startsWith('INVITE ') || answered) return;
    void (async () => {
      const sdp = d.text.slice(d.text.indexOf('\r\n\r\n') + 4);
      const [mLine, ...rest] = sdp.slice(sdp.indexOf('m=audio')).split('\r\n');
      const section = await s.createAnswer([mLine, /^c=.*$/m.exec(sdp)![0], ...rest].join('\r\n'), 'sendrecv');
      answered = section;
      const body = ['v=0', 'o=- 2 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ''].join('\r\n') + section;
      await sip.send(buildResponse(d.text, 200, 'OK', [`Contact: <sip:raw@127.0.0.1:${sip.port}>`], body), d.port);
      s.start();
    })();
  };
  const bs = await startBaresip(dir, 16000, {
    mediaenc: 'srtp-mand',
    dial: `sip:raw@127.0.0.1:${sip.port}`,
  });
  try {
    await until('the INVITE answered', () => answered !== '', 8000).catch((e: Error) => {
      throw new Error(`${e.message}\n${bs.log()}`);
    });
    const invite = sip.received.find((d) => d.text.startsWith('INVITE '))!.text;
    assert.match(invite, /^m=audio \d+ RTP\/SAVP /m, 'baresip offered RTP/SAVP');
    assert.match(answered, /^m=audio \d+ RTP\/SAVP 9 /m);
    assert.match(answered, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:/m);
    assert.equal(s.codec, 'G722/8000');
    assert.equal(s.encryption, 'sdes');
    await until('2 s of media from baresip', () => s.stats().rxPackets > 100);
    await sleep(1000);
    assert.equal(s.srtpFailures, 0);
  } finally {
    s.close(); // first: our recording ends with the call, not with baresip's exit
    bs.proc.kill('SIGTERM'); // baresip hangs up its calls (closing the dump files) and exits
    await until('baresip gone', () => bs.proc.exitCode !== null || bs.proc.signalCode !== null, 5000).catch(() => {});
    await sip.close();
  }
  try {
    const ours = tonePower(join(dir, 'ours.wav'));
    assert.ok(ours.tone > 0.05 && ours.tone > 100 * ours.off, `we heard baresip: ${JSON.stringify(ours)}`);
    const dec = readdirSync(bs.dump).find((f) => f.endsWith('-dec.wav'));
    assert.ok(dec, `baresip dumped what it decoded: ${readdirSync(bs.dump).join(', ')}`);
    const theirs = tonePower(join(bs.dump, dec));
    assert.ok(theirs.tone > 0.05 && theirs.tone > 100 * theirs.off, `baresip heard us: ${JSON.stringify(theirs)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
