// The check from the call (src/chat/call-verification.ts) as a machine on a fake clock: every rule of the policy
// (Blink's start and retry rule, our answer-only-when-confirmed, decline then start ourselves, calls and OTR
// sessions that end or refresh mid-run, conferences), with the actions it asks for and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CALL_SMP_LOWER_DELAY_MS,
  CALL_SMP_MAX_RETRIES,
  CALL_SMP_QUESTION,
  CALL_SMP_RETRY_BASE_MS,
  CallVerification,
  type CallVerificationAction,
} from '../../src/chat/call-verification.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { Timer } from '../../src/chat/session.js';

const LOW = 'A'.repeat(40);
const HIGH = 'F'.repeat(39) + '0';
const SAS = 'zqze';

type Logged = CallVerificationAction & { at: number };

/** One machine with its timer on a fake clock; `busy` is what the OTR engine would say when the timer fires. */
function harness(ourFp: string, theirFp: string, conference = false) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const m = new CallVerification({ peer: 'bob', conference });
  const log: Logged[] = [];
  let timer: Timer | null = null;
  const h = {
    m,
    clock,
    log,
    busy: false,
    ourFp,
    theirFp,
    run(actions: CallVerificationAction[]): CallVerificationAction[] {
      for (const a of actions) {
        log.push({ ...a, at: clock.now() - t0 });
        if (a.type === 'armTimer') {
          if (timer) clock.clearTimeout(timer);
          timer = clock.setTimeout(() => {
            timer = null;
            h.run(m.timerFired(h.busy));
          }, a.ms);
        } else if (a.type === 'cancelTimer' && timer) {
          clock.clearTimeout(timer);
          timer = null;
        }
      }
      return actions;
    },
    encrypted() {
      return h.run(m.otrEncrypted(ourFp, theirFp));
    },
    starts(): Extract<Logged, { type: 'startSmp' }>[] {
      return h.of('startSmp');
    },
    of<T extends CallVerificationAction['type']>(type: T): Extract<Logged, { type: T }>[] {
      return log.filter((a) => a.type === type) as Extract<Logged, { type: T }>[];
    },
    get timerPending(): boolean {
      return timer !== null;
    },
  };
  return h;
}

test('Blink start rule: the greater fingerprint starts at once, the lower one after 1 s, with the exact question and the SAS as secret', () => {
  for (const [ours, theirs, wait] of [
    [HIGH, LOW, 0],
    [LOW, HIGH, CALL_SMP_LOWER_DELAY_MS],
  ] as const) {
    const h = harness(ours, theirs);
    h.encrypted();
    h.run(h.m.sasAvailable(SAS, false));
    h.run(h.m.sasConfirmed());
    h.clock.advance(wait > 0 ? wait - 1 : 0);
    assert.equal(h.starts().length, wait > 0 ? 0 : 1, 'not before its time');
    h.clock.advance(1);
    assert.deepEqual(
      h.starts().map(({ question, secret, at }) => ({ question, secret, at })),
      [{ question: CALL_SMP_QUESTION, secret: SAS, at: wait }],
    );
    assert.equal(
      Buffer.from(CALL_SMP_QUESTION, 'utf8').toString('hex'),
      Buffer.from('What is the ZRTP authentication string?').toString('hex'),
    );
    assert.ok(h.m.currentFromCall);
  }
});

test('nothing starts until OUR user confirmed the SAS and OTR is encrypted, in whatever order they come', () => {
  const orders: ((h: ReturnType<typeof harness>) => void)[][] = [
    [(h) => h.encrypted(), (h) => h.run(h.m.sasAvailable(SAS, false)), (h) => h.run(h.m.sasConfirmed())],
    [(h) => h.run(h.m.sasAvailable(SAS, false)), (h) => h.run(h.m.sasConfirmed()), (h) => h.encrypted()],
    [(h) => h.run(h.m.sasAvailable(SAS, false)), (h) => h.encrypted(), (h) => h.run(h.m.sasConfirmed())],
  ];
  for (const steps of orders) {
    const h = harness(HIGH, LOW);
    steps.forEach((step, i) => {
      step(h);
      h.clock.advance(10_000);
      assert.equal(h.starts().length, i === steps.length - 1 ? 1 : 0, `after step ${i}`);
    });
  }
  // A confirm before any SAS means nothing.
  const h = harness(HIGH, LOW);
  h.encrypted();
  assert.deepEqual(h.run(h.m.sasConfirmed()), []);
  h.clock.advance(10_000);
  assert.equal(h.starts().length, 0);
});

