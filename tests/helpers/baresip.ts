// baresip 1.0 (Debian baresip-core) as an audio peer for tests: one process per peer on 127.0.0.1 (or the
// test's own 127.x.y.z: `host`), its own
// config folder (-f DIR, also its HOME and cwd), no sound device, controlled over ctrl_tcp (netstring-framed
// JSON commands; it pushes every call event as JSON on the same socket, so nothing is scraped from a log).
//
// What was found running it here (facts, see tests/helpers/README.md):
// - No sound device: the source is `aufile` (reads the whole WAV first; it must be S16LE and have the
//   source rate, hence ausrc_srate/auplay_srate 48000 and mono: baresip resamples to each codec). The player is
//   `aubridge`: alone (no source of the same name) it never pulls, costs nothing and is not paced. ALSA's
//   "null" device is NOT an option: it never blocks, baresip's player thread spins and writes gigabytes.
// - What the peer hears is recorded by the `sndfile` filter into snd_path as dump-YYYY-MM-DD-HH-MM-SS-dec.wav
//   (decoded, at the codec's rate: 8000 PCMU/PCMA, 16000 G722, 48000 opus) and ...-enc.wav (what it sent).
//   The filter sits in the decode path, before the playout buffer: the dec file holds what arrived.
// - Echo mode (`source: 'echo'`): aubridge as both source and player on one device. Its thread runs in real
//   time, pulling what the player would play (after the jitter and playout buffers) and sending it back. The
//   enc dump is then a real-time recording of the peer's "ear": used for mouth-to-ear latency.
// - SIP on UDP P and TCP P, TLS on TCP P+1 (it binds it even without a certificate): ports are picked so.
// - `net_interface` set to its own address (127.0.0.1 or `host`), otherwise the SDP may name another
//   interface's address.
// - mediaenc=srtp: RTP/AVP with a=crypto (best effort; plain RTP if the peer ignores it); srtp-mand: RTP/SAVP,
//   refuses plain; srtp-mandf: RTP/SAVPF.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, dieWithParent, freeSipPort, freeTcpPort } from './ports.js';
import type { RegistrarAccount } from './kamailio.js';

export const BARESIP_BIN = '/usr/bin/baresip';
export const BARESIP_MODULES = '/usr/lib/baresip/modules';

export type BaresipCodec = 'opus' | 'g722' | 'pcmu' | 'pcma';
export type BaresipMediaEnc = 'srtp' | 'srtp-mand' | 'srtp-mandf' | 'none';

export interface BaresipOptions {
  readonly user: string;
  /** Register at this registrar (Kamailio from tests/helpers/kamailio.ts; host 127.0.0.1 by default), or serverless. */
  readonly registrar?: RegistrarAccount;
  /** The loopback address its SIP, RTP and control socket use (default 127.0.0.1). */
  readonly host?: string;
  readonly mediaenc?: BaresipMediaEnc;
  /** Codecs offered, in order of preference (default opus, g722, pcmu, pcma: Blink's order). */
  readonly codecs?: readonly BaresipCodec[];
  /** What it sends: a WAV (S16LE mono 48000 Hz, see tone.ts) or 'echo' (sends back what it plays). */
  readonly source: string | 'echo';
  /** Default 'auto' (answers at once). */
  readonly answermode?: 'auto' | 'manual' | 'early';
  /** Extra config lines. */
  readonly config?: readonly string[];
  readonly startTimeoutMs?: number;
}

export interface BaresipEvent {
  readonly type: string;
  readonly param?: string;
  readonly id?: string;
  readonly peeruri?: string;
  readonly direction?: string;
  /** Date.now() when the event arrived. */
  readonly at: number;
  readonly raw: Record<string, unknown>;
}

const CODEC_NAMES: Record<BaresipCodec, string> = {
  opus: 'opus/48000/2',
  g722: 'G722/16000/1',
  pcmu: 'PCMU/8000/1',
  pcma: 'PCMA/8000/1',
};
const CODEC_MODULE: Record<BaresipCodec, string> = { opus: 'opus', g722: 'g722', pcmu: 'g711', pcma: 'g711' };

export function baresipAvailable(): boolean {
  return existsSync(BARESIP_BIN) && existsSync(join(BARESIP_MODULES, 'ctrl_tcp.so'));
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
  // a failing test must not leave a baresip (and its RTP ports) behind
  process.on('exit', () => {
    for (const c of live) killGroup(c, 'SIGKILL');
  });
}

