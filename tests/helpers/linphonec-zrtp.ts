// The minimal linphonec driver the ZRTP engine tests were written with (the full one is linphonec.ts).
// Debian's linphonec (liblinphone + bzrtp) as a headless ZRTP peer on 127.0.0.1 (recipe in ../shared/STACK.md):
// its own HOME, an RC written fresh each start (it rewrites RC on exit), commands on stdin, stdout read line by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Linphonec {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {
    let buf = '';
    const onData = (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) this.lines.push(l);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    };
    proc.stdout!.setEncoding('utf8').on('data', onData);
    proc.stderr!.setEncoding('utf8').on('data', onData);
  }

  static start(opts: { sipPort: number; rtpPort: number; autoAnswer?: boolean }): Linphonec {
    const dir = mkdtempSync(join(tmpdir(), 'linphonec-'));
    mkdirSync(join(dir, 'home', '.local', 'share', 'linphone'), { recursive: true });
    const rc = join(dir, 'rc');
    writeFileSync(
      rc,
      [
        '[sip]',
        `sip_port=${opts.sipPort}`,
        'sip_tcp_port=0',
        'sip_tls_port=0',
        'bind_address=127.0.0.1',
        'use_ipv6=0',
        'media_encryption=zrtp',
        'media_encryption_mandatory=1',
        '[rtp]',
        'bind_address=127.0.0.1',
        `audio_rtp_port=${opts.rtpPort}`,
        '[video]',
        'enabled=0',
        '',
      ].join('\n'),
    );
    const args = ['-oL', 'linphonec', '-c', rc, ...(opts.autoAnswer === false ? [] : ['-a'])];
    const proc = spawn('stdbuf', args, {
      env: { ...process.env, HOME: join(dir, 'home') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const l = new Linphonec(proc, dir);
    l.command('soundcard use files');
    return l;
  }

  command(line: string): void {
    this.proc.stdin!.write(line + '\n');
  }

  async waitFor(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const l of this.lines) {
        const m = re.exec(l);
        if (m) return m;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`linphonec: ${re} not seen in ${ms} ms; output:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.command('terminate');
      this.command('quit');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.proc.kill('SIGKILL');
          resolve();
        }, 3000);
        this.proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
