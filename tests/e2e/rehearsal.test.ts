// The start-up rehearsal in a real client (src/chat/rehearsal.ts): it runs once after ready, completes, and leaves
// no trace the user could see: no events, no history, no trusted peer, nothing in the session list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadlessClient } from '../helpers/client.js';

async function rehearsalLine(configDir: string, timeoutMs = 15000): Promise<string> {
  const log = join(configDir, 'logs', 'blink-tui.log');
  for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const line = existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .find((l) => l.includes(' rehearsal: '))
      : undefined;
    if (line) return line;
  }
  throw new Error('no rehearsal line in the log');
}

for (const transport of ['udp', 'tls'] as const) {
  test(
    `a fresh client over ${transport} rehearses a whole chat after ready, silently`,
    { timeout: 60000 },
    async () => {
      const c = await HeadlessClient.start({ args: ['--user', 'carol', '--port', '0', '--transport', transport] });
      try {
        const line = await rehearsalLine(c.configDir);
        assert.match(line, /rehearsal: sip\+msrp otr data in [\d.]+ ms$/);
        const kinds = new Set(c.events.map((e) => e.ev));
        for (const ev of ['session', 'incoming', 'otr', 'message', 'error'])
          assert.ok(!kinds.has(ev), `no ${ev} event`);
        assert.ok(!existsSync(join(c.configDir, 'chat', 'history')), 'no history written');
        const trusted = join(c.configDir, 'chat', 'trusted_peers');
        assert.ok(
          !existsSync(trusted) || !readFileSync(trusted, 'utf8').includes('rehearsal'),
          'no trusted peer learnt',
        );
      } finally {
        await c.quit();
      }
    },
  );
}

test('BLINK_TUI_REHEARSAL=0 turns it off', { timeout: 30000 }, async () => {
  const c = await HeadlessClient.start({
    args: ['--user', 'dave', '--port', '0', '--transport', 'tcp'],
    env: { BLINK_TUI_REHEARSAL: '0' },
  });
  try {
    await c.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!readFileSync(join(c.configDir, 'logs', 'blink-tui.log'), 'utf8').includes(' rehearsal: '));
  } finally {
    await c.quit();
  }
});
