// runHeadless's own line splitter (it replaced readline): line ends, chunking, UTF-8 split across reads, big lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runHeadless } from '../../src/headless/index.js';
import type { Core, CoreCommand, CoreState } from '../../src/chat/types.js';

function fakeCore(): { core: Core; commands: CoreCommand[] } {
  const commands: CoreCommand[] = [];
  const core: Core = {
    getState: () => ({}) as CoreState,
    subscribe: () => () => undefined,
    onEvent: () => () => undefined,
    command: async (cmd) => {
      commands.push(cmd);
    },
  };
  return { core, commands };
}

async function run(chunks: (string | Buffer)[]): Promise<{ commands: CoreCommand[]; out: string }> {
  const { core, commands } = fakeCore();
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const done = runHeadless(core, { input, output });
  for (const c of chunks) {
    input.write(c);
    await new Promise((r) => setImmediate(r));
  }
  input.end();
  await done;
  return { commands, out };
}

const send = (text: string) => JSON.stringify({ cmd: 'send', session: 's1', text });

test('LF, CRLF and a lone CR all end a line; several lines in one read', async () => {
  const { commands } = await run([`${send('a')}\n${send('b')}\r\n${send('c')}\r${send('d')}\n`]);
  assert.deepEqual(
    commands.filter((c) => c.cmd === 'send').map((c) => (c as { text: string }).text),
    ['a', 'b', 'c', 'd'],
  );
});

test('a line split over many reads, with a multi-byte character cut in half, and a last line without LF', async () => {
  const text = 'grüße 😀 ' + 'x'.repeat(200_000);
  const bytes = Buffer.from(send(text) + '\n' + send('tail'), 'utf8');
  const cut = bytes.indexOf(Buffer.from('😀')) + 2;
  const chunks = [bytes.subarray(0, cut)];
  for (let i = cut; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
  const { commands } = await run(chunks);
  const texts = commands.filter((c) => c.cmd === 'send').map((c) => (c as { text: string }).text);
  assert.equal(texts.length, 2);
  assert.equal(texts[0], text);
  assert.equal(texts[1], 'tail');
});

test('blank lines are skipped, bad JSON gets an error event and the loop goes on', async () => {
  const { commands, out } = await run(['\n\r\n  \n{nope\n', `${send('after')}\n`]);
  assert.equal(commands.filter((c) => c.cmd === 'send').length, 1);
  const events = out.trim().split('\n').map((l) => JSON.parse(l) as { ev: string; message: string });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.ev, 'error');
  assert.match(events[0]!.message, /^not JSON/);
});
