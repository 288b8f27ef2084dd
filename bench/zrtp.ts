// `npm run bench:zrtp`: how long ZRTP takes from media start to the SAS, ours beside linphonec (bzrtp) in the same
// run. Three figures, medians over --runs calls (default 5):
//   1. engine only: two of our engines in one process, no network (the CPU cost: EC25 and DH3k);
//   2. linphonec calls us over loopback: from our first ZRTP packet (media start) to our SAS, and from linphonec's
//      "Media streams established" line to its "auth token" line, as this process sees them;
//   3. linphonec calls linphonec: the same two lines, for bzrtp against itself;
//   4. with ZRTPCPP_DIR (a source build of GNU ZRTP C++, Blink's engine): ZRTPCPP and us started together, and two
//      ZRTPCPP started together (from media start to each SAS).
//   5. real blink-tui processes (the bundle, headless): blink-tui calls blink-tui, and blink-tui calls linphonec,
//      from each blink-tui's `zrtp` "negotiating" event (ZRTP starts with media) to its "secure" event (SAS shown),
//      as this process receives them; linphonec's two lines as in 2.
// Blink (ZRTPCPP) shows its SAS about 0.1 s after media starts (../shared/STACK.md).
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { MemoryZidCache, ZrtpEngine } from '../src/zrtp/index.js';
import { DEFAULT_ALGORITHMS } from '../src/zrtp/algorithms.js';
import { makeEngine, runLink } from '../tests/helpers/zrtp-link.js';
import { Linphonec } from '../tests/helpers/linphonec.js';
import { HeadlessClient, toneCalleeArgs, type Ev } from '../tests/helpers/client.js';
import { RawUdpPeer, buildResponse } from '../tests/helpers/sip-raw.js';
import { ZrtpUdp } from '../tests/helpers/zrtp-udp.js';
import { ZrtpcppPeer, zrtpcppUnavailable } from '../tests/helpers/zrtpcpp.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** Time between a line matching `from` and the next matching `to`, as they reach us. */
function watchLines(lp: Linphonec) {
  const stamps: { at: number; line: string }[] = [];
  let seen = 0;
  const poll = setInterval(() => {
    for (; seen < lp.lines.length; seen++) stamps.push({ at: performance.now(), line: lp.lines[seen]!.text });
  }, 1);
  return {
    stop: () => clearInterval(poll),
    between(from: RegExp, to: RegExp, after = 0): number | undefined {
      const a = stamps.findIndex((s, i) => i >= after && from.test(s.line));
      const b = stamps.findIndex((s, i) => i > a && to.test(s.line));
      return a >= 0 && b >= 0 ? stamps[b]!.at - stamps[a]!.at : undefined;
    },
    count: () => stamps.length,
  };
}

async function engineOnly() {
  for (const ka of ['EC25', 'DH3k'] as const) {
    const times: number[] = [];
    for (let i = 0; i < runs * 4; i++) {
      const alg = { ...DEFAULT_ALGORITHMS, keyAgreement: [ka] };
      const a = makeEngine('a', { algorithms: alg as never }, `bench${i}`);
      const b = makeEngine('b', { algorithms: alg as never }, `bench${i}`);
      const t = performance.now();
      runLink(a, b, { delay: 0 });
      times.push(performance.now() - t);
    }
    console.log(`engine only, ${ka}: both sides, whole exchange: ${fmt(median(times))} (median of ${times.length})`);
  }
}

