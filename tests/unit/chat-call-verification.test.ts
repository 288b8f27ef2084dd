// The check from the call between two ChatSessions in process, with real OTR (OtrSession, real SMP) over an
// in-memory stream and one fake clock: the call's SAS is fed to both sides as the audio layer will, and what each
// side ends with (trust in trusted_peers, smp events with from_call, lines, alarms) is what a user would see.
// Time moves only while no message is in flight, so the SMP runs between the clock's steps, as a fast network would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatSession, type ChatTransport, type SessionDeps, type TrustPort } from '../../src/chat/session.js';
import { CALL_SMP_QUESTION } from '../../src/chat/call-verification.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { StateStore } from '../../src/chat/state.js';
import { blankSessionView, memoryTrust } from '../../src/chat/blank.js';
import type { CoreEvent, SmpView } from '../../src/chat/types.js';
import { generateDsaKey, type DsaKeyParams } from '../../src/keys/dsa-key.js';
import { OtrSession } from '../../src/otr/index.js';

const KEYS = [generateDsaKey(), generateDsaKey()] as const;

/** Messages in flight between the two sides, delivered in order, each on its own turn of the event loop. */
class Wire {
  inFlight = 0;
  private tail: Promise<void> = Promise.resolve();
  deliver(fn: () => void): Promise<void> {
    this.inFlight++;
    const run = this.tail.then(
      () =>
        new Promise<void>((res, rej) =>
          setImmediate(() => {
            try {
              fn();
              res();
            } catch (e) {
              rej(e as Error);
            } finally {
              this.inFlight--;
            }
          }),
        ),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }
}

interface Side {
  chat: ChatSession;
  store: StateStore;
  trust: TrustPort;
  events: CoreEvent[];
  alerts: string[];
  received: string[];
  /** Every SMP state the view showed (what a front end would draw). */
  smpViews: SmpView[];
}

function pair() {
  const clock = new FakeClock();
  const wire = new Wire();
  const make = (name: string, peer: string, key: DsaKeyParams): Side => {
    const store = new StateStore({ uri: `sip:${name}@test`, registration: 'none', transport: 'tcp', serverless: true });
    store.addSession(blankSessionView({ id: '1', peer, direction: 'out', state: 'active' }));
    const trust = memoryTrust();
    const s: Side = {
      chat: null as unknown as ChatSession,
      store,
      trust,
      events: [],
      alerts: [],
      received: [],
      smpViews: [],
    };
    const deps: SessionDeps = {
      store,
      trust,
      history: () => null,
      alert: (title) => void s.alerts.push(title),
      log: () => undefined,
      clock,
    };
    s.chat = new ChatSession('1', peer, deps, { make: () => new OtrSession({ key }), required: false });
    store.subscribe((st) => {
      const v = st.sessions[0]?.otr.smp;
      if (v && v !== s.smpViews.at(-1)) s.smpViews.push(v);
    });
    store.onEvent((e) => {
      s.events.push(e);
      if (e.ev === 'message' && e.direction === 'in') s.received.push(e.text);
    });
    return s;
  };
  const a = make('alice', 'bob', KEYS[0]);
  const b = make('bob', 'alice', KEYS[1]);
  const transport = (to: () => Side): ChatTransport => ({
    accepts: () => true,
    send: (type, text) => wire.deliver(() => to().chat.receiveContent(type, text)),
  });
  a.chat.attach(
    transport(() => b),
    { localLoggingOff: false, initiator: true },
  );
  b.chat.attach(
    transport(() => a),
    { localLoggingOff: false, initiator: false },
  );
  /** Runs until pred holds: messages first, then fake time in 10 ms steps (at most `fakeMs`). */
  const until = async (pred: () => boolean, what: string, fakeMs = 120_000): Promise<void> => {
    const end = clock.now() + fakeMs;
    const realEnd = Date.now() + 20_000;
    while (!pred()) {
      if (clock.now() > end || Date.now() > realEnd) throw new Error(`timed out waiting for ${what}`);
      if (wire.inFlight > 0) await new Promise((r) => setImmediate(r));
      else {
        clock.advance(10);
        await new Promise((r) => setImmediate(r));
      }
    }
  };
  return { a, b, clock, until };
}

const encrypted = (s: Side) => s.store.session('1')?.otr.state === 'encrypted';
const smpEvents = (s: Side) => s.events.filter((e): e is Extract<CoreEvent, { ev: 'smp' }> => e.ev === 'smp');
const theirFp = (s: Side) => s.store.session('1')!.otr.theirFingerprint!;
const storedTrust = (s: Side) => s.trust.trustOf('', theirFp(s));
const lines = (s: Side, level?: 'info' | 'warning') =>
  s.events
    .filter((e): e is Extract<CoreEvent, { ev: 'system' }> => e.ev === 'system' && (!level || e.level === level))
    .map((e) => e.text);

async function encryptedPair() {
  const p = pair();
  await p.until(() => encrypted(p.a) && encrypted(p.b), 'OTR on both sides');
  return p;
}

/** Each side's own check succeeded (it verified the other) and it answered the other's: two runs from the call. */
function assertVerifiedFromCall(s: Side): void {
  assert.equal(storedTrust(s), 'smp', 'trusted_peers holds smp');
  assert.equal(s.store.session('1')!.otr.trust, 'verified');
  const fromCall = smpEvents(s).filter((e) => e.from_call);
  assert.equal(fromCall.filter((e) => e.result === 'success').length, 2, JSON.stringify(smpEvents(s)));
  assert.ok(fromCall.some((e) => e.result === 'asked' && e.question === CALL_SMP_QUESTION));
  assert.ok(
    smpEvents(s).every((e) => e.from_call),
    'every SMP of this chat came from the call',
  );
  assert.ok(lines(s).some((t) => /verified from the call/.test(t)));
  assert.ok(s.smpViews.length > 0);
  assert.ok(
    s.smpViews.every((v) => v.fromCall),
    `the view marks the runs as the call's: ${JSON.stringify(s.smpViews)}`,
  );
  assert.deepEqual(lines(s, 'warning'), []);
}

test('both sides feed the same SAS and confirm it: both end with the peer verified `smp`, every smp event from_call', async () => {
  const { a, b, until } = await encryptedPair();
  for (const s of [a, b]) {
    s.chat.callSas('zqze', false);
    s.chat.callSasConfirmed();
  }
  await until(() => storedTrust(a) === 'smp' && storedTrust(b) === 'smp', 'both verified');
  // Both own runs and both answers: let the second run finish on the side that answered it.
  await until(
    () => [a, b].every((s) => smpEvents(s).filter((e) => e.result === 'success').length === 2),
    'both runs done',
  );
  assertVerifiedFromCall(a);
  assertVerifiedFromCall(b);
  a.chat.detach('done');
  b.chat.detach('done');
});

test('the SAS comes already verified from the ZRTP cache on both sides: the same, without a confirm', async () => {
  const { a, b, until } = await encryptedPair();
  a.chat.callSas('wt17', true);
  b.chat.callSas('wt17', true);
  await until(
    () => [a, b].every((s) => smpEvents(s).filter((e) => e.result === 'success').length === 2),
    'both runs done',
  );
  assertVerifiedFromCall(a);
  assertVerifiedFromCall(b);
  a.chat.detach('done');
  b.chat.detach('done');
});

test('different SAS on the two sides: the check fails with a red alarm on both, and nobody is verified', async () => {
  const { a, b, until } = await encryptedPair();
  a.chat.callSas('zqze', true);
  b.chat.callSas('zqzf', true);
  await until(() => [a, b].every((s) => s.alerts.length > 0), 'an alarm on both sides');
  for (const s of [a, b]) {
    assert.ok(smpEvents(s).some((e) => e.result === 'failure' && e.from_call));
    assert.ok(lines(s, 'warning').some((t) => /check from the call FAILED/.test(t)));
    assert.equal(storedTrust(s), '');
    assert.equal(s.store.session('1')!.otr.trust, 'unverified');
  }
  a.chat.detach('done');
  b.chat.detach('done');
});

test('one side has not confirmed: it declines with an explanation in the chat; confirmed later, it starts and both end verified', async () => {
  const { a, b, until } = await encryptedPair();
  a.chat.callSas('zqze', false);
  a.chat.callSasConfirmed();
  b.chat.callSas('zqze', false);
  // Alice's check reaches Bob, who has not compared the SAS yet: declined, and Alice is told why.
  await until(() => a.received.some((t) => /only after I compare the authentication string/.test(t)), 'the reason');
  await until(() => smpEvents(a).some((e) => e.result === 'aborted' && e.from_call), 'alice sees it declined');
  assert.ok(lines(b).some((t) => /declined alice's check from the call: you have not confirmed the SAS/.test(t)));
  assert.ok(smpEvents(b).some((e) => e.result === 'aborted' && e.from_call));
  assert.equal(storedTrust(a), '');
  assert.equal(storedTrust(b), '');
  // Nothing more happens on its own (Blink would not try again either)...
  const before = a.events.length + b.events.length;
  await until(() => false, 'a quiet minute', 60_000).catch(() => undefined);
  assert.equal(a.events.length + b.events.length, before, 'no retry after a decline');
  // ...until Bob confirms: Bob starts it, Alice answers, and then Alice's own runs.
  b.chat.callSasConfirmed();
  await until(() => storedTrust(a) === 'smp' && storedTrust(b) === 'smp', 'both verified');
  assert.deepEqual(lines(a, 'warning'), []);
  assert.deepEqual(lines(b, 'warning'), []);
  a.chat.detach('done');
  b.chat.detach('done');
});

test('during a call a user-typed SMP with another question still works between two blink-tui', async () => {
  const { a, b, until } = await encryptedPair();
  // A call is up on both sides, its SAS not confirmed by anyone.
  a.chat.callSas('zqze', false);
  b.chat.callSas('zqze', false);
  a.chat.smpStart('the blue door', 'Where did we meet?');
  await until(() => smpEvents(b).some((e) => e.result === 'asked'), 'bob asked');
  const asked = smpEvents(b).find((e) => e.result === 'asked')!;
  assert.equal(asked.question, 'Where did we meet?');
  assert.equal(asked.from_call, undefined);
  assert.ok(b.smpViews.every((v) => !v.fromCall));
  b.chat.smpRespond('the blue door');
  await until(() => storedTrust(a) === 'smp', 'alice verified bob');
  assert.ok(smpEvents(a).some((e) => e.result === 'success' && !e.from_call));
  assert.ok(!smpEvents(a).some((e) => e.result === 'aborted'));
  a.chat.detach('done');
  b.chat.detach('done');
});

test('the call ends while the check runs: it completes and counts, and nothing new starts after it', async () => {
  const { a, b, until } = await encryptedPair();
  a.chat.callSas('zqze', true);
  b.chat.callSas('zqze', true);
  await until(() => smpEvents(a).length + smpEvents(b).length > 0, 'the first SMP message');
  a.chat.callEnded();
  b.chat.callEnded();
  await until(() => storedTrust(a) === 'smp' || storedTrust(b) === 'smp', 'the run under way to finish');
  const doneEvents = a.events.length + b.events.length;
  await until(() => false, 'a quiet minute', 60_000).catch(() => undefined);
  assert.equal(a.events.length + b.events.length, doneEvents, 'nothing new after the call ended');
  a.chat.detach('done');
  b.chat.detach('done');
});

test('both sides start at the same moment (their SMP1s cross): each aborts the other, they retry apart, both end verified', async () => {
  const { a, b, clock, until } = await encryptedPair();
  const [hi, lo] =
    a.chat.otrSession!.ourFingerprint.toUpperCase() > b.chat.otrSession!.ourFingerprint.toUpperCase() ? [a, b] : [b, a];
  hi.chat.callSas('zqze', false);
  lo.chat.callSas('zqze', false);
  // The lower side confirms first and waits its 1 s; the greater one confirms just as that second ends.
  lo.chat.callSasConfirmed();
  clock.advance(1_000);
  hi.chat.callSasConfirmed();
  clock.advance(0);
  await until(() => storedTrust(a) === 'smp' && storedTrust(b) === 'smp', 'both verified');
  for (const s of [a, b]) {
    assert.ok(
      smpEvents(s).some((e) => e.result === 'aborted' && e.from_call),
      `the runs crossed: ${JSON.stringify(smpEvents(s))}`,
    );
    assert.deepEqual(lines(s, 'warning'), []);
    assert.ok(!lines(s).some((t) => /did not answer/.test(t)), 'a crossing is not taken for a decline');
  }
  a.chat.detach('done');
  b.chat.detach('done');
});

test('never with a conference (isfocus): a confirmed SAS starts nothing and the call question is left to the user', async () => {
  const { a, b, until } = await encryptedPair();
  a.store.updateSession('1', { isFocus: true });
  a.chat.callSas('zqze', true);
  b.chat.callSas('zqze', true);
  // Bob (not a conference here) asks; the conference side does not answer it by itself.
  await until(() => smpEvents(a).some((e) => e.result === 'asked'), 'the question reaches the conference side');
  const asked = smpEvents(a).find((e) => e.result === 'asked')!;
  assert.equal(asked.from_call, undefined);
  await until(() => false, 'a quiet minute', 60_000).catch(() => undefined);
  assert.ok(!smpEvents(a).some((e) => e.result === 'success' || e.result === 'failure'));
  assert.equal(storedTrust(a), '');
  assert.ok(!lines(a).some((t) => /from the call/.test(t)), JSON.stringify(lines(a)));
  a.chat.detach('done');
  b.chat.detach('done');
});

test('the peer asks before our SAS is known: the question waits for it and is answered when it comes', async () => {
  const { a, b, until } = await encryptedPair();
  a.chat.callStarted();
  b.chat.callSas('zqze', true);
  await until(() => smpEvents(a).some((e) => e.result === 'asked'), 'alice asked');
  assert.equal(smpEvents(a).find((e) => e.result === 'asked')!.from_call, true);
  assert.ok(
    lines(a).some((t) => /answered once the call shows it/.test(t)),
    JSON.stringify(lines(a)),
  );
  // Alice's ZRTP reports the SAS, already verified in her cache.
  a.chat.callSas('zqze', true);
  await until(() => storedTrust(a) === 'smp' && storedTrust(b) === 'smp', 'both verified');
  assert.deepEqual(lines(a, 'warning'), []);
  assert.deepEqual(lines(b, 'warning'), []);
  a.chat.detach('done');
  b.chat.detach('done');
});
