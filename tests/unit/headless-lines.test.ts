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
  const events = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ev: string; message: string });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.ev, 'error');
  assert.match(events[0]!.message, /^not JSON/);
});

test('event clock (BLINK_TUI_EVENT_CLOCK): events carry a monotonic "mono" and each command is acknowledged before it runs', async () => {
  const events: ((e: Record<string, unknown>) => void)[] = [];
  const order: string[] = [];
  const core: Core = {
    getState: () => ({}) as CoreState,
    subscribe: () => () => undefined,
    onEvent: (cb) => {
      events.push(cb as (e: Record<string, unknown>) => void);
      return () => undefined;
    },
    command: async (cmd) => {
      order.push(`run ${cmd.cmd}`);
      for (const cb of events) cb({ ev: 'system', text: `did ${cmd.cmd}`, level: 'info' });
    },
  };
  const input = new PassThrough();
  const output = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  output.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const e = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      lines.push(e);
      if (e.ev === 'command') order.push(`ack ${String(e.cmd)}`);
    }
  });
  const before = Number(process.hrtime.bigint() / 1000n) / 1000;
  const done = runHeadless(core, { input, output, clock: true });
  input.end(`${send('hi')}\n`);
  await done;
  await new Promise((r) => setImmediate(r));
  const after = Number(process.hrtime.bigint() / 1000n) / 1000;
  // The acknowledgement is written before the command runs, so before anything the command emits.
  const ack = lines.findIndex((e) => e.ev === 'command' && e.cmd === 'send');
  const did = lines.findIndex((e) => e.ev === 'system' && e.text === 'did send');
  assert.ok(ack >= 0 && did > ack, JSON.stringify(lines));
  assert.ok(order.includes('run send'));
  for (const e of lines) {
    assert.equal(typeof e.mono, 'number', JSON.stringify(e));
    assert.ok(
      (e.mono as number) >= before && (e.mono as number) <= after,
      'mono is on the same clock as process.hrtime',
    );
  }
  assert.ok((lines[1]!.mono as number) >= (lines[0]!.mono as number));
  // Without the option nothing is added.
  const plain = await run([`${send('x')}\n`]);
  assert.ok(!plain.out.includes('"mono"') && !plain.out.includes('"ev":"command"'));
});
