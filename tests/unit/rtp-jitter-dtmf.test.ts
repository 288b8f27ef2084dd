// Jitter buffer (reordering, loss, concealment, adaptation, restart) and RFC 4733 DTMF, without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Concealer, JitterBuffer, type PlayoutItem } from '../../src/rtp/jitter.js';
import { decodeDtmf, DtmfReceiver, dtmfTrain, encodeDtmf } from '../../src/rtp/dtmf.js';
import { RtpParseError } from '../../src/rtp/errors.js';
import { Pacer } from '../../src/rtp/pacer.js';

const pkt = (seq: number) => ({
  seq: seq & 0xffff,
  timestamp: seq * 160,
  pt: 0,
  payload: new Uint8Array([seq & 0xff]),
});
const show = (i: PlayoutItem) => (i.kind === 'packet' ? i.packet.seq : i.kind);

test('jitter buffer: waits for its target, then plays in sequence order whatever the arrival order', () => {
  const jb = new JitterBuffer({ minFrames: 3 });
  jb.push(pkt(65534));
  assert.equal(jb.pop().kind, 'empty');
  jb.push(pkt(0));
  assert.equal(jb.pop().kind, 'empty');
  jb.push(pkt(65535));
  jb.push(pkt(2));
  jb.push(pkt(1));
  const got = [0, 1, 2, 3, 4].map(() => show(jb.pop()));
  assert.deepEqual(got, [65534, 65535, 0, 1, 2]);
});

test('jitter buffer: a hole is reported lost; a packet later than its slot is dropped', () => {
  const jb = new JitterBuffer({ minFrames: 2 });
  for (const s of [10, 11, 13, 14]) jb.push(pkt(s));
  assert.deepEqual(
    [0, 1, 2].map(() => show(jb.pop())),
    [10, 11, 'lost'],
  );
  jb.push(pkt(12)); // too late
  assert.equal(jb.late, 1);
  assert.deepEqual(
    [0, 1].map(() => show(jb.pop())),
    [13, 14],
  );
});

test('jitter buffer: runs dry -> a few concealed frames, then waits and restarts on new packets', () => {
  const jb = new JitterBuffer({ minFrames: 2, maxConcealed: 3 });
  jb.push(pkt(1));
  jb.push(pkt(2));
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map(() => show(jb.pop())),
    [1, 2, 'lost', 'lost', 'lost', 'empty', 'empty'],
  );
  jb.push(pkt(500));
  jb.push(pkt(501));
  assert.equal(show(jb.pop()), 500);
});

test('jitter buffer: target follows jitter; surplus beyond it is dropped to keep latency down', () => {
  const jb = new JitterBuffer({ minFrames: 2, maxFrames: 10 });
  jb.setJitter(0);
  assert.equal(jb.target, 2);
  jb.setJitter(60);
  assert.equal(jb.target, 10);
  jb.setJitter(20);
  assert.equal(jb.target, 4);
  for (let s = 0; s < 20; s++) jb.push(pkt(s));
  for (let i = 0; i < 14; i++) jb.pop();
  assert.ok(jb.size <= jb.target + 3, `size ${jb.size}`);
  assert.ok(jb.dropped > 0);
});

test('concealment repeats the last frame with a fading gain, then silence', () => {
  const c = new Concealer();
  assert.ok(
    c.conceal(4).every((v) => v === 0),
    'nothing heard yet: silence',
  );
  c.good(Int16Array.from([1000, -1000, 1000, -1000]));
  const a = c.conceal(4);
  const b = c.conceal(4);
  assert.ok(Math.abs(a[0]!) < 1000 && Math.abs(a[0]!) > 0 && Math.abs(b[0]!) < Math.abs(a[0]!));
  c.conceal(4);
  c.conceal(4);
  assert.ok(c.conceal(4).every((v) => v === 0));
});

test('DTMF: payload encode/decode; a short payload is an RtpParseError', () => {
  const p = { event: 11, end: true, volume: 10, duration: 4000 };
  assert.deepEqual(encodeDtmf(p), new Uint8Array([11, 0x8a, 0x0f, 0xa0]));
  assert.deepEqual(decodeDtmf(encodeDtmf(p)), p);
  assert.throws(() => decodeDtmf(new Uint8Array(3)), RtpParseError);
});

test('DTMF train: marker first, growing durations on the event clock, three end packets', () => {
  const train = dtmfTrain('#', 960, 5);
  assert.equal(train.length, 8);
  assert.deepEqual(
    train.map((t) => t.marker),
    [true, false, false, false, false, false, false, false],
  );
  assert.deepEqual(
    train.map((t) => decodeDtmf(t.payload).duration),
    [960, 1920, 2880, 3840, 4800, 4800, 4800, 4800],
  );
  assert.deepEqual(
    train.map((t) => decodeDtmf(t.payload).end),
    [false, false, false, false, false, true, true, true],
  );
  assert.ok(train.every((t) => decodeDtmf(t.payload).event === 11));
  assert.throws(() => dtmfTrain('x', 160));
});

test('DTMF receiver: each event reported once, repeated digits as separate events', () => {
  const rx = new DtmfReceiver();
  const got: string[] = [];
  for (const [ts, digit] of [
    [1000, '5'],
    [2000, '5'],
    [3000, 'D'],
  ] as const) {
    for (const t of dtmfTrain(digit, 160)) {
      const d = rx.receive(ts, t.payload);
      if (d) got.push(d);
    }
  }
  assert.deepEqual(got, ['5', '5', 'D']);
});

test('pacer: ticks on an even clock from its start, catches up a late timer without bunching beyond a limit', async () => {
  // the pacer reads a fake monotonic clock; real timers only wake it up, the fake clock decides what is due
  let now = 0;
  const ticks: number[] = [];
  const p = new Pacer(
    20,
    (n) => ticks.push(n),
    3,
    () => now,
  );
  p.begin();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ticks, [0]);
  now = 45; // ticks 1 and 2 are due
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ticks, [0, 1, 2]);
  now = 200; // far behind: 3..10 due; only the last 3 are run, the rest are skipped
  await new Promise((r) => setTimeout(r, 50));
  p.stop();
  assert.deepEqual(ticks, [0, 1, 2, 8, 9, 10]);
  assert.equal(p.skipped, 5);
});

test('pacer: a wake-up up to 1.5 ms before a tick is due runs it (libuv timers count whole ms), not earlier', async () => {
  let now = 0;
  const ticks: number[] = [];
  const p = new Pacer(
    20,
    (n) => ticks.push(n),
    3,
    () => now,
  );
  p.begin();
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(ticks, [0]);
  now = 18; // tick 1 is 2 ms away: not yet
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(ticks, [0]);
  now = 18.7; // 1.3 ms early: run it now rather than wake up again for it
  await new Promise((r) => setTimeout(r, 30));
  p.stop();
  assert.deepEqual(ticks, [0, 1]);
});
