// Mouth-to-ear latency and loss tolerance of an audio call on loopback, file in to file out. The helpers here
// are peer-agnostic (a source WAV whose tone starts at a known time, a real-time recording of what the far side
// played, and the wall-clock times at which each file's first sample was taken); `main` measures
// baresip -> baresip through the lossy relay as the baseline blink-tui will be compared with.
//
//   node --import tsx bench/audio-latency.ts [--runs 3] [--codecs opus,pcmu] [--loss 0,0.05,0.2] [--json]
//
// How the baseline is taken (see bench/README.md, "Audio baseline"):
// - Caller A plays a WAV: 1 s of silence, then a 1000 Hz tone. Its sndfile "enc" dump is what it sent; a file
//   source hands over frame n at (first frame's time + n x 20 ms), so sample 0 of the dump is at A's first RTP
//   packet, which the relay timestamps.
// - Callee B runs in echo mode: aubridge pulls, in real time, what its player would play (after jitter buffer
//   and playout buffer) and sends it back. Its "enc" dump is a real-time recording of its ear, sample 0 at B's
//   first RTP packet (timestamped by the relay the same way).
// - latency = (B's first packet + tone onset in B's ear) - (A's first packet + onset in A's enc dump).
// - The alignment is checked on the wire: PCMU without SRTP, the relay decodes A's packets and times the tone's
//   onset; mouth to wire must come out ~0. CALL_ESTABLISHED (ctrl_tcp) as anchors gave 5-12 ms more: printed too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Baresip, type BaresipCodec } from '../tests/helpers/baresip.js';
import { LossyUdpRelay } from '../tests/helpers/lossy-udp-relay.js';
import { SipSdpRelay } from '../tests/helpers/sip-sdp-relay.js';
import { detectTone, readWav, writeToneWav } from '../tests/helpers/tone.js';
import { mouthToEarMs, toneOnsetSec, wireOnsetMs } from '../tests/helpers/audio-latency.js';

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

export interface PairRun {
  readonly codec: BaresipCodec;
  readonly loss: number;
  /** Mouth-to-ear ms (null when the tone never came out). */
  readonly latencyMs: number | null;
  /** The same with the files' starts taken from ctrl_tcp's CALL_ESTABLISHED events instead of first packets. */
  readonly latencyByEventsMs: number | null;
  /** Share of 20 ms frames holding the tone, over the tone's span: what arrived (decoder output) and what was played. */
  readonly arrivedFraction: number;
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
  const all: PairRun[] = [];
  try {
    console.log('codec  loss   latency ms (runs)            arrived  heard   cpu caller  cpu callee  dropped');
    for (const codec of codecs) {
      for (const loss of losses) {
        const rs: PairRun[] = [];
        for (let i = 0; i < runs; i++) {
          rs.push(
            await measureBaresipPair({
              codec,
              loss,
              seed: 1000 + i,
              sourceWav,
              toneFromSec,
              toneToSec,
              callSeconds: 5,
            }),
          );
        }
        all.push(...rs);
        const lat = rs.map((r) => r.latencyMs).filter((x): x is number => x !== null);
        console.log(
          [
            codec.padEnd(6),
            `${(loss * 100).toFixed(0)}%`.padEnd(6),
            `${lat.length ? median(lat).toFixed(0) : '-'} (${rs.map((r) => (r.latencyMs === null ? '-' : r.latencyMs.toFixed(0))).join(' ')})`.padEnd(
              28,
            ),
            `${(100 * median(rs.map((r) => r.arrivedFraction))).toFixed(0)}%`.padEnd(8),
            `${(100 * median(rs.map((r) => r.earFraction))).toFixed(0)}%`.padEnd(7),
            `${median(rs.map((r) => r.cpuCallerPct)).toFixed(1)}%`.padEnd(11),
            `${median(rs.map((r) => r.cpuCalleePct)).toFixed(1)}%`.padEnd(11),
            `${rs.reduce((s, r) => s + r.dropped, 0)}/${rs.reduce((s, r) => s + r.dropped + r.forwarded, 0)}`,
          ].join(' '),
        );
      }
    }
    // The ends' alignment, checked on the wire: PCMU in the clear, the relay notes when the tone's first packet
    // passes. Mouth to wire should be ~0 (same frame-time convention at both); wire to ear is the receive side.
    const checks: PairRun[] = [];
    for (let i = 0; i < runs; i++) {
      checks.push(
        await measureBaresipPair({
          codec: 'pcmu',
          loss: 0,
          seed: 2000 + i,
          sourceWav,
          toneFromSec,
          toneToSec,
          callSeconds: 5,
          plainWire: true,
        }),
      );
    }
    console.log(
      `alignment check (pcmu, no SRTP, 0 %): mouth to wire ${checks.map((c) => c.mouthToWireMs?.toFixed(0) ?? '-').join(' ')} ms; ` +
        `wire to ear ${checks.map((c) => c.wireToEarMs?.toFixed(0) ?? '-').join(' ')} ms; ` +
        `mouth to ear ${checks.map((c) => c.latencyMs?.toFixed(0) ?? '-').join(' ')} ms ` +
        `(by ctrl_tcp events: ${checks.map((c) => c.latencyByEventsMs?.toFixed(0) ?? '-').join(' ')} ms)`,
    );
    all.push(...checks);
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
