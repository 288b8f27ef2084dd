import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChatStorage } from '../../src/chat-storage/index.js';
import { Contacts } from '../../src/chat-storage/contacts.js';
import { History, peerFolder, peerFromFolder, type MessageRecord } from '../../src/chat-storage/history.js';

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-hist-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const FP = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';
let n = 0;
function msg(peer: string, text: string, over: Partial<MessageRecord> = {}): Omit<MessageRecord, 'kind'> {
  n++;
  return {
    time: over.time ?? new Date(Date.UTC(2026, 10, 24, 10, 0, n)).toISOString(),
    peer,
    direction: 'in',
    sender: peer,
    text,
    delivery: 'received',
    encryption: 'unverified',
    fingerprint: FP,
    session: 's1',
    id: `m${n}`,
    ...over,
  };
}

function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).size;
  }
  return total;
}

test(
  'history round trip: records, delivery updates folded in, one file per peer per day',
  withDir((dir) => {
    const h = new History(join(dir, 'history'), { enabled: true });
    const a = msg('bob@example.org', 'Hello Bob', {
      direction: 'out',
      sender: 'alice@example.org',
      delivery: 'pending',
      time: '2026-11-24T23:59:59.000Z',
    });
    const b = msg('bob@example.org', 'good morning', { time: '2026-11-25T00:00:01.000Z', encryption: 'changed' });
    const c = msg('zoë@exämple.org', 'ünïcode ✓ text\nwith a newline', { encryption: 'none', fingerprint: null });
    for (const m of [a, b, c]) assert.equal(h.append(m), true);
    // An explicit time: the record goes into that day's file (with the default, now, the test would depend on the date).
    assert.equal(h.updateDelivery('bob@example.org', a.id, 'delivered', new Date('2026-11-24T23:59:59.500Z')), true);
    const files = readdirSync(join(dir, 'history', peerFolder('bob@example.org'))).sort();
    assert.deepEqual(files, ['2026-11-24.jsonl', '2026-11-25.jsonl']);
    const bob = h.load('sip:bob@example.org');
    assert.deepEqual(bob.warnings, []);
    assert.deepEqual(bob.messages, [
      { kind: 'message', ...a, delivery: 'delivered' },
      { kind: 'message', ...b },
    ]);
    assert.deepEqual(h.load('zoë@exämple.org').messages, [{ kind: 'message', ...c }]);
    assert.deepEqual(h.peers().sort(), ['bob@example.org', 'zoë@exämple.org'].sort());
    // Appends only: the first file still starts with the first record.
    const first = readFileSync(join(dir, 'history', peerFolder('bob@example.org'), '2026-11-24.jsonl'), 'utf8').split(
      '\n',
    );
    assert.equal(JSON.parse(first[0]!).id, a.id);
    assert.equal(JSON.parse(first[1]!).kind, 'delivery');
    assert.equal(statSync(join(dir, 'history', peerFolder('bob@example.org'), '2026-11-24.jsonl')).mode & 0o777, 0o600);
  }),
);

test(
  'search: case-insensitive substring, per peer or all',
  withDir((dir) => {
    const h = new History(join(dir, 'h'), { enabled: true });
    h.append(msg('bob@example.org', 'Meet at the STATION'));
    h.append(msg('carol@example.org', 'the station is closed'));
    h.append(msg('carol@example.org', 'nothing here'));
    h.append(msg('dave@example.org', 'ÄPFEL und Birnen'));
    assert.deepEqual(
      h.search('station').messages.map((m) => m.peer),
      ['bob@example.org', 'carol@example.org'],
    );
    assert.deepEqual(
      h.search('Station', { peer: 'carol@example.org' }).messages.map((m) => m.text),
      ['the station is closed'],
    );
    assert.equal(h.search('äpfel').messages.length, 1);
    assert.equal(h.search('absent').messages.length, 0);
  }),
);

test(
  'a torn last record is skipped with a warning and the rest is read; the next append starts a fresh line',
  withDir((dir) => {
    const h = new History(join(dir, 'h'), { enabled: true });
    const a = msg('bob@example.org', 'one', { time: '2026-11-24T10:00:00.000Z' });
    const b = msg('bob@example.org', 'two', { time: '2026-11-24T10:00:01.000Z' });
    h.append(a);
    h.append(b);
    const file = join(dir, 'h', peerFolder('bob@example.org'), '2026-11-24.jsonl');
    const full = JSON.stringify({ kind: 'message', ...msg('bob@example.org', 'three') });
    appendFileSync(file, full.slice(0, full.length >> 1));
    const warnings: string[] = [];
    const h2 = new History(join(dir, 'h'), {
      enabled: true,
      onWarning: (w) => warnings.push(`${w.line}: ${w.message}`),
    });
    const loaded = h2.load('bob@example.org');
    assert.deepEqual(
      loaded.messages.map((m) => m.text),
      ['one', 'two'],
    );
    assert.equal(loaded.warnings.length, 1);
    assert.equal(loaded.warnings[0]!.line, 3);
    assert.match(loaded.warnings[0]!.message, /incomplete last record/);
    assert.equal(warnings.length, 1);
    // A new process appends after the torn half without gluing itself to it.
    const c = msg('bob@example.org', 'four', { time: '2026-11-24T10:00:03.000Z' });
    h2.append(c);
    const again = h2.load('bob@example.org');
    assert.deepEqual(
      again.messages.map((m) => m.text),
      ['one', 'two', 'four'],
    );
    assert.equal(again.warnings.length, 1);
    assert.match(again.warnings[0]!.message, /unreadable record/);
    // Records that parse but are not ours are skipped too.
    appendFileSync(file, '{"kind":"message","text":5}\n[1,2]\n');
    assert.equal(h2.load('bob@example.org').warnings.length, 3);
  }),
);

