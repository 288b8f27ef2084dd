// Captures loopback TCP traffic with tcpdump (needs root, as CI is) so a test can check which bytes really
// crossed the wire. The pcap is read back whole: tests search it for strings that must never appear.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A random address in 127/8 other than 127.0.0.1 (Linux answers on all of 127/8 through lo without any set-up).
 * A test that runs every process of its own there and captures only that address (`ownAddressFilter`) sees
 * none of the other test files' traffic on lo, which the suite runs in parallel, and cannot be filled by it.
 */
export function ownLoopbackAddress(): string {
  const n = (lo: number, span: number): number => lo + Math.floor(Math.random() * span);
  return `127.${n(1, 250)}.${n(0, 250)}.${n(2, 250)}`;
}

/** The tcpdump filter for one protocol to and from one loopback address, for `LoopbackCapture.start`. */
export function ownAddressFilter(proto: 'tcp' | 'udp', host: string): string {
  // goes into tcpdump's filter expression as is: an IPv4 literal in 127/8 only
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new Error(`not an address in 127/8: ${host}`);
  return `${proto} and host ${host}`;
}

export class LoopbackCapture {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly file: string,
    private readonly stderr: () => string,
  ) {}

  static async start(filter = 'tcp'): Promise<LoopbackCapture> {
    if (process.getuid?.() !== 0) {
      throw new Error('capturing loopback traffic needs root (tcpdump); run the end-to-end tests as root, as CI does');
    }
    const dir = mkdtempSync(join(tmpdir(), 'blink-tui-cap-'));
    const file = join(dir, 'cap.pcap');
    // A 32 MiB kernel buffer (-B, KiB): on a busy machine (the whole suite in parallel) tcpdump is not always
    // scheduled in time to drain the default 2 MiB, and a capture that dropped packets proves nothing.
    const args = ['-i', 'lo', '--immediate-mode', '-U', '-B', '32768', '-s', '0', '-Z', 'root', '-w', file, filter];
    const proc = spawn('tcpdump', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
      proc.stderr!.on('data', (d: string) => {
        err += d;
        if (err.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`tcpdump exited (${code}): ${err}`));
      });
    });
    return new LoopbackCapture(proc, dir, file, () => err);
  }

  /** Stops the capture and returns every captured byte (pcap framing included; payloads are contiguous per packet). */
  async stop(): Promise<Buffer> {
    await new Promise((r) => setTimeout(r, 1000));
    // SIGINT ends tcpdump's loop without draining what the kernel still holds for it: on a busy machine it may lag
    // behind, so wait until the file has stopped growing (up to 10 s) before stopping it.
    for (let last = -1, i = 0; i < 40; i++) {
      const size = statSync(this.file).size;
      if (size === last) break;
      last = size;
      await new Promise((r) => setTimeout(r, 250));
    }
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    const data = readFileSync(this.file);
    rmSync(this.dir, { recursive: true, force: true });
    // tcpdump's summary on exit: a capture with holes must fail as such, not as a missing transfer.
    const dropped = /(\d+) packets? dropped by kernel/.exec(this.stderr());
    if (dropped && Number(dropped[1]) > 0) throw new Error(`the capture lost packets: ${this.stderr().trim()}`);
    return data;
  }
}