function netstring(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj), 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]);
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  private seq = 0;
  private exited = false;
  private exitPromise: Promise<void>;
  private out = '';

  private constructor(
    readonly dir: string,
    readonly host: string,
    readonly sipPort: number,
    readonly aor: string,
    private readonly child: ChildProcess,
    private sock: Socket | undefined,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        live.delete(child);
        this.wake();
        resolve();
      });
    });
    const keep = (b: Buffer): void => {
      this.out += b.toString('utf8');
      if (this.out.length > 200000) this.out = this.out.slice(-100000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** What baresip printed (for failure messages). */
  output(): string {
    return this.out;
  }

  /** Where a serverless peer is reached. */
  get contact(): string {
    return `sip:${this.aor.replace(/^sip:/, '').split('@')[0]}@${this.host}:${this.sipPort}`;
  }

  static async start(options: BaresipOptions): Promise<Baresip> {
    if (!baresipAvailable())
      throw new Error(
        `baresip not installed (${BARESIP_BIN}); as root: apt-get update && apt-get install -y baresip-core`,
      );
    installExitHook();
    let lastErr: unknown;
    // the free-port check races with other processes: retry a few times on "address in use"
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        return await Baresip.startOnce(options);
      } catch (e) {
        lastErr = e;
        if (!/in use/i.test(String(e))) throw e;
      }
    }
    throw lastErr;
  }

  private static async startOnce(o: BaresipOptions): Promise<Baresip> {
    if (!/^[A-Za-z0-9_.-]+$/.test(o.user)) throw new Error(`unsupported user name ${o.user}`);
    const host = o.host ?? '127.0.0.1';
    const dir = mkdtempSync(join(tmpdir(), 'blink-baresip-'));
    const sipPort = await freeSipPort(2, host);
    const ctrlPort = await freeTcpPort(host);
    const codecs = o.codecs ?? ['opus', 'g722', 'pcmu', 'pcma'];
    const modules = [...new Set(codecs.map((c) => CODEC_MODULE[c]))];
    const echo = o.source === 'echo';
    const config = [
      'poll_method epoll',
      `sip_listen ${host}:${sipPort}`,
      `net_interface ${host}`,
      'call_max_calls 4',
      echo ? 'audio_source aubridge,ear' : `audio_source aufile,${o.source}`,
      echo ? 'audio_player aubridge,ear' : 'audio_player aubridge,sink',
      'audio_alert aubridge,alert',
      'ausrc_srate 48000',
      'auplay_srate 48000',
      'ausrc_channels 1',
      'auplay_channels 1',
      'audio_buffer 20-160',
      'rtp_ports 10000-60000',
      'rtcp_mux no',
      'jitter_buffer_delay 5-10',
      `module_path ${BARESIP_MODULES}`,
      ...modules.map((m) => `module ${m}.so`),
      'module aufile.so',
      'module aubridge.so',
      'module srtp.so',
      'module sndfile.so',
      'module_app account.so',
      'module_app menu.so',
      'module ctrl_tcp.so',
      `ctrl_tcp_listen ${host}:${ctrlPort}`,
      `snd_path ${dir}`,
      ...(o.config ?? []),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'config'), config);
    const params = [
      `answermode=${o.answermode ?? 'auto'}`,
      `audio_codecs=${codecs.map((c) => CODEC_NAMES[c]).join(',')}`,
    ];
    if (o.mediaenc && o.mediaenc !== 'none') params.push(`mediaenc=${o.mediaenc}`);
    let aor: string;
    if (o.registrar) {
      const r = o.registrar;
      aor = `sip:${o.user}@${r.domain}`;
      params.push(
        `auth_pass=${r.password}`,
        `outbound="sip:${r.host ?? '127.0.0.1'}:${r.udpPort};transport=udp"`,
        'regint=600',
      );
    } else {
      aor = `sip:${o.user}@${host}:${sipPort}`;
      params.push('regint=0');
    }
    writeFileSync(join(dir, 'accounts'), `<${aor}>;${params.join(';')}\n`);

    const [cmd, ...argv] = dieWithParent([BARESIP_BIN, '-f', dir]);
    const child = spawn(cmd!, argv, {
      cwd: dir,
      env: { ...process.env, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: stop() kills whatever it started too
    });
    live.add(child);
    const b = new Baresip(dir, host, sipPort, aor, child, undefined);
    const deadline = Date.now() + (o.startTimeoutMs ?? 10000);
    try {
      for (;;) {
        if (b.exited) throw new Error(`baresip exited during start-up:\n${b.out.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`baresip not ready:\n${b.out.slice(-3000)}`);
        const s = await new Promise<Socket | undefined>((resolve) => {
          const c = connect({ host, port: ctrlPort });
          c.once('connect', () => resolve(c));
          c.once('error', () => resolve(undefined));
        });
        if (s) {
          b.attach(s);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (o.registrar) {
        // REGISTER_OK may come before the socket connected: ask until reginfo says so
        for (;;) {
          const r = await b.command('reginfo');
          // the status is colored: strip the escapes before looking for OK
          if (/(^|[^A-Za-z])OK\b/m.test(r.data.replace(/\x1b\[[0-9;]*m/g, ''))) break;
          if (b.exited || Date.now() > deadline) throw new Error(`baresip did not register:\n${r.data}\n${b.out}`);
          await new Promise((r2) => setTimeout(r2, 100));
        }
      }
    } catch (e) {
      await b.stop();
      throw e;
    }
    return b;
  }

  private attach(sock: Socket): void {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const colon = this.buf.indexOf(0x3a);
        if (colon < 0 || colon > 10) break;
        const len = Number(this.buf.subarray(0, colon).toString('ascii'));
        if (!Number.isInteger(len) || this.buf.length < colon + 1 + len + 1) break;
        const body = this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8');
        this.buf = this.buf.subarray(colon + 2 + len);
        this.onMessage(body);
      }
    });
    sock.on('error', () => undefined);
  }

  private onMessage(body: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg['response'] === true) {
      const token = String(msg['token'] ?? '');
      const done = this.pending.get(token);
      this.pending.delete(token);
      done?.({ ok: msg['ok'] === true, data: String(msg['data'] ?? '') });
      return;
    }
    if (msg['event'] === true) {
      const str = (k: string): string | undefined => (typeof msg[k] === 'string' ? (msg[k] as string) : undefined);
      const ev: BaresipEvent = {
        type: str('type') ?? '',
        at: Date.now(),
        raw: msg,
        ...(str('param') !== undefined ? { param: str('param') } : {}),
        ...(str('id') !== undefined ? { id: str('id') } : {}),
        ...(str('peeruri') !== undefined ? { peeruri: str('peeruri') } : {}),
        ...(str('direction') !== undefined ? { direction: str('direction') } : {}),
      };
      this.events.push(ev);
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Sends one ctrl_tcp command (menu's commands: dial, hangup, accept, sndcode, reginfo, quit ...). */
  command(cmd: string, params?: string, timeoutMs = 5000): Promise<{ ok: boolean; data: string }> {
    if (!this.sock || this.exited) return Promise.reject(new Error('baresip is not running'));
    const token = `t${++this.seq}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip: no response to ${cmd}`));
      }, timeoutMs);
      this.pending.set(token, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.sock!.write(netstring({ command: cmd, ...(params !== undefined ? { params } : {}), token }));
    });
  }

  async dial(uri: string): Promise<void> {
    const r = await this.command('dial', uri);
    if (!r.ok) throw new Error(`baresip dial failed: ${r.data}`);
  }
  async hangup(): Promise<void> {
    await this.command('hangup');
  }
  async accept(): Promise<void> {
    await this.command('accept');
  }
  /** RFC 4733 telephone events (baresip's sndcode sends each character as one event). */
  async sendDtmf(digits: string): Promise<void> {
    if (!/^[0-9*#A-D]+$/.test(digits)) throw new Error(`not DTMF: ${digits}`);
    await this.command('sndcode', digits);
  }

  /** The first event from index `since` on that matches. */
  async waitFor(pred: (e: BaresipEvent) => boolean, timeoutMs = 10000, since = 0): Promise<BaresipEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(since).find(pred);
      if (hit) return hit;
      if (this.exited) throw new Error(`baresip exited while waiting:\n${this.out.slice(-3000)}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `baresip: timed out; events: ${this.events.map((e) => e.type + (e.param ? `(${e.param})` : '')).join(' ')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitEvent(type: string, timeoutMs = 10000, since = 0): Promise<BaresipEvent> {
    return this.waitFor((e) => e.type === type, timeoutMs, since);
  }

  /** DTMF digits received so far (CALL_DTMF_START events). */
  dtmfReceived(): string {
    return this.events
      .filter((e) => e.type === 'CALL_DTMF_START')
      .map((e) => e.param ?? '')
      .join('');
  }

  /** The newest sndfile recordings: dec = what it received, enc = what it sent. */
  recordings(): { dec?: string; enc?: string } {
    const files = readdirSync(this.dir)
      .filter((f) => /^dump-.*-(dec|enc)\.wav$/.test(f))
      .sort();
    const last = (kind: string): string | undefined => {
      const f = files.filter((x) => x.endsWith(`-${kind}.wav`)).pop();
      return f ? join(this.dir, f) : undefined;
    };
    const dec = last('dec');
    const enc = last('enc');
    return { ...(dec ? { dec } : {}), ...(enc ? { enc } : {}) };
  }

  /** User + system CPU seconds used so far. */
  cpuSeconds(): number {
    return cpuSeconds(this.pid, (p) => readFileSync(p, 'utf8'));
  }

  /** Quits (its own `quit`, which hangs up and unregisters), then kills the group if it lingers; removes the folder. */
  async stop(keepDir = false): Promise<void> {
    if (!this.exited) {
      try {
        this.sock?.write(netstring({ command: 'quit', token: 'quit' }));
      } catch {
        // socket gone
      }
      const t1 = setTimeout(() => killGroup(this.child, 'SIGTERM'), 2000);
      const t2 = setTimeout(() => killGroup(this.child, 'SIGKILL'), 4000);
      await this.exitPromise;
      clearTimeout(t1);
      clearTimeout(t2);
    }
    this.sock?.destroy();
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
