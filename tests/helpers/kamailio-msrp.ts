// Kamailio's msrp module as an RFC 4976 relay for tests: 127.0.0.1 only, a free port, digest AUTH with one
// password, a temporary config folder; a foreground process stopped by its pid.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MsrpRelayInstance {
  readonly port: number;
  /** msrp://127.0.0.1:PORT;tcp */
  readonly uri: string;
  output(): string;
  stop(): Promise<void>;
}

function moduleDir(): string {
  for (const base of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    const d = join(base, 'kamailio', 'modules');
    if (existsSync(join(d, 'msrp.so'))) return d;
  }
  for (const e of readdirSync('/usr/lib')) {
    const d = join('/usr/lib', e, 'kamailio', 'modules');
    if (existsSync(join(d, 'msrp.so'))) return d;
  }
  throw new Error('Kamailio msrp module not found (install the Debian package kamailio)');
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

function config(p: number, password: string, authExpires: number): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
tcp_accept_no_cl=yes
disable_sctp=yes
listen=tcp:127.0.0.1:${p}
mpath="${moduleDir()}/"
loadmodule "sl.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "msrp.so"
loadmodule "pv.so"
loadmodule "auth.so"
loadmodule "cfgutils.so"
loadmodule "xlog.so"
loadmodule "htable.so"
modparam("htable", "htable", "clients=>size=8;")
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")
modparam("msrp", "cmap_size", 8)
modparam("msrp", "use_path_addr", "127.0.0.1:${p}")
modparam("msrp", "auth_min_expires", 1)
modparam("msrp", "auth_max_expires", ${authExpires})
modparam("msrp", "timer_interval", 1)
request_route { sl_send_reply("403", "No SIP Here"); exit; }
reply_route { drop; }
event_route[msrp:frame-in] {
  msrp_reply_flags("1");
  if (msrp_is_reply()) {
    msrp_relay();
  } else if ($msrp(method)=="AUTH") {
    if ($msrp(nexthops)>0) { msrp_relay(); exit; }
    if (!pv_www_authenticate("myrealm", "${password}", "0", "$msrp(method)")) {
      if (auth_get_www_authenticate("myrealm", "1", "$var(wauth)")) {
        msrp_reply("401", "Unauthorized", "$var(wauth)");
      } else {
        msrp_reply("500", "Server Error");
      }
      exit;
    }
    msrp_cmap_save();
    $sht(clients=>$msrp(conid)) = 1;
  } else if ($msrp(method)=="SEND" || $msrp(method)=="REPORT") {
    # From one of our authorized clients: outward, to the next hop (the peer, or the peer's relay), even when that
    # is the last one (a peer without a relay: To-Path is this relay, then the peer).
    if ($msrp(nexthops)>1 || $sht(clients=>$msrp(conid)) != $null) {
      if ($msrp(method)!="REPORT") { msrp_reply("200", "OK"); }
      msrp_relay();
      exit;
    }
    if (msrp_cmap_lookup()) {
      if ($msrp(method)!="REPORT") { msrp_reply("200", "OK"); }
      msrp_relay_flags("1");
      msrp_relay();
    } else {
      msrp_reply("481", "Session-does-not-exist");
    }
  } else {
    msrp_reply("501", "Request-method-not-understood");
  }
}
`;
}

export async function startMsrpRelay(opts: { password: string; authExpires: number }): Promise<MsrpRelayInstance> {
  if (!/^[A-Za-z0-9._-]+$/.test(opts.password)) throw new Error('unsupported relay test password');
  const dir = mkdtempSync(join(tmpdir(), 'msrp-relay-'));
  const port = await freePort();
  writeFileSync(join(dir, 'kamailio.cfg'), config(port, opts.password, opts.authExpires));
  let log = '';
  const child: ChildProcess = spawn(
    '/usr/sbin/kamailio',
    [
      '-DD',
      '-E',
      '-f',
      join(dir, 'kamailio.cfg'),
      '-P',
      join(dir, 'kamailio.pid'),
      '-Y',
      dir,
      '-w',
      dir,
      '-m',
      '64',
      '-M',
      '8',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (const until = Date.now() + 10000; ;) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) break;
    if (Date.now() > until || child.exitCode !== null) {
      await stop();
      throw new Error(`Kamailio (msrp relay) did not open port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, uri: `msrp://127.0.0.1:${port};tcp`, output: () => log, stop };
}
