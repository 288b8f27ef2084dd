// Free ports on 127.0.0.1 (or a test's own loopback address) for peers that bind several sockets at once. The
// check-then-bind race is real (another process may take the port in between), so callers retry their start on
// "address in use".
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

/** Any free TCP port (kernel-chosen). */
export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A port P such that UDP P and TCP P..P+span-1 are free: baresip binds SIP on UDP and TCP P and TLS on P+1;
 * linphonec binds UDP P. Picked at random from 20000-59999 so parallel test files rarely collide.
 */
export async function freeSipPort(span = 2, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = 20000 + Math.floor(Math.random() * 40000);
    if (!(await udpFree(p, host))) continue;
    let ok = true;
    for (let i = 0; i < span && ok; i++) ok = await tcpFree(p + i, host);
    if (ok) return p;
  }
  throw new Error(`no free SIP port on ${host}`);
}

/** CPU time (user + system) of a process so far, in seconds, from /proc/PID/stat (Linux). */
export function cpuSeconds(pid: number, readStat: (p: string) => string): number {
  const stat = readStat(`/proc/${pid}/stat`);
  // the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / 100; // USER_HZ is 100 on Linux
}

/**
 * The command line that runs `argv` so that it dies with this process even when this one is killed outright
 * (SIGKILL, where no exit hook runs): util-linux's setpriv sets the parent-death signal and execs, so the pid
 * stays the program's own. Without setpriv, the command as it is.
 */
export function dieWithParent(argv: readonly string[]): string[] {
  return existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', ...argv] : [...argv];
}
const SETPRIV = '/usr/bin/setpriv';