test('a SAS already verified in the ZRTP cache starts the SMP as soon as it arrives (Blink), on both sides by the rule', () => {
  const hi = harness(HIGH, LOW);
  const lo = harness(LOW, HIGH);
  for (const h of [hi, lo]) {
    h.encrypted();
    h.run(h.m.sasAvailable(SAS, true));
  }
  hi.clock.advance(0);
  lo.clock.advance(0);
  assert.equal(hi.starts().length, 1);
  assert.equal(lo.starts().length, 0);
  lo.clock.advance(CALL_SMP_LOWER_DELAY_MS);
  assert.equal(lo.starts().length, 1);
});

test('an SMP under way when our turn comes is a collision: up to 5 retries, the delay doubling, then a line and no more', () => {
  for (const [ours, theirs, offset] of [
    [HIGH, LOW, 0],
    [LOW, HIGH, CALL_SMP_LOWER_DELAY_MS],
  ] as const) {
    const h = harness(ours, theirs);
    h.busy = true;
    h.encrypted();
    h.run(h.m.sasAvailable(SAS, true));
    h.clock.advance(200_000);
    const arms = h.of('armTimer').map((a) => a.ms);
    const first = ours > theirs ? 0 : CALL_SMP_LOWER_DELAY_MS;
    const expected = [first];
    for (let k = 0; k < CALL_SMP_MAX_RETRIES; k++) expected.push(CALL_SMP_RETRY_BASE_MS * 2 ** k + offset);
    assert.deepEqual(arms, expected);
    assert.equal(h.starts().length, 0);
    const lines = h.of('systemLine');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.text, /could not run.*5 tries/);
    assert.equal(h.m.ownState, 'gaveup');
    // Confirming again tries again.
    h.busy = false;
    h.run(h.m.sasConfirmed());
    h.clock.advance(5_000);
    assert.equal(h.starts().length, 1);
  }
});

test('a collision that clears: the retry after it starts the SMP', () => {
  const h = harness(LOW, HIGH);
  h.busy = true;
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  h.clock.advance(CALL_SMP_LOWER_DELAY_MS);
  h.busy = false;
  h.clock.advance(CALL_SMP_RETRY_BASE_MS + CALL_SMP_LOWER_DELAY_MS);
  assert.deepEqual(
    h.starts().map((a) => a.at),
    [CALL_SMP_LOWER_DELAY_MS + CALL_SMP_RETRY_BASE_MS + CALL_SMP_LOWER_DELAY_MS],
  );
});

test('both sides start at once (SMP1s cross, each aborts the other): both retry, the greater one first, and they do not cross again', () => {
  const hi = harness(HIGH, LOW);
  const lo = harness(LOW, HIGH);
  // The lower side confirmed first and waits its 1 s; the greater one confirms right then: both start together.
  lo.encrypted();
  lo.run(lo.m.sasAvailable(SAS, false));
  lo.run(lo.m.sasConfirmed());
  hi.encrypted();
  hi.run(hi.m.sasAvailable(SAS, false));
  lo.clock.advance(CALL_SMP_LOWER_DELAY_MS);
  hi.clock.advance(CALL_SMP_LOWER_DELAY_MS);
  hi.run(hi.m.sasConfirmed());
  hi.clock.advance(0);
  assert.equal(hi.starts().length, 1);
  assert.equal(lo.starts().length, 1);
  for (const h of [hi, lo]) h.run(h.m.smpResult('aborted', 'crossed'));
  const hiRetry = hi.of('armTimer').at(-1)!.ms;
  const loRetry = lo.of('armTimer').at(-1)!.ms;
  assert.ok(hiRetry < loRetry, `greater side retries first (${hiRetry} < ${loRetry})`);
  // The greater side's retry starts; the lower one then finds an SMP under way (it answers the greater one's).
  hi.clock.advance(hiRetry);
  assert.equal(hi.starts().length, 2);
  lo.run(lo.m.smpAsked(CALL_SMP_QUESTION));
  assert.deepEqual(
    lo.of('respondSmp').map((a) => a.secret),
    [SAS],
  );
  lo.busy = true;
  lo.clock.advance(loRetry);
  assert.equal(lo.starts().length, 1, 'the lower side waits for the run under way');
  // The greater side's run ends; the lower side's next retry runs its own.
  hi.run(hi.m.smpResult('success'));
  lo.run(lo.m.smpResult('success'));
  lo.busy = false;
  lo.clock.advance(10_000);
  assert.equal(lo.starts().length, 2);
  assert.equal(hi.of('markVerified').length, 1);
});

test('the peer asks the call question: answered with the SAS only when our user confirmed it', () => {
  const h = harness(LOW, HIGH);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, false));
  h.run(h.m.sasConfirmed());
  assert.ok(h.m.claims(CALL_SMP_QUESTION));
  h.run(h.m.smpAsked(CALL_SMP_QUESTION));
  assert.deepEqual(
    h.of('respondSmp').map((a) => a.secret),
    [SAS],
  );
  assert.ok(h.m.currentFromCall);
  assert.equal(h.of('declineSmp').length, 0);
  // Answering proves us to them, not them to us: no markVerified for it.
  h.run(h.m.smpResult('success'));
  assert.equal(h.of('markVerified').length, 0);
  assert.match(h.of('systemLine').at(-1)!.text, /you answered bob's check from the call/);
});

