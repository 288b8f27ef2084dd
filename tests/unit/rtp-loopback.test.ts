// Two AudioStreams on 127.0.0.1, one offering, the other answering, with SDES SRTP on: a 1 kHz tone played from a
// WAV file on each side is found (Goertzel) in the other side's recorded WAV, for PCMU, G.722 and Opus. A UDP
// relay between them keeps every RTP packet it forwards, to show that what crossed the wire was encrypted with the
// keys the SDP carried. Also: hold (nothing sent, silence written) and DTMF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAudioStream,
  encodeWav,
  goertzel,
  readWav,
  toMono,
  SrtpContext,
  type AudioStream,
  type AudioStats,
} from '../../src/rtp/index.js';
import { parseRtp } from '../../src/rtp/packet.js';
import { parseAudioSection } from '../../src/rtp/sdp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function toneWav(path: string, rate: number, channels: number, hz: number, seconds: number): void {
  const n = Math.round(rate * seconds);
  const mono = new Int16Array(n);
  for (let i = 0; i < n; i++) mono[i] = Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * hz * i) / rate));
  if (channels === 1) return writeFileSync(path, encodeWav(rate, mono));
  // stereo: the same tone in both channels
  const wav = encodeWav(
    rate,
    new Int16Array(n * 2).map((_, i) => mono[i >> 1]!),
  );
  const dv = new DataView(wav.buffer);
  dv.setUint16(22, 2, true);
  dv.setUint32(24, rate, true);
  dv.setUint32(28, rate * 4, true);
  dv.setUint16(32, 4, true);
  writeFileSync(path, wav);
}

/** Relays RTP between the offerer (who thinks the relay is the answerer) and the answerer, keeping what passes. */
class Relay {
  readonly packets: Uint8Array[] = [];
  /** Packets from the offerer to the answerer: return false to drop one, a number of ms to hold it back. */
  shape: ((n: number) => boolean | number) | null = null;
  private count = 0;
  private a: { address: string; port: number } | null = null;
  private b: { address: string; port: number } | null = null;
  private constructor(readonly sock: Socket) {
    sock.on('message', (m, r) => {
      this.packets.push(new Uint8Array(m));
      const fromB = this.b && r.port === this.b.port;
      if (!fromB && !this.a) this.a = { address: r.address, port: r.port };
      const to = fromB ? this.a : this.b;
      if (!to) return;
      const verdict = !fromB && this.shape ? this.shape(this.count++) : true;
      if (verdict === false) return;
      if (typeof verdict === 'number') setTimeout(() => sock.send(m, to.port, to.address), verdict);
      else sock.send(m, to.port, to.address);
    });
  }
  static async open(): Promise<Relay> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    return new Relay(s);
  }
  get port(): number {
    return this.sock.address().port;
  }
  /** Where the offerer's packets go: the answerer; where the answerer's go: the offerer (given by its SDP). */
  connect(offerer: number, answerer: number): void {
    this.a = { address: '127.0.0.1', port: offerer };
    this.b = { address: '127.0.0.1', port: answerer };
  }
  close(): void {
    this.sock.close();
  }
}

interface Pair {
  a: AudioStream;
  b: AudioStream;
  offer: string;
  answer: string;
  relay: Relay;
  dir: string;
  warnings: string[];
}

async function pair(codec: string, dir: string): Promise<Pair> {
  toneWav(join(dir, 'a-in.wav'), 16000, 1, 1000, 4);
  toneWav(join(dir, 'b-in.wav'), 44100, 2, 1000, 4);
  const warnings: string[] = [];
  const common = { host: '127.0.0.1', codecs: [codec], log: () => {} };
  const a = await createAudioStream({
    ...common,
    input: { kind: 'file', path: join(dir, 'a-in.wav') },
    output: { kind: 'file', path: join(dir, 'a-out.wav') },
  });
  const b = await createAudioStream({
    ...common,
    input: { kind: 'file', path: join(dir, 'b-in.wav') },
    output: { kind: 'file', path: join(dir, 'b-out.wav') },
  });
  for (const s of [a, b]) s.on('warning', (w) => warnings.push(w));
  const relay = await Relay.open();
  const offer = await a.createOffer('sendrecv');
  // the answerer sees the relay as the offerer's RTP address (RTCP keeps its own a=rtcp port)
  const relayed = offer.replace(/^m=audio \d+/m, `m=audio ${relay.port}`);
  const answer = await b.createAnswer(relayed, 'sendrecv');
  relay.connect(a.localPort, b.localPort);
  await a.applyAnswer(answer.replace(/^m=audio \d+/m, `m=audio ${relay.port}`));
  a.start();
  b.start();
  return { a, b, offer, answer, relay, dir, warnings };
}

function tonePower(path: string, hz: number): { tone: number; off: number } {
  const w = readWav(path);
  const pcm = toMono(w);
  // the last second: past the jitter buffer's start and the codecs' warm-up
  const tail = pcm.subarray(Math.max(0, pcm.length - w.sampleRate), pcm.length);
  return { tone: goertzel(tail, w.sampleRate, hz), off: goertzel(tail, w.sampleRate, 3170) };
}

