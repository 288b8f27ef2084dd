// Two real clients (headless) through a real Kamailio registrar + proxy with digest auth, all on an address of
// their own in 127/8.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { startKamailio, type KamailioInstance } from '../helpers/kamailio.js';
import { LoopbackCapture, ownAddressFilter, ownLoopbackAddress } from '../helpers/capture.js';

const USERS = { alice: 'alice-pw-1', bob: 'bob-pw-2', carol: 'carol-pw-3' };
// Kamailio and every client (SIP and MSRP) on an address of their own in 127/8, and only that address captured:
// another run's plaintext chat on 127.0.0.1 is not this file's wire, and could make the no-plaintext check fail.
const HOST = ownLoopbackAddress();
let kam: KamailioInstance;

before(async () => {
  kam = await startKamailio({ users: USERS, host: HOST });
});
after(async () => {
  await kam?.stop();
});

function clientArgs(
  user: keyof typeof USERS,
  transport: 'udp' | 'tcp' = 'tcp',
  password: string = USERS[user],
): string[] {
  const port = transport === 'udp' ? kam.udpPort : kam.tcpPort;
  return [
    '--user',
    user,
    '--password',
    password,
    '--registrar',
    `sip:${kam.domain}`,
    '--outbound-proxy',
    `sip:${kam.host}:${port};transport=${transport}`,
    '--transport',
    transport,
    '--host',
    kam.host,
    '--port',
    '0',
  ];
}

async function registered(
  user: keyof typeof USERS,
  transport: 'udp' | 'tcp' = 'tcp',
  extra: string[] = [],
  configDir?: string,
  env?: NodeJS.ProcessEnv,
) {
  const c = await HeadlessClient.start({
    args: [...clientArgs(user, transport), ...extra],
    ...(configDir ? { configDir } : {}),
    ...(env ? { env } : {}),
  });
  await c.waitFor((e) => e.ev === 'registered');
  return c;
}

async function chat(a: HeadlessClient, b: HeadlessClient, to: string) {
  const since = b.events.length;
  a.send({ cmd: 'chat', to });
  const inc = await b.waitFor((e) => e.ev === 'incoming', 10000, since);
  b.send({ cmd: 'accept', session: inc.session });
  const actB = await b.waitFor((e) => e.ev === 'session' && e.state === 'active' && e.session === inc.session);
  const actA = await a.waitFor(
    (e) =>
      e.ev === 'session' &&
      e.state === 'active' &&
      !a.events.some((x) => x.ev === 'session' && x.session === e.session && x.state === 'ended'),
  );
  return { sa: String(actA.session), sb: String(actB.session) };
}

const otrUp = (sid: string) => (e: Ev) => e.ev === 'otr' && e.session === sid && e.state === 'encrypted';

for (const transport of ['udp', 'tcp'] as const) {
  test(`register over ${transport}, chat through the proxy, unregister on exit`, { timeout: 60000 }, async () => {
    const a = await registered('alice', transport);
    const b = await registered('bob', transport);
    try {
      const { sa, sb } = await chat(a, b, `bob@${kam.domain}`);
      a.send({ cmd: 'send', session: sa, text: 'via kamailio' });
      await b.waitFor((e) => e.ev === 'message' && e.text === 'via kamailio' && e.direction === 'in');
      b.send({ cmd: 'send', session: sb, text: 'and back' });
      await a.waitFor((e) => e.ev === 'message' && e.text === 'and back' && e.direction === 'in');
      a.send({ cmd: 'hangup', session: sa });
      await b.waitFor((e) => e.ev === 'session' && e.state === 'ended');
    } finally {
      assert.equal(await b.quit(), 0);
    }
    // Bob unregistered when he quit: a new chat to him now fails (404/480) instead of ringing.
    try {
      a.send({ cmd: 'chat', to: `bob@${kam.domain}` });
      const end = await a.waitFor((e) => e.ev === 'session' && e.state === 'ended' && e.session === '2', 20000);
      assert.match(String(end.reason), /404|480|not found|unavailable/i);
    } finally {
      await a.quit();
    }
  });
}

test('a wrong password is a clear registration error, quickly, not a hang', { timeout: 20000 }, async () => {
  const t0 = Date.now();
  const c = await HeadlessClient.start({ args: clientArgs('alice', 'tcp', 'not-the-password') });
  try {
    const ev = await c.waitFor((e) => e.ev === 'registration' && e.state === 'failed', 10000);
    assert.match(String(ev.error), /authentication failed|401|403/i);
    assert.ok(Date.now() - t0 < 10000);
    assert.ok(!c.events.some((e) => e.ev === 'registered'));
  } finally {
    await c.quit();
  }
});

