// `npm run bench` (third part): file transfer between two real blink-tui processes on 127.0.0.1, plain and private
// (OTR extra key, AES-256-GCM), beside the physical bar of this machine: no sshd here to run scp against, so the bar
// is `cat FILE > /dev/tcp/127.0.0.1/PORT` into a process that writes the socket to disk (a bare TCP pipe, no
// crypto). Reports MB/s (file bytes / time from the receiver's accept to its `done`, which includes the receiver's
// hash check and rename) and both processes' RSS sampled every 100 ms during the transfer: it must stay flat (no
// file in memory). Nothing here asserts. Run: npm run bench, or `node --import tsx bench/files.ts [--size MiB]`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../tests/helpers/client.js';

const sizeArg = process.argv.indexOf('--size');
const MIB = sizeArg > 0 ? Number(process.argv[sizeArg + 1]) : 1024;
const SIZE = MIB * 1024 * 1024;

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

async function sha1File(path: string): Promise<string> {
  const h = createHash('sha1');
  for await (const d of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(d as Buffer);
  return h.digest('hex');
}

/** The bar: cat through a TCP socket on loopback into a file. */
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
  return ms;
}

interface Result {
  ms: number;
  /** CPU seconds of the sender and the receiver from the accept to the end. */
  cpu: { sender: number; receiver: number };
  rss: { sender: number[]; receiver: number[] };
  ok: boolean;
}

async function transfer(privateMode: boolean, src: string, work: string): Promise<Result> {
  const dl = join(work, privateMode ? 'dl-private' : 'dl-plain');
  const otr = privateMode ? [] : ['--no-otr'];
  const a = await HeadlessClient.start({
    args: ['--user', 'alice', '--port', '0', '--transport', 'tcp', '--download-dir', join(work, 'dl-a'), ...otr],
  });
  const b = await HeadlessClient.start({
    args: ['--user', 'bob', '--port', '0', '--transport', 'tcp', '--download-dir', dl, ...otr],
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
    a.send(cmd);
    // The offer comes after the sender hashed the file (and, private, encrypted it once to hash the ciphertext).
    const offer = await b.waitFor((e) => e.ev === 'file' && e.state === 'offered', 600000, since);
    const rss = { sender: [] as number[], receiver: [] as number[] };
    const sampler = setInterval(() => {
      rss.sender.push(rssMb(a.proc.pid!));
      rss.receiver.push(rssMb(b.proc.pid!));
    }, 100);
    const t0 = performance.now();
    const cpu0 = { sender: cpuSeconds(a.proc.pid!), receiver: cpuSeconds(b.proc.pid!) };
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
    const ok = end.state === 'done' && (await sha1File(String(end.path))) === (await sha1File(src));
    if (end.path) rmSync(String(end.path), { force: true });
    return { ms, cpu, rss, ok };
  } finally {
    await a.quit();
    await b.quit();
  }
}

const mbps = (ms: number) => SIZE / 1e6 / (ms / 1000);
const range = (xs: number[]) => {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? `${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)} MB` : 'n/a';
};

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'blink-bench-files-'));
  try {
    const src = join(work, 'src.bin');
    process.stdout.write(`file transfer benchmark: ${MIB} MiB of random bytes, two blink-tui on 127.0.0.1\n`);
    makeFile(src, SIZE);
    const barMs = await tcpBar(src, join(work, 'bar.bin'));
    rmSync(join(work, 'bar.bin'));
    const plain = await transfer(false, src, work);
    const priv = await transfer(true, src, work);
    const cpu = (r: Result) =>
      `${(r.cpu.sender / (SIZE / 2 ** 30)).toFixed(1)} / ${(r.cpu.receiver / (SIZE / 2 ** 30)).toFixed(1)} s`;
    const rows = [
      ['cat > /dev/tcp (bar: bare TCP pipe, no sshd for scp)', `${mbps(barMs).toFixed(0)} MB/s`, '', '', ''],
      [
        `blink-tui plain (RFC 5547, SHA-1 checked)${plain.ok ? '' : ' FAILED'}`,
        `${mbps(plain.ms).toFixed(0)} MB/s`,
        cpu(plain),
        range(plain.rss.sender),
        range(plain.rss.receiver),
      ],
      [
        `blink-tui private (OTR key, AES-256-GCM)${priv.ok ? '' : ' FAILED'}`,
        `${mbps(priv.ms).toFixed(0)} MB/s`,
        cpu(priv),
        range(priv.rss.sender),
        range(priv.rss.receiver),
      ],
    ];
    process.stdout.write(
      ['what'.padEnd(56) + 'rate'.padEnd(11) + 'CPU/GiB s→r'.padEnd(14) + 'sender RSS'.padEnd(13) + 'receiver RSS']
        .concat(rows.map((r) => r[0]!.padEnd(56) + r[1]!.padEnd(11) + r[2]!.padEnd(14) + r[3]!.padEnd(13) + r[4]!))
        .join('\n') + '\n',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
