// `npm run bench` (third part): file transfer between two real blink-tui processes on 127.0.0.1, plain and private
// (OTR extra key, AES-256-GCM), beside scp of the same file to an sshd started for the run on 127.0.0.1 (the bar:
// "files at least as fast as scp on loopback") and a bare TCP pipe (`cat FILE > /dev/tcp/...`, no crypto: the
// machine's ceiling). The three take turns round by round so a slow spell of the shared machine hits all of them.
// Reports MB/s two ways for ours: from the receiver's accept to its `done` (the data phase, which includes the
// receiver's hash check and rename), and from the sender's command to the receiver's `done` less the time the
// receiver took to accept (everything the user waits for, the sender's hashing included); scp's time is the whole
// `scp` process (its SSH handshake included). Both processes' RSS is sampled every 100 ms during the transfer: it
// must stay flat (no file in memory). Nothing here asserts.
// Run: npm run bench, or `node --import tsx bench/files.ts [--size MiB] [--rounds N] [--only plain,private,scp,tcp]
// [--cpu-prof DIR] [--threads] [--settle S] [--base-bin PATH]` (--base-bin: another build's bin/blink-tui.js, whose
// plain and private transfers take turns with this build's; --cpu-prof: both clients write V8 CPU profiles of their whole life into
// DIR; --threads: CPU by thread of both clients, scp's CPU, and how idle the machine was, after each transfer;
// --settle: seconds between transfers, 3 by default, see SETTLE_S).
// scp needs `openssh-server` (sshd): installed with apt-get when this runs as root and it is missing; otherwise the
// scp row is left out with the apt-get line to run. The sshd has its own config, host key and authorized key in a
// temp folder, listens on 127.0.0.1 only, and is stopped at the end; nothing of the system's ssh setup is touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../tests/helpers/client.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const MIB = Number(arg('--size') ?? 1024);
const SIZE = MIB * 1024 * 1024;
const ROUNDS = Number(arg('--rounds') ?? 3);
const ONLY = new Set((arg('--only') ?? 'tcp,scp,plain,private').split(','));
const CPU_PROF = arg('--cpu-prof');
/**
 * Seconds to wait after each transfer (whose copy was just deleted) before the next one. This VM hands freed memory
 * back to its host within 1-2 s, and memory taken afresh then costs ~1.5 s of system time per GiB (page faults in
 * the host): a file written right after a deletion reuses the freed pages at a fifth of that. Measured with a
 * 1 GiB write after `rm` and a pause of 0 / 1 / 3 / 6 s: 0.23 / 0.94 / 1.39 / 1.63 s of system time. Waiting puts
 * every contender on the same footing (all pay for fresh pages) whichever comes after whom.
 */
const SETTLE_S = Number(arg('--settle') ?? 3);
/** Another build's bin/blink-tui.js: its plain and private transfers take turns with this build's, round by round. */
const BASE_BIN = arg('--base-bin');
const settle = () => new Promise((r) => setTimeout(r, SETTLE_S * 1000));
/** Print each process's CPU by thread (user / system) after every transfer. */
const THREADS = process.argv.includes('--threads');

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A file of `size` random bytes (incompressible; written in 4 MiB pieces, never held whole). */
function makeFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const piece = Buffer.alloc(4 * 1024 * 1024);
  for (let off = 0; off < size; off += piece.length) {
    randomFillSync(piece);
    writeSync(fd, piece, 0, Math.min(piece.length, size - off));
  }
  closeSync(fd);
}

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The machine's idle and total CPU ticks so far (all cores, /proc/stat). */
function machineTicks(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((x, y) => x + y, 0) };
}

const idleText = (a: { idle: number; total: number }, b: { idle: number; total: number }) =>
  `machine idle ${(((b.idle - a.idle) / Math.max(1, b.total - a.total)) * 100).toFixed(0)} %`;

/** User and system CPU seconds of each thread of a process, by thread name (threads of one name summed). */
function threadCpu(pid: number): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      // Node 20 names its threads "node" (libuv's pool and V8's helpers alike): the main thread is the one whose id
      // is the process id.
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = tid === String(pid) ? 'main' : `${comm === 'node' ? 'thread' : comm}#${tid}`;
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const cur = out.get(name) ?? { user: 0, sys: 0 };
      cur.user += Number(f[11]) / 100;
      cur.sys += Number(f[12]) / 100;
      out.set(name, cur);
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

function threadCpuText(
  before: Map<string, { user: number; sys: number }>,
  after: Map<string, { user: number; sys: number }>,
): string {
  return [...after.entries()]
    .map(([name, a]) => {
      const b = before.get(name) ?? { user: 0, sys: 0 };
      return { name, user: a.user - b.user, sys: a.sys - b.sys };
    })
    .filter((t) => t.user + t.sys > 0.03)
    .sort((x, y) => y.user + y.sys - (x.user + x.sys))
    .map((t) => `${t.name} ${t.user.toFixed(2)}u+${t.sys.toFixed(2)}s`)
    .join(', ');
}

