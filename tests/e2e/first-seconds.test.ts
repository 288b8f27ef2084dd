// The first seconds of a chat between two real blink-tui processes (serverless, 127.0.0.1, OTR on by default):
// a person who types as soon as the chat opens, in either direction and on both sides at once. Every message
// must arrive readable exactly once, or be shown failed to its sender; there must be one AKE per side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { findFreePort } from '../../src/sip/free-port.js';

async function twoClients() {
  const pa = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const a = await HeadlessClient.start({ args: ['--user', 'alice', '--port', String(pa), '--transport', 'tcp'] });
  const pb = await findFreePort('tcp', '127.0.0.1', pa + 1);
  const b = await HeadlessClient.start({ args: ['--user', 'bob', '--port', String(pb), '--transport', 'tcp'] });
  b.onEvent((e) => {
    if (e.ev === 'incoming') b.send({ cmd: 'accept', session: e.session });
  });
  return { a, b, pb };
}

async function open(a: HeadlessClient, b: HeadlessClient, pb: number) {
  a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
  const sa = String((await a.waitFor((e) => e.ev === 'session' && e.state === 'active')).session);
  const sb = String((await b.waitFor((e) => e.ev === 'session' && e.state === 'active')).session);
  return { sa, sb };
}

const received = (c: HeadlessClient) =>
  c.events.filter((e) => e.ev === 'message' && e.direction === 'in').map((e) => String(e.text));

/** Each sent text: read once by the peer, or reported failed to the sender; 'delivered' only for what was read. */
function assertNothingLost(from: HeadlessClient, to: HeadlessClient, texts: string[]): void {
  const got = received(to);
  for (const text of texts) {
    const out = from.events.find((e) => e.ev === 'message' && e.direction === 'out' && e.text === text);
    assert.ok(out, `${text} was not echoed`);
    const statuses = from.events
      .filter((e) => e.ev === 'delivery' && e.message === out.id)
      .map((e) => String(e.status));
    const copies = got.filter((t) => t === text).length;
    assert.ok(copies <= 1, `${text} arrived ${copies} times`);
    if (copies === 0) assert.equal(statuses.at(-1), 'failed', `${text} silently lost (statuses ${statuses.join(',')})`);
    else assert.equal(statuses.at(-1), 'delivered', `${text} arrived but its sender shows ${statuses.join(',')}`);
  }
}

const akes = (c: HeadlessClient) => c.events.filter((e) => e.ev === 'otr' && e.state === 'encrypted').length;
const warnings = (c: HeadlessClient) =>
  c.events.filter((e: Ev) => e.ev === 'system' && e.level === 'warning').map((e) => String(e.text));

for (const dir of ['caller types', 'callee types'] as const) {
  test(
    `${dir} from the moment the chat is active, each message after the previous one showed: nothing lost, one AKE`,
    { timeout: 60000 },
    async () => {
      const { a, b, pb } = await twoClients();
      try {
        const { sa, sb } = await open(a, b, pb);
        const [from, to, sid] = dir === 'caller types' ? [a, b, sa] : [b, a, sb];
        const texts: string[] = [];
        for (let i = 0; i < 10; i++) {
          const text = `${dir} ${i} ✓`;
          texts.push(text);
          from.send({ cmd: 'send', session: sid, text });
          await to.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === text, 10000);
        }
        await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
        await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
        await Promise.all(
          texts.map(async (t) => {
            const out = await from.waitFor((e) => e.ev === 'message' && e.direction === 'out' && e.text === t);
            return from.waitFor((e) => e.ev === 'delivery' && e.message === out.id && e.status !== 'resent');
          }),
        );
        assertNothingLost(from, to, texts);
        assert.equal(akes(a), 1, 'one AKE for alice');
        assert.equal(akes(b), 1, 'one AKE for bob');
        assert.deepEqual(warnings(a), []);
        assert.deepEqual(warnings(b), []);
      } finally {
        await Promise.all([a.quit(), b.quit()]);
      }
    },
  );
}

test(
  'both type at once from the first moment, without waiting: nothing lost, one AKE',
  { timeout: 60000 },
  async () => {
    const { a, b, pb } = await twoClients();
    try {
      a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
      const sent: Record<'a' | 'b', string[]> = { a: [], b: [] };
      const type = async (c: HeadlessClient, k: 'a' | 'b') => {
        const sid = String((await c.waitFor((e) => e.ev === 'session' && e.state === 'active')).session);
        for (let i = 0; i < 15; i++) {
          const text = `${k} says ${i}`;
          sent[k].push(text);
          c.send({ cmd: 'send', session: sid, text });
          await new Promise((r) => setTimeout(r, Math.random() * 8));
        }
      };
      await Promise.all([type(a, 'a'), type(b, 'b')]);
      for (const [c, k] of [
        [a, 'a'],
        [b, 'b'],
      ] as const) {
        await Promise.all(
          sent[k].map(async (t) => {
            const out = await c.waitFor((e) => e.ev === 'message' && e.direction === 'out' && e.text === t);
            await c.waitFor((e) => e.ev === 'delivery' && e.message === out.id && e.status !== 'resent', 15000);
          }),
        );
      }
      await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
      await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted');
      assertNothingLost(a, b, sent.a);
      assertNothingLost(b, a, sent.b);
      assert.equal(akes(a), 1, 'one AKE for alice');
      assert.equal(akes(b), 1, 'one AKE for bob');
    } finally {
      await Promise.all([a.quit(), b.quit()]);
    }
  },
);

test(
  'typed before the chat is up: right after /chat and right after /accept, the messages wait and arrive',
  { timeout: 60000 },
  async () => {
    const pa = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    const a = await HeadlessClient.start({ args: ['--user', 'alice', '--port', String(pa), '--transport', 'tcp'] });
    const pb = await findFreePort('tcp', '127.0.0.1', pa + 1);
    const b = await HeadlessClient.start({ args: ['--user', 'bob', '--port', String(pb), '--transport', 'tcp'] });
    try {
      a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
      const sa = String((await a.waitFor((e) => e.ev === 'session' && e.state === 'connecting')).session);
      a.send({ cmd: 'send', session: sa, text: 'sent while connecting' });
      const inc = await b.waitFor((e) => e.ev === 'incoming');
      // Before accepting: refused with a reason, nothing queued.
      b.send({ cmd: 'send', session: inc.session, text: 'not accepted yet' });
      await b.waitFor((e) => e.ev === 'error' && /accept the chat first/.test(String(e.message)));
      b.send({ cmd: 'accept', session: inc.session });
      b.send({ cmd: 'send', session: inc.session, text: 'sent right after accept' });
      await b.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'sent while connecting', 15000);
      await a.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'sent right after accept', 15000);
      assertNothingLost(a, b, []);
      for (const [c, text] of [
        [a, 'sent while connecting'],
        [b, 'sent right after accept'],
      ] as const) {
        const out = await c.waitFor((e) => e.ev === 'message' && e.direction === 'out' && e.text === text);
        const d = await c.waitFor((e) => e.ev === 'delivery' && e.message === out.id);
        assert.equal(d.status, 'delivered', text);
      }
      assert.ok(!received(a).includes('not accepted yet'));
    } finally {
      await Promise.all([a.quit(), b.quit()]);
    }
  },
);
