// Mouth-to-ear latency and loss tolerance of an audio call on loopback, file in to file out, blink-tui beside
// baresip in the same run. The helpers here are peer-agnostic (a source WAV whose tone starts at a known time, a
// real-time recording of what the far side played, and the wall-clock times at which each file's first sample was
// taken); `main` measures baresip -> baresip and blink-tui -> blink-tui through the same lossy relay, the two
// alternating run by run.
//
//   npm run bench:audio -- [--runs 3] [--codecs opus,g722,pcmu] [--loss 0,0.05,0.2] [--peers baresip,blink-tui]
//                          [--seconds 5] [--json]
//
// How the files are put on one clock (see bench/README.md, "Audio: latency and loss beside baresip"):
// - baresip: caller A plays a WAV (1 s of silence, then a 1000 Hz tone); its sndfile "enc" dump is what it sent, and
//   a file source hands over frame n at (first frame's time + n x 20 ms), so sample 0 of the dump is at A's first
//   RTP packet, which the relay timestamps. Callee B runs in echo mode: aubridge pulls, in real time, what its
//   player would play (after jitter buffer and playout buffer) and sends it back; its "enc" dump is a real-time
//   recording of its ear, sample 0 at B's first RTP packet (timestamped by the relay the same way).
// - blink-tui: A plays the WAV with --audio-in, B writes what it plays with --audio-out. The engine's 20 ms pacer
//   reads source frame n and sends it at tick n, and writes output frame n at the same tick (B sends every tick,
//   silence included; a tick the pacer skips still gets its frame of silence), so sample k of A's source and of
//   B's file belong to each side's tick grid: origin + k / rate. The origin is the smallest (relay arrival - 20 n)
//   over that side's packets, n from the RTP timestamp: a packet leaves at its tick or later, never before.
// - latency = (B's first packet + tone onset in B's ear) - (A's first packet + onset in what A sent).
// - The alignment is checked on the wire: PCMU, the relay decodes A's packets (baresip without SRTP; blink-tui's
//   SRTP decrypted with the key in A's SDP) and times the tone's onset; mouth to wire must come out ~0. For
//   blink-tui the ear file's length is also compared with the span of B's packets (a skipped tick would show).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Baresip, type BaresipCodec } from '../tests/helpers/baresip.js';
import { LossyUdpRelay } from '../tests/helpers/lossy-udp-relay.js';
import { SipSdpRelay } from '../tests/helpers/sip-sdp-relay.js';
import { detectTone, readWav, writeToneWav } from '../tests/helpers/tone.js';
import { SrtpContext, type SrtpMasterKey } from '../src/rtp/index.js';
import { mouthToEarMs, toneOnsetSec, wireOnsetMs } from '../tests/helpers/audio-latency.js';
import { HeadlessClient } from '../tests/helpers/client.js';
import { cpuSeconds, freeSipPort } from '../tests/helpers/ports.js';

// the helpers live in tests/helpers (tested there; nothing imports bench/): re-exported for a caller of this file
export {
  markerAlignedMs,
  mouthToEarMs,
  toneOnsetSec,
  ulawToLinear,
  wireOnsetMs,
} from '../tests/helpers/audio-latency.js';
export type { OnsetAlignment } from '../tests/helpers/audio-latency.js';

export const LATENCY_HZ = 1000;

export type Peer = 'baresip' | 'blink-tui';

