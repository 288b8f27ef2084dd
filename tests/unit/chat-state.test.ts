import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LINES_IN_MEMORY, MAX_TEXT_ENDED, MAX_TEXT_IN_MEMORY, StateStore } from '../../src/chat/state.js';
import { blankSessionView } from '../../src/chat/blank.js';

function store(): StateStore {
  const s = new StateStore({ uri: 'sip:a@test', registration: 'none', transport: 'tcp', serverless: true });
  const view = blankSessionView({ id: '1', peer: 'b@test', direction: 'out', state: 'active' });
  s.addSession(view);
  return s;
}
const add = (s: StateStore, text: string) =>
  s.appendLine('1', { time: 0, kind: 'message', direction: 'in', text, encryption: 'none' }, false);

test('lines in memory are capped by count and by text, oldest first; the newest line always stays', () => {
  const s = store();
  for (let i = 0; i < MAX_LINES_IN_MEMORY + 50; i++) add(s, `line ${i}`);
  const lines = s.session('1')!.lines;
  assert.equal(lines.length, MAX_LINES_IN_MEMORY);
  assert.equal(lines[0]!.text, 'line 50');
  const big = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 100; i++) add(s, big);
  const held = s.session('1')!.lines.reduce((n, l) => n + l.text.length, 0);
  assert.ok(held <= MAX_TEXT_IN_MEMORY, `${held} code units held`);
  assert.ok(held > MAX_TEXT_IN_MEMORY - big.length, 'no more dropped than needed');
  const huge = 'y'.repeat(MAX_TEXT_IN_MEMORY + 10);
  add(s, huge);
  assert.deepEqual(
    s.session('1')!.lines.map((l) => l.text.length),
    [huge.length],
  );
  add(s, 'after');
  assert.deepEqual(
    s.session('1')!.lines.map((l) => l.text),
    ['after'],
  );
});

test('an ended chat keeps only its last lines in memory', () => {
  const s = store();
  for (let i = 0; i < 40; i++) add(s, `${i} `.padEnd(8 * 1024, '.'));
  s.updateSession('1', { state: 'ended' });
  const lines = s.session('1')!.lines;
  const held = lines.reduce((n, l) => n + l.text.length, 0);
  assert.ok(held <= MAX_TEXT_ENDED && lines.length > 0, `${held} held in ${lines.length} lines`);
  assert.match(lines.at(-1)!.text, /^39 /, 'the newest stays');
  // Lines added after the end (a closing system line) are counted from there.
  add(s, 'chat ended');
  assert.equal(s.session('1')!.lines.at(-1)!.text, 'chat ended');
});

test('a notice rewritten in place (a transfer with no chat): one line, moved last, no system event', () => {
  const s = store();
  const events: unknown[] = [];
  s.onEvent((e) => events.push(e));
  const id = s.putNotice(null, '⇡ a.bin to b@test: preparing (hashing) 0%');
  s.addNotice('something else', 'warning');
  assert.equal(s.putNotice(id, '⇡ a.bin to b@test [####] 20%'), id);
  assert.deepEqual(
    s.get().notices.map((n) => [n.id === id, n.text]),
    [
      [false, 'something else'],
      [true, '⇡ a.bin to b@test [####] 20%'],
    ],
  );
  // Only addNotice speaks to the headless output; the transfer's own `file` events carry its progress.
  assert.deepEqual(events, [{ ev: 'system', text: 'something else', level: 'warning' }]);
  // An id that is gone (dropped from the last 50) starts a new line.
  for (let i = 0; i < 60; i++) s.addNotice(`n${i}`, 'info');
  const again = s.putNotice(id, 'later');
  assert.equal(s.get().notices.filter((n) => n.text.startsWith('⇡') || n.text === 'later').length, 1);
  assert.equal(s.get().notices.at(-1)!.id, again);
});

test("notices are stamped with the store's clock (the core passes its own)", () => {
  let t = 5_000;
  const s = new StateStore({ uri: 'sip:a@test', registration: 'none', transport: 'tcp', serverless: true }, () => t);
  s.addNotice('first', 'info');
  t = 7_000;
  s.putNotice(null, 'second');
  assert.deepEqual(
    s.get().notices.map((n) => n.time),
    [5_000, 7_000],
  );
});
