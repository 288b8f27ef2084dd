// `npm run bench`: our OTR engine side by side with libotr 4.1.1 (C) and python-potr 1.0.2 doing the same
// work: DSA key generation, a full AKE (both parties), 1 KB data messages (encrypt + decrypt) and a full
// SMP. libotr and potr run both parties inside their own process (tests/interop/peers, bench mode), as
// ours runs both OtrSessions in this one, so no pipe or process start is ever timed. See bench/README.md.
//
//   npm run bench                    default iteration counts (about a minute)
//   npm run bench -- --scale 0.2     fewer iterations (quick look; noisier)
//   npm run bench -- --only ake,smp  a subset: keygen, ake, msg, smp
//   npm run bench -- --json          also print the results as one JSON object
//   npm run bench -- --rounds 5      alternating rounds of ours and libotr per operation (default 5)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { OtrSession, type OtrEvent } from '../src/otr/index.js';
import { generateDsaKey } from '../src/keys/dsa-key.js';
import { PYTHON, REPO_ROOT, peerVersion, runPeerBench, type PeerKind } from '../tests/helpers/otr-peers.js';

type Op = 'keygen' | 'ake' | 'msg' | 'smp';
const OPS: Op[] = ['keygen', 'ake', 'msg', 'smp'];
const BASE_ITERATIONS: Record<Op, number> = { keygen: 20, ake: 50, msg: 10000, smp: 20 };
const LABEL: Record<Op, string> = {
  keygen: 'DSA key generation (1024/160)',
  ake: 'AKE, both parties',
  msg: 'data message 1 KB, enc + dec',
  smp: 'SMP, both parties',
};

class BenchError extends Error {
  override name = 'BenchError';
}

interface Result {
  library: string;
  version: string;
  op: Op;
  iterations: number;
  /** The median round's time: the figure the table shows. */
  total_ms: number;
  /** Every round's time, in the order they ran. */
  rounds_ms: number[];
}

function args(): { scale: number; only: Op[]; json: boolean; rounds: number } {
  const a = process.argv.slice(2);
  let scale = 1;
  let only = OPS;
  let json = false;
  let rounds = 5;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--scale') scale = Number(a[++i]);
    else if (a[i] === '--only') only = (a[++i] ?? '').split(',').filter((x): x is Op => (OPS as string[]).includes(x));
    else if (a[i] === '--json') json = true;
    else if (a[i] === '--rounds') rounds = Number(a[++i]);
    else throw new BenchError(`unknown argument ${a[i]} (see bench/README.md)`);
  }
  if (!(scale > 0)) throw new BenchError('--scale needs a positive number');
  if (!Number.isInteger(rounds) || rounds < 1) throw new BenchError('--rounds needs a positive whole number');
  if (only.length === 0) throw new BenchError(`--only takes a comma-separated list of ${OPS.join(', ')}`);
  return { scale, only, json, rounds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

// ------------------------------------------------------------------------------ our engine, in process

const KEY_A = generateDsaKey();
const KEY_B = generateDsaKey();

/** Delivers wire messages between two sessions until both are silent; returns every event seen. */
function pump(
  a: OtrSession,
  b: OtrSession,
  first: { from: OtrSession; events: OtrEvent[] },
): Map<OtrSession, OtrEvent[]> {
  const seen = new Map<OtrSession, OtrEvent[]>([
    [a, []],
    [b, []],
  ]);
  let queue: { to: OtrSession; wire: string }[] = [];
  const take = (from: OtrSession, events: OtrEvent[]): void => {
    seen.get(from)!.push(...events);
    const to = from === a ? b : a;
    for (const e of events) if (e.type === 'send') for (const w of e.wire) queue.push({ to, wire: w });
  };
  take(first.from, first.events);
  let n = 0;
  while (queue.length) {
    const batch = queue;
    queue = [];
    for (const { to, wire } of batch) {
      if (++n > 10_000) throw new BenchError('engine: messages never stop');
      take(to, to.receive(wire));
    }
  }
  return seen;
}

function engineAke(): [OtrSession, OtrSession] {
  const a = new OtrSession({ key: KEY_A });
  const b = new OtrSession({ key: KEY_B });
  pump(a, b, { from: a, events: a.start() });
  if (a.state !== 'encrypted' || b.state !== 'encrypted') throw new BenchError('engine: AKE did not complete');
  return [a, b];
}

const TEXT_1K = Array.from({ length: 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
const SECRET = 'correct horse battery staple';

function engineRun(op: Op, n: number): number {
  if (op === 'keygen') {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) generateDsaKey();
    return performance.now() - t0;
  }
  if (op === 'ake') {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) engineAke();
    return performance.now() - t0;
  }
  const [a, b] = engineAke();
  if (op === 'msg') {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      // 50 messages one way, then 50 back: keys rotate at each turn (the peers' bench modes do the same)
      const from = Math.floor(i / 50) % 2 ? b : a;
      const to = from === a ? b : a;
      const seen = pump(a, b, { from, events: from.send(TEXT_1K) });
      const got = seen.get(to)!.find((e) => e.type === 'message');
      if (!got || got.type !== 'message' || got.text !== TEXT_1K || !got.encrypted)
        throw new BenchError('engine: message lost');
    }
    return performance.now() - t0;
  }
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s1 = pump(a, b, { from: a, events: a.smpStart(SECRET) });
    if (!s1.get(b)!.some((e) => e.type === 'smp' && e.event.type === 'asked'))
      throw new BenchError('engine: SMP not asked');
    const s2 = pump(a, b, { from: b, events: b.smpRespond(SECRET) });
    for (const s of [a, b])
      if (!s2.get(s)!.some((e) => e.type === 'smp' && e.event.type === 'success'))
        throw new BenchError('engine: SMP failed');
  }
  return performance.now() - t0;
}

