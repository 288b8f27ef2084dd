// What the clients' main threads did between the caller's /chat and both encrypted events in rounds of
// bench/first-chat.ts --cpu-prof: self time per function and per file inside each round's window, summed over
// the profiles given and divided by their number (a mean per process).
//
//   node --import tsx bench/profile-window.ts [--second] [--top 40] DIR/*.cpuprofile
//
// --second: the window of the second chat between the same processes (what a warm chat runs), to compare.
// V8 stamps profile samples on the monotonic clock in µs, the clock of the events' `mono` (ms).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '40' },
    second: { type: 'boolean', default: false },
    diff: { type: 'boolean', default: false },
  },
});

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
function collect(second: boolean): {
  self: Map<string, number>;
  perFile: Map<string, number>;
  total: number;
  windows: number;
} {
  const self = new Map<string, number>();
  const perFile = new Map<string, number>();
  let total = 0;
  let windows = 0;
  for (const file of positionals) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const winFile = file.replace(/-(alice|bob)\.cpuprofile$/, second ? '.second.window.json' : '.window.json');
    const win = JSON.parse(readFileSync(winFile, 'utf8')) as { t0: number; t1: number };
    windows += win.t1 - win.t0;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i]!;
      const dt = p.timeDeltas[i + 1] ?? 0;
      if (t / 1000 < win.t0 || t / 1000 > win.t1) continue;
      const f = byId.get(p.samples[i]!)!.callFrame;
      const url = f.url.replace(/^.*\/(dist\/bundle|node_modules)\//, '');
      add(self, `${f.functionName || '(anon)'} ${url}:${f.lineNumber + 1}`, dt);
      add(perFile, url || f.functionName, dt);
      total += dt;
    }
  }
  return { self, perFile, total, windows };
}
const first = collect(values.second);
const { self, perFile, total, windows } = first;
if (values.diff) {
  const warm = collect(true);
  const one = collect(false);
  for (const [k, v] of warm.self) add(one.self, k, -v);
  for (const [k, v] of warm.perFile) add(one.perFile, k, -v);
  self.clear();
  perFile.clear();
  for (const [k, v] of one.self) self.set(k, v);
  for (const [k, v] of one.perFile) perFile.set(k, v);
  console.log(
    `first chat minus second chat (${((one.total - warm.total) / 1000 / positionals.length).toFixed(2)} ms per process):`,
  );
}
const n = positionals.length;
const ms = (v: number): string => (v / 1000 / n).toFixed(2).padStart(7);
console.log(`${n} profiles: window ${(windows / n).toFixed(1)} ms, sampled ${ms(total)} ms per process (mean)`);
for (const [k, v] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${ms(v)}  ${k}`);
console.log('  --');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
  console.log(`  ${ms(v)}  ${k}`);