test(
  'OTR over the real network: starts by itself, no user text in the MSRP bytes, SMP, wrong secret',
  { timeout: 90000 },
  async () => {
    const cap = await LoopbackCapture.start(ownAddressFilter('tcp', HOST));
    let bytes: Buffer | null = null;
    const a = await registered('alice', 'udp');
    const b = await registered('bob', 'udp');
    try {
      const { sa, sb } = await chat(a, b, `bob@${kam.domain}`);
      await a.waitFor(otrUp(sa), 15000);
      await b.waitFor(otrUp(sb), 15000);
      const secretText = 'the-eagle-lands-at-midnight-0417';
      a.send({ cmd: 'send', session: sa, text: secretText });
      const got = await b.waitFor((e) => e.ev === 'message' && e.text === secretText);
      assert.equal(got.encryption, 'unverified');
      b.send({ cmd: 'send', session: sb, text: 'reply-in-the-clear-would-be-bad-9921' });
      await a.waitFor((e) => e.ev === 'message' && e.text === 'reply-in-the-clear-would-be-bad-9921');

      // Wrong secret: no green lock, nothing verified.
      a.send({ cmd: 'smp', session: sa, secret: 'apple' });
      await b.waitFor((e) => e.ev === 'smp' && e.result === 'asked');
      b.send({ cmd: 'smp_respond', session: sb, secret: 'pear' });
      await a.waitFor((e) => e.ev === 'smp' && (e.result === 'failure' || e.result === 'aborted'));
      await b.waitFor((e) => e.ev === 'smp' && (e.result === 'failure' || e.result === 'aborted'));
      assert.doesNotMatch(readFileSync(join(a.configDir, 'chat', 'trusted_peers'), 'utf8'), /\t(smp|verified)/);

      // Right secret: both locks green, `smp` in both trusted_peers.
      const since = a.events.length;
      a.send({ cmd: 'smp', session: sa, secret: 'correct horse' });
      await b.waitFor((e) => e.ev === 'smp' && e.result === 'asked', 10000, b.events.length - 1);
      b.send({ cmd: 'smp_respond', session: sb, secret: 'correct horse' });
      await a.waitFor((e) => e.ev === 'otr' && e.trust === 'verified', 10000, since);
      await b.waitFor((e) => e.ev === 'otr' && e.trust === 'verified');
      assert.match(
        readFileSync(join(a.configDir, 'chat', 'trusted_peers'), 'utf8'),
        new RegExp(`bob@${kam.domain}\\t[0-9A-F ]{44}\\tsmp`),
      );
      assert.match(
        readFileSync(join(b.configDir, 'chat', 'trusted_peers'), 'utf8'),
        new RegExp(`alice@${kam.domain}\\t[0-9A-F ]{44}\\tsmp`),
      );
      a.send({ cmd: 'send', session: sa, text: 'now verified' });
      const v = await b.waitFor((e) => e.ev === 'message' && e.text === 'now verified');
      assert.equal(v.encryption, 'verified');
      bytes = await cap.stop();
    } finally {
      if (!bytes) await cap.stop().catch(() => undefined);
      await Promise.all([a.quit(), b.quit()]);
    }
    // The capture saw the MSRP stream (OTR data messages) but never the user's text.
    assert.ok(bytes.includes('MSRP '), 'the capture holds MSRP traffic');
    assert.ok(bytes.includes('?OTR:'), 'OTR messages crossed the wire');
    for (const t of [
      'the-eagle-lands-at-midnight-0417',
      'reply-in-the-clear-would-be-bad-9921',
      'now verified',
      'correct horse',
      'apple',
    ]) {
      assert.ok(!bytes.includes(t), `"${t}" must not appear on the wire`);
    }
  },
);

