// ChatSession in process, on its ports (tests/helpers/chat-pair.ts): real OtrSessions on both sides, an in-memory
// transport that behaves as an MSRP stream does (in order per direction, end-to-end reports that the receiver may
// turn into failures), and random delays so the AKE and the typing interleave differently on every run. These are the first seconds of a
// chat, exercised hundreds of times without a network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMPOSING_IDLE_MS, RESEND_TIMEOUT_MS } from '../../src/chat/session.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { generateDsaKey } from '../../src/keys/dsa-key.js';
import { Pipe, send, side, sleep, until, type Side } from '../helpers/chat-pair.js';

const KEYS = [generateDsaKey(), generateDsaKey()] as const;

function pair(maxDelay: number, bothStart = false) {
  const a = side('alice', 'bob', KEYS[0], true);
  const b = side('bob', 'alice', KEYS[1], bothStart);
  a.attach(() => b, new Pipe(maxDelay));
  b.attach(() => a, new Pipe(maxDelay));
  return { a, b };
}

function deliveries(s: Side): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of s.events) if (e.ev === 'delivery') m.set(e.message, e.status);
  return m;
}

function encryptedEvents(s: Side): number {
  return s.events.filter((e) => e.ev === 'otr' && e.state === 'encrypted').length;
}

/** Every message either arrived readable exactly once, or its sender was told it failed; nothing delivered is missing. */
function assertNothingLost(from: Side, to: Side): void {
  const status = deliveries(from);
  for (const [id, text] of from.sent) {
    const copies = to.received.filter((t) => t === text).length;
    const st = status.get(id);
    assert.ok(copies <= 1, `"${text}" arrived ${copies} times`);
    if (st === 'delivered')
      assert.equal(copies, 1, `"${text}" is shown delivered to ${from.name} but ${to.name} never read it`);
    else assert.ok(copies === 1 || st === 'failed', `"${text}" was silently lost (status ${st ?? 'none'})`);
  }
}

async function settle(a: Side, b: Side): Promise<void> {
  await until(
    () =>
      [a, b].every((s) =>
        [...s.sent.keys()].every((id) => ['delivered', 'failed'].includes(deliveries(s).get(id) ?? '')),
      ),
    'every message to be settled',
  );
}

test('typing from the first moment, each message after the previous one arrived: all readable, one AKE', async () => {
  for (let round = 0; round < 12; round++) {
    const { a, b } = pair(round % 3);
    for (let i = 0; i < 8; i++) {
      const text = `a${round}.${i}`;
      send(a, text);
      await until(() => b.received.includes(text), `bob to show ${text}`);
    }
    await settle(a, b);
    assertNothingLost(a, b);
    assert.equal(encryptedEvents(a), 1, 'one AKE on alice');
    assert.equal(encryptedEvents(b), 1, 'one AKE on bob');
    assert.ok(
      !a.events.some((e) => e.ev === 'system' && e.level === 'warning'),
      JSON.stringify(a.events.filter((e) => e.ev === 'system')),
    );
    assert.ok(
      !b.events.some((e) => e.ev === 'system' && e.level === 'warning'),
      JSON.stringify(b.events.filter((e) => e.ev === 'system')),
    );
    a.chat.detach('done');
    b.chat.detach('done');
  }
});

test('both sides start OTR at once (as Blink does) and both type at random moments: nothing lost, one AKE', async () => {
  for (let round = 0; round < 16; round++) {
    const { a, b } = pair(3, true);
    const typing = [a, b].map(async (s) => {
      for (let i = 0; i < 10; i++) {
        await sleep(Math.random() * 4);
        send(s, `${s.name}${round}.${i}`);
      }
    });
    await Promise.all(typing);
    await settle(a, b);
    await until(() => encryptedEvents(a) > 0 && encryptedEvents(b) > 0, 'both sides encrypted');
    await sleep(20);
    assertNothingLost(a, b);
    assertNothingLost(b, a);
    assert.equal(encryptedEvents(a), 1, 'one AKE on alice');
    assert.equal(encryptedEvents(b), 1, 'one AKE on bob');
    a.chat.detach('done');
    b.chat.detach('done');
  }
});

test('a message the peer cannot decrypt is refused, re-sent once under new keys, and shown resent then delivered', async () => {
  const { a, b } = pair(1);
  await until(() => encryptedEvents(a) === 1 && encryptedEvents(b) === 1, 'OTR');
  send(a, 'before');
  await until(() => b.received.includes('before'), 'before');
  // Bob's OTR state is lost without Alice knowing (a crash of its OTR layer): nothing is sent for it.
  b.chat.otrSession!.end();
  send(a, 'after the loss');
  await until(() => b.received.includes('after the loss'), 'the re-sent message', 10000);
  await settle(a, b);
  const id = [...a.sent].find(([, t]) => t === 'after the loss')![0];
  const statuses = a.events
    .filter((e) => e.ev === 'delivery' && e.message === id)
    .map((e) => (e as { status: string }).status);
  assert.deepEqual(statuses, ['resent', 'delivered']);
  const line = a.store.session('1')!.lines.find((l) => l.id === id)!;
  assert.equal(line.resent, true);
  assert.equal(line.delivery, 'delivered');
  assertNothingLost(a, b);
  assert.ok(b.events.some((e) => e.ev === 'system' && /could not be decrypted/.test(e.text)));
  assert.ok(a.events.some((e) => e.ev === 'system' && /could not read a message of yours/.test(e.text)));
  a.chat.detach('done');
  b.chat.detach('done');
});