async function linphonecCallsUs() {
  const lp = await Linphonec.start({ user: 'lp', autoAnswer: false });
  const lines = watchLines(lp);
  const sip = await RawUdpPeer.open();
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const engine = new ZrtpEngine({
        zid: new Uint8Array(randomBytes(12)),
        ssrc: randomBytes(4).readUInt32BE(0),
        cache: new MemoryZidCache(),
      });
      const media = await ZrtpUdp.open(engine);
      const before = sip.received.length;
      const mark = lines.count();
      lp.send(`call sip:us@127.0.0.1:${sip.port}`);
      await sip.waitFor((all) => all.slice(before).some((d) => d.text.startsWith('INVITE ')), 15_000);
      const inv = sip.received.slice(before).find((d) => d.text.startsWith('INVITE '))!;
      const offer = inv.text.slice(inv.text.indexOf('\r\n\r\n') + 4);
      const sdp = [
        'v=0',
        'o=raw 1 1 IN IP4 127.0.0.1',
        's=-',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        `m=audio ${media.port} RTP/AVP 0`,
        'a=rtpmap:0 PCMU/8000',
        `a=zrtp-hash:${engine.helloHash()}`,
        '',
      ].join('\r\n');
      await sip.send(buildResponse(inv.text, 200, 'OK', [`Contact: <sip:us@127.0.0.1:${sip.port}>`], sdp), inv.port);
      media.start(Number(/^m=audio (\d+)/m.exec(offer)?.[1]), 1234);
      await media.waitSecure(15_000);
      await lp.waitLine(/auth token is/i, 15_000, mark);
      for (let k = 0; k < 100 && lines.between(/Media streams established/, /auth token/, mark) === undefined; k++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      ours.push(media.secureAfter!);
      const t = lines.between(/Media streams established/, /auth token/, mark);
      if (t !== undefined) theirs.push(t);
      lp.send('terminate');
      await new Promise((r) => setTimeout(r, 300));
      await media.close();
    }
  } finally {
    lines.stop();
    await sip.close();
    await lp.stop();
  }
  console.log(
    `linphonec calls blink-tui: our SAS ${fmt(median(ours))} after our media start; linphonec's SAS ${fmt(median(theirs))} after its "Media streams established" (medians of ${ours.length} calls)`,
  );
}

