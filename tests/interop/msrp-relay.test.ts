// RFC 4976 against a real relay: Kamailio's msrp module, started here on 127.0.0.1 with a temporary config
// and pid file, and stopped at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticateRelay } from '../../src/msrp/relay.js';
import { MsrpSession, type MsrpIncomingMessage } from '../../src/msrp/session.js';
import { makeMsrpUri } from '../../src/msrp/uri.js';
import { newSessionId } from '../../src/msrp/ids.js';
import { MsrpAuthError } from '../../src/msrp/errors.js';
import { createMsrpSession } from '../../src/msrp/index.js';

const PASSWORD = 'xyz123';
let dir = '';
let port = 0;
let kamailio: ChildProcess | null = null;
let log = '';

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

function config(p: number): string {
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
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")
modparam("msrp", "cmap_size", 8)
modparam("msrp", "use_path_addr", "127.0.0.1:${p}")
request_route { sl_send_reply("403", "No SIP Here"); exit; }
reply_route { drop; }
event_route[msrp:frame-in] {
  msrp_reply_flags("1");
  if (msrp_is_reply()) {
    msrp_relay();
  } else if ($msrp(method)=="AUTH") {
    if ($msrp(nexthops)>0) { msrp_relay(); exit; }
    if (!pv_www_authenticate("myrealm", "${PASSWORD}", "0", "$msrp(method)")) {
      if (auth_get_www_authenticate("myrealm", "1", "$var(wauth)")) {
        msrp_reply("401", "Unauthorized", "$var(wauth)");
      } else {
        msrp_reply("500", "Server Error");
      }
      exit;
    }
    msrp_cmap_save();
  } else if ($msrp(method)=="SEND" || $msrp(method)=="REPORT") {
    if ($msrp(nexthops)>1) {
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

async function waitForPort(p: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(p, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`Kamailio did not open port ${p}:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'msrp-relay-'));
  port = await freePort();
  writeFileSync(join(dir, 'kamailio.cfg'), config(port));
  kamailio = spawn(
    'kamailio',
    ['-DD', '-E', '-f', join(dir, 'kamailio.cfg'), '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-w', dir, '-m', '64', '-M', '8'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  kamailio.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  kamailio.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  kamailio.on('error', (e) => (log += `spawn error: ${e.message}\n`));
  await waitForPort(port, 10_000);
});

after(async () => {
  if (kamailio && kamailio.exitCode === null) {
    const exited = new Promise((r) => kamailio!.once('exit', r));
    kamailio.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (kamailio.exitCode === null && kamailio.signalCode === null) kamailio.kill('SIGKILL');
  }
  // Kamailio forks workers; they follow the main process, but make sure nothing from the pid file survives.
  const pidFile = join(dir, 'kamailio.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const relayCfg = () => ({ uri: `msrp://127.0.0.1:${port};tcp`, username: 'alice', password: PASSWORD, timeoutMs: 5000 });

test('AUTH with digest yields a Use-Path; a wrong password is refused', async () => {
  const local = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const b = await authenticateRelay(local, relayCfg());
  assert.equal(b.usePath.length, 1);
  assert.match(b.usePath[0]!, new RegExp(`^msrp://127\\.0\\.0\\.1:${port}/\\S+;tcp$`));
  b.connection.close();
  await assert.rejects(authenticateRelay(local, { ...relayCfg(), password: 'wrong' }), MsrpAuthError);
});

test('two sessions talk through the relay: bind, both directions, chunked, success report', async () => {
  const ua = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const ub = makeMsrpUri('127.0.0.1', 9, newSessionId());
  const ra = await authenticateRelay(ua, relayCfg());
  const rb = await authenticateRelay(ub, relayCfg());
  const a = new MsrpSession({ localUri: ua, relayPath: ra.usePath, relayConnection: ra.connection, transactionTimeoutMs: 5000, reportTimeoutMs: 5000 });
  const b = new MsrpSession({ localUri: ub, relayPath: rb.usePath, relayConnection: rb.connection, transactionTimeoutMs: 5000 });
  try {
    assert.deepEqual(a.localPath, [...ra.usePath, `msrp://127.0.0.1:9/${ua.sessionId};tcp`]);
    const bMsgs: MsrpIncomingMessage[] = [];
    const aMsgs: MsrpIncomingMessage[] = [];
    b.on('message', (m) => bMsgs.push(m));
    a.on('message', (m) => aMsgs.push(m));
    await b.startPassive({ remotePath: a.localPath });
    await a.startActive(b.localPath);
    assert.equal(bMsgs.length, 0);
    const big = Buffer.alloc(20_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const r1 = await a.send('application/octet-stream', big, { successReport: true });
    await b.send('text/plain', Buffer.from('pong ✓'));
    const until = Date.now() + 5000;
    while ((bMsgs.length < 1 || aMsgs.length < 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(bMsgs[0]?.messageId, r1.messageId);
    assert.ok(Buffer.from(bMsgs[0]!.body).equals(big));
    assert.equal(Buffer.from(aMsgs[0]!.body).toString(), 'pong ✓');
  } finally {
    a.close();
    b.close();
  }
});

test('createMsrpSession with a relay: the high-level API end to end', async () => {
  const a = await createMsrpSession({ host: '127.0.0.1', relay: relayCfg() });
  const b = await createMsrpSession({ host: '127.0.0.1', relay: relayCfg() });
  try {
    assert.equal(a.localPath.length, 2);
    assert.match(a.sdp('actpass'), /a=path:msrp:\/\/127\.0\.0\.1:\d+\/\S+;tcp msrp:\/\/127\.0\.0\.1:\d+\/\S+;tcp\r\n/);
    const got = new Promise<MsrpIncomingMessage>((res) => b.on('message', res));
    await b.startPassive({ remotePath: a.localPath });
    await a.startActive(b.localPath);
    await a.send('text/plain', Buffer.from('via the high-level API'));
    assert.equal(Buffer.from((await got).body).toString(), 'via the high-level API');
  } finally {
    a.close();
    b.close();
  }
});