for (const codec of ['PCMU', 'G722', 'opus']) {
  test(`loopback ${codec} with SDES SRTP: a 1 kHz tone crosses both ways, encrypted on the wire`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtp-loop-'));
    const p = await pair(codec, dir);
    try {
      assert.equal(p.a.encryption, 'sdes');
      assert.equal(p.b.encryption, 'sdes');
      assert.match(p.a.codec ?? '', new RegExp(`^${codec}/`, 'i'));
      await until('packets both ways', () => p.a.stats().rxPackets > 60 && p.b.stats().rxPackets > 60);
      await sleep(1200);
    } finally {
      p.a.close();
      p.b.close();
      p.relay.close();
    }
    try {
      for (const side of ['a', 'b']) {
        const { tone, off } = tonePower(join(dir, `${side}-out.wav`), 1000);
        if (process.env.RTP_DEBUG) process.stderr.write(`${codec} ${side} tone ${tone} off ${off}\n`);
        assert.ok(tone > 0.01, `${side} heard the 1 kHz tone (power ${tone})`);
        assert.ok(tone > off * 100, `${side}: 1 kHz stands out (${tone} vs ${off})`);
      }
      // what crossed the relay: SRTP with the keys each side wrote in its a=crypto, payload not the plaintext
      const keyOf = (sdp: string) => parseAudioSection(sdp).crypto[0]!.key!;
      const fromA = SrtpContext.fromKeys(keyOf(p.offer));
      const fromB = SrtpContext.fromKeys(keyOf(p.answer));
      let checked = 0;
      for (const pkt of p.relay.packets.slice(20, 60)) {
        if ((pkt[1]! & 0x7f) >= 72 && (pkt[1]! & 0x7f) <= 76) continue; // RTCP (muxed) does not pass here
        let plain: Uint8Array | null = null;
        for (const ctx of [fromA, fromB]) {
          try {
            plain = ctx.unprotectRtp(pkt);
            break;
          } catch {
            // the other direction's key
          }
        }
        assert.ok(plain, 'a relayed packet authenticates with a key from the SDP');
        const clear = parseRtp(plain).payload;
        const wire = pkt.subarray(12, pkt.length - 10);
        assert.equal(wire.length, clear.length);
        assert.notDeepEqual(wire, clear, 'the payload on the wire is not the plaintext');
        checked++;
      }
      assert.ok(checked >= 30);
      assert.deepEqual(p.warnings, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('hold: the held side sends nothing and writes silence; DTMF digits arrive once each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtp-hold-'));
  const p = await pair('PCMU', dir);
  const digits: string[] = [];
  p.b.on('dtmf', (d) => digits.push(d));
  const stats: AudioStats[] = [];
  p.a.on('stats', (s) => stats.push(s));
  try {
    // RTCP both ways: a round-trip time from the peer's report (LSR/DLSR), no loss on loopback
    await until('an RTT from RTCP', () => stats.some((s) => s.rttMs !== null));
    const last = stats[stats.length - 1]!;
    assert.ok(last.rttMs !== null && last.rttMs >= 0 && last.rttMs < 1000, String(last.rttMs));
    assert.equal(last.lost, 0);
    assert.ok(Number.isFinite(last.jitterMs) && last.jitterMs >= 0);
    assert.ok(last.rxLevel > 0.1 && last.txLevel > 0.1, 'tone levels for the meters');
    await until('packets both ways', () => p.a.stats().rxPackets > 20 && p.b.stats().rxPackets > 20);
    await p.a.sendDtmf('19#*');
    await until('four digits', () => digits.length >= 4);
    await sleep(200);
    assert.deepEqual(digits, ['1', '9', '#', '*']);

    const pending = p.a.sendDtmf('5');
    p.a.setHold(true);
    await assert.rejects(pending, /hold/);
    await assert.rejects(p.a.sendDtmf('6'), /sending/);
    await sleep(300); // packets already in flight, or queued while the event loop was busy
    const rx = p.b.stats().rxPackets;
    await sleep(1500);
    assert.equal(p.b.stats().rxPackets, rx, 'nothing was sent while held');
  } finally {
    p.a.close();
    p.b.close();
    p.relay.close();
  }
  try {
    // the held side's recording ends with a silent second, though the peer went on sending the tone
    const a = tonePower(join(dir, 'a-out.wav'), 1000);
    assert.equal(a.tone, 0);
    const w = toMono(readWav(join(dir, 'a-out.wav')));
    assert.ok(w.length > 48000 * 2, 'the recording went on during the hold');
    assert.ok(w.subarray(w.length - 48000).every((s) => s === 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loss and reordering on the way: the jitter buffer reorders, conceals, and the stats count the loss', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtp-loss-'));
  const p = await pair('PCMU', dir);
  try {
    // from the offerer: every 10th packet lost, every 7th held back 30 ms (so it arrives after its successor)
    p.relay.shape = (n) => (n % 10 === 9 ? false : n % 7 === 3 ? 30 : true);
    await until('150 packets at the answerer', () => p.b.stats().rxPackets > 150);
    await sleep(500);
  } finally {
    p.a.close();
    p.b.close();
    p.relay.close();
  }
  try {
    const st = p.b.stats();
    const sent = p.a.stats().txPackets;
    assert.ok(st.lost > 0, 'losses counted');
    // a tenth of what went through the relay, within what was in flight at the end
    assert.ok(Math.abs(st.lost - sent / 10) <= 3, `lost ${st.lost} of ${sent}`);
    const { tone, off } = tonePower(join(dir, 'b-out.wav'), 1000);
    assert.ok(tone > 0.01 && tone > off * 20, `the tone survives 10 % loss (${tone} vs ${off})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
