// Drives a real blink-tui process in headless mode (the built binary, as a user runs it) over JSON lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'blink-tui.js');

export type Ev = Record<string, unknown> & { ev: string };

export interface ClientOptions {
  args: string[];
  configDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Ms to wait for the ready event. */
  readyTimeout?: number;
  /** Another build's bin/blink-tui.js (the benchmark compares builds); this checkout's by default. */
  bin?: string;
  /** Node options the shebang cannot take (e.g. --cpu-prof): runs `node ARGS bin` with the shebang's environment. */
  nodeArgs?: string[];
}

/**
 * Calls back with each LF-terminated line of a byte stream. The client's events can be a MiB long (a 1 MiB
 * message): readline re-scanned and re-decoded the growing line on every 64 KiB read (~4 ms per MiB), which the
 * benchmark then counted as the client's time; this finds LF in the bytes and decodes each piece once.
 */
function onLines(input: Readable, cb: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let pending: string[] = [];
  input.on('data', (chunk: Buffer) => {
    let buf = chunk;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
      pending.push(decoder.write(buf.subarray(0, nl)));
      buf = buf.subarray(nl + 1);
      const line = pending.length === 1 ? pending[0]! : pending.join('');
      pending = [];
      cb(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (buf.length > 0) pending.push(decoder.write(buf));
  });
}

/**
 * Arguments of a client that a hand-driven SIP peer calls: SIP over UDP on `port`, no OTR, a 440 Hz tone as its
 * microphone and nothing played.
 */
export function toneCalleeArgs(user: string, port: number): string[] {
  return [
    '--user',
    user,
    '--port',
    String(port),
    '--transport',
    'udp',
    '--no-otr',
    '--audio-in',
    'tone:440',
    '--audio-out',
    'none',
  ];
}

export class HeadlessClient {
  readonly events: Ev[] = [];
  readonly stderr: string[] = [];
  private waiters: { pred: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  private readonly listeners: ((e: Ev) => void)[] = [];
  private exited: Promise<number | null>;
  uri = '';

  private constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    readonly configDir: string,
    private readonly ownsConfigDir: boolean,
  ) {
    onLines(proc.stdout, (line) => {
      let e: Ev;
      try {
        e = JSON.parse(line) as Ev;
      } catch {
        this.stderr.push(`non-JSON stdout line: ${line}`);
        return;
      }
      this.events.push(e);
      for (const l of this.listeners) l(e);
      for (const w of [...this.waiters]) {
        if (w.pred(e)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => this.stderr.push(d));
    this.exited = new Promise((res) => proc.on('exit', (code) => res(code)));
  }

  static async start(opts: ClientOptions): Promise<HeadlessClient> {
    const ownsConfigDir = opts.configDir === undefined;
    const configDir = opts.configDir ?? mkdtempSync(join(tmpdir(), 'blink-tui-test-'));
    // Run the file itself, as the installed `blink-tui` command runs (its shebang sets the process up).
    const bin = opts.bin ?? BIN;
    const args = ['--headless', '--config-dir', configDir, ...opts.args];
    const viaNode = opts.nodeArgs !== undefined;
    const proc = spawn(viaNode ? process.execPath : bin, viaNode ? [...opts.nodeArgs!, bin, ...args] : args, {
      env: { ...process.env, NO_COLOR: '1', ...(viaNode ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {}), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const c = new HeadlessClient(proc, configDir, ownsConfigDir);
    const ready = await c
      .waitFor((e) => e.ev === 'ready' || e.ev === 'fatal', opts.readyTimeout ?? 15000)
      .catch((err: Error) => {
        c.kill();
        throw new Error(`${err.message}; stderr: ${c.stderr.join('')}`);
      });
    if (ready.ev === 'fatal') {
      c.kill();
      throw new Error(`client failed to start: ${String(ready.message)}`);
    }
    c.uri = String(ready.uri);
    return c;
  }

  /** Calls back with every event from now on (e.g. to answer each incoming chat). */
  onEvent(cb: (e: Ev) => void): void {
    this.listeners.push(cb);
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
  }

  /** Resolves with the first event (already seen, from `since` on, or future) matching pred. */
  waitFor(pred: (e: Ev) => boolean, timeoutMs = 10000, since = 0): Promise<Ev> {
    const seen = this.events.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (e: Ev) => {
          clearTimeout(t);
          resolve(e);
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms; last events: ${JSON.stringify(this.events.slice(-8))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async quit(timeoutMs = 8000): Promise<number | null> {
    if (this.proc.exitCode === null) {
      this.send({ cmd: 'quit' });
      this.proc.stdin.end();
    }
    const t = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    if (this.ownsConfigDir) rmSync(this.configDir, { recursive: true, force: true });
    return code;
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