test('a message the peer cannot decrypt is marked failed with the reason when the chat ends before new keys', async () => {
  const { a, b } = pair(0);
  await until(() => encryptedEvents(a) === 1 && encryptedEvents(b) === 1, 'OTR');
  // From now on Bob can decrypt nothing and never answers (its OTR layer is gone; its MSRP stack still reports).
  b.chat.receiveContent = (_type, _text, meta = {}) => meta.refuse?.(400, 'OTR message could not be decrypted');
  send(a, 'into the void');
  const id = [...a.sent.keys()][0]!;
  await until(
    () => a.events.some((e) => e.ev === 'system' && /could not read a message of yours/.test(e.text)),
    'the refusal',
  );
  assert.notEqual(deliveries(a).get(id), 'delivered');
  a.chat.detach('the peer hung up');
  const d = a.events.filter((e) => e.ev === 'delivery' && e.message === id);
  assert.deepEqual(
    d.map((e) => (e as { status: string }).status),
    ['failed'],
  );
  assert.match(String((d[0] as { reason?: string }).reason), /could not read it/);
  assert.match(a.store.session('1')!.lines.find((l) => l.id === id)!.failReason ?? '', /could not read it/);
  b.chat.detach('done');
});

test("is-composing: the session paces the wire (one active per burst, idle on stop, none after a message) and reads the peer's with the RFC 3994 parser", async () => {
  const { a, b } = pair(0);
  await until(() => encryptedEvents(a) === 1 && encryptedEvents(b) === 1, 'OTR');
  const composing = () => b.events.filter((e) => e.ev === 'composing').map((e) => (e as { active: boolean }).active);
  for (let i = 0; i < 20; i++) a.chat.sendComposing(true);
  await until(() => composing().length === 1, 'one active');
  a.chat.sendComposing(false);
  await until(() => composing().length === 2, 'idle');
  assert.deepEqual(composing(), [true, false]);
  assert.equal(b.store.session('1')!.remoteComposing, false);
  // Typing then sending: the message itself ends composing on the other side; no idle goes out.
  a.chat.sendComposing(true);
  await until(() => composing().length === 3, 'active again');
  send(a, 'done typing');
  await until(() => b.received.includes('done typing'), 'the message');
  await sleep(30);
  assert.deepEqual(composing(), [true, false, true, false]);
  a.chat.sendComposing(false);
  await sleep(30);
  assert.equal(composing().length, 4, 'no idle after a message');
  // A malformed document is ignored, not shown.
  b.chat.receiveContent('application/im-iscomposing+xml', '<isComposing><state>sleepy</state></isComposing>');
  assert.equal(composing().length, 4);
  a.chat.detach('done');
  b.chat.detach('done');
});

test('a message typed before the chat is connected waits for the stream, then goes out; one typed into a chat that never connects fails with the reason', async () => {
  const a = side('alice', 'bob', KEYS[0], true);
  const b = side('bob', 'alice', KEYS[1], false);
  const early = a.chat.sendText('typed right after /chat');
  a.sent.set(early, 'typed right after /chat');
  assert.equal(a.store.session('1')!.lines.find((l) => l.id === early)!.delivery, 'pending');
  a.attach(() => b, new Pipe(1));
  b.attach(() => a, new Pipe(1));
  await until(() => b.received.includes('typed right after /chat'), 'the early message');
  await settle(a, b);
  assert.equal(deliveries(a).get(early), 'delivered');
  a.chat.detach('done');
  b.chat.detach('done');

  const c = side('carol', 'dave', KEYS[0], true);
  const lost = c.chat.sendText('into a chat that is refused');
  c.chat.detach('declined (603)');
  const d = c.events.filter((e) => e.ev === 'delivery' && e.message === lost);
  assert.deepEqual(
    d.map((e) => (e as { status: string }).status),
    ['failed'],
  );
  assert.match(String((d[0] as { reason?: string }).reason), /did not connect \(declined \(603\)\)/);
  assert.throws(() => c.chat.sendText('after the end'), /has ended/);
});

test('on the session clock: an unreadable message with no new keys fails after RESEND_TIMEOUT_MS, not before; composing goes idle after COMPOSING_IDLE_MS', async () => {
  const clock = new FakeClock();
  const a = side('alice', 'bob', KEYS[0], true, { clock });
  const b = side('bob', 'alice', KEYS[1], false);
  a.attach(() => b, new Pipe(0));
  b.attach(() => a, new Pipe(0));
  await until(() => encryptedEvents(a) === 1 && encryptedEvents(b) === 1, 'OTR');
  // Is-composing: one active, then idle once the session's clock passes the idle time without a key.
  const composing = () => b.events.filter((e) => e.ev === 'composing').map((e) => (e as { active: boolean }).active);
  a.chat.sendComposing(true);
  await until(() => composing().length === 1, 'active');
  clock.advance(COMPOSING_IDLE_MS - 1);
  await sleep(20);
  assert.deepEqual(composing(), [true], 'not idle yet');
  clock.advance(1);
  await until(() => composing().length === 2, 'idle');
  // From now on Bob decrypts nothing and never finishes an exchange.
  b.chat.receiveContent = (_type, _text, meta = {}) => meta.refuse?.(400, 'OTR message could not be decrypted');
  send(a, 'unreadable, then given up');
  const id = [...a.sent.keys()][0]!;
  await until(
    () => a.events.some((e) => e.ev === 'system' && /could not read a message of yours/.test(e.text)),
    'the refusal',
  );
  clock.advance(RESEND_TIMEOUT_MS - 1);
  await sleep(20);
  assert.equal(deliveries(a).get(id), undefined, 'still waiting for new keys');
  clock.advance(1);
  assert.equal(deliveries(a).get(id), 'failed');
  const d = a.events.find((e) => e.ev === 'delivery' && e.message === id) as { reason?: string };
  assert.match(String(d.reason), /not re-established in time/);
  a.chat.detach('done');
  b.chat.detach('done');
});
