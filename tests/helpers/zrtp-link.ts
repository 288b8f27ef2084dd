// Two ZRTP engines joined by an in-memory link on a fake clock: loss, duplication, reordering and delay decided
// by a seeded generator, so a failing run can be replayed from its seed.
import { createHash } from 'node:crypto';
import { MemoryZidCache, ZrtpEngine, type ZrtpEngineOptions, type ZrtpEvent } from '../../src/zrtp/index.js';

/** Deterministic bytes from a seed (SHA-256 in counter mode). */
export function seededRandom(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (pool.length === 0) pool = new Uint8Array(createHash('sha256').update(`${seed}/${counter++}`).digest());
      const take = Math.min(pool.length, n - o);
      out.set(pool.subarray(0, take), o);
      pool = pool.subarray(take);
      o += take;
    }
    return out;
  };
}

/** A number in [0, 1) from a byte source. */
export function unit(rand: (n: number) => Uint8Array): number {
  return new DataView(rand(4).buffer).getUint32(0) / 2 ** 32;
}

export interface LinkOptions {
  loss?: number;
  duplicate?: number;
  /** Extra random delay (ms) per packet, which reorders packets. */
  jitter?: number;
  delay?: number;
  seed?: string;
  /** Stop after this much fake time. */
  until?: number;
  /** Rewrites or drops (null) a packet in flight: for hostile tests. */
  tamper?: (from: 'a' | 'b', packet: Uint8Array) => Uint8Array | null;
}

export interface Side {
  engine: ZrtpEngine;
  events: ZrtpEvent[];
  sent: Uint8Array[];
}

export function makeEngine(name: string, extra: Partial<ZrtpEngineOptions> = {}, seed = 'x'): ZrtpEngine {
  const random = seededRandom(`${seed}/${name}`);
  return new ZrtpEngine({
    zid: extra.zid ?? random(12),
    ssrc: extra.ssrc ?? new DataView(random(4).buffer).getUint32(0),
    cache: extra.cache ?? new MemoryZidCache(),
    random,
    wallClock: () => 1_700_000_000_000,
    ...extra,
  });
}

/** Runs both engines (both start at time 0) until both are secure or failed, or `until` passes. */
export function runLink(a: ZrtpEngine, b: ZrtpEngine, o: LinkOptions = {}): { a: Side; b: Side; time: number } {
  const rand = seededRandom(`link/${o.seed ?? ''}`);
  const sides = { a: { engine: a, events: [], sent: [] } as Side, b: { engine: b, events: [], sent: [] } as Side };
  const queue: { at: number; to: 'a' | 'b'; packet: Uint8Array; n: number }[] = [];
  let n = 0;
  let time = 0;
  const until = o.until ?? 60_000;
  const handle = (from: 'a' | 'b', evs: ZrtpEvent[]) => {
    const to = from === 'a' ? 'b' : 'a';
    for (const e of evs) {
      sides[from].events.push(e);
      if (e.type !== 'send') continue;
      sides[from].sent.push(e.packet);
      let packet: Uint8Array | null = e.packet;
      if (o.tamper) packet = o.tamper(from, packet);
      if (!packet) continue;
      if (o.loss && unit(rand) < o.loss) continue;
      const copies = o.duplicate && unit(rand) < o.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const at = time + (o.delay ?? 1) + (o.jitter ? unit(rand) * o.jitter : 0);
        queue.push({ at, to, packet, n: n++ });
      }
    }
  };
  handle('a', a.start(0));
  handle('b', b.start(0));
  const done = (e: ZrtpEngine) => e.state === 'secure' || e.state === 'failed';
  while (time <= until) {
    if (done(a) && done(b) && queue.length === 0) break;
    queue.sort((x, y) => x.at - y.at || x.n - y.n);
    const next = queue[0];
    const ta = a.nextTimeout() ?? Infinity;
    const tb = b.nextTimeout() ?? Infinity;
    const t = Math.min(next?.at ?? Infinity, ta, tb);
    if (t === Infinity) break;
    time = t;
    if (next && next.at === t) {
      queue.shift();
      handle(next.to, sides[next.to].engine.receive(next.packet, time));
    } else if (ta === t) handle('a', a.tick(time));
    else handle('b', b.tick(time));
  }
  return { ...sides, time };
}

export function secureOf(s: Side) {
  const e = s.events.find((x) => x.type === 'secure');
  return e && e.type === 'secure' ? e.info : undefined;
}
