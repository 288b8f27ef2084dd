// linphonec (Debian linphone-cli 5.1, liblinphone + bzrtp) as an audio peer for tests: one process per peer
// on 127.0.0.1 (or the test's own 127.x.y.z: `host`) with its own HOME (liblinphone keeps its ZID cache and
// databases there), commands on stdin, events read from its stdout, line-buffered through stdbuf. The recipe
// (STACK.md, "Audio, SRTP and ZRTP"):
// - $HOME/.local/share/linphone/ must exist, or the core never starts and opens no SIP port;
// - the RC is written fresh at every start: linphonec rewrites it on exit;
// - [rtp] bind_address=its address (127.0.0.1 or `host`), or the SDP names an IPv6 address; video off;
//   sip_tcp/tls ports 0;
// - `soundcard use files`, then `play F.wav` (what it sends) and `record F.wav` (what it hears, 48 kHz mono,
//   written as it plays: real time, after its jitter buffer) — both set before the call.
// - It prints `Call N is fully encrypted and auth token is XXXX.` once ZRTP is done (SAS: 4 B32 characters).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, dieWithParent, freeSipPort } from './ports.js';
import type { RegistrarAccount } from './kamailio.js';

export const LINPHONEC_BIN = '/usr/bin/linphonec';
const STDBUF = '/usr/bin/stdbuf';

export type LinphoneMediaEncryption = 'zrtp' | 'srtp' | 'none';

export interface LinphonecOptions {
  readonly user: string;
  readonly mediaEncryption?: LinphoneMediaEncryption;
  /** Refuse calls that are not encrypted as asked (default true unless 'none'). */
  readonly mandatory?: boolean;
  /** WAV it sends (see tone.ts: mono 16-bit; 48000 Hz). */
  readonly play?: string;
  /** Where it records what it hears (default DIR/heard.wav). */
  readonly record?: string;
  /** Answer incoming calls at once (-a). Default true. */
  readonly autoAnswer?: boolean;
  /** Register at a registrar (Kamailio from tests/helpers/kamailio.ts; host default 127.0.0.1). */
  readonly registrar?: RegistrarAccount;
  /** The loopback address its SIP and RTP use (default 127.0.0.1). */
  readonly host?: string;
  /** Extra RC sections/lines appended verbatim. */
  readonly rc?: string;
  readonly startTimeoutMs?: number;
  /** A fixed SIP port (default: a free one). */
  readonly sipPort?: number;
  /** A fixed RTP port (default: any in 10000-60000). */
  readonly rtpPort?: number;
}

export interface Line {
  readonly text: string;
  /** Date.now() when the line arrived. */
  readonly at: number;
}

export function linphonecAvailable(): boolean {
  return existsSync(LINPHONEC_BIN) && existsSync(STDBUF);
}

const live = new Set<ChildProcess>();
let hooked = false;
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) killGroup(c, 'SIGKILL');
  });
}

