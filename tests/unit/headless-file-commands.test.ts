// The headless file commands (README "Headless mode"): what is accepted as is, what is refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessCommandError, validateCommand } from '../../src/headless/index.js';

test('file commands are accepted in their documented forms', () => {
  const ok = [
    { cmd: 'send_file', session: '1', path: '/tmp/x' },
    { cmd: 'send_file', session: '1', path: '/tmp/x', plain: true },
    { cmd: 'send_file', to: 'sip:bob@example.org', path: 'x', plain: false },
    { cmd: 'accept_file', transfer: 'f1' },
    { cmd: 'accept_file', transfer: 'f1', dir: '/tmp/dl' },
    { cmd: 'reject_file', transfer: 'f2' },
    { cmd: 'cancel_file', transfer: 'f3' },
    { cmd: 'open_file', transfer: 'f3' },
  ];
  for (const c of ok) assert.deepEqual(validateCommand(c), c);
});

test('malformed file commands are refused with a reason', () => {
  const bad: [unknown, RegExp][] = [
    [{ cmd: 'send_file', session: '1' }, /"path"/],
    [{ cmd: 'send_file', path: '/tmp/x' }, /"to"/],
    [{ cmd: 'send_file', session: 1, path: '/tmp/x' }, /"session"/],
    [{ cmd: 'send_file', to: 'bob', path: 'x', plain: 'yes' }, /plain/],
    [{ cmd: 'accept_file' }, /"transfer"/],
    [{ cmd: 'accept_file', transfer: 'f1', dir: 3 }, /"dir"/],
    [{ cmd: 'cancel_file', transfer: null }, /"transfer"/],
  ];
  for (const [c, why] of bad)
    assert.throws(
      () => validateCommand(c),
      (e: Error) => e instanceof HeadlessCommandError && why.test(e.message),
    );
});