test('key change: red lock, warning, notification hook; /otr trust makes it green', { timeout: 90000 }, async () => {
  const hookLog = join(mkdtempSync(join(tmpdir(), 'blink-tui-hook-')), 'notify.log');
  writeFileSync(hookLog, '');
  const env = { BLINK_TUI_NOTIFY_COMMAND: `sh -c 'printf "%s|%s\\n" "$1" "$2" >> ${hookLog}' hook` };
  const a = await registered('alice', 'tcp', [], undefined, env);
  let b = await registered('bob', 'tcp');
  const bobDir = b.configDir;
  try {
    let { sa, sb } = await chat(a, b, `bob@${kam.domain}`);
    const first = await a.waitFor(otrUp(sa), 15000);
    await b.waitFor(otrUp(sb), 15000);
    a.send({ cmd: 'trust', session: sa });
    await a.waitFor((e) => e.ev === 'otr' && e.session === sa && e.trust === 'verified');
    b.send({ cmd: 'hangup', session: sb });
    await a.waitFor((e) => e.ev === 'session' && e.session === sa && e.state === 'ended');

    // Bob makes a new key (genkey) and calls again.
    b.send({ cmd: 'genkey' });
    await b.waitFor((e) => e.ev === 'system' && /new OTR key/.test(String(e.text)), 15000);
    assert.ok(require_backup(bobDir));
    ({ sa: sb, sb: sa } = await chat(b, a, `alice@${kam.domain}`));
    const changed = await a.waitFor((e) => e.ev === 'otr' && e.session === sa && e.state === 'encrypted', 15000);
    assert.notEqual(changed.fingerprint, first.fingerprint);
    assert.equal(changed.trust, 'changed');
    await a.waitFor(
      (e) => e.ev === 'system' && e.level === 'warning' && /fingerprint has changed/.test(String(e.text)),
    );
    b.send({ cmd: 'send', session: sb, text: 'new key, same bob' });
    const m = await a.waitFor((e) => e.ev === 'message' && e.text === 'new key, same bob');
    assert.equal(m.encryption, 'changed');
    // The hook ran (the desktop notification and bell go through the same alert).
    const deadline = Date.now() + 5000;
    while (!readFileSync(hookLog, 'utf8').includes('OTR key changed') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(readFileSync(hookLog, 'utf8'), /OTR key changed\|.*bob@/);
    // Both fingerprints are on record for bob.
    const tp = readFileSync(join(a.configDir, 'chat', 'trusted_peers'), 'utf8');
    assert.equal(tp.split('\n').filter((l) => l.startsWith(`bob@${kam.domain}\t`)).length, 2);

    a.send({ cmd: 'trust', session: sa });
    const green = await a.waitFor((e) => e.ev === 'otr' && e.session === sa && e.trust === 'verified');
    assert.equal(green.fingerprint, changed.fingerprint);
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }
});

function require_backup(dir: string): boolean {
  const chatDir = join(dir, 'chat');
  return existsSync(chatDir) && readdirSync(chatDir).some((f: string) => /^private_key\.dsa\..*\.bak$/.test(f));
}

test(
  'a peer without OTR chats in plaintext; an always-OTR contact gets nothing in plaintext',
  { timeout: 90000 },
  async () => {
    const a = await registered('alice', 'tcp');
    const c = await registered('carol', 'tcp', ['--no-otr']);
    try {
      const { sa, sb: sc } = await chat(a, c, `carol@${kam.domain}`);
      // Carol's client has OTR off: Alice's query shows up there as text, no AKE follows, both stay plaintext.
      a.send({ cmd: 'send', session: sa, text: 'plain hello' });
      const got = await c.waitFor(
        (e) => e.ev === 'message' && e.direction === 'in' && String(e.text).includes('plain hello'),
      );
      assert.equal(got.encryption, 'none');
      c.send({ cmd: 'send', session: sc, text: 'plain answer' });
      const back = await a.waitFor((e) => e.ev === 'message' && e.text === 'plain answer');
      assert.equal(back.encryption, 'none');
      assert.ok(!a.events.some((e) => e.ev === 'otr' && e.state === 'encrypted'));

      // Alice now marks carol always-OTR: her next message is held, never sent in plaintext, and fails visibly.
      a.send({ cmd: 'policy', session: sa, value: 'always' });
      await a.waitFor((e) => e.ev === 'system' && /always used/.test(String(e.text)));
      a.send({ cmd: 'hangup', session: sa });
      await c.waitFor((e) => e.ev === 'session' && e.state === 'ended');
      const again = await chat(a, c, `carol@${kam.domain}`);
      const n = c.events.length;
      a.send({ cmd: 'send', session: again.sa, text: 'must never be plaintext' });
      await a.waitFor((e) => e.ev === 'system' && /held/.test(String(e.text)));
      a.send({ cmd: 'hangup', session: again.sa });
      const failed = await a.waitFor((e) => e.ev === 'delivery' && e.status === 'failed' && e.session === again.sa);
      assert.ok(failed);
      assert.ok(
        !c.events.slice(n).some((e) => e.ev === 'message' && String(e.text).includes('must never be plaintext')),
      );
    } finally {
      await Promise.all([a.quit(), c.quit()]);
    }
  },
);
