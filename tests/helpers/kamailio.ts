// Starts Debian's Kamailio 5.6 as a throw-away registrar + proxy for tests: one loopback address only (127.0.0.1,
// or a test's own 127.x.y.z so that its capture can be limited to that address), free ports,
// config generated from kamailio/kamailio.cfg.tpl into a temp folder, foreground process (-DD -E) killed
// by pid on stop() and at process exit. Readiness is an OPTIONS probe that must be answered on UDP and a
// TCP connect, not a fixed sleep.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAMAILIO_BIN = '/usr/sbin/kamailio';
const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const TEMPLATE = join(fileURLToPath(new URL('.', import.meta.url)), 'kamailio', 'kamailio.cfg.tpl');

/** A registrar account for a test peer (baresip, linphonec): Kamailio from startKamailio, 127.0.0.1 unless `host`. */
export interface RegistrarAccount {
  readonly domain: string;
  readonly udpPort: number;
  readonly password: string;
  readonly host?: string;
}

export interface KamailioOptions {
  /** SIP domain served (also the digest realm). Default 'blink.test'. */
  readonly domain?: string;
  /** user -> password */
  readonly users: Readonly<Record<string, string>>;
  /** Kamailio debug level (default 1); its stderr is kept in `output()`. */
  readonly debug?: number;
  /** Give up waiting for readiness after this many ms. Default 10000. */
  readonly startTimeoutMs?: number;
  /** The loopback address (127/8) it listens on. Default 127.0.0.1. */
  readonly host?: string;
}

export interface KamailioInstance {
  readonly domain: string;
  /** The address it listens on (UDP and TCP). */
  readonly host: string;
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Of the current process (a new one after up()). */
  readonly pid: number;
  /** Milliseconds from spawn to readiness. */
  readonly startupMs: number;
  /** Everything Kamailio wrote to stdout/stderr so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
  /** Stops the process (SIGTERM, as an administrator's restart does) but keeps its ports and config. */
  down(): Promise<void>;
  /** Starts it again on the same ports (a fresh process: its registrations are gone) and waits until ready. */
  up(): Promise<void>;
}

export function kamailioAvailable(): boolean {
  return existsSync(KAMAILIO_BIN) && existsSync(MODULES);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAll(signal: NodeJS.Signals): void {
  for (const child of live) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // last line of defence: a failing or interrupted test must not leave a Kamailio behind
  process.on('exit', () => killAll('SIGTERM'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll('SIGTERM');
      process.kill(process.pid, sig);
    });
  }
}

async function freePortPair(host: string): Promise<{ udp: number; tcp: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, host, () => {
        const addr = srv.address();
        const port = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(port));
      });
    });
    const udp = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, host, () => {
        const port = s.address().port;
        s.close(() => resolve(port));
      });
    });
    if (udp !== tcp && udp > 0 && tcp > 0) return { udp, tcp };
  }
  throw new Error('no free port pair for Kamailio');
}

function quoteCfg(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s))
    throw new Error(`unsupported character in Kamailio config value: ${JSON.stringify(s)}`);
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

function optionsProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const branch = 'z9hG4bKprobe' + Math.random().toString(36).slice(2);
    const timer = setTimeout(() => {
      sock.close();
      resolve(false);
    }, timeoutMs);
    sock.on('message', (msg) => {
      if (msg.toString('utf8').startsWith('SIP/2.0 200')) {
        clearTimeout(timer);
        sock.close();
        resolve(true);
      }
    });
    sock.bind(0, host, () => {
      const local = sock.address().port;
      const req =
        `OPTIONS sip:${host}:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${host}:${local};branch=${branch};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:probe@${host}>;tag=${branch}\r\nTo: <sip:${host}:${port}>\r\n` +
        `Call-ID: ${branch}@${host}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      sock.send(req, port, host);
    });
  });
}

function tcpProbe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startKamailio(options: KamailioOptions): Promise<KamailioInstance> {
  if (!kamailioAvailable()) throw new Error(`Kamailio not installed (${KAMAILIO_BIN})`);
  installExitHook();
  const domain = options.domain ?? 'blink.test';
  const host = options.host ?? '127.0.0.1';
  // it goes into the config file and the probes as is: an IPv4 loopback literal only
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new Error(`Kamailio host must be in 127/8: ${host}`);
  const dir = mkdtempSync(join(tmpdir(), 'blink-kamailio-'));
  const { udp, tcp } = await freePortPair(host);
  const users = Object.entries(options.users)
    .map(([user, password]) => `\t$sht(users=>${user}) = ${quoteCfg(password)};`)
    .join('\n');
  for (const user of Object.keys(options.users)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(user)) throw new Error(`unsupported test user name: ${user}`);
  }
  const cfg = readFileSync(TEMPLATE, 'utf8')
    .replaceAll('@@DEBUG@@', String(options.debug ?? 1))
    .replaceAll('@@UDP_PORT@@', String(udp))
    .replaceAll('@@TCP_PORT@@', String(tcp))
    .replaceAll('@@HOST@@', host)
    .replaceAll('@@DOMAIN@@', domain)
    .replaceAll('@@MPATH@@', MODULES)
    .replaceAll('@@USERS@@', users);
  const cfgPath = join(dir, 'kamailio.cfg');
  writeFileSync(cfgPath, cfg);

  let child!: ChildProcess;
  let out = '';
  let exited = true;
  let exitPromise: Promise<void> = Promise.resolve();
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > 200000) out = out.slice(-100000);
  };
  const kill = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitPromise;
      clearTimeout(killer);
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  // Spawns Kamailio on the ports chosen above and waits until it answers (again, after down()).
  const up = async (): Promise<number> => {
    const t0 = Date.now();
    child = spawn(
      KAMAILIO_BIN,
      ['-f', cfgPath, '-DD', '-E', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-w', dir, '-m', '32', '-M', '8'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const me = child;
    live.add(me);
    me.stdout?.on('data', keep);
    me.stderr?.on('data', keep);
    exited = false;
    exitPromise = new Promise<void>((resolve) => {
      me.once('exit', () => {
        exited = true;
        live.delete(me);
        resolve();
      });
    });
    const deadline = t0 + (options.startTimeoutMs ?? 10000);
    for (;;) {
      if (exited) {
        await stop();
        throw new Error(`Kamailio exited during start-up:\n${out.slice(-4000)}`);
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Kamailio not ready after ${options.startTimeoutMs ?? 10000} ms:\n${out.slice(-4000)}`);
      }
      if ((await optionsProbe(host, udp, 200)) && (await tcpProbe(host, tcp))) break;
    }
    return Date.now() - t0;
  };
  const startupMs = await up();
  if (child.pid === undefined) throw new Error('Kamailio has no pid');
  return {
    domain,
    host,
    udpPort: udp,
    tcpPort: tcp,
    get pid() {
      return child.pid ?? 0;
    },
    startupMs,
    output: () => out,
    stop,
    down: kill,
    up: async () => {
      await kill();
      await up();
    },
  };
}