export interface PairRun {
  readonly peer: Peer;
  readonly codec: BaresipCodec;
  readonly loss: number;
  /** Mouth-to-ear ms (null when the tone never came out). */
  readonly latencyMs: number | null;
  /** The same with the files' starts taken from ctrl_tcp's CALL_ESTABLISHED events instead of first packets. */
  readonly latencyByEventsMs: number | null;
  /**
   * Share of 20 ms frames holding the tone, over the tone's span: what arrived (decoder output; null for
   * blink-tui, which keeps no decoder dump) and what was played.
   */
  readonly arrivedFraction: number | null;
  readonly earFraction: number;
  /** CPU of each baresip during the call, in % of one core. */
  readonly cpuCallerPct: number;
  readonly cpuCalleePct: number;
  readonly dropped: number;
  readonly forwarded: number;
  /** With plainWire (PCMU, no SRTP): the tone's first packet seen by the relay, split of the latency. */
  readonly mouthToWireMs?: number;
  readonly wireToEarMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One call A -> (lossy relay) -> B(echo), tone from A; returns the measurements. */
export async function measureBaresipPair(opts: {
  codec: BaresipCodec;
  loss: number;
  seed: number;
  sourceWav: string;
  toneFromSec: number;
  toneToSec: number;
  callSeconds: number;
  /** PCMU without SRTP, and time the tone's first packet at the relay (checks the alignment of the ends). */
  plainWire?: boolean;
}): Promise<PairRun> {
  const codec: BaresipCodec = opts.plainWire ? 'pcmu' : opts.codec;
  const mediaenc = opts.plainWire ? 'none' : 'srtp';
  const a = await Baresip.start({ user: 'alice', source: opts.sourceWav, codecs: [codec], mediaenc });
  const b = await Baresip.start({ user: 'bob', source: 'echo', codecs: [codec], mediaenc });
  const wire: Array<{ data: Buffer; at: number }> = [];
  // first RTP packet each way, as the relay saw it: when each side's first 20 ms frame was sent
  const first: { aToB?: number; bToA?: number } = {};
  const media = await LossyUdpRelay.start({
    seed: opts.seed,
    aToB: { loss: opts.loss },
    bToA: { loss: opts.loss },
    tap: (dir, kind, data, at) => {
      if (kind !== 'rtp') return;
      first[dir] ??= at;
      if (opts.plainWire && dir === 'aToB') wire.push({ data, at });
    },
  });
  const sip = await SipSdpRelay.start(b.sipPort, media);
  try {
    await a.dial(`sip:bob@127.0.0.1:${sip.portA}`);
    const ea = await a.waitEvent('CALL_ESTABLISHED');
    const eb = await b.waitEvent('CALL_ESTABLISHED');
    const cpuA0 = a.cpuSeconds();
    const cpuB0 = b.cpuSeconds();
    const t0 = Date.now();
    await sleep(opts.callSeconds * 1000);
    const cpuA = a.cpuSeconds() - cpuA0;
    const cpuB = b.cpuSeconds() - cpuB0;
    const wall = (Date.now() - t0) / 1000;
    await a.hangup();
    await a.waitEvent('CALL_CLOSED');
    await b.waitEvent('CALL_CLOSED');
    const ra = a.recordings();
    const rb = b.recordings();
    if (!ra.enc || !rb.enc || !rb.dec) throw new Error('baresip wrote no recordings');
    const srcOnset = toneOnsetSec(ra.enc, LATENCY_HZ);
    if (srcOnset === null) throw new Error("no tone in the caller's own enc dump");
    const ear = readWav(rb.enc);
    const earDet = detectTone(ear, LATENCY_HZ);
    // the tone's span as heard: from its onset for as long as it was sent
    const span = opts.toneToSec - opts.toneFromSec;
    const earSpan =
      earDet.onsetSec === null
        ? 0
        : detectTone(ear, LATENCY_HZ, { fromSec: earDet.onsetSec, toSec: earDet.onsetSec + span }).fraction;
    const arrived = detectTone(readWav(rb.dec), LATENCY_HZ, {
      fromSec: srcOnset,
      toSec: srcOnset + span,
    }).fraction;
    const wireAt = opts.plainWire ? wireOnsetMs(wire, LATENCY_HZ) : null;
    if (first.aToB === undefined || first.bToA === undefined) throw new Error('no RTP through the relay');
    // A file source hands over frame n (samples n*ptime..) at first + n*ptime; the echo sends frame n of what it
    // played at its first + n*ptime. Sample 0 of each enc dump is therefore at that side's first packet.
    const mouthAt = first.aToB + srcOnset * 1000;
    const earAt = earDet.onsetSec === null ? null : first.bToA + earDet.onsetSec * 1000;
    return {
      peer: 'baresip',
      codec,
      loss: opts.loss,
      latencyMs: earAt === null ? null : earAt - mouthAt,
      latencyByEventsMs:
        earDet.onsetSec === null
          ? null
          : mouthToEarMs({
              sourceOnsetSec: srcOnset,
              sourceStartMs: ea.at,
              recordedOnsetSec: earDet.onsetSec,
              recordedStartMs: eb.at,
            }),
      ...(wireAt !== null ? { mouthToWireMs: wireAt - mouthAt } : {}),
      ...(wireAt !== null && earAt !== null ? { wireToEarMs: earAt - wireAt } : {}),
      arrivedFraction: arrived,
      earFraction: earSpan,
      cpuCallerPct: (100 * cpuA) / wall,
      cpuCalleePct: (100 * cpuB) / wall,
      dropped: media.stats.aToB.dropped,
      forwarded: media.stats.aToB.forwarded,
    };
  } finally {
    await a.stop();
    await b.stop();
    sip.close();
    media.close();
  }
}

const BLINK_CODEC: Record<BaresipCodec, string> = { opus: 'opus', g722: 'G722', pcmu: 'PCMU', pcma: 'PCMA' } as Record<
  BaresipCodec,
  string
>;

/** The SRTP master key and salt of an SDP's first a=crypto (inline: base64 of key || salt). */
function sdpKey(sdp: string): SrtpMasterKey | null {
  const m = /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)/m.exec(sdp);
  if (!m) return null;
  const b = Buffer.from(m[1]!, 'base64');
  return { masterKey: b.subarray(0, 16), masterSalt: b.subarray(16, 30) };
}

