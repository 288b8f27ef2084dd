// The session machine of src/chat/lifecycle.ts on its own: every legal move, every illegal one, streams as data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SESSION_TRANSITIONS,
  STREAM_TRANSITIONS,
  SessionLifecycle,
  SessionStateError,
  viewStateOf,
  type SessionPhase,
  type SessionStream,
  type StreamState,
} from '../../src/chat/lifecycle.js';

const PHASES: SessionPhase[] = ['incoming', 'connecting', 'active', 'ending', 'ended'];

/** A lifecycle brought to `phase` by legal moves only. */
function at(phase: SessionPhase, observer = {}): SessionLifecycle {
  const path: Record<SessionPhase, SessionPhase[]> = {
    incoming: [],
    connecting: ['connecting'],
    active: ['connecting', 'active'],
    ending: ['ending'],
    ended: ['ending', 'ended'],
  };
  const life = new SessionLifecycle('s1', 'incoming', observer);
  for (const p of path[phase]) life.transition(p);
  assert.equal(life.phase, phase);
  return life;
}

test('the table: each phase but ended may end; nothing leaves ended; no phase moves to itself', () => {
  for (const p of PHASES) {
    assert.equal(SESSION_TRANSITIONS[p].includes(p), false, p);
    if (p !== 'ending' && p !== 'ended') assert.ok(SESSION_TRANSITIONS[p].includes('ending'), p);
  }
  assert.deepEqual(SESSION_TRANSITIONS.ended, []);
  assert.deepEqual(SESSION_TRANSITIONS.ending, ['ended']);
});

test('outgoing: connecting -> active -> ending -> ended, observed in order with the reason', () => {
  const seen: string[] = [];
  const life = new SessionLifecycle('s1', 'connecting', {
    onTransition: (f, t, r) => seen.push(`${f}>${t}${r ? `:${r}` : ''}`),
  });
  life.transition('active');
  assert.equal(life.isEnding, false);
  life.transition('ending', 'ended by bob');
  assert.equal(life.isEnding, true);
  assert.equal(life.reason, 'ended by bob');
  life.transition('ended');
  assert.deepEqual(seen, ['connecting>active', 'active>ending:ended by bob', 'ending>ended']);
  assert.equal(life.reason, 'ended by bob');
});

test('incoming: accepted (-> connecting) or rejected (-> ending)', () => {
  const a = new SessionLifecycle('a', 'incoming');
  a.transition('connecting');
  a.transition('active');
  const r = new SessionLifecycle('r', 'incoming');
  r.transition('ending', 'rejected');
  r.transition('ended');
  assert.equal(r.phase, 'ended');
});

test('every move not in the table throws SessionStateError, is logged, and changes nothing', () => {
  let illegal = 0;
  for (const from of PHASES) {
    for (const to of PHASES) {
      const logged: string[] = [];
      const moved: string[] = [];
      const life = at(from, {
        log: (m: string) => logged.push(m),
        onTransition: (_f: SessionPhase, t: SessionPhase) => moved.push(t),
      });
      moved.length = 0;
      if (SESSION_TRANSITIONS[from].includes(to)) {
        assert.equal(life.can(to), true);
        life.transition(to);
        assert.equal(life.phase, to);
        assert.deepEqual(moved, [to]);
        continue;
      }
      illegal++;
      assert.equal(life.can(to), false);
      assert.throws(
        () => life.transition(to),
        (e: unknown) =>
          e instanceof SessionStateError &&
          e.from === from &&
          e.to === to &&
          e.session === 's1' &&
          e.what === 'session',
        `${from} -> ${to}`,
      );
      assert.equal(life.phase, from);
      assert.deepEqual(moved, []);
      assert.deepEqual(logged, [`session s1: illegal session transition ${from} -> ${to}`]);
    }
  }
  // 25 pairs, 6 legal moves (incoming 2, connecting 2, active 1, ending 1).
  assert.equal(illegal, 25 - 6);
});

test('front ends see an ending session as ended; the other phases as they are', () => {
  assert.equal(viewStateOf('incoming'), 'incoming');
  assert.equal(viewStateOf('connecting'), 'connecting');
  assert.equal(viewStateOf('active'), 'active');
  assert.equal(viewStateOf('ending'), 'ended');
  assert.equal(viewStateOf('ended'), 'ended');
});

interface TestStream extends SessionStream<'chat'> {
  label: string;
}

test('streams are data of the session: one per kind, none added once it ends, each with its own machine', () => {
  const life = new SessionLifecycle<TestStream>('s2', 'connecting');
  assert.equal(life.stream('chat'), undefined);
  life.addStream({ kind: 'chat', state: 'negotiating', label: 'msrp' });
  assert.equal(life.stream('chat')?.label, 'msrp');
  assert.throws(() => life.addStream({ kind: 'chat', state: 'negotiating', label: 'again' }), SessionStateError);
  life.transition('active');
  life.streamTransition('chat', 'open');
  assert.equal(life.stream('chat')?.state, 'open');
  assert.throws(() => life.streamTransition('chat', 'negotiating'), SessionStateError);
  life.streamTransition('chat', 'closed');
  assert.throws(() => life.streamTransition('chat', 'open'), SessionStateError);
  assert.equal(life.removeStream('chat')?.label, 'msrp');
  assert.deepEqual(life.streams, []);
  assert.throws(() => life.streamTransition('chat', 'closed'), SessionStateError);
  life.transition('ending', 'hang-up');
  assert.throws(() => life.addStream({ kind: 'chat', state: 'negotiating', label: 'late' }), SessionStateError);
});

test('stream table: negotiating -> open | closed, open -> closed, closed is final', () => {
  const all: StreamState[] = ['negotiating', 'open', 'closed'];
  for (const from of all) {
    for (const to of all) {
      const life = new SessionLifecycle<TestStream>('s3', 'connecting');
      life.addStream({ kind: 'chat', state: from, label: '' });
      if (STREAM_TRANSITIONS[from].includes(to)) {
        life.streamTransition('chat', to);
        assert.equal(life.stream('chat')?.state, to);
      } else {
        assert.throws(() => life.streamTransition('chat', to), SessionStateError, `${from} -> ${to}`);
        assert.equal(life.stream('chat')?.state, from);
      }
    }
  }
  assert.deepEqual(STREAM_TRANSITIONS.closed, []);
});
