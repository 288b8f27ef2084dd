import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChatStorage, setSetting } from '../../src/chat-storage/index.js';
import { Contacts } from '../../src/chat-storage/contacts.js';
import { ConfigLockedError, SettingsError } from '../../src/chat-storage/errors.js';
import { ConfigLock } from '../../src/chat-storage/lock.js';
import { chatPaths, resolveConfigDir } from '../../src/chat-storage/paths.js';
import {
  defaultSettings,
  loadSettings,
  parseSettings,
  renderDefaultSettings,
} from '../../src/chat-storage/settings.js';

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-cs-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('config folder resolution', () => {
  assert.equal(resolveConfigDir('/x/y', {}), '/x/y');
  assert.equal(resolveConfigDir(null, { XDG_CONFIG_HOME: '/xdg', HOME: '/h' }), '/xdg/blink-tui');
  assert.equal(resolveConfigDir(undefined, { HOME: '/h' }), '/h/.config/blink-tui');
  assert.equal(resolveConfigDir(undefined, { XDG_CONFIG_HOME: 'relative', HOME: '/h' }), '/h/.config/blink-tui');
  assert.equal(chatPaths('/c').privateKey, '/c/chat/private_key.dsa');
});

test(
  'contacts: round trip, hand-written parts kept, problems reported',
  withDir((dir) => {
    const file = join(dir, 'contacts');
    const original =
      '# my people\n[bob@example.org]\nname = Bob Builder\n; he likes OTR\notr = on\ncolour = blue\n\n[carol@example.org]\notr = sometimes';
    writeFileSync(file, original);
    const problems: string[] = [];
    const c = new Contacts(file, { onProblem: (p) => problems.push(`${p.line}: ${p.message}`) });
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^6: unknown key "colour"/);
    assert.match(problems[1]!, /^9: otr must be on, off or default/);
    assert.deepEqual(c.get('sip:bob@EXAMPLE.org'), {
      uid: 'bob@example.org',
      displayName: 'Bob Builder',
      otr: 'on',
      logging: 'default',
      notes: '',
    });
    assert.equal(c.get('carol@example.org')!.otr, 'default');
    assert.equal(c.get('nobody@example.org'), null);
    assert.equal(c.effective('nobody@example.org').otr, 'default');

    c.set('bob@example.org', { logging: 'off', notes: 'line one\nline two \\ backslash' });
    c.set('zoë@exämple.org', { displayName: 'Zoë', otr: 'off' });
    const text = readFileSync(file, 'utf8');
    assert.equal(
      text,
      '# my people\n[bob@example.org]\nname = Bob Builder\n; he likes OTR\notr = on\ncolour = blue\nlogging = off\nnotes = line one\\nline two \\\\ backslash\n\n[carol@example.org]\notr = sometimes\n\n[zoë@exämple.org]\nname = Zoë\notr = off\n',
    );
    assert.equal(statSync(file).mode & 0o777, 0o644, 'the mode of a hand-made file is kept');
    const c2 = new Contacts(file);
    assert.deepEqual(c2.get('bob@example.org'), {
      uid: 'bob@example.org',
      displayName: 'Bob Builder',
      otr: 'on',
      logging: 'off',
      notes: 'line one\nline two \\ backslash',
    });
    assert.deepEqual(
      c2.list().map((x) => x.uid),
      ['bob@example.org', 'carol@example.org', 'zoë@exämple.org'],
    );
    assert.equal(c2.remove('carol@example.org'), true);
    assert.equal(c2.get('carol@example.org'), null);
    assert.equal(problems.length, 2, 'no repeats');
    // Hand edit picked up.
    writeFileSync(file, readFileSync(file, 'utf8').replace('otr = on', 'otr = off'));
    assert.equal(c2.get('bob@example.org')!.otr, 'off');
  }),
);