test('unconfirmed: the peer (Blink) is declined with an explanation; when our user confirms later we start it at once ourselves', () => {
  const h = harness(LOW, HIGH);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, false));
  h.run(h.m.smpAsked(CALL_SMP_QUESTION));
  const [decline] = h.of('declineSmp');
  assert.ok(decline, 'declined');
  assert.match(decline.explanation, /only after I compare the authentication string/);
  assert.equal(h.of('respondSmp').length, 0);
  assert.equal(h.m.currentFromCall, false, 'nothing of the call is under way after a decline');
  h.clock.advance(60_000);
  assert.equal(h.starts().length, 0, 'nothing starts while unconfirmed');
  h.clock.advance(5_000);
  h.run(h.m.sasConfirmed());
  h.clock.advance(0);
  // Lower fingerprint, yet at once: Blink will not ask again after a decline.
  assert.equal(h.starts().length, 1);
  assert.equal(h.starts()[0]!.at, 65_000);
  h.run(h.m.smpResult('success'));
  assert.equal(h.of('markVerified').length, 1);
});

test('a rejected SAS: the peer is declined saying so, and a run of ours under way is aborted', () => {
  const h = harness(HIGH, LOW);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  h.clock.advance(0);
  assert.equal(h.starts().length, 1);
  h.run(h.m.sasRejected());
  assert.equal(h.of('abortSmp').length, 1);
  h.run(h.m.smpAsked(CALL_SMP_QUESTION));
  assert.match(h.of('declineSmp')[0]!.explanation, /did not match/);
  h.clock.advance(60_000);
  assert.equal(h.starts().length, 1, 'no new start after a rejection');
});

test('a user-typed SMP with another question during the call is not aborted (unlike Blink), and ours waits for it', () => {
  const h = harness(LOW, HIGH);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  // The peer (another blink-tui) asks its own question before our 1 s are up.
  assert.equal(h.m.claims('Where did we meet?'), false);
  assert.deepEqual(h.run(h.m.smpAsked('Where did we meet?')), []);
  assert.equal(h.m.currentFromCall, false);
  h.busy = true;
  h.clock.advance(CALL_SMP_LOWER_DELAY_MS);
  assert.equal(h.starts().length, 0);
  assert.equal(h.of('abortSmp').length + h.of('declineSmp').length, 0, 'never aborted');
  assert.deepEqual(h.run(h.m.smpResult('success')), [], 'its result is not the call’s: no markVerified');
  h.busy = false;
  h.clock.advance(10_000);
  assert.equal(h.starts().length, 1);
  // Our user types one while ours runs: ours goes again after it.
  h.run(h.m.userSmp('start'));
  assert.equal(h.m.currentFromCall, false);
  h.busy = true;
  h.clock.advance(CALL_SMP_RETRY_BASE_MS * 2 + CALL_SMP_LOWER_DELAY_MS);
  h.run(h.m.smpResult('success'));
  assert.equal(h.of('markVerified').length, 0);
  h.busy = false;
  h.clock.advance(60_000);
  assert.equal(h.starts().length, 2);
  h.run(h.m.userSmp('abort'));
  assert.equal(h.m.ownState, 'stopped');
  h.clock.advance(60_000);
  assert.equal(h.starts().length, 2, 'the user aborted it: not started again');
});

test('success marks the peer `smp` from the call; failure is a red alarm and is not retried', () => {
  const ok = harness(HIGH, LOW);
  ok.encrypted();
  ok.run(ok.m.sasAvailable(SAS, true));
  ok.clock.advance(0);
  ok.run(ok.m.smpResult('success'));
  assert.deepEqual(
    ok.of('markVerified').map(({ trust, fromCall }) => ({ trust, fromCall })),
    [{ trust: 'smp', fromCall: true }],
  );
  assert.match(ok.of('systemLine')[0]!.text, /verified from the call/);
  const bad = harness(HIGH, LOW);
  bad.encrypted();
  bad.run(bad.m.sasAvailable(SAS, true));
  bad.clock.advance(0);
  bad.run(bad.m.smpResult('failure'));
  const [alarm] = bad.of('systemLine');
  assert.equal(alarm?.level, 'warning');
  assert.equal(alarm?.alarm, true);
  assert.match(alarm!.text, /SAS.*or the OTR key.*not what bob sees/);
  bad.clock.advance(60_000);
  assert.equal(bad.starts().length, 1);
  // The peer's own check failing (we answered) is the same alarm.
  const ans = harness(LOW, HIGH);
  ans.encrypted();
  ans.run(ans.m.sasAvailable(SAS, true));
  ans.run(ans.m.smpAsked(CALL_SMP_QUESTION));
  ans.run(ans.m.smpResult('failure'));
  assert.equal(ans.of('systemLine').at(-1)!.alarm, true);
});

