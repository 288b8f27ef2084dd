// A clock for the chat layer's ports (SessionDeps.clock, ChatCoreOptions.clock) that the test moves by hand: the
// deadlines of a session come when the test says, not after real seconds.
import type { Clock, Timer } from '../../src/chat/session.js';

export class FakeClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return { unref: () => undefined, id } as Timer;
  }
  clearTimeout(h: Timer): void {
    this.timers.delete((h as Timer & { id: number }).id);
  }
  /** Moves time on, running each timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