/** Any SIP answer to an OPTIONS on UDP port: the stack is up and listening. */
function sipAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const branch = 'z9hG4bKprobe' + Math.random().toString(36).slice(2);
    const t = setTimeout(() => {
      sock.close();
      resolve(false);
    }, timeoutMs);
    sock.on('message', (m) => {
      if (m.toString('utf8').startsWith('SIP/2.0 ')) {
        clearTimeout(t);
        sock.close();
        resolve(true);
      }
    });
    sock.bind(0, host, () => {
      const local = sock.address().port;
      sock.send(
        `OPTIONS sip:probe@${host}:${port} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP ${host}:${local};branch=${branch};rport\r\nMax-Forwards: 70\r\n` +
          `From: <sip:probe@${host}:${local}>;tag=${branch}\r\nTo: <sip:probe@${host}:${port}>\r\n` +
          `Call-ID: ${branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        port,
        host,
      );
    });
  });
}

export class Linphonec {
  readonly lines: Line[] = [];
  private partial = '';
  private waiters: Array<() => void> = [];
  private exited = false;
  private exitPromise: Promise<void>;
  private err = '';

  private constructor(
    readonly dir: string,
    readonly host: string,
    readonly sipPort: number,
    readonly user: string,
    readonly recordPath: string,
    private readonly child: ChildProcess,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        live.delete(child);
        this.wake();
        resolve();
      });
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.partial += d;
      const parts = this.partial.split('\n');
      this.partial = parts.pop() ?? '';
      const at = Date.now();
      // the prompt has no newline of its own: events follow it on the same line
      for (const p of parts) this.lines.push({ text: p.replace(/^(linphonec> )+/, '').trimEnd(), at });
      this.wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.err += d;
      if (this.err.length > 100000) this.err = this.err.slice(-50000);
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Serverless address. */
  get contact(): string {
    return `sip:${this.user}@${this.host}:${this.sipPort}`;
  }

  output(): string {
    return this.lines.map((l) => l.text).join('\n') + '\n--- stderr ---\n' + this.err.slice(-3000);
  }

  static async start(o: LinphonecOptions): Promise<Linphonec> {
    if (!linphonecAvailable())
      throw new Error(`linphonec not installed; as root: apt-get update && apt-get install -y linphone-cli`);
    if (!/^[A-Za-z0-9_.-]+$/.test(o.user)) throw new Error(`unsupported user name ${o.user}`);
    installExitHook();
    const dir = mkdtempSync(join(tmpdir(), 'blink-linphonec-'));
    mkdirSync(join(dir, '.local', 'share', 'linphone'), { recursive: true });
    const host = o.host ?? '127.0.0.1';
    const sipPort = o.sipPort ?? (await freeSipPort(1, host));
    const enc = o.mediaEncryption ?? 'zrtp';
    const mandatory = o.mandatory ?? enc !== 'none';
    const rcPath = join(dir, 'linphonerc');
    writeFileSync(
      rcPath,
      [
        '[sip]',
        `sip_port=${sipPort}`,
        'sip_tcp_port=0',
        'sip_tls_port=0',
        `bind_address=${host}`,
        'use_ipv6=0',
        `contact="${o.user}" <sip:${o.user}@${host}>`,
        `media_encryption=${enc}`,
        `media_encryption_mandatory=${mandatory ? 1 : 0}`,
        // no 'gruu' among the Supported tags: the test Kamailio has no GRUU routes, and with a GRUU Contact
        // (sip:bob@blink.test;gr=...) the in-dialog BYE goes to 'blink.test', which resolves nowhere
        ...(o.registrar ? ['default_proxy=0', 'supported=replaces, outbound'] : []),
        '[rtp]',
        `bind_address=${host}`,
        `audio_rtp_port=${o.rtpPort ?? '10000-60000'}`,
        '[video]',
        'enabled=0',
        'display=0',
        'capture=0',
        '[sound]',
        'echocancellation=0',
        ...(o.registrar
          ? [
              // every request goes to the registrar through the route: 'blink.test' resolves nowhere
              '[proxy_0]',
              `reg_proxy=<sip:${o.registrar.host ?? '127.0.0.1'}:${o.registrar.udpPort};transport=udp>`,
              `reg_route=<sip:${o.registrar.host ?? '127.0.0.1'}:${o.registrar.udpPort};transport=udp;lr>`,
              `reg_identity="${o.user}" <sip:${o.user}@${o.registrar.domain}>`,
              'reg_expires=600',
              'reg_sendregister=1',
              'publish=0',
              '[auth_info_0]',
              `username=${o.user}`,
              `passwd=${o.registrar.password}`,
              `realm=${o.registrar.domain}`,
              `domain=${o.registrar.domain}`,
            ]
          : []),
        o.rc ?? '',
        '',
      ].join('\n'),
    );
    const recordPath = o.record ?? join(dir, 'heard.wav');
    const args = [STDBUF, '-oL', LINPHONEC_BIN, '-c', rcPath];
    if (o.autoAnswer ?? true) args.push('-a');
    // setpriv and stdbuf exec: the pid is linphonec's own
    const [cmd, ...argv] = dieWithParent(args);
    const child = spawn(cmd!, argv, {
      cwd: dir,
      env: { ...process.env, HOME: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(child);
    const l = new Linphonec(dir, host, sipPort, o.user, recordPath, child);
    const deadline = Date.now() + (o.startTimeoutMs ?? 15000);
    try {
      l.send('soundcard use files');
      await l.waitLine(/Using wav files instead of soundcard/, o.startTimeoutMs ?? 15000);
      l.send(`play ${o.play ?? '/dev/null'}`);
      l.send(`record ${recordPath}`);
      while (!(await sipAnswers(host, sipPort, 300))) {
        if (l.exited || Date.now() > deadline) throw new Error(`linphonec not listening on ${sipPort}:\n${l.output()}`);
      }
      if (o.registrar) {
        // the proxy and credentials are in the RC: linphonec registers at start; wait until it says so
        for (;;) {
          const since = l.lines.length;
          l.send('status register');
          // `registered=0` (or -1) while pending, `registered, identity=...` once done
          const m = await l.waitLine(/^(registered=-?\d+|unregistered|registered,)/, 2000, since);
          if (m[1] === 'registered,') break;
          if (Date.now() > deadline) throw new Error(`linphonec did not register: ${m[0]}\n${l.output()}`);
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    } catch (e) {
      await l.stop();
      throw e;
    }
    return l;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(command: string): void {
    if (this.exited) throw new Error('linphonec is not running');
    this.child.stdin!.write(command + '\n');
  }

  call(uri: string): void {
    this.send(`call ${uri}`);
  }
  answer(): void {
    this.send('answer');
  }
  terminate(): void {
    this.send('terminate');
  }
  setVerified(): void {
    this.send('zrtp-set-verified');
  }

  /** The first stdout line from index `since` on that matches; returns the match. */
  async waitLine(re: RegExp, timeoutMs = 10000, since = 0): Promise<RegExpMatchArray & { at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = since; i < this.lines.length; i++) {
        const line = this.lines[i]!;
        const m = line.text.match(re);
        if (m) return Object.assign(m, { at: line.at });
      }
      if (this.exited) throw new Error(`linphonec exited while waiting for ${re}:\n${this.output()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`linphonec: no ${re} within ${timeoutMs} ms:\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for `Call N ... connected.` */
  connected(timeoutMs = 10000, since = 0): Promise<RegExpMatchArray & { at: number }> {
    return this.waitLine(/^Call (\d+) .* connected\.$/, timeoutMs, since);
  }

  /** Waits for the ZRTP SAS (`... fully encrypted and auth token is XXXX.`) and returns it. */
  async sas(timeoutMs = 10000, since = 0): Promise<{ sas: string; at: number }> {
    const m = await this.waitLine(/fully encrypted and auth token is (\S+?)\.?$/, timeoutMs, since);
    return { sas: m[1] ?? '', at: m.at };
  }

  cpuSeconds(): number {
    // stdbuf execs linphonec: the child's pid is linphonec's
    return cpuSeconds(this.pid, (p) => readFileSync(p, 'utf8'));
  }

  async stop(keepDir = false): Promise<void> {
    if (!this.exited) {
      try {
        this.child.stdin!.write('quit\n');
      } catch {
        // pipe gone
      }
      const t1 = setTimeout(() => killGroup(this.child, 'SIGTERM'), 3000);
      const t2 = setTimeout(() => killGroup(this.child, 'SIGKILL'), 6000);
      await this.exitPromise;
      clearTimeout(t1);
      clearTimeout(t2);
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