test('the call ends mid-SMP: the run finishes and counts; nothing new starts and no retry fires', () => {
  const h = harness(HIGH, LOW);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  h.clock.advance(0);
  h.run(h.m.callEnded());
  h.run(h.m.smpResult('success'));
  assert.equal(h.of('markVerified').length, 1);
  const h2 = harness(LOW, HIGH);
  h2.encrypted();
  h2.busy = true;
  h2.run(h2.m.sasAvailable(SAS, true));
  h2.clock.advance(CALL_SMP_LOWER_DELAY_MS); // collision: a retry is armed
  assert.ok(h2.timerPending);
  h2.run(h2.m.callEnded());
  assert.equal(h2.timerPending, false);
  h2.busy = false;
  h2.clock.advance(120_000);
  assert.equal(h2.starts().length, 0);
  // After the call the question is the user's to answer.
  assert.equal(h2.m.claims(CALL_SMP_QUESTION), false);
  assert.deepEqual(h2.run(h2.m.smpAsked(CALL_SMP_QUESTION)), []);
});

test('the peer asks before our SAS is known: answered or declined when it is, declined if the call ends first', () => {
  for (const [verified, expect] of [
    [true, 'respondSmp'],
    [false, 'declineSmp'],
  ] as const) {
    const h = harness(LOW, HIGH);
    h.encrypted();
    h.run(h.m.smpAsked(CALL_SMP_QUESTION));
    assert.equal(h.of('respondSmp').length + h.of('declineSmp').length, 0);
    h.run(h.m.sasAvailable(SAS, verified));
    assert.equal(h.of(expect).length, 1);
  }
  const h = harness(LOW, HIGH);
  h.encrypted();
  h.run(h.m.smpAsked(CALL_SMP_QUESTION));
  h.run(h.m.callEnded());
  assert.match(h.of('declineSmp')[0]!.explanation, /call ended/);
});

test('OTR refreshed mid-SMP: the run starts over on the new session; a new key is checked again; OTR ended stops it', () => {
  const h = harness(HIGH, LOW);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  h.clock.advance(0);
  h.run(h.m.smpResult('aborted', 'rekey'));
  h.encrypted();
  h.clock.advance(0);
  assert.equal(h.starts().length, 2);
  h.run(h.m.smpResult('success'));
  // Refreshed again, same key: proven already, nothing runs.
  h.encrypted();
  h.clock.advance(10_000);
  assert.equal(h.starts().length, 2);
  // A new key: checked again.
  h.run(h.m.otrEncrypted(HIGH, 'B'.repeat(40)));
  h.clock.advance(10_000);
  assert.equal(h.starts().length, 3);
  // OTR ends before a scheduled start: nothing runs until it is encrypted again.
  const g = harness(LOW, HIGH);
  g.encrypted();
  g.run(g.m.sasAvailable(SAS, true));
  g.run(g.m.otrEnded());
  g.clock.advance(10_000);
  assert.equal(g.starts().length, 0);
  g.encrypted();
  g.clock.advance(CALL_SMP_LOWER_DELAY_MS);
  assert.equal(g.starts().length, 1);
});

test('the peer declined ours: no retry; when it later asks the call question and we answer, ours runs right after', () => {
  const h = harness(HIGH, LOW);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  h.clock.advance(0);
  h.run(h.m.smpResult('aborted', 'peer'));
  assert.equal(h.m.ownState, 'declined');
  h.clock.advance(120_000);
  assert.equal(h.starts().length, 1, 'no retry after a decline');
  h.run(h.m.smpAsked(CALL_SMP_QUESTION));
  assert.equal(h.of('respondSmp').length, 1);
  h.run(h.m.smpResult('success'));
  h.clock.advance(0);
  assert.equal(h.starts().length, 2);
});

test('never with a conference (isfocus): no action for any input', () => {
  const h = harness(HIGH, LOW, true);
  h.encrypted();
  h.run(h.m.sasAvailable(SAS, true));
  h.run(h.m.sasConfirmed());
  h.run(h.m.smpAsked(CALL_SMP_QUESTION));
  h.run(h.m.smpResult('success'));
  h.run(h.m.callEnded());
  h.clock.advance(60_000);
  assert.deepEqual(h.log, []);
  assert.equal(h.m.claims(CALL_SMP_QUESTION), false);
});