test(
  'logging off: a full chat session writes no history bytes; per-contact override both ways',
  withDir((dir) => {
    const storage = openChatStorage(dir);
    try {
      const settingsBefore = readFileSync(storage.paths.settings, 'utf8');
      writeFileSync(
        storage.paths.settings,
        settingsBefore.replace(/\[logging\]\n(#.*\n)*enabled = true/, (m) =>
          m.replace('enabled = true', 'enabled = false'),
        ),
      );
      storage.close();
      const s = openChatStorage(dir);
      try {
        assert.equal(s.settings.logging.enabled, false);
        // A whole conversation: messages both ways, encryption state changes, delivery reports, a failure.
        const peer = 'bob@example.org';
        for (let i = 0; i < 20; i++) {
          const m = msg(peer, `secret ${i}`, {
            direction: i % 2 ? 'in' : 'out',
            delivery: i % 2 ? 'received' : 'pending',
            encryption: i < 5 ? 'none' : 'verified',
          });
          assert.equal(s.history.append(m), false);
          if (!(i % 2)) assert.equal(s.history.updateDelivery(peer, m.id, i === 4 ? 'failed' : 'delivered'), false);
        }
        assert.equal(existsSync(s.paths.historyDir), false);
        assert.equal(dirBytes(s.paths.historyDir), 0);
        assert.deepEqual(s.history.search('secret').messages, []);
        // Nothing else in the folder mentions the text either.
        for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
          if (!e.isFile()) continue;
          const p = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
          assert.ok(!readFileSync(p, 'utf8').includes('secret'), p);
        }
        // Per-contact override: on for carol although globally off.
        s.contacts.set('carol@example.org', { logging: 'on' });
        assert.equal(s.history.append(msg('carol@example.org', 'logged')), true);
        assert.equal(s.history.load('carol@example.org').messages.length, 1);
        // And off for dave although globally on.
        s.history.setEnabled(true);
        s.contacts.set('dave@example.org', { logging: 'off' });
        assert.equal(s.history.append(msg('dave@example.org', 'not logged')), false);
        assert.equal(existsSync(join(s.paths.historyDir, peerFolder('dave@example.org'))), false);
      } finally {
        s.close();
      }
    } finally {
      storage.close();
    }
  }),
);

test('peer folder names are safe and reversible', () => {
  for (const uid of ['bob@example.org', '../../etc/passwd', '.hidden@x', 'a/b@c', 'zoë@exämple.org', '%41@x', '']) {
    const f = peerFolder(uid);
    assert.ok(!f.includes('/') && f !== '.' && f !== '..' && !f.startsWith('.'), f);
    if (uid !== '') assert.equal(peerFromFolder(f), uid);
  }
});

test('history and contacts written under the older lower-cased uid are read for the case-kept one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-hist-legacy-'));
  try {
    const h = new History(dir, { enabled: true, syncIntervalMs: 0 });
    const rec = (peer: string, text: string, time: string): Omit<MessageRecord, 'kind'> => ({
      time,
      peer,
      direction: 'out',
      sender: 'me',
      text,
      delivery: 'sent',
      encryption: 'none',
      fingerprint: null,
      session: '1',
      id: text,
    });
    h.append(rec('alice@127.0.0.1', 'old, lower-cased', '2026-01-01T10:00:00.000Z'));
    h.append(rec('sip:Alice@127.0.0.1:5070', 'new', '2026-01-02T10:00:00.000Z'));
    assert.deepEqual(
      h.load('Alice@127.0.0.1').messages.map((m) => m.text),
      ['old, lower-cased', 'new'],
    );
    assert.deepEqual(
      h.search('e', { peer: 'Alice@127.0.0.1' }).messages.map((m) => m.text),
      ['old, lower-cased', 'new'],
    );
    assert.deepEqual(
      h.search('e').messages.map((m) => m.text),
      ['old, lower-cased', 'new'],
      'each folder once',
    );
    assert.deepEqual(
      h.load('alice@127.0.0.1').messages.map((m) => m.text),
      ['old, lower-cased'],
    );
    const c = new Contacts(join(dir, 'contacts'));
    writeFileSync(join(dir, 'contacts'), '[alice@127.0.0.1]\notr = on\n');
    assert.equal(c.effective('Alice@127.0.0.1').otr, 'on');
    assert.equal(c.set('Alice@127.0.0.1', { logging: 'off' }).logging, 'off');
    assert.equal(readFileSync(join(dir, 'contacts'), 'utf8'), '[alice@127.0.0.1]\notr = on\nlogging = off\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