/**
 * One call between two blink-tui processes (headless) through the same relays: A plays the source WAV
 * (--audio-in), B plays silence and records what it plays (--audio-out). How the files are put on one clock:
 * the engine's 20 ms pacer starts when the call's media starts; at tick n it reads frame n of the source and sends
 * it at once, and writes frame n of what it plays to the --audio-out file. So sample 0 of A's source is in A's
 * first RTP packet, and sample 0 of B's file was written when B sent its first RTP packet (B sends every tick,
 * silence included): the relay times both. `wireCheck` (PCMU): the relay's copy of A's packets is decrypted
 * with A's key from its SDP and the tone's first packet timed on the wire (mouth to wire must come out ~0), and
 * B's file length is compared with the span of B's packets on the wire (a skipped tick would shorten the file).
 */
export async function measureBlinkPair(opts: {
  codec: BaresipCodec;
  loss: number;
  seed: number;
  sourceWav: string;
  toneFromSec: number;
  toneToSec: number;
  callSeconds: number;
  wireCheck?: boolean;
  /** Extra node arguments for both clients (e.g. --cpu-prof). */
  nodeArgs?: string[];
}): Promise<PairRun & { fileVsWireMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'blink-audio-pair-'));
  const ear = join(dir, 'ear.wav');
  const env = { BLINK_TUI_AUDIO_CODECS: BLINK_CODEC[opts.codec], BLINK_TUI_REHEARSAL: '0' };
  const start = async (user: string, input: string, output: string): Promise<{ c: HeadlessClient; port: number }> => {
    const port = await freeSipPort();
    const c = await HeadlessClient.start({
      args: ['--user', user, '--port', String(port), '--no-otr', '--audio-in', input, '--audio-out', output],
      env,
      ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
      // another build's bin/blink-tui.js (to compare builds in the same hour): BLINK_BENCH_BIN=.../bin/blink-tui.js
      ...(process.env.BLINK_BENCH_BIN ? { bin: process.env.BLINK_BENCH_BIN } : {}),
    });
    return { c, port };
  };
  const a = await start('alice', opts.sourceWav, 'none');
  const b = await start('bob', 'silence', ear);
  const wireA: Array<{ data: Buffer; at: number }> = [];
  const first: { aToB?: number; bToA?: number } = {};
  let lastBToA = 0;
  // each side's 20 ms grid: its tick n is due at origin + 20 n; a packet leaves at its tick or later (a late timer,
  // a catch-up), never earlier, so the origin is the smallest (arrival - 20 n) over the packets, n from the RTP
  // timestamp (SRTP leaves the header in the clear). The first packet alone can be late: tick 0 waits for
  // whatever the event loop is doing when the call starts (seen: 10-30 ms).
  const ticks = opts.codec === 'opus' ? 960 : 160;
  const grid: Record<'aToB' | 'bToA', { ts0?: number; origin: number }> = {
    aToB: { origin: Infinity },
    bToA: { origin: Infinity },
  };
  const media = await LossyUdpRelay.start({
    seed: opts.seed,
    aToB: { loss: opts.loss },
    bToA: { loss: opts.loss },
    tap: (d, kind, data, at) => {
      if (kind !== 'rtp') return;
      first[d] ??= at;
      if (d === 'bToA') lastBToA = at;
      if (data.length >= 12 && data[0]! >> 6 === 2 && (data[1]! & 0x7f) < 96 + 1 && (data[1]! & 0x7f) !== 101) {
        const g = grid[d];
        const ts = data.readUInt32BE(4);
        g.ts0 ??= ts;
        g.origin = Math.min(g.origin, at - (((ts - g.ts0) >>> 0) / ticks) * 20);
      }
      if (opts.wireCheck && d === 'aToB') wireA.push({ data: Buffer.from(data), at });
    },
  });
  const sip = await SipSdpRelay.start(b.port, media);
  try {
    b.c.onEvent((e) => {
      if (e.ev === 'incoming') b.c.send({ cmd: 'accept', session: e.session });
    });
    a.c.send({ cmd: 'call', to: `sip:bob@127.0.0.1:${sip.portA}` });
    const act = await a.c.waitFor((e) => e.ev === 'audio' && e.state === 'active', 15000);
    if (!new RegExp(`^${BLINK_CODEC[opts.codec]}/`, 'i').test(String(act.codec)))
      throw new Error(`negotiated ${String(act.codec)}`);
    await b.c.waitFor((e) => e.ev === 'audio' && e.state === 'active', 15000);
    const cpuA0 = cpuSeconds(a.c.proc.pid!, (f) => readFileSync(f, 'utf8'));
    const cpuB0 = cpuSeconds(b.c.proc.pid!, (f) => readFileSync(f, 'utf8'));
    const t0 = Date.now();
    await sleep(opts.callSeconds * 1000);
    const cpuA = cpuSeconds(a.c.proc.pid!, (f) => readFileSync(f, 'utf8')) - cpuA0;
    const cpuB = cpuSeconds(b.c.proc.pid!, (f) => readFileSync(f, 'utf8')) - cpuB0;
    const wall = (Date.now() - t0) / 1000;
    a.c.send({ cmd: 'hangup', session: act.session });
    await b.c.waitFor((e) => e.ev === 'session' && e.state === 'ended', 15000);
    const lastB = lastBToA;
    await Promise.all([a.c.quit(), b.c.quit()]);
    const srcOnset = toneOnsetSec(opts.sourceWav, LATENCY_HZ);
    if (srcOnset === null) throw new Error('no tone in the source file');
    const earWav = readWav(ear);
    const earDet = detectTone(earWav, LATENCY_HZ);
    const span = opts.toneToSec - opts.toneFromSec;
    const earSpan =
      earDet.onsetSec === null
        ? 0
        : detectTone(earWav, LATENCY_HZ, { fromSec: earDet.onsetSec, toSec: earDet.onsetSec + span }).fraction;
    if (first.aToB === undefined || first.bToA === undefined) throw new Error('no RTP through the relay');
    const mouthAt = grid.aToB.origin + srcOnset * 1000;
    const earAt = earDet.onsetSec === null ? null : grid.bToA.origin + earDet.onsetSec * 1000;
    let wireAt: number | null = null;
    if (opts.wireCheck) {
      const offer = sip.sdps.find((x) => x.from === 'A')?.sdp ?? '';
      const key = sdpKey(offer);
      const ctx = key ? SrtpContext.fromKeys(key) : null;
      const plain: Array<{ data: Buffer; at: number }> = [];
      for (const p of wireA) {
        try {
          const d = ctx ? ctx.unprotectRtp(new Uint8Array(p.data)) : new Uint8Array(p.data);
          plain.push({ data: Buffer.from(d), at: p.at });
        } catch {
          // not A's audio (or not decryptable): not part of the check
        }
      }
      wireAt = wireOnsetMs(plain, LATENCY_HZ);
    }
    const fileMs = (earWav.samples.length / earWav.rate) * 1000;
    return {
      peer: 'blink-tui',
      codec: opts.codec,
      loss: opts.loss,
      latencyMs: earAt === null ? null : earAt - mouthAt,
      latencyByEventsMs: null,
      ...(wireAt !== null ? { mouthToWireMs: wireAt - mouthAt } : {}),
      ...(wireAt !== null && earAt !== null ? { wireToEarMs: earAt - wireAt } : {}),
      arrivedFraction: null,
      earFraction: earSpan,
      cpuCallerPct: (100 * cpuA) / wall,
      cpuCalleePct: (100 * cpuB) / wall,
      dropped: media.stats.aToB.dropped,
      forwarded: media.stats.aToB.forwarded,
      // B's file against B's packets on the wire (the file runs on to B's close, a little after its last packet)
      fileVsWireMs: fileMs - (lastB - grid.bToA.origin + 20),
    };
  } finally {
    a.c.kill();
    b.c.kill();
    sip.close();
    media.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const arg = (name: string, def: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? def) : def;
  };
  const runs = Number(arg('runs', '3'));
  const codecs = arg('codecs', 'opus,g722,pcmu').split(',') as BaresipCodec[];
  const losses = arg('loss', '0,0.05,0.2').split(',').map(Number);
  const peers = arg('peers', 'baresip,blink-tui').split(',') as Peer[];
  const callSeconds = Number(arg('seconds', '5'));
  const dir = mkdtempSync(join(tmpdir(), 'blink-audio-bench-'));
  const sourceWav = join(dir, 'src.wav');
  const toneFromSec = 1;
  const toneToSec = 4;
  writeToneWav(sourceWav, {
    rate: 48000,
    hz: LATENCY_HZ,
    amplitude: 0.3,
    leadSilence: toneFromSec,
    seconds: toneToSec - toneFromSec,
    tailSilence: 20,
  });
  const pair = (peer: Peer, o: Parameters<typeof measureBaresipPair>[0]): Promise<PairRun> =>
    peer === 'baresip' ? measureBaresipPair(o) : measureBlinkPair({ ...o, wireCheck: !!o.plainWire });
  const all: PairRun[] = [];
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  try {
    console.log(
      `load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    console.log(
      'peer       codec  loss   latency ms (runs)            arrived  heard   cpu caller  cpu callee  dropped',
    );
    for (const codec of codecs) {
      for (const loss of losses) {
        const byPeer = new Map<Peer, PairRun[]>(peers.map((p) => [p, []]));
        // the peers alternate run by run, so both see the same minutes of this shared machine
        for (let i = 0; i < runs; i++) {
          for (const peer of peers) {
            byPeer
              .get(peer)!
              .push(await pair(peer, { codec, loss, seed: 1000 + i, sourceWav, toneFromSec, toneToSec, callSeconds }));
          }
        }
        for (const [peer, rs] of byPeer) {
          all.push(...rs);
          const lat = rs.map((r) => r.latencyMs).filter((x): x is number => x !== null);
          const arrived = rs.map((r) => r.arrivedFraction).filter((x): x is number => x !== null);
          console.log(
            [
              peer.padEnd(10),
              codec.padEnd(6),
              `${(loss * 100).toFixed(0)}%`.padEnd(6),
              `${lat.length ? median(lat).toFixed(0) : '-'} (${rs.map((r) => (r.latencyMs === null ? '-' : r.latencyMs.toFixed(0))).join(' ')})`.padEnd(
                28,
              ),
              (arrived.length ? pct(median(arrived)) : '-').padEnd(8),
              pct(median(rs.map((r) => r.earFraction))).padEnd(7),
              `${median(rs.map((r) => r.cpuCallerPct)).toFixed(1)}%`.padEnd(11),
              `${median(rs.map((r) => r.cpuCalleePct)).toFixed(1)}%`.padEnd(11),
              `${rs.reduce((s, r) => s + r.dropped, 0)}/${rs.reduce((s, r) => s + r.dropped + r.forwarded, 0)}`,
            ].join(' '),
          );
        }
        const ours = byPeer.get('blink-tui');
        const theirs = byPeer.get('baresip');
        if (ours && theirs) {
          const lat = (rs: PairRun[]): number =>
            median(rs.map((r) => r.latencyMs).filter((x): x is number => x !== null));
          const heard = (rs: PairRun[]): number => median(rs.map((r) => r.earFraction));
          const cpu = (rs: PairRun[]): number => median(rs.flatMap((r) => [r.cpuCallerPct, r.cpuCalleePct]));
          console.log(
            `  blink-tui / baresip: latency ${(lat(ours) / lat(theirs)).toFixed(2)}, heard ${(heard(ours) / heard(theirs)).toFixed(2)}, ` +
              `cpu per side ${(cpu(ours) / cpu(theirs)).toFixed(2)}`,
          );
        }
      }
    }
    // The ends' alignment, checked on the wire: PCMU, the relay notes when the tone's first packet passes (in
    // the clear for baresip; blink-tui's SRTP is decrypted with the caller's SDP key). Mouth to wire should be
    // ~0 (same frame-time convention at both); wire to ear is the receive side.
    for (const peer of peers) {
      const checks: Array<PairRun & { fileVsWireMs?: number }> = [];
      for (let i = 0; i < runs; i++) {
        checks.push(
          await pair(peer, {
            codec: 'pcmu',
            loss: 0,
            seed: 2000 + i,
            sourceWav,
            toneFromSec,
            toneToSec,
            callSeconds,
            plainWire: true,
          }),
        );
      }
      const f = (xs: Array<number | null | undefined>): string =>
        xs.map((x) => (typeof x === 'number' ? x.toFixed(0) : '-')).join(' ');
      console.log(
        `alignment check, ${peer} (pcmu, 0 %): mouth to wire ${f(checks.map((c) => c.mouthToWireMs))} ms; ` +
          `wire to ear ${f(checks.map((c) => c.wireToEarMs))} ms; mouth to ear ${f(checks.map((c) => c.latencyMs))} ms` +
          (peer === 'baresip'
            ? ` (by ctrl_tcp events: ${f(checks.map((c) => c.latencyByEventsMs))} ms)`
            : `; ear file minus its span on the wire ${f(checks.map((c) => c.fileVsWireMs))} ms`),
      );
      all.push(...checks);
    }
    console.log(
      `load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    if (process.argv.includes('--json')) console.log(JSON.stringify(all));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
