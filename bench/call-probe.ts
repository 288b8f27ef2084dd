// Probe of one running blink-tui call (two headless processes on 127.0.0.1, tone in, WAV out, SDES SRTP): CPU share,
// context switches per second per thread, and optionally `strace -c` of one side. For finding where a call's CPU
// goes; `npm run bench:calls` is the figure that counts.
//
//   node --import tsx bench/call-probe.ts [--codec opus|PCMU] [--seconds 10] [--strace] [--bin other/bin/blink-tui.js]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HeadlessClient } from '../tests/helpers/client.js';
import { findFreePort } from '../src/sip/free-port.js';
import { encodeWav } from '../src/rtp/index.js';

const { values } = parseArgs({
  options: {
    codec: { type: 'string', default: 'PCMU' },
    seconds: { type: 'string', default: '10' },
    strace: { type: 'boolean', default: false },
    warm: { type: 'string', default: '2' }, // seconds of the running call before the window
    bin: { type: 'string' },
    node: { type: 'string' }, // node options for both clients, space-separated (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
  },
});
const SECONDS = Number(values.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function threads(pid: number): Map<string, { cpu: number; vol: number; invol: number; name: string }> {
  const out = new Map<string, { cpu: number; vol: number; invol: number; name: string }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)![1]);
      const invol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)![1]);
      out.set(tid, { cpu: (Number(rest[11]) + Number(rest[12])) / 100, vol, invol, name });
    } catch {
      // a thread that ended
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'call-probe-'));
const env = { ...process.env, BLINK_TUI_AUDIO_CODECS: values.codec, BLINK_TUI_REHEARSAL: '0' };
const peers: { c: HeadlessClient; port: number }[] = [];
try {
  for (const [user, hz] of [
    ['alice', 1000],
    ['bob', 1600],
  ] as const) {
    const port = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    const input = join(dir, `${user}.wav`);
    const n = 16000 * (SECONDS + Number(values.warm) + 20);
    writeFileSync(
      input,
      encodeWav(
        16000,
        Int16Array.from({ length: n }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / 16000))),
      ),
    );
    const args = ['--user', user, '--port', String(port), '--transport', 'tcp', '--no-otr'];
    args.push('--audio-in', input, '--audio-out', join(dir, `${user}-out.wav`));
    const c = await HeadlessClient.start({
      args,
      env,
      ...(values.bin ? { bin: values.bin } : {}),
      ...(values.node ? { nodeArgs: values.node.split(' ') } : {}),
    });
    peers.push({ c, port });
  }
  const [a, b] = peers as [(typeof peers)[0], (typeof peers)[0]];
  a.c.send({ cmd: 'call', to: `sip:bob@127.0.0.1:${b.port};transport=tcp` });
  const inc = await b.c.waitFor((e) => e.ev === 'incoming', 15000);
  b.c.send({ cmd: 'accept', session: inc.session });
  await a.c.waitFor((e) => e.ev === 'audio' && e.state === 'active', 15000);
  await sleep(Number(values.warm) * 1000);
  const pids = [a.c.proc.pid!, b.c.proc.pid!];
  const before = pids.map(threads);
  const t0 = performance.now();
  if (values.strace) {
    const r = process.env.PERF_ARGS
      ? spawnSync(
          'perf',
          [...process.env.PERF_ARGS.split(' '), '-p', String(pids[1]), '--', 'sleep', String(SECONDS)],
          { encoding: 'utf8' },
        )
      : spawnSync(
          'timeout',
          [
            '-s',
            'INT',
            String(SECONDS),
            'strace',
            ...(process.env.STRACE_ARGS ?? '-c -f').split(' '),
            '-p',
            String(pids[1]),
          ],
          {
            encoding: 'utf8',
          },
        );
    console.log(r.stderr);
  } else await sleep(SECONDS * 1000);
  const dt = (performance.now() - t0) / 1000;
  pids.forEach((pid, i) => {
    const after = threads(pid);
    let total = 0;
    const rows: string[] = [];
    for (const [tid, t] of after) {
      const b0 = before[i]!.get(tid) ?? { cpu: 0, vol: 0, invol: 0 };
      const cpu = (t.cpu - b0.cpu) / dt;
      total += cpu;
      const cs = (t.vol - b0.vol) / dt;
      const ics = (t.invol - b0.invol) / dt;
      if (cpu > 0 || cs > 0.5)
        rows.push(
          `  ${t.name.padEnd(16)} cpu ${(cpu * 100).toFixed(2)} %  cs/s ${cs.toFixed(1)} invol/s ${ics.toFixed(1)}`,
        );
    }
    console.log(`${i === 0 ? 'alice' : 'bob'}: ${(total * 100).toFixed(2)} %\n${rows.join('\n')}`);
  });
  if (process.env.PROBE_STDERR) for (const p of peers) console.log(p.c.stderr.join('').slice(-4000));
  a.c.send({ cmd: 'hangup' });
  await Promise.all(peers.map((p) => p.c.quit()));
} finally {
  for (const p of peers) p.c.kill();
  rmSync(dir, { recursive: true, force: true });
}
