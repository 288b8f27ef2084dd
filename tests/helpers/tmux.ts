// Runs real blink-tui processes in tmux terminals: type with send-keys, read the screen with capture-pane.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './client.js';

const SOCKET = `blink-tui-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

export class TmuxClient {
  readonly configDir: string;
  private constructor(
    readonly name: string,
    configDir: string,
  ) {
    this.configDir = configDir;
  }

  static start(
    name: string,
    args: string[],
    opts: { width?: number; height?: number; env?: Record<string, string>; configDir?: string } = {},
  ): TmuxClient {
    const configDir = opts.configDir ?? mkdtempSync(join(tmpdir(), `blink-tui-tmux-${name}-`));
    const env = Object.entries({ TERM: 'xterm-256color', ...opts.env })
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(' ');
    const cmd = `${env} ${shellQuote(BIN)} --config-dir ${shellQuote(configDir)} ${args.map(shellQuote).join(' ')}; echo "[exited $?]"; sleep 600`;
    tmux('new-session', '-d', '-s', name, '-x', String(opts.width ?? 110), '-y', String(opts.height ?? 30), cmd);
    return new TmuxClient(name, configDir);
  }

  /** Types text (literally) and optionally Enter. */
  type(text: string, enter = true): void {
    tmux('send-keys', '-t', this.name, '-l', text);
    if (enter) tmux('send-keys', '-t', this.name, 'Enter');
  }

  key(...keys: string[]): void {
    tmux('send-keys', '-t', this.name, ...keys);
  }

  screen(colours = false): string {
    return tmux('capture-pane', '-p', ...(colours ? ['-e'] : []), '-t', this.name);
  }

  async waitForScreen(pred: (s: string) => boolean, timeoutMs = 15000, colours = false): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      last = this.screen(colours);
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`screen of ${this.name} did not match within ${timeoutMs} ms:\n${last}`);
  }

  /**
   * Quits the client as a user does and waits for the process to exit before its config folder is removed (it may
   * still be writing history or trusted_peers: removing the folder under it failed with ENOTEMPTY).
   */
  async stop(): Promise<void> {
    try {
      tmux('send-keys', '-t', this.name, 'Escape');
      tmux('send-keys', '-t', this.name, '-l', '/quit');
      tmux('send-keys', '-t', this.name, 'Enter');
      await this.waitForScreen((s) => s.includes('[exited '), 8000);
    } catch {
      // Not quitting by itself: the session is killed below (its process with it).
    }
    // Read before the session goes: a client that did not quit by itself is ended with its terminal, and the folder
    // is removed only once that process is gone.
    const pid = this.clientPid();
    spawnSync('tmux', ['-L', SOCKET, 'kill-session', '-t', this.name]);
    if (pid !== null) await waitForExit(pid, 10000);
    rmSync(this.configDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }

  /** The client's pid from its config lock (one blink-tui per folder writes it there), null without one. */
  private clientPid(): number | null {
    try {
      const t = readFileSync(join(this.configDir, 'blink-tui.lock'), 'utf8').trim();
      return /^\d{1,10}$/.test(t) && Number(t) > 0 ? Number(t) : null;
    } catch {
      return null;
    }
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function killTmuxServer(): void {
  spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
