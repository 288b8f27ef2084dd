// The headless mode's call commands: what validateCommand lets through to the core, and what it refuses with a
// message for the script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessCommandError, validateCommand } from '../../src/headless/index.js';

test('call, audio and dtmf commands are accepted as the README gives them', () => {
  assert.deepEqual(validateCommand({ cmd: 'call', to: 'sip:bob@example.org' }), {
    cmd: 'call',
    to: 'sip:bob@example.org',
  });
  for (const action of ['add', 'remove', 'hold', 'resume', 'mute', 'unmute'])
    assert.equal((validateCommand({ cmd: 'audio', session: '1', action }) as { action: string }).action, action);
  assert.deepEqual(validateCommand({ cmd: 'dtmf', session: '1', digits: '12#*A' }), {
    cmd: 'dtmf',
    session: '1',
    digits: '12#*A',
  });
});

test('malformed call commands are refused with a reason', () => {
  const bad: [unknown, RegExp][] = [
    [{ cmd: 'call' }, /"call" needs a string "to"/],
    [{ cmd: 'audio', session: '1' }, /"audio" needs "action"/],
    [{ cmd: 'audio', session: '1', action: 'loud' }, /"audio" needs "action"/],
    [{ cmd: 'audio', action: 'add' }, /needs a string "session"/],
    [{ cmd: 'dtmf', session: '1', digits: '12x' }, /"dtmf" needs "digits"/],
    [{ cmd: 'dtmf', session: '1', digits: '' }, /"dtmf" needs "digits"/],
    [{ cmd: 'dtmf', session: '1', digits: '1'.repeat(65) }, /"dtmf" needs "digits"/],
  ];
  for (const [cmd, re] of bad)
    assert.throws(
      () => validateCommand(cmd),
      (e: Error) => e instanceof HeadlessCommandError && re.test(e.message),
      JSON.stringify(cmd),
    );
});

test('sas: confirm or reject the call SAS; anything else refused', () => {
  for (const action of ['confirm', 'reject'])
    assert.deepEqual(validateCommand({ cmd: 'sas', session: '1', action }), { cmd: 'sas', session: '1', action });
  assert.throws(() => validateCommand({ cmd: 'sas', session: '1', action: 'maybe' }), /"sas" needs "action"/);
  assert.throws(() => validateCommand({ cmd: 'sas', action: 'confirm' }), /needs a string "session"/);
});