async function linphonecCallsLinphonec() {
  const calleePort = await freePort();
  const callee = await Linphonec.start({ user: 'b', sipPort: calleePort });
  const caller = await Linphonec.start({ user: 'a', autoAnswer: false });
  const lines = watchLines(caller);
  const times: number[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < runs; i++) {
      const mark = lines.count();
      caller.send(`call sip:b@127.0.0.1:${calleePort}`);
      for (let k = 0; k < 1000 && lines.between(/Media streams established/, /auth token/, mark) === undefined; k++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const t = lines.between(/Media streams established/, /auth token/, mark);
      if (t !== undefined) times.push(t);
      caller.send('terminate');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    lines.stop();
    await caller.stop();
    await callee.stop();
  }
  console.log(
    `linphonec calls linphonec: caller's SAS ${fmt(median(times))} after its "Media streams established" (median of ${times.length} calls)`,
  );
}

/** ms from each `zrtp` negotiating event to the secure one of the same session, as they reach us. */
function zrtpTimer(c: HeadlessClient) {
  const start = new Map<string, number>();
  const took: number[] = [];
  c.onEvent((e: Ev) => {
    if (e.ev !== 'zrtp') return;
    const id = String(e.session);
    if (e.state === 'negotiating') start.set(id, performance.now());
    else if (e.state === 'secure' && start.has(id)) took.push(performance.now() - start.get(id)!);
  });
  return took;
}

async function client(user: string): Promise<{ c: HeadlessClient; uri: string }> {
  const port = await freePort();
  const c = await HeadlessClient.start({
    args: toneCalleeArgs(user, port),
    env: { BLINK_TUI_REHEARSAL: '0' },
  });
  return { c, uri: `sip:${user}@127.0.0.1:${port}` };
}

async function blinkTuiCalls() {
  const a = await client('alice');
  const b = await client('bob');
  const ta = zrtpTimer(a.c);
  const tb = zrtpTimer(b.c);
  b.c.onEvent((e) => {
    if (e.ev === 'incoming') b.c.send({ cmd: 'accept', session: e.session });
  });
  try {
    for (let i = 0; i < runs; i++) {
      const mark = a.c.events.length;
      const bmark = b.c.events.length;
      a.c.send({ cmd: 'call', to: b.uri });
      const z = await a.c.waitFor((e) => e.ev === 'zrtp' && e.state === 'secure', 20_000, mark);
      await b.c.waitFor((e) => e.ev === 'zrtp' && e.state === 'secure', 20_000, bmark);
      a.c.send({ cmd: 'hangup', session: z.session });
      await a.c.waitFor((e) => e.ev === 'session' && e.session === z.session && e.state === 'ended', 15_000);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await a.c.quit();
    await b.c.quit();
  }
  console.log(
    `blink-tui calls blink-tui: caller's SAS ${fmt(median(ta))}, callee's ${fmt(median(tb))} after each one's media start (medians of ${ta.length})`,
  );
  const us = await client('carol');
  const tu = zrtpTimer(us.c);
  const lp = await Linphonec.start({ user: 'lp' });
  const lines = watchLines(lp);
  const theirs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const mark = us.c.events.length;
      const lmark = lines.count();
      us.c.send({ cmd: 'call', to: lp.contact });
      const z = await us.c.waitFor((e) => e.ev === 'zrtp' && e.state === 'secure', 20_000, mark);
      for (let k = 0; k < 300 && lines.between(/Media streams established/, /auth token/, lmark) === undefined; k++)
        await new Promise((r) => setTimeout(r, 10));
      const t = lines.between(/Media streams established/, /auth token/, lmark);
      if (t !== undefined) theirs.push(t);
      us.c.send({ cmd: 'hangup', session: z.session });
      await us.c.waitFor((e) => e.ev === 'session' && e.session === z.session && e.state === 'ended', 15_000);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    lines.stop();
    await us.c.quit();
    await lp.stop();
  }
  console.log(
    `blink-tui calls linphonec: our SAS ${fmt(median(tu))} after our media start; linphonec's ${fmt(median(theirs))} after its "Media streams established" (medians of ${tu.length})`,
  );
}

/** ZRTPCPP (Blink's engine) beside us and beside itself, when a source build is available (ZRTPCPP_DIR). */
async function withZrtpcpp() {
  const why = zrtpcppUnavailable();
  if (why) {
    console.log(`ZRTPCPP rows not measured: ${why}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'zrtpcpp-bench-'));
  const ours: number[] = [];
  const theirs: number[] = [];
  const pair: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const engine = new ZrtpEngine({
        zid: new Uint8Array(randomBytes(12)),
        ssrc: randomBytes(4).readUInt32BE(0),
        cache: new MemoryZidCache(),
      });
      const media = await ZrtpUdp.open(engine);
      const peerPort = await freePort();
      const peer = ZrtpcppPeer.spawn(peerPort, media.port, join(dir, `zid-${i}.dat`));
      await peer.waitLine(/^READY/);
      const t0 = peer.start();
      media.start(peerPort, 1);
      await media.waitSecure(15_000);
      ours.push(media.secureAfter!);
      theirs.push((await peer.waitLine(/^SECURE /)).at - t0);
      peer.kill();
      await media.close();
      const pa = await freePort();
      const pb = await freePort();
      const a = ZrtpcppPeer.spawn(pa, pb, join(dir, `a-${i}.dat`));
      const b = ZrtpcppPeer.spawn(pb, pa, join(dir, `b-${i}.dat`));
      await a.waitLine(/^READY/);
      await b.waitLine(/^READY/);
      const t1 = a.start();
      b.start();
      pair.push((await a.waitLine(/^SECURE /)).at - t1);
      a.kill();
      b.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `ZRTPCPP and blink-tui start together: our SAS ${fmt(median(ours))}, ZRTPCPP's ${fmt(median(theirs))} (medians of ${ours.length})`,
  );
  console.log(`ZRTPCPP and ZRTPCPP start together: SAS after ${fmt(median(pair))} (median of ${pair.length})`);
}

await engineOnly();
await linphonecCallsUs();
await linphonecCallsLinphonec();
await blinkTuiCalls();
await withZrtpcpp();
