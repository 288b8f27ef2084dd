// The command-line tools and start-up error paths, on the real binary: import of an identity, genkey's
// confirmation and backup, history search, an unreadable key file, an unparseable trusted_peers line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, HeadlessClient } from '../helpers/client.js';
import { History } from '../../src/chat-storage/history.js';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'blink-tui-cli-'));
}

test('import a PKCS#8 PEM DSA key (Blink otr.key), then genkey asks, backs up, replaces', { timeout: 60000 }, () => {
  const dir = tmp();
  try {
    const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    const pem = join(dir, 'otr.key');
    writeFileSync(pem, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const cfg = join(dir, 'cfg');
    const imp = run(['import', pem, '--config-dir', cfg]);
    assert.equal(imp.code, 0, imp.err);
    const fp = /([0-9A-F]{8}(?: ?[0-9A-F]{8}){4})/.exec(imp.out)?.[1];
    assert.ok(fp, `the import names the fingerprint: ${imp.out}`);
    const keyFile = join(cfg, 'chat', 'private_key.dsa');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const before = readFileSync(keyFile);

    const refuse = run(['genkey', '--config-dir', cfg]);
    assert.equal(refuse.code, 1);
    assert.match(refuse.err, /--yes/);
    assert.deepEqual(readFileSync(keyFile), before, 'nothing replaced without confirmation');

    const gen = run(['genkey', '--yes', '--config-dir', cfg]);
    assert.equal(gen.code, 0, gen.err);
    assert.notDeepEqual(readFileSync(keyFile), before);
    const backups = readdirSync(join(cfg, 'chat')).filter((f) => /^private_key\.dsa\..*\.bak$/.test(f));
    assert.equal(backups.length, 1);
    assert.deepEqual(readFileSync(join(cfg, 'chat', backups[0]!)), before, 'the old key is kept byte for byte');
    assert.match(gen.out, new RegExp(backups[0]!.replace(/\./g, '\\.')));

    const bad = run(['import', join(dir, 'nope.key'), '--config-dir', cfg]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('history: list peers, show one, --grep across days', { timeout: 30000 }, () => {
  const dir = tmp();
  try {
    const h = new History(join(dir, 'chat', 'history'), { enabled: true, syncIntervalMs: 0 });
    const base = {
      peer: 'bob@example.org',
      sender: 'bob@example.org',
      delivery: 'received' as const,
      fingerprint: null,
      session: '1',
    };
    h.append({
      ...base,
      time: '2026-11-20T10:00:00.000Z',
      direction: 'in',
      text: 'the blue door',
      encryption: 'none',
      id: 'a',
    });
    h.append({
      ...base,
      time: '2026-11-21T10:00:00.000Z',
      direction: 'out',
      sender: 'me',
      delivery: 'delivered',
      text: 'Blue? no, red',
      encryption: 'verified',
      fingerprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
      id: 'b',
    });
    const peers = run(['history', '--config-dir', dir]);
    assert.equal(peers.code, 0, peers.err);
    assert.match(peers.out, /bob@example\.org/);
    const grep = run(['history', 'bob@example.org', '--grep', 'BLUE', '--config-dir', dir]);
    assert.equal(grep.code, 0, grep.err);
    const lines = grep.out.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /2026-11-20 10:00:00 .*bob@example\.org: the blue door/);
    assert.match(lines[1]!, /\[V\] me: Blue\? no, red/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreadable key file stops start-up with its name and is left untouched', { timeout: 30000 }, async () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'chat'), { recursive: true });
    const keyFile = join(dir, 'chat', 'private_key.dsa');
    writeFileSync(keyFile, Buffer.from('this is not a key'), { mode: 0o600 });
    await assert.rejects(HeadlessClient.start({ args: ['--user', 'x', '--port', '0'], configDir: dir }), (e: Error) => {
      assert.match(e.message, /private_key\.dsa/);
      return true;
    });
    assert.equal(readFileSync(keyFile, 'utf8'), 'this is not a key');
    assert.deepEqual(
      readdirSync(join(dir, 'chat')).filter((f) => f.startsWith('private_key')),
      ['private_key.dsa'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a trusted_peers line that cannot be parsed is reported with its line number and kept',
  { timeout: 30000 },
  async () => {
    const dir = tmp();
    try {
      mkdirSync(join(dir, 'chat'), { recursive: true });
      const tp = join(dir, 'chat', 'trusted_peers');
      const text =
        '# my peers\nbob@example.org\tABCDEF01 23456789 ABCDEF01 23456789 ABCDEF01\tverified\nthis line is garbage\n';
      writeFileSync(tp, text);
      const c = await HeadlessClient.start({ args: ['--user', 'x', '--port', '0'], configDir: dir });
      try {
        const ev = await c.waitFor((e) => e.ev === 'system' && /trusted_peers:3/.test(String(e.text)));
        assert.equal(ev.level, 'warning');
      } finally {
        await c.quit();
      }
      assert.ok(existsSync(tp));
      assert.ok(readFileSync(tp, 'utf8').startsWith(text), 'the file, malformed line included, is kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a registrar that never answers holds up neither start nor quit: ready at once, "registering" shown, REGISTER sent',
  { timeout: 30000 },
  async () => {
    const { RawUdpPeer } = await import('../helpers/sip-raw.js');
    const silent = await RawUdpPeer.open(); // records what arrives, answers nothing
    // Before, start-up waited for the registration's outcome: 32 s (timer F) with a registrar like this one, well
    // past this wait for the ready event.
    const c = await HeadlessClient.start({
      args: ['--user', 'alice', '--password', 'x', '--port', '0', '--registrar', `sip:127.0.0.1:${silent.port}`],
      readyTimeout: 10000,
    });
    try {
      await c.waitFor((e) => e.ev === 'registration' && e.state === 'registering', 5000);
      await silent.waitFor((all) => all.some((d) => d.text.startsWith('REGISTER ')), 5000);
      assert.ok(
        !c.events.some((e) => e.ev === 'registered' || (e.ev === 'registration' && e.state === 'failed')),
        'no outcome yet',
      );
      // Quitting does not wait for the answer that never comes (it did, for timer F's 32 s): the process exits by
      // itself (code 0) within the 10 s quit() allows before it kills it (code null).
      assert.equal(await c.quit(10000), 0);
    } finally {
      await c.quit();
      await silent.close();
    }
  },
);