// ------------------------------------------------------------------------------ table

function perOp(r: Result): number {
  return r.total_ms / r.iterations;
}

function fmtTime(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(1)} µs`;
}

function cell(op: Op, r: Result | undefined): string {
  if (!r) return 'n/a';
  return op === 'msg' ? `${Math.round(1000 / perOp(r)).toLocaleString('en-US')} msg/s` : `${fmtTime(perOp(r))}/op`;
}

function ratio(r: Result | undefined, ref: Result | undefined): string {
  if (!r || !ref) return 'n/a';
  return `${(perOp(ref) / perOp(r)).toFixed(2)}x`;
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function main(): void {
  const { scale, only, json, rounds } = args();
  const py = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const versions = { node: process.version, libotr: peerVersion('libotr'), potr: peerVersion('potr'), python: py };
  console.log(
    `OTR benchmark: blink-tui (Node ${versions.node}) vs libotr ${versions.libotr} (C) vs potr ${versions.potr} (${py})`,
  );
  console.log(
    `CPU: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}; iteration scale ${scale}; ${rounds} alternating rounds of ours and libotr per operation\n`,
  );

  const results: Record<string, Partial<Record<PeerKind | 'blink-tui', Result>>> = {};
  for (const op of only) {
    const n = Math.max(1, Math.round(BASE_ITERATIONS[op] * scale));
    const row: Partial<Record<PeerKind | 'blink-tui', Result>> = {};
    // Untimed warm-up, so the JIT has compiled the hot paths before the clock runs (C and CPython have none).
    // Messages get a longer one (a quarter of the timed count): a chat client runs for hours, so its steady
    // state, not its first few hundred messages, is what a user gets; a handful left most of the timed loop
    // running in V8's baseline tiers.
    engineRun(op, op === 'msg' ? Math.ceil(n / 4) : Math.max(1, Math.min(3, Math.ceil(n / 20))));
    // Ours and libotr take turns, and each row shows its median round: on a shared machine a slow spell then
    // hits both about equally instead of deciding the ratio (one run of each swung it by +-25 % here).
    const ours: number[] = [];
    const lib: number[] = [];
    let libVersion = versions.libotr;
    for (let r = 0; r < rounds; r++) {
      ours.push(engineRun(op, n));
      const l = runPeerBench('libotr', op, n);
      lib.push(l.total_ms);
      libVersion = l.version;
    }
    row['blink-tui'] = {
      library: 'blink-tui',
      version: versions.node,
      op,
      iterations: n,
      total_ms: median(ours),
      rounds_ms: ours,
    };
    row.libotr = { library: 'libotr', version: libVersion, op, iterations: n, total_ms: median(lib), rounds_ms: lib };
    // potr is pure Python and only a reference point: one round, and fewer iterations keep the run short (the
    // per-operation figure stays comparable).
    const m = op !== 'msg' ? Math.max(1, Math.ceil(n / 4)) : n;
    const p = runPeerBench('potr', op, m);
    row.potr = {
      library: 'potr',
      version: p.version,
      op,
      iterations: p.iterations,
      total_ms: p.total_ms,
      rounds_ms: [p.total_ms],
    };
    results[op] = row;
    process.stderr.write(`  ${op} done\n`);
  }

  const W = [31, 20, 20, 20, 12, 12];
  const head = [
    'operation',
    'blink-tui',
    `libotr ${versions.libotr}`,
    `potr ${versions.potr}`,
    'ours/libotr',
    'potr/libotr',
  ];
  console.log(head.map((h, i) => pad(h, W[i]!, i > 0)).join(' '));
  console.log(W.map((w) => '-'.repeat(w)).join(' '));
  for (const op of only) {
    const row = results[op]!;
    const cols = [
      LABEL[op],
      cell(op, row['blink-tui']),
      cell(op, row.libotr),
      cell(op, row.potr),
      ratio(row['blink-tui'], row.libotr),
      ratio(row.potr, row.libotr),
    ];
    console.log(cols.map((c, i) => pad(c, W[i]!, i > 0)).join(' '));
  }
  console.log('\nratios are speed relative to libotr: 2.00x = twice as fast as libotr, 0.50x = half as fast.');
  console.log('each figure is the median of the rounds; ours/libotr round by round (each pair ran back to back):');
  for (const op of only) {
    const o = results[op]!['blink-tui']!.rounds_ms,
      l = results[op]!.libotr!.rounds_ms;
    console.log(`  ${pad(op, 7)} ${o.map((t, i) => `${(l[i]! / t).toFixed(2)}x`).join('  ')}`);
  }
  const iters = only
    .map(
      (op) =>
        `${op} ${results[op]!['blink-tui']!.iterations}/${results[op]!.libotr!.iterations}/${results[op]!.potr!.iterations}`,
    )
    .join(', ');
  console.log(`iterations (blink-tui/libotr/potr): ${iters}`);

  const report = { date: new Date().toISOString(), versions, cpu: cpus()[0]?.model ?? null, scale, results };
  const outDir = join(REPO_ROOT, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `otr-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`results saved to ${file}`);
  if (json) console.log(JSON.stringify(report));
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