test(
  'contacts: a new file gets an explanatory header',
  withDir((dir) => {
    const file = join(dir, 'chat', 'contacts');
    const c = new Contacts(file);
    c.set('bob@example.org', { otr: 'on' });
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('# blink-tui contacts'));
    assert.ok(text.endsWith('[bob@example.org]\notr = on\n'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
  }),
);

test(
  'settings: defaults written on first run, round trip, in-place edits',
  withDir((dir) => {
    const file = join(dir, 'chat', 'settings.ini');
    const first = loadSettings(file);
    assert.equal(first.created, true);
    assert.deepEqual(first.settings, defaultSettings());
    assert.equal(first.settings.otr.enabled, true);
    assert.equal(first.settings.logging.enabled, true);
    assert.equal(first.settings.otr.fragmentSize, 0);
    assert.equal(readFileSync(file, 'utf8'), renderDefaultSettings());
    // Hand edit with a comment of the user's own.
    writeFileSync(file, readFileSync(file, 'utf8').replace('[otr]\n', '[otr]\n# mine\n') + '\n[ui]\ntheme = dark\n');
    const updated = setSetting(file, 'otr', 'require_encryption', true);
    assert.equal(updated.otr.requireEncryption, true);
    const after = loadSettings(file);
    assert.equal(after.settings.otr.requireEncryption, true);
    assert.ok(readFileSync(file, 'utf8').includes('[otr]\n# mine\n'));
    assert.equal(after.warnings.length, 1);
    assert.match(after.warnings[0]!, /settings\.ini:\d+: \[ui\] theme: unknown section/);
    setSetting(file, 'otr', 'fragment_size', 140);
    assert.equal(loadSettings(file).settings.otr.fragmentSize, 140);
    assert.throws(() => setSetting(file, 'otr', 'fragment_size', 5), SettingsError);
    assert.equal(loadSettings(file).settings.otr.fragmentSize, 140, 'a rejected value is not written');
    assert.throws(() => setSetting(file, 'otr', 'nope', true), /no such setting/);
  }),
);

test('settings: bad values are errors naming file, line and key; all of them at once', () => {
  const text =
    '[otr]\nenabled = maybe\nallow_v2 = yes\nfragment_size = -3\n[logging]\nenabled = off\n[notifications]\nbell = 2\n';
  try {
    parseSettings(text, '/cfg/chat/settings.ini');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof SettingsError);
    assert.equal(e.issues.length, 3);
    assert.match(e.message, /\/cfg\/chat\/settings\.ini:2: \[otr\] enabled: "maybe" is not true or false/);
    assert.match(e.message, /settings\.ini:4: \[otr\] fragment_size: "-3" must be 0 or a whole number/);
    assert.match(e.message, /settings\.ini:8: \[notifications\] bell:/);
  }
  const ok = parseSettings('[logging]\nenabled = off\n[otr]\nallow_v2 = no\n', 'f');
  assert.equal(ok.settings.logging.enabled, false);
  assert.equal(ok.settings.otr.allowV2, false);
  assert.throws(() => parseSettings('[otr]\nallow_v2=false\nallow_v3=false\n', 'f'), /both versions are disallowed/);
  // A file with CRLF endings and a BOM reads the same.
  assert.equal(parseSettings('\ufeff[otr]\r\nenabled = false\r\n', 'f').settings.otr.enabled, false);
});

test(
  'lock: a second process is refused with a clear message; a stale lock is taken over',
  withDir((dir) => {
    const lockFile = join(dir, 'blink-tui.lock');
    const lock = ConfigLock.acquire(lockFile);
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
    // A real second process tries to open the same folder.
    const storageModule = new URL('../../src/chat-storage/index.ts', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { openChatStorage } from ${JSON.stringify(storageModule)}; try { openChatStorage(${JSON.stringify(dir)}); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); }`,
      ],
      { encoding: 'utf8', timeout: 20000 },
    );
    assert.match(
      r.stdout,
      /ConfigLockedError: the config folder is in use by another blink-tui \(pid \d+, lock file .*blink-tui\.lock\)/,
    );
    lock.release();
    assert.equal(existsSync(lockFile), false);
    // A lock left by a process that no longer exists.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(lockFile, dead.stdout.trim() + '\n');
    const s = openChatStorage(dir);
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
    s.close();
    assert.equal(existsSync(lockFile), false);
    // Read-only use needs no lock.
    const l2 = ConfigLock.acquire(lockFile);
    const ro = openChatStorage(dir, { lock: false });
    assert.equal(ro.lock, null);
    ro.close();
    l2.release();
  }),
);

test(
  'lock: a stale pid now used by an unrelated program does not block',
  withDir(async (dir) => {
    const lockFile = join(dir, 'blink-tui.lock');
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(lockFile, `${sleeper.pid}\n`);
      const l = ConfigLock.acquire(lockFile);
      assert.equal(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
      l.release();
    } finally {
      sleeper.kill();
    }
  }),
);

test(
  'contacts: bytes that are not UTF-8 (a Latin-1 editor) survive an edit of another line',
  withDir((dir) => {
    const file = join(dir, 'contacts');
    const latin1Name = Buffer.concat([Buffer.from('name = J'), Buffer.from([0xf6]), Buffer.from('rg\r\n')]);
    const original = Buffer.concat([
      Buffer.from('\ufeff[jorg@example.org]\r\n'),
      latin1Name,
      Buffer.from('otr = off\r\n'),
    ]);
    writeFileSync(file, original);
    const c = new Contacts(file);
    c.set('jorg@example.org', { otr: 'on' });
    const expected = Buffer.concat([
      Buffer.from('\ufeff[jorg@example.org]\r\n'),
      latin1Name,
      Buffer.from('otr = on\r\n'),
    ]);
    assert.deepEqual(readFileSync(file), expected);
  }),
);
