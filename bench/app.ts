// `npm run bench` (second part): the client as a user runs it — real processes, real sockets on 127.0.0.1 —
// against the bar in the project brief, which was set from Blink's stack measured on this kind of machine:
//
//   start to a usable screen            <= 0.4 s   (Blink 1.1 s)
//   first chat of fresh processes, /chat to both locks encrypted
//                                       <= 40 ms   (Blink 61-62 ms, measured side by side)
//   call to encrypted (warm processes)  <= 40 ms   (Blink 78 ms)
//   one-way chat latency, p50, OTR      <= 2 ms    (Blink 4 ms); p90 <= 2 x p50
//   a 1 MiB message with OTR            <= 40 ms   (Blink 118 ms)
//   RSS with 20 sessions, 10k lines     <= 80 MB
//
// Figures are printed with their ratio to the bar; nothing here asserts. Run: npm run bench (or
// `node --import tsx bench/app.ts [--quick]`).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, BIN } from '../tests/helpers/client.js';

const quick = process.argv.includes('--quick');

interface Row {
  what: string;
  value: number;
  unit: string;
  bar: number;
  blink?: number;
  lowerIsBetter: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const fmt = (v: number): string => (v < 10 ? v.toFixed(1) : v.toFixed(0));
/** "median [min-max]" */
function spread(xs: number[]): string {
  return `${fmt(median(xs))} [${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}]`;
}

interface ColdRound {
  /** The caller's acknowledged /chat -> both sides' encrypted event (client clocks). */
  first: number;
  /** ... -> the caller's session active (SIP answered, MSRP bound). */
  active: number;
  /** A second chat between the same processes, measured the same way. */
  second: number;
  /** Spawn -> ready event of the caller (the first process started; no other client of ours running). */
  ready: number;
}

/**
 * The first chat of a freshly started pair of clients, as a user meets it: both processes are new (their keys
 * exist on disk and they have met before, as a user's contacts have), the caller sends /chat `settleMs` after
 * both are ready (a user needs longer than a second to type /chat and an address), the callee accepts at once.
 * Then a second chat between the same processes. All times on the clients' shared event clock.
 */
async function coldRound(
  dirs: { a: string; b: string },
  env: Record<string, string>,
  settleMs: number,
): Promise<ColdRound> {
  const e = { BLINK_TUI_EVENT_CLOCK: '1', ...env };
  const t0 = performance.now();
  const a = await HeadlessClient.start({
    args: ['--user', 'alice', '--port', '0', '--transport', 'tcp'],
    configDir: dirs.a,
    env: e,
  });
  const ready = performance.now() - t0;
  const b = await HeadlessClient.start({
    args: ['--user', 'bob', '--port', '0', '--transport', 'tcp'],
    configDir: dirs.b,
    env: e,
  });
  try {
    const pb = Number(/:(\d+)/.exec(b.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
    b.onEvent((ev) => {
      if (ev.ev === 'incoming') b.send({ cmd: 'accept', session: ev.session });
    });
    await new Promise((r) => setTimeout(r, settleMs));
    const call = async (): Promise<{ both: number; active: number }> => {
      const sa = a.events.length;
      const sb = b.events.length;
      a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
      const ack = await a.waitFor((x) => x.ev === 'command' && x.cmd === 'chat', 10000, sa);
      const act = await a.waitFor((x) => x.ev === 'session' && x.state === 'active', 10000, sa);
      const ea = await a.waitFor((x) => x.ev === 'otr' && x.state === 'encrypted', 10000, sa);
      const eb = await b.waitFor((x) => x.ev === 'otr' && x.state === 'encrypted', 10000, sb);
      const t = Number(ack.mono);
      return { both: Math.max(Number(ea.mono), Number(eb.mono)) - t, active: Number(act.mono) - t };
    };
    const first = await call();
    const second = await call();
    return { first: first.both, active: first.active, second: second.both, ready };
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }
}

/** Rounds of coldRound, alternating the configurations round by round so a slow spell of the machine hits all. */
async function coldRounds(rounds: number): Promise<Map<string, ColdRound[]>> {
  const dirs = {
    a: mkdtempSync(join(tmpdir(), 'blink-tui-bench-a-')),
    b: mkdtempSync(join(tmpdir(), 'blink-tui-bench-b-')),
  };
  try {
    // Keys on disk, as a user has them; one untimed chat so that the two know each other's fingerprints.
    for (const d of [dirs.a, dirs.b]) execFileSync(BIN, ['genkey', '--yes', '--config-dir', d], { stdio: 'ignore' });
    await coldRound(dirs, {}, 0);
    const configs: [string, Record<string, string>, number][] = [
      ['rehearsal', {}, 1000],
      ['none', { BLINK_TUI_REHEARSAL: '0' }, 1000],
      ['at once', {}, 0],
    ];
    const out = new Map<string, ColdRound[]>(configs.map(([name]) => [name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, env, settle] of configs) out.get(name)!.push(await coldRound(dirs, env, settle));
    }
    return out;
  } finally {
    rmSync(dirs.a, { recursive: true, force: true });
    rmSync(dirs.b, { recursive: true, force: true });
  }
}

/** Spawn to the first frame of the full-screen UI (status line drawn) in a pseudo-terminal made by script(1). */
async function startToScreen(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'blink-tui-bench-'));
  try {
    const t0 = performance.now();
    const p = spawn(
      'script',
      ['-qfc', `stty cols 100 rows 30; exec ${BIN} --config-dir ${dir} --user bench --port 0`, '/dev/null'],
      {
        stdio: ['pipe', 'pipe', 'ignore'],
        env: { ...process.env, TERM: 'xterm-256color' },
      },
    );
    let out = '';
    const t = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no screen within 10 s: ${JSON.stringify(out.slice(-200))}`)),
        10000,
      );
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('F1 help') && out.includes('Sessions')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
    });
    p.kill('SIGKILL');
    return t;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pair(): Promise<{ a: HeadlessClient; b: HeadlessClient; pb: number }> {
  // The event clock (see README, Headless mode) lets the one-way figures be taken inside the clients as well.
  const env = { BLINK_TUI_EVENT_CLOCK: '1' };
  const a = await HeadlessClient.start({ args: ['--user', 'alice', '--port', '0', '--transport', 'tcp'], env });
  const b = await HeadlessClient.start({ args: ['--user', 'bob', '--port', '0', '--transport', 'tcp'], env });
  // Both keys exist before timing (first-use key generation is not part of a call).
  await a.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
  await b.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
  const pb = Number(/:(\d+)/.exec(b.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
  // Bob accepts every incoming chat at once, as an auto-answering peer would. (This used to poll all of Bob's
  // events every millisecond: with thousands of events that poll took CPU the clients needed on this 2-core box.)
  b.onEvent((e) => {
    if (e.ev === 'incoming') b.send({ cmd: 'accept', session: e.session });
  });
  return { a, b, pb };
}

async function callToEncrypted(
  a: HeadlessClient,
  b: HeadlessClient,
  pb: number,
  n: number,
): Promise<{ ms: number; sa: string; sb: string }[]> {
  const out: { ms: number; sa: string; sb: string }[] = [];
  for (let i = 0; i < n; i++) {
    const since = a.events.length;
    const sinceB = b.events.length;
    const t0 = performance.now();
    a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
    const enc = await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 10000, since);
    const ms = performance.now() - t0;
    const encB = await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 10000, sinceB);
    out.push({ ms, sa: String(enc.session), sb: String(encB.session) });
  }
  return out;
}

/**
 * One message from a to b. `wall`: from the benchmark writing the send command to it having read and parsed b's
 * message event (includes encoding the text as JSON, both pipes, and parsing the event here). `client`: from a's
 * acknowledging the parsed command to b producing the event, on the clients' shared monotonic clock: the
 * clients' own work and the network, without the JSON-lines adapter a terminal user does not go through.
 */
async function oneWay(
  a: HeadlessClient,
  b: HeadlessClient,
  sa: string,
  text: string,
  timeout = 30000,
): Promise<{ wall: number; client: number }> {
  const since = b.events.length;
  const sinceA = a.events.length;
  const t0 = performance.now();
  a.send({ cmd: 'send', session: sa, text });
  const got = await b.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === text, timeout, since);
  const wall = performance.now() - t0;
  const ack = await a.waitFor((e) => e.ev === 'command' && e.cmd === 'send', timeout, sinceA);
  return { wall, client: Number(got.mono) - Number(ack.mono) };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  console.log(
    `blink-tui client benchmark (Node ${process.versions.node}), real processes on 127.0.0.1${quick ? ' (quick)' : ''}\n`,
  );

  // Headline: the first chat of freshly started processes, which is what a user meets.
  const rounds = quick ? 3 : 7;
  const cold = await coldRounds(rounds);
  const on = cold.get('rehearsal')!;
  const off = cold.get('none')!;
  const now = cold.get('at once')!;
  const col = (rs: ColdRound[], k: keyof ColdRound): string => spread(rs.map((r) => r[k]));
  const ratio = (k: keyof ColdRound): string =>
    `${(median(off.map((r) => r[k])) / median(on.map((r) => r[k]))).toFixed(2)}x`;
  console.log(
    `FIRST CHAT OF FRESH PROCESSES: ${rounds} rounds, each a new pair of clients (SIP over TCP), configurations alternating`,
  );
  console.log("round by round; ms on the clients' event clock, median [min-max]");
  const CW = [46, 18, 18, 18, 9];
  console.log(
    ['', 'as shipped', 'no rehearsal', 'chat at ready', 'gain']
      .map((h, i) => (i === 0 ? h.padEnd(CW[0]!) : h.padStart(CW[i]!)))
      .join(' '),
  );
  const crow = (what: string, k: keyof ColdRound): void =>
    console.log(
      [
        what.padEnd(CW[0]!),
        col(on, k).padStart(CW[1]!),
        col(off, k).padStart(CW[2]!),
        col(now, k).padStart(CW[3]!),
        ratio(k).padStart(CW[4]!),
      ].join(' '),
    );
  crow('/chat -> both encrypted, first chat', 'first');
  crow("  of which until the caller's session is active", 'active');
  console.log(
    [
      '  active -> both encrypted'.padEnd(CW[0]!),
      ...[on, off, now].map((rs, i) => spread(rs.map((r) => r.first - r.active)).padStart(CW[i + 1]!)),
      ''.padStart(CW[4]!),
    ].join(' '),
  );
  crow('second chat, same processes', 'second');
  crow('start to ready (headless, the caller)', 'ready');
  console.log(
    'as shipped: /chat 1 s after both are ready (the start-up rehearsal has run); no rehearsal: the same with',
  );
  console.log(
    'BLINK_TUI_REHEARSAL=0; chat at ready: /chat as soon as both are ready (a script; the rehearsal gives way).',
  );
  console.log('gain: no rehearsal / as shipped.\n');
  rows.push({
    what: 'first chat of fresh processes (p50)',
    value: median(on.map((r) => r.first)),
    unit: 'ms',
    bar: 40,
    blink: 62,
    lowerIsBetter: true,
  });
  rows.push({
    what: '  same, /chat at ready (p50)',
    value: median(now.map((r) => r.first)),
    unit: 'ms',
    bar: 40,
    blink: 62,
    lowerIsBetter: true,
  });

  const starts: number[] = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) starts.push(await startToScreen());
  rows.push({
    what: 'start to a usable screen (TUI, p50)',
    value: median(starts),
    unit: 'ms',
    bar: 400,
    blink: 1100,
    lowerIsBetter: true,
  });

  const { a, b, pb } = await pair();
  try {
    const calls = await callToEncrypted(a, b, pb, quick ? 5 : 20);
    rows.push({
      what: 'call to encrypted, warm processes (p50)',
      value: median(calls.map((c) => c.ms)),
      unit: 'ms',
      bar: 40,
      blink: 78,
      lowerIsBetter: true,
    });
    const { sa } = calls[calls.length - 1]!;

    const lat: { wall: number; client: number }[] = [];
    for (let i = 0; i < (quick ? 100 : 500); i++) lat.push(await oneWay(a, b, sa, `ping ${i} ${'x'.repeat(40)}`));
    rows.push({
      what: 'one-way chat latency with OTR (p50)',
      value: median(lat.map((x) => x.wall)),
      unit: 'ms',
      bar: 2,
      blink: 4,
      lowerIsBetter: true,
    });
    rows.push({
      what: '  same, client to client (p50)',
      value: median(lat.map((x) => x.client)),
      unit: 'ms',
      bar: 2,
      blink: 4,
      lowerIsBetter: true,
    });
    // The tail: p90 against twice the measured p50 (the bar: p90 <= 2 x p50).
    const p50w = median(lat.map((x) => x.wall));
    const p50c = median(lat.map((x) => x.client));
    rows.push({
      what: 'one-way chat latency with OTR (p90)',
      value: percentile(
        lat.map((x) => x.wall),
        90,
      ),
      unit: 'ms',
      bar: +(2 * p50w).toFixed(2),
      lowerIsBetter: true,
    });
    rows.push({
      what: '  same, client to client (p90)',
      value: percentile(
        lat.map((x) => x.client),
        90,
      ),
      unit: 'ms',
      bar: +(2 * p50c).toFixed(2),
      lowerIsBetter: true,
    });

    const big: { wall: number; client: number }[] = [];
    for (let i = 0; i < (quick ? 5 : 11); i++) big.push(await oneWay(a, b, sa, `${i}`.padEnd(1048576, 'abcdefghij')));
    rows.push({
      what: '1 MiB message with OTR (p50)',
      value: median(big.map((x) => x.wall)),
      unit: 'ms',
      bar: 40,
      blink: 118,
      lowerIsBetter: true,
    });
    rows.push({
      what: '  same, client to client (p50)',
      value: median(big.map((x) => x.client)),
      unit: 'ms',
      bar: 40,
      blink: 118,
      lowerIsBetter: true,
    });
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }

  // Memory in the bar's own scenario, on a fresh pair: 20 open OTR sessions carrying 10k message lines in all,
  // history logging on. (Measured on the pair above, the RSS also held that pair's scrollback of 1 MiB messages,
  // about 1 MB each, kept for display: a different scenario.)
  const fresh = await pair();
  try {
    const { a, b, pb } = fresh;
    const open = await callToEncrypted(a, b, pb, 20);
    const perSession = Math.ceil(10000 / 20);
    for (const s of open.slice(0, 20)) {
      for (let i = 0; i < perSession; i += 50) {
        const batch = Math.min(50, perSession - i);
        const since = b.events.length;
        for (let j = 0; j < batch; j++)
          a.send({
            cmd: 'send',
            session: s.sa,
            text: `history line ${i + j} of session ${s.sa}: lorem ipsum dolor sit amet`,
          });
        await b.waitFor(
          (e) =>
            e.ev === 'message' &&
            e.direction === 'in' &&
            String(e.text).startsWith(`history line ${i + batch - 1} of session ${s.sa}:`),
          30000,
          since,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    rows.push({
      what: 'RSS, 20 OTR sessions + 10k lines (sender)',
      value: rssMb(a.proc.pid!),
      unit: 'MB',
      bar: 80,
      lowerIsBetter: true,
    });
    rows.push({
      what: 'RSS, 20 OTR sessions + 10k lines (receiver)',
      value: rssMb(b.proc.pid!),
      unit: 'MB',
      bar: 80,
      lowerIsBetter: true,
    });
  } finally {
    await Promise.all([fresh.a.quit(), fresh.b.quit()]);
  }

  const W = [44, 12, 10, 10, 14];
  const pad = (s: string, w: number, right = false) => (right ? s.padStart(w) : s.padEnd(w));
  console.log(
    [
      pad('measure', W[0]!),
      pad('blink-tui', W[1]!, true),
      pad('bar', W[2]!, true),
      pad('Blink', W[3]!, true),
      pad('vs bar', W[4]!, true),
    ].join(' '),
  );
  console.log(W.map((w) => '-'.repeat(w)).join(' '));
  for (const r of rows) {
    const v = r.value < 10 ? r.value.toFixed(2) : r.value.toFixed(1);
    const ratio = r.bar / r.value; // > 1: better than the bar
    console.log(
      [
        pad(r.what, W[0]!),
        pad(`${v} ${r.unit}`, W[1]!, true),
        pad(`${r.bar} ${r.unit}`, W[2]!, true),
        pad(r.blink !== undefined ? `${r.blink} ${r.unit}` : '-', W[3]!, true),
        pad(`${ratio.toFixed(2)}x ${ratio >= 1 ? 'ok' : 'OVER'}`, W[4]!, true),
      ].join(' '),
    );
  }
  console.log(
    '\n"vs bar" is bar / measured: 1.00x or more meets the bar (the p90 rows: bar = 2 x the p50 measured in the same run).',
  );
  process.exit(0);
}

void main().catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