async function sha1File(path: string): Promise<string> {
  const h = createHash('sha1');
  for await (const d of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(d as Buffer);
  return h.digest('hex');
}

/** The ceiling: cat through a TCP socket on loopback into a file. */
async function tcpBar(src: string, dst: string): Promise<number> {
  const { createWriteStream } = await import('node:fs');
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = createServer((s) => {
    const out = createWriteStream(dst);
    s.pipe(out);
    out.on('finish', () => done());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const t0 = performance.now();
  const cat: ChildProcess = spawn('bash', ['-c', `cat "${src}" > /dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' });
  await Promise.all([finished, new Promise((r) => cat.on('exit', r))]);
  const ms = performance.now() - t0;
  server.close();
  rmSync(dst, { force: true });
  return ms;
}

// ---- scp -------------------------------------------------------------------------------------------------------

interface Sshd {
  proc: ChildProcess;
  port: number;
  key: string;
  dir: string;
  cipher: string;
}

/** sshd present, or installed (as root) with apt-get; null and a line saying what to run otherwise. */
function haveSshd(): boolean {
  if (existsSync('/usr/sbin/sshd')) return true;
  if (process.getuid?.() !== 0) {
    process.stdout.write('scp row left out: no sshd here (sudo apt-get install -y openssh-server)\n');
    return false;
  }
  process.stdout.write('installing openssh-server for the scp row (apt-get)...\n');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'openssh-server'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0 || !existsSync('/usr/sbin/sshd')) {
    process.stdout.write('scp row left out: apt-get install openssh-server failed\n');
    return false;
  }
  return true;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const sshOpts = (s: { port: number; key: string; dir: string }) => [
  '-i',
  s.key,
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  `UserKnownHostsFile=${join(s.dir, 'known_hosts')}`,
  '-o',
  'LogLevel=ERROR',
];

/** An sshd of our own on 127.0.0.1: temp host key, a key pair made for this run, the user running the bench. */
async function startSshd(work: string): Promise<Sshd | null> {
  if (!haveSshd()) return null;
  const dir = join(work, 'sshd');
  mkdirSync(dir, { mode: 0o700 });
  const keygen = (file: string) =>
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' }).status === 0;
  if (!keygen(join(dir, 'host_key')) || !keygen(join(dir, 'user_key'))) {
    process.stdout.write('scp row left out: ssh-keygen failed\n');
    return null;
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  // sshd refuses to start without its privilege separation folder (the package's service would create it).
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The temp folder lives under /tmp (world-writable): the ownership checks would refuse the key file.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const s = { port, key: join(dir, 'user_key'), dir };
  // Wait until it answers, and learn the cipher a default client negotiates.
  for (let i = 0; i < 50; i++) {
    const r = spawnSync(
      'ssh',
      ['-v', '-p', String(port), ...sshOpts(s), '-o', 'LogLevel=DEBUG1', `${userInfo().username}@127.0.0.1`, 'true'],
      { encoding: 'utf8' },
    );
    if (r.status === 0) {
      const m = /kex: client->server cipher: (\S+) MAC: (\S+)/.exec(r.stderr);
      const cipher = m ? `${m[1]}${m[2] === '<implicit>' ? '' : ` + ${m[2]}`}` : 'unknown';
      return { proc, ...s, cipher };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  process.stdout.write(`scp row left out: sshd did not answer:\n${log}\n`);
  proc.kill();
  return null;
}

/** scp of the file to a new name over our sshd, default options (cipher, SFTP protocol): the whole process. */
/** CPU seconds of a process's reaped children (user + system). */
function childCpu(pid: number | 'self'): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

async function scpOnce(s: Sshd, src: string, dst: string): Promise<number> {
  const m0 = machineTicks();
  const c0 = THREADS ? { client: childCpu('self'), server: childCpu(s.proc.pid!) } : null;
  const t0 = performance.now();
  const p = spawn('scp', ['-q', '-P', String(s.port), ...sshOpts(s), src, `${userInfo().username}@127.0.0.1:${dst}`], {
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((r) => p.on('exit', r));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`scp exited with ${code}`);
  if (c0) {
    // The server's side (sshd's session process and sftp-server) is counted once sshd has reaped it.
    await new Promise((r) => setTimeout(r, 300));
    const client = childCpu('self') - c0.client;
    const server = childCpu(s.proc.pid!) - c0.server;
    process.stdout.write(
      `    scp: CPU client (scp, ssh) ${client.toFixed(2)} s, server (sshd, sftp-server) ${server.toFixed(2)} s; ` +
        `${idleText(m0, machineTicks())}\n`,
    );
  }
  rmSync(dst, { force: true });
  return ms;
}

// ---- blink-tui -------------------------------------------------------------------------------------------------

interface Result {
  /** Receiver's accept -> its done. */
  ms: number;
  /** Sender's command -> receiver's done, less the time between the offer and the accept. */
  totalMs: number;
  /** Sender's command -> the receiver's offer (hashing, and the SIP round trip). */
  prepareMs: number;
  /** CPU seconds of the sender and the receiver from the accept to the end. */
  cpu: { sender: number; receiver: number };
  rss: { sender: number[]; receiver: number[] };
  ok: boolean;
}

let profRun = 0;

async function transfer(privateMode: boolean, src: string, work: string, bin?: string): Promise<Result> {
  const dl = join(work, privateMode ? 'dl-private' : 'dl-plain');
  const otr = privateMode ? [] : ['--no-otr'];
  const prof = (who: string) =>
    CPU_PROF
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${++profRun}-${who}.cpuprofile`] }
      : {};
  const a = await HeadlessClient.start({
    args: ['--user', 'alice', '--port', '0', '--transport', 'tcp', '--download-dir', join(work, 'dl-a'), ...otr],
    ...prof(`sender-${privateMode ? 'private' : 'plain'}`),
    ...(bin ? { bin } : {}),
  });
  const b = await HeadlessClient.start({
    args: ['--user', 'bob', '--port', '0', '--transport', 'tcp', '--download-dir', dl, ...otr],
    ...prof(`receiver-${privateMode ? 'private' : 'plain'}`),
    ...(bin ? { bin } : {}),
  });
  try {
    const target = `${b.uri.split(';')[0]};transport=tcp`;
    let cmd: Record<string, unknown> = { cmd: 'send_file', to: target, path: src };
    if (privateMode) {
      a.send({ cmd: 'chat', to: target });
      const inc = await b.waitFor((e) => e.ev === 'incoming', 15000);
      b.send({ cmd: 'accept', session: inc.session });
      const enc = await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 20000);
      await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 20000);
      cmd = { cmd: 'send_file', session: enc.session, path: src };
    }
    const since = b.events.length;
    const tCmd = performance.now();
    a.send(cmd);
    const offer = await b.waitFor((e) => e.ev === 'file' && e.state === 'offered', 600000, since);
    const prepareMs = performance.now() - tCmd;
    const rss = { sender: [] as number[], receiver: [] as number[] };
    const sampler = setInterval(() => {
      rss.sender.push(rssMb(a.proc.pid!));
      rss.receiver.push(rssMb(b.proc.pid!));
    }, 100);
    const t0 = performance.now();
    const cpu0 = { sender: cpuSeconds(a.proc.pid!), receiver: cpuSeconds(b.proc.pid!) };
    const threads0 = THREADS
      ? { sender: threadCpu(a.proc.pid!), receiver: threadCpu(b.proc.pid!), machine: machineTicks() }
      : null;
    b.send({ cmd: 'accept_file', transfer: offer.transfer });
    const end: Ev = await b.waitFor(
      (e) =>
        e.ev === 'file' && e.transfer === offer.transfer && ['done', 'failed', 'cancelled'].includes(String(e.state)),
      600000,
      since,
    );
    const ms = performance.now() - t0;
    const cpu = {
      sender: cpuSeconds(a.proc.pid!) - cpu0.sender,
      receiver: cpuSeconds(b.proc.pid!) - cpu0.receiver,
    };
    clearInterval(sampler);
    if (threads0) {
      process.stdout.write(`    sender threads: ${threadCpuText(threads0.sender, threadCpu(a.proc.pid!))}\n`);
      process.stdout.write(`    receiver threads: ${threadCpuText(threads0.receiver, threadCpu(b.proc.pid!))}\n`);
      process.stdout.write(`    ${idleText(threads0.machine, machineTicks())}\n`);
    }
    const ok = end.state === 'done' && (await sha1File(String(end.path))) === (await sha1File(src));
    if (end.path) rmSync(String(end.path), { force: true });
    return { ms, totalMs: prepareMs + ms, prepareMs, cpu, rss, ok };
  } finally {
    await a.quit();
    await b.quit();
  }
}

const mbps = (ms: number) => SIZE / 1e6 / (ms / 1000);
const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
const range = (xs: number[]) => {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? `${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)} MB` : 'n/a';
};

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'blink-bench-files-'));
  let sshd: Sshd | null = null;
  try {
    const src = join(work, 'src.bin');
    process.stdout.write(
      `file transfer benchmark: ${MIB} MiB of random bytes on 127.0.0.1, ${ROUNDS} rounds taking turns\n`,
    );
    makeFile(src, SIZE);
    if (ONLY.has('scp')) sshd = await startSshd(work);
    const runs = {
      tcp: [] as number[],
      scp: [] as number[],
      plain: [] as Result[],
      private: [] as Result[],
      basePlain: [] as Result[],
      basePrivate: [] as Result[],
    };
    for (let round = 1; round <= ROUNDS; round++) {
      if (ONLY.has('tcp')) runs.tcp.push(await tcpBar(src, join(work, 'bar.bin')));
      await settle();
      if (sshd) runs.scp.push(await scpOnce(sshd, src, join(work, 'scp.bin')));
      await settle();
      if (ONLY.has('plain')) runs.plain.push(await transfer(false, src, work));
      await settle();
      if (ONLY.has('private')) runs.private.push(await transfer(true, src, work));
      await settle();
      if (BASE_BIN && ONLY.has('plain')) runs.basePlain.push(await transfer(false, src, work, BASE_BIN));
      if (BASE_BIN && ONLY.has('plain')) await settle();
      if (BASE_BIN && ONLY.has('private')) runs.basePrivate.push(await transfer(true, src, work, BASE_BIN));
      if (BASE_BIN && ONLY.has('private')) await settle();
      const last = (xs: number[]) => (xs.length ? `${mbps(xs[xs.length - 1]!).toFixed(0)}` : '-');
      process.stdout.write(
        `  round ${round}: tcp ${last(runs.tcp)}, scp ${last(runs.scp)}, plain ${last(runs.plain.map((r) => r.ms))} ` +
          `(${last(runs.plain.map((r) => r.totalMs))} from the command), private ${last(runs.private.map((r) => r.ms))} ` +
          `(${last(runs.private.map((r) => r.totalMs))}) MB/s` +
          (BASE_BIN
            ? `; base build: plain ${last(runs.basePlain.map((r) => r.ms))} ` +
              `(${last(runs.basePlain.map((r) => r.totalMs))}), private ${last(runs.basePrivate.map((r) => r.ms))} MB/s`
            : '') +
          '\n',
      );
    }
    const scpMed = median(runs.scp);
    const ratio = (ms: number) => (runs.scp.length ? `${(scpMed / ms).toFixed(2)}x` : 'n/a');
    const cpu = (rs: Result[]) =>
      `${median(rs.map((r) => r.cpu.sender / (SIZE / 2 ** 30))).toFixed(1)} / ` +
      `${median(rs.map((r) => r.cpu.receiver / (SIZE / 2 ** 30))).toFixed(1)} s`;
    const rows: string[][] = [];
    if (runs.tcp.length)
      rows.push(['cat > /dev/tcp (bare TCP pipe, no crypto)', `${mbps(median(runs.tcp)).toFixed(0)} MB/s`, '', '', '']);
    if (runs.scp.length)
      rows.push([`scp (OpenSSH, ${sshd!.cipher})`, `${mbps(scpMed).toFixed(0)} MB/s`, '1.00x', '', '', '']);
    for (const [label, rs] of [
      ['blink-tui plain (RFC 5547, SHA-1 checked)', runs.plain],
      ['blink-tui private (OTR key, AES-256-GCM)', runs.private],
      ['base build plain', runs.basePlain],
      ['base build private', runs.basePrivate],
    ] as const) {
      if (!rs.length) continue;
      const bad = rs.some((r) => !r.ok) ? ' FAILED' : '';
      const ms = median(rs.map((r) => r.ms));
      const total = median(rs.map((r) => r.totalMs));
      rows.push([
        `${label}${bad}`,
        `${mbps(ms).toFixed(0)} MB/s`,
        ratio(ms),
        cpu(rs),
        range(rs.flatMap((r) => r.rss.sender)),
        range(rs.flatMap((r) => r.rss.receiver)),
      ]);
      rows.push([
        '  ... from the send command (hashing included)',
        `${mbps(total).toFixed(0)} MB/s`,
        ratio(total),
        `prepare ${median(rs.map((r) => r.prepareMs)).toFixed(0)} ms`,
        '',
        '',
      ]);
    }
    const w = [50, 11, 9, 16, 13];
    process.stdout.write(
      [['what', 'rate', 'vs scp', 'CPU/GiB s→r', 'sender RSS', 'receiver RSS']]
        .concat(rows)
        .map((r) => r.map((c, i) => (i < w.length ? c.padEnd(w[i]!) : c)).join(''))
        .join('\n') + '\n',
    );
    process.stdout.write(
      'each figure is the median of the rounds; vs scp: speed relative to scp (above 1 is faster)\n',
    );
  } finally {
    sshd?.proc.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
