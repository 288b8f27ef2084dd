// Mouth-to-ear latency and loss tolerance of an audio call on loopback, file in to file out. The helpers here
// are peer-agnostic (a source WAV whose tone starts at a known time, a real-time recording of what the far side
// played, and the wall-clock times at which each file's first sample was taken); `main` measures
// baresip -> baresip through the lossy relay as the baseline blink-tui will be compared with.
//
//   node --import tsx bench/audio-latency.ts [--runs 3] [--codecs opus,pcmu] [--loss 0,0.05,0.2] [--json]
//
// How the baseline is taken (see bench/README.md, "Audio baseline"):
// - Caller A plays a WAV: 1 s of silence, then a 1000 Hz tone. Its sndfile "enc" dump is what it sent, sample 0
//   at the moment its audio started; baresip reports CALL_ESTABLISHED right after starting it.
// - Callee B runs in echo mode: aubridge pulls, in real time, what its player would play (after jitter buffer
//   and playout buffer) and sends it back. Its "enc" dump is therefore a real-time recording of its ear,
//   sample 0 at its own CALL_ESTABLISHED.
// - latency = (B's established time + tone onset in B's ear) - (A's established time + onset in A's source).
//   Both times are read from ctrl_tcp events by this one process: the alignment error is a few ms at most.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Baresip, type BaresipCodec } from '../tests/helpers/baresip.js';
import { LossyUdpRelay } from '../tests/helpers/lossy-udp-relay.js';
import { SipSdpRelay } from '../tests/helpers/sip-sdp-relay.js';
import { detectTone, readWav, writeToneWav, type DetectOptions } from '../tests/helpers/tone.js';

export const LATENCY_HZ = 1000;

/** Seconds from the start of the file to the tone's onset, or null when the tone is not there. */
export function toneOnsetSec(file: string, hz: number, options: DetectOptions = {}): number | null {
  return detectTone(readWav(file), hz, options).onsetSec;
}

export interface OnsetAlignment {
  /** Tone onset in the source file (s) and wall time of its first sample (ms since epoch, or any common clock). */
  readonly sourceOnsetSec: number;
  readonly sourceStartMs: number;
  /** Tone onset in the recording (s) and wall time of its first sample (same clock). */
  readonly recordedOnsetSec: number;
  readonly recordedStartMs: number;
}

/** Mouth-to-ear latency in ms: when the tone was heard minus when it was said, both on the common clock. */
export function mouthToEarMs(a: OnsetAlignment): number {
  return a.recordedStartMs + a.recordedOnsetSec * 1000 - (a.sourceStartMs + a.sourceOnsetSec * 1000);
}

/**
 * The same when both files start at the same instant (a marker: e.g. a recorder and a player started together,
 * or one file holding both a reference click and the far side's tone).
 */
export function markerAlignedMs(sourceOnsetSec: number, recordedOnsetSec: number, recordedLagMs = 0): number {
  return (recordedOnsetSec - sourceOnsetSec) * 1000 + recordedLagMs;
}

export interface PairRun {
  readonly codec: BaresipCodec;
  readonly loss: number;
  /** Mouth-to-ear ms (null when the tone never came out). */
  readonly latencyMs: number | null;
  /** Share of 20 ms frames holding the tone, over the tone's span: what arrived (decoder output) and what was played. */
  readonly arrivedFraction: number;
  readonly earFraction: number;
  /** CPU of each baresip during the call, in % of one core. */
  readonly cpuCallerPct: number;
  readonly cpuCalleePct: number;
  readonly dropped: number;
  readonly forwarded: number;
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
}): Promise<PairRun> {
  const a = await Baresip.start({ user: 'alice', source: opts.sourceWav, codecs: [opts.codec], mediaenc: 'srtp' });
  const b = await Baresip.start({ user: 'bob', source: 'echo', codecs: [opts.codec], mediaenc: 'srtp' });
  const media = await LossyUdpRelay.start({ seed: opts.seed, aToB: { loss: opts.loss }, bToA: { loss: opts.loss } });
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
    return {
      codec: opts.codec,
      loss: opts.loss,
      latencyMs:
        earDet.onsetSec === null
          ? null
          : mouthToEarMs({
              sourceOnsetSec: srcOnset,
              sourceStartMs: ea.at,
              recordedOnsetSec: earDet.onsetSec,
              recordedStartMs: eb.at,
            }),
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
