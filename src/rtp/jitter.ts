// Adaptive jitter buffer: orders packets by sequence number, holds them for a target delay that follows the
// measured interarrival jitter, and tells the playout clock for each frame whether it has the packet, must
// conceal a loss, or has nothing (before start and after a long gap). Pure: no timers; the stream pulls once per
// frame. Concealment of what it reports lost is done by the caller (repeat and fade, see Concealer).

export interface BufferedPacket {
  seq: number;
  timestamp: number;
  pt: number;
  payload: Uint8Array;
}

export type PlayoutItem = { kind: 'packet'; packet: BufferedPacket } | { kind: 'lost' } | { kind: 'empty' };

const seqDiff = (a: number, b: number): number => ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;

export interface JitterOptions {
  /** Frame length in ms (the playout clock's period). */
  frameMs?: number;
  minFrames?: number;
  maxFrames?: number;
  /** Consecutive losses concealed after the buffer runs dry before playout waits for packets again. */
  maxConcealed?: number;
}

export class JitterBuffer {
  private readonly packets = new Map<number, BufferedPacket>();
  private next: number | null = null; // sequence number to play next; null = waiting to (re)start
  private dry = 0;
  private readonly frameMs: number;
  private readonly minFrames: number;
  private readonly maxFrames: number;
  private readonly maxConcealed: number;
  /** Target depth in frames, adapted from the jitter the caller reports. */
  target: number;
  late = 0;
  dropped = 0;

  constructor(o: JitterOptions = {}) {
    this.frameMs = o.frameMs ?? 20;
    this.minFrames = o.minFrames ?? 2;
    this.maxFrames = o.maxFrames ?? 15;
    this.maxConcealed = o.maxConcealed ?? 5;
    this.target = this.minFrames;
  }

  /** Adapts the target to a jitter estimate (ms): about three jitters of cushion plus one frame. */
  setJitter(jitterMs: number): void {
    const want = Math.ceil((3 * jitterMs) / this.frameMs) + 1;
    this.target = Math.max(this.minFrames, Math.min(this.maxFrames, want));
  }

  get size(): number {
    return this.packets.size;
  }

  push(p: BufferedPacket): void {
    if (this.next !== null && seqDiff(p.seq, this.next) < 0) {
      this.late++;
      return;
    }
    if (this.packets.size >= this.maxFrames * 4) {
      // a flood: start over from what arrives now rather than grow without bound
      this.packets.clear();
      this.next = null;
    }
    this.packets.set(p.seq, p);
  }

  private oldest(): number | null {
    let best: number | null = null;
    for (const s of this.packets.keys()) if (best === null || seqDiff(s, best) < 0) best = s;
    return best;
  }

  /** What to play for the next frame. */
  pop(): PlayoutItem {
    if (this.next === null) {
      if (this.packets.size < this.target) return { kind: 'empty' };
      this.next = this.oldest();
      this.dry = 0;
    }
    // too much buffered (the sender's clock runs fast, or a burst): drop the oldest to come back to the target
    if (this.packets.size > this.target + 3) {
      const o = this.oldest();
      if (o !== null) {
        this.packets.delete(o);
        this.dropped++;
        if (this.next !== null && seqDiff(o, this.next) >= 0) this.next = (o + 1) & 0xffff;
      }
    }
    const seq = this.next!;
    const p = this.packets.get(seq);
    this.next = (seq + 1) & 0xffff;
    if (p) {
      this.packets.delete(seq);
      this.dry = 0;
      return { kind: 'packet', packet: p };
    }
    if (this.packets.size === 0 && ++this.dry > this.maxConcealed) {
      this.next = null;
      return { kind: 'empty' };
    }
    return { kind: 'lost' };
  }

  /** The packet that the next pop() will play, if it is here (after a loss: the one whose FEC can rebuild it). */
  peekNext(): BufferedPacket | undefined {
    return this.next === null ? undefined : this.packets.get(this.next);
  }

  reset(): void {
    this.packets.clear();
    this.next = null;
  }
}

/** Packet-loss concealment by repeating the last good frame with a fade, silence after a few losses. */
export class Concealer {
  private last: Int16Array | null = null;
  private losses = 0;
  good(frame: Int16Array): void {
    this.last = frame;
    this.losses = 0;
  }
  conceal(samples: number): Int16Array {
    const out = new Int16Array(samples);
    if (!this.last || this.losses >= 4) return out;
    const gain = 0.6 ** ++this.losses;
    for (let i = 0; i < samples; i++) out[i] = Math.round(this.last[i % this.last.length]! * gain);
    return out;
  }
}
