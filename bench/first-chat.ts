// The headline of bench/app.ts alone, for comparing builds: rounds of a freshly started pair of clients, the
// caller's /chat `--settle` ms after both are ready, the callee accepting at once; the time from the caller's
// acknowledged /chat to both sides' encrypted event (the clients' shared event clock), then a second chat
// between the same processes. With several `--bin`s (another build's bin/blink-tui.js, e.g. a copy of an
// older dist/ and bin/ side by side) the builds alternate round by round, so a slow spell of this shared machine
// hits each of them.
//
//   node --import tsx bench/first-chat.ts [--rounds 7] [--settle 1000] [--bin A --bin B] [--cpu-prof DIR]
//     [--strangers] [--timeline] [--sides] [--keep] [--node-arg X] [--env K=V]
//
// --strangers: new keys every round (the two have never met: each side learns a new fingerprint, as in a user's
// first chat with someone); --timeline: every event of both sides in the first chat, on one clock; --sides: each
// side's main-thread CPU per chat; --node-arg:
// run the clients under node with that option (--trace-gc: the collections inside each chat are listed).
//
// --cpu-prof writes a V8 CPU profile of every client process to DIR/<build>-<round>-<alice|bob>.cpuprofile and
// the round's window (ack and encrypted times, ms on the monotonic clock the profiles use, in µs) next to it as
// .window.json: `node --import tsx bench/profile-window.ts FILE` shows what ran inside it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, HeadlessClient } from '../tests/helpers/client.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    settle: { type: 'string', default: '1000' },
    bin: { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    env: { type: 'string', multiple: true },
    timeline: { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
    strangers: { type: 'boolean', default: false },
    sides: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const settle = Number(values.settle);
const bins = (values.bin ?? [BIN]).map((b) => resolve(b));
const profDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : null;
const extraEnv = Object.fromEntries((values.env ?? []).map((kv) => kv.split('=', 2) as [string, string]));

interface Round {
  first: number;
  active: number;
  second: number;
  /** Main-thread CPU of the first / second chat, both sides together (ms, /proc/PID/task/PID/schedstat). */
  cpu1: number;
  cpu2: number;
}

/** ms of CPU the process's main thread has run. */
function cpuMs(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (v: number): string => (v < 10 ? v.toFixed(1) : v.toFixed(0));
const spread = (xs: number[]): string => `${fmt(median(xs))} [${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}]`;

async function round(bin: string, dirs: { a: string; b: string }, label: string | null): Promise<Round> {
  const env = { BLINK_TUI_EVENT_CLOCK: '1', ...extraEnv };
  const extra = values['node-arg'] ?? [];
  const nodeArgs = (who: string): { nodeArgs?: string[] } =>
    label && profDir
      ? {
          nodeArgs: [
            ...extra,
            '--cpu-prof',
            '--cpu-prof-interval=250',
            `--cpu-prof-dir=${profDir}`,
            `--cpu-prof-name=${label}-${who}.cpuprofile`,
          ],
        }
      : extra.length > 0
        ? { nodeArgs: extra }
        : {};
  const a = await HeadlessClient.start({
    bin,
    args: ['--user', 'alice', '--port', '0', '--transport', 'tcp'],
    configDir: dirs.a,
    env,
    ...nodeArgs('alice'),
  });
  const b = await HeadlessClient.start({
    bin,
    args: ['--user', 'bob', '--port', '0', '--transport', 'tcp'],
    configDir: dirs.b,
    env,
    ...nodeArgs('bob'),
  });
  try {
    const pb = Number(/:(\d+)/.exec(b.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
    b.onEvent((ev) => {
      if (ev.ev === 'incoming') {
        if (values.timeline)
          b.stderr.push(`TRACE ${Number(process.hrtime.bigint() / 1000n) / 1000} bench sends accept\n`);
        b.send({ cmd: 'accept', session: ev.session });
      }
    });
    await new Promise((r) => setTimeout(r, settle));
    const cpu = (): number => cpuMs(a.proc.pid) + cpuMs(b.proc.pid);
    const call = async (): Promise<{ both: number; active: number; t0: number; t1: number; cpu: number }> => {
      const c0 = cpu();
      const ca0 = cpuMs(a.proc.pid);
      const cb0 = cpuMs(b.proc.pid);
      // With --node-arg=--trace-gc the collections show up in stdout (the helper keeps them as non-JSON lines).
      const gcText = (): string => [...a.stderr, ...b.stderr].join('');
      const g0 = gcText().length;
      const sa = a.events.length;
      const sb = b.events.length;
      a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
      const ack = await a.waitFor((x) => x.ev === 'command' && x.cmd === 'chat', 10000, sa);
      const act = await a.waitFor((x) => x.ev === 'session' && x.state === 'active', 10000, sa);
      const ea = await a.waitFor((x) => x.ev === 'otr' && x.state === 'encrypted', 10000, sa);
      const eb = await b.waitFor((x) => x.ev === 'otr' && x.state === 'encrypted', 10000, sb);
      const t0 = Number(ack.mono);
      const t1 = Math.max(Number(ea.mono), Number(eb.mono));
      if (values.timeline) {
        const evs = [
          ...a.events.slice(sa).map((e) => ({ who: 'A', e })),
          ...b.events.slice(sb).map((e) => ({ who: 'B', e })),
          ...(['A', 'B'] as const).flatMap((who) =>
            (who === 'A' ? a : b).stderr
              .join('')
              .split('\n')
              .filter((l) => l.startsWith('TRACE '))
              .map((l) => ({
                who: `${who}*`,
                e: { ev: l.slice(l.indexOf(' ', 6) + 1), mono: Number(l.split(' ')[1]) },
              })),
          ),
        ].filter((x) => Number(x.e.mono) <= t1 + 0.01 && Number(x.e.mono) >= t0 - 0.01);
        evs.sort((x, y) => Number(x.e.mono) - Number(y.e.mono));
        for (const { who, e } of evs) {
          const { mono, ...rest } = e;
          console.log(`  ${(Number(mono) - t0).toFixed(2).padStart(7)} ${who} ${JSON.stringify(rest).slice(0, 110)}`);
        }
      }
      const gcs = [
        ...gcText()
          .slice(g0)
          .matchAll(/(Scavenge|Mark-Compact)[^,]*, ([\d.]+) \/[^;]*; ([^;]*?)(?=non-JSON|$)/g),
      ];
      if (values['node-arg']?.includes('--trace-gc'))
        console.log(`  collections in the chat (${gcs.length}): ${gcs.map((m) => m[0]).join(', ')}`);
      if (values.sides)
        console.log(`  cpu alice ${(cpuMs(a.proc.pid) - ca0).toFixed(1)} bob ${(cpuMs(b.proc.pid) - cb0).toFixed(1)}`);
      return { both: t1 - t0, active: Number(act.mono) - t0, t0, t1, cpu: cpu() - c0 };
    };
    const first = await call();
    if (label && profDir)
      writeFileSync(join(profDir, `${label}.window.json`), JSON.stringify({ t0: first.t0, t1: first.t1 }));
    const second = await call();
    if (label && profDir)
      writeFileSync(join(profDir, `${label}.second.window.json`), JSON.stringify({ t0: second.t0, t1: second.t1 }));
    return { first: first.both, active: first.active, second: second.both, cpu1: first.cpu, cpu2: second.cpu };
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }
}

async function main(): Promise<void> {
  if (profDir) mkdirSync(profDir, { recursive: true });
  const dirs = { a: mkdtempSync(join(tmpdir(), 'blink-tui-fc-a-')), b: mkdtempSync(join(tmpdir(), 'blink-tui-fc-b-')) };
  const out = new Map<string, Round[]>(bins.map((b) => [b, []]));
  const load0 = loadavg()[0]!;
  try {
    for (const d of [dirs.a, dirs.b])
      execFileSync(bins[0]!, ['genkey', '--yes', '--config-dir', d], { stdio: 'ignore' });
    if (!values.strangers) await round(bins[0]!, dirs, null); // the two meet once (as a user's contacts have)
    for (let r = 0; r < rounds; r++) {
      for (const [i, bin] of bins.entries()) {
        // --strangers: new keys every round, so the two have never met (each learns a new fingerprint).
        if (values.strangers)
          for (const d of [dirs.a, dirs.b]) {
            rmSync(d, { recursive: true, force: true });
            mkdirSync(d);
            execFileSync(bins[0]!, ['genkey', '--yes', '--config-dir', d], { stdio: 'ignore' });
          }
        const x = await round(bin, dirs, profDir ? `b${i}-r${r}` : null);
        out.get(bin)!.push(x);
        console.log(
          `round ${r} build ${i}: first ${fmt(x.first)} (active ${fmt(x.active)}) second ${fmt(x.second)} ms`,
        );
      }
    }
  } finally {
    if (values.keep) console.log(`config folders kept: ${dirs.a} ${dirs.b}`);
    else {
      rmSync(dirs.a, { recursive: true, force: true });
      rmSync(dirs.b, { recursive: true, force: true });
    }
  }
  console.log(
    `\nload average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}; ${rounds} rounds, /chat ${settle} ms after ready`,
  );
  for (const [i, bin] of bins.entries()) {
    const rs = out.get(bin)!;
    console.log(
      `build ${i} (${bin}): first ${spread(rs.map((r) => r.first))}, active ${spread(rs.map((r) => r.active))}, ` +
        `active->both ${spread(rs.map((r) => r.first - r.active))}, second ${spread(rs.map((r) => r.second))}; ` +
        `CPU of both sides: first ${spread(rs.map((r) => r.cpu1))}, second ${spread(rs.map((r) => r.cpu2))}`,
    );
  }
  if (bins.length === 2) {
    const [x, y] = bins.map((b) => out.get(b)!);
    const ratios = x!.map((r, i) => r.first / y![i]!.first);
    console.log(
      `build 0 / build 1, first chat, round by round: ${ratios.map((v) => v.toFixed(2) + 'x').join(' ')}; median ${median(ratios).toFixed(2)}x`,
    );
  }
}

await main();
