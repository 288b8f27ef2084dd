// The real binary in real terminals (tmux): a message typed on one side appears on the other, and the
// lock colours are read from the screen (capture-pane -e keeps the SGR colour codes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { TmuxClient, killTmuxServer } from '../helpers/tmux.js';
import { findFreePort } from '../../src/sip/free-port.js';

after(() => killTmuxServer());

// Foreground colour SGR codes the UI uses for locks: yellow/orange (33 or 38;5;208/214), green (32), red (31).
const ORANGE = /\x1b\[(?:[0-9;]*;)?(?:33|38;5;(?:208|214|3))m\[U\]/;
const GREEN = /\x1b\[(?:[0-9;]*;)?(?:32|38;5;(?:2|10|34|40|46))m\[V\]/;

test(
  'two terminals chat: typed text crosses over, the lock goes orange then green after SMP',
  { timeout: 90000 },
  async () => {
    const pa = await findFreePort('udp', '127.0.0.1', 23000 + Math.floor(Math.random() * 10000));
    const pb = await findFreePort('udp', '127.0.0.1', pa + 1);
    const a = TmuxClient.start('alice', ['--user', 'alice', '--port', String(pa)]);
    const b = TmuxClient.start('bob', ['--user', 'bob', '--port', String(pb)]);
    try {
      await a.waitForScreen((s) => s.includes('blink-tui') && s.includes(`alice@127.0.0.1:${pa}`));
      await b.waitForScreen((s) => s.includes(`bob@127.0.0.1:${pb}`));
      b.type(`/chat alice@127.0.0.1:${pa}`);
      await a.waitForScreen((s) => /incoming chat from bob/i.test(s));
      a.type('/accept');
      // OTR starts by itself: both sides show the orange unverified lock.
      await a.waitForScreen((s) => ORANGE.test(s), 20000, true);
      await b.waitForScreen((s) => ORANGE.test(s), 20000, true);

      a.type('hello from the alice terminal');
      const sb = await b.waitForScreen((s) => s.includes('hello from the alice terminal'));
      assert.match(sb, /\[U\] alice\s+hello from the alice terminal/);
      b.type('and back from bob');
      await a.waitForScreen((s) => s.includes('and back from bob'));

      // Shared-secret SMP: Bob asks, Alice is prompted and answers; both locks turn green.
      b.type('/otr auth blue-horse-7');
      await a.waitForScreen((s) => /answer/i.test(s) && /authenticate/i.test(s));
      a.type('blue-horse-7');
      await a.waitForScreen((s) => GREEN.test(s), 20000, true);
      await b.waitForScreen((s) => GREEN.test(s), 20000, true);
      assert.match(b.screen(), /authentication succeeded/);

      // NO_COLOR loses nothing: the marker text is there without colour codes (checked on a third client).
      b.type('/hangup');
      await a.waitForScreen((s) => /chat ended/.test(s));
      a.type('/quit');
      await a.waitForScreen((s) => s.includes('[exited 0]'));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  },
);

test('NO_COLOR: markers without colour codes', { timeout: 30000 }, async () => {
  const p = await findFreePort('udp', '127.0.0.1', 33000 + Math.floor(Math.random() * 10000));
  const c = TmuxClient.start('nocolor', ['--user', 'carol', '--port', String(p)], { env: { NO_COLOR: '1' } });
  try {
    const s = await c.waitForScreen((x) => x.includes('carol@127.0.0.1'), 15000, true);
    assert.doesNotMatch(s, /\x1b\[(?:[0-9;]*;)?3[1-6]m/, 'no foreground colours with NO_COLOR');
    c.key('F1');
    await c.waitForScreen((x) => /\/otr auth/.test(x));
  } finally {
    await c.stop();
  }
});
