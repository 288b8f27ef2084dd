// The trust rules of a chat, in process on ChatSession's ports (tests/helpers/chat-pair.ts: real OTR both sides):
// the red lock for a new key of a peer whose other key was verified, messages held for an always-OTR contact and
// never sent in the clear, and the SMP question rule (answering a question verifies us to them, not them to us).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELD_MESSAGE_TIMEOUT_MS } from '../../src/chat/session.js';
import { memoryTrust } from '../../src/chat/blank.js';
import { fingerprintHex, generateDsaKey } from '../../src/keys/dsa-key.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { Pipe, send, side, until, type Side, type SideOptions } from '../helpers/chat-pair.js';

const ALICE = generateDsaKey();
const BOB = generateDsaKey();
const OTHER = generateDsaKey();

function pair(aliceOpts: SideOptions = {}, bobOpts: SideOptions = {}) {
  const a = side('alice', 'bob', ALICE, true, aliceOpts);
  const b = side('bob', 'alice', BOB, false, bobOpts);
  a.attach(() => b, new Pipe(3));
  b.attach(() => a, new Pipe(3));
  return { a, b };
}

const view = (s: Side) => s.store.session('1')!;
const systemLines = (s: Side, level: 'info' | 'warning') =>
  s.events.flatMap((e) => (e.ev === 'system' && e.level === level ? [e.text] : []));
const encrypted = (s: Side) => view(s).otr.state === 'encrypted';

test('a new key of a peer whose other key was verified: red lock, a warning and one alert; the verified key: green', async () => {
  const trust = memoryTrust();
  trust.learn('alice', fingerprintHex(OTHER));
  trust.setTrust('alice', fingerprintHex(OTHER), 'verified');
  const { a, b } = pair({}, { trust });
  a.chat.otrStart();
  await until(() => encrypted(a) && encrypted(b), 'both private');
  assert.equal(view(b).otr.trust, 'changed');
  assert.equal(view(b).otr.theirFingerprint, fingerprintHex(ALICE));
  assert.deepEqual(b.alerts, ['OTR key changed']);
  assert.equal(systemLines(b, 'warning').filter((t) => /fingerprint has changed/.test(t)).length, 1);
  assert.equal(view(a).otr.trust, 'unverified', 'alice never saw bob before: unverified, not red');
  assert.deepEqual(a.alerts, []);
  a.chat.detach('done');
  b.chat.detach('done');

  const known = memoryTrust();
  known.learn('alice', fingerprintHex(ALICE));
  known.setTrust('alice', fingerprintHex(ALICE), 'verified');
  const again = pair({}, { trust: known });
  again.a.chat.otrStart();
  await until(() => encrypted(again.a) && encrypted(again.b), 'both private again');
  assert.equal(view(again.b).otr.trust, 'verified');
  assert.deepEqual(again.b.alerts, []);
  again.a.chat.detach('done');
  again.b.chat.detach('done');
});

test('always-OTR: a message typed before the chat is private is held, never on the wire in clear, sent once private', async () => {
  const { a, b } = pair({ required: true });
  send(a, 'the first thing I typed');
  assert.equal(view(a).otr.pending, 1);
  assert.ok(systemLines(a, 'info').some((t) => /message held/.test(t)));
  await until(() => b.received.includes('the first thing I typed'), 'bob reads it');
  assert.ok(encrypted(a));
  assert.ok(
    a.wire.every((w) => !w.includes('the first thing I typed')),
    'the text itself never crossed the transport',
  );
  assert.equal(view(a).otr.pending, 0);
  a.chat.detach('done');
  b.chat.detach('done');
});

test('always-OTR with a peer that has no OTR: the held message fails after HELD_MESSAGE_TIMEOUT_MS, not before', async () => {
  const clock = new FakeClock();
  const { a, b } = pair({ required: true, clock }, { noOtr: true });
  send(a, 'for your eyes only');
  const [id] = [...a.sent.keys()];
  const failed = () => a.events.some((e) => e.ev === 'delivery' && e.message === id && e.status === 'failed');
  await until(() => a.wire.length > 0, 'the OTR query to go out');
  clock.advance(HELD_MESSAGE_TIMEOUT_MS - 1);
  assert.equal(failed(), false);
  clock.advance(1);
  await until(failed, 'the held message to fail');
  const reason = a.events.find((e) => e.ev === 'delivery' && e.message === id);
  assert.match(reason && 'reason' in reason ? String(reason.reason) : '', /encryption could not be established/);
  assert.ok(a.wire.every((w) => !w.includes('for your eyes only')));
  // A client without OTR sees only the query's human-readable text.
  assert.ok(b.received.every((m) => m.startsWith('?OTRv') && !m.includes('for your eyes only')));
  a.chat.detach('done');
  b.chat.detach('done');
});

test('SMP with a question: the asker verifies the answerer; the answerer proved itself but verifies no one', async () => {
  const { a, b } = pair();
  a.chat.otrStart();
  await until(() => encrypted(a) && encrypted(b), 'both private');
  a.chat.smpStart('the blue door', 'Where did we meet?');
  await until(() => b.events.some((e) => e.ev === 'smp' && e.result === 'asked'), 'bob asked');
  b.chat.smpRespond('the blue door');
  const success = (s: Side) => s.events.some((e) => e.ev === 'smp' && e.result === 'success');
  await until(() => success(a) && success(b), 'both sides done');
  assert.equal(view(a).otr.trust, 'verified');
  assert.equal(view(b).otr.trust, 'unverified', 'a question anyone could ask does not verify the asker');
  assert.ok(systemLines(b, 'info').some((t) => /you answered alice's question correctly/.test(t)));
  a.chat.detach('done');
  b.chat.detach('done');
});
