// An even 20 ms clock for sending and playout. Ticks are scheduled from a monotonic start time, not from the last
// timer: a late timer runs the ticks that are due (catch-up), at most `maxCatchUp` of them, and skips the rest, so
// packets never bunch beyond what catching up requires. The tick number is what the RTP timestamp follows.
import { performance } from 'node:perf_hooks';

/**
 * How early a timer may fire and still run its tick. libuv's timers count whole milliseconds from the loop's
 * cached time, so a 20 ms timer often wakes a fraction of a millisecond before its due time on the monotonic clock:
 * without this slack that wake-up ran nothing and scheduled another one 1 ms later (seen: ~160 wake-ups a second
 * for 50 ticks and 50 packets), which on this machine cost more CPU than the tick's own work.
 */
const EARLY_MS = 1.5;

export class Pacer {
  private start = 0;
  private done = 0; // ticks run or skipped
  private timer: NodeJS.Timeout | null = null;
  skipped = 0;

  constructor(
    private readonly periodMs: number,
    private readonly onTick: (tick: number) => void,
    private readonly maxCatchUp = 3,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get running(): boolean {
    return this.timer !== null;
  }

  begin(): void {
    if (this.timer) return;
    this.start = this.now();
    this.done = 0;
    this.schedule();
  }

  private schedule(): void {
    const due = this.start + this.done * this.periodMs;
    // whole milliseconds, rounded to the nearest: libuv would truncate, and a wake-up due in 0.4 ms is as good now
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.round(due - this.now())));
  }

  private fire(): void {
    if (!this.timer) return;
    const elapsed = this.now() - this.start;
    const due = Math.floor((elapsed + EARLY_MS) / this.periodMs) + 1; // ticks whose time has come (or nearly)
    if (due - this.done > this.maxCatchUp) {
      this.skipped += due - this.done - this.maxCatchUp;
      this.done = due - this.maxCatchUp;
    }
    while (this.done < due && this.timer) this.onTick(this.done++);
    if (this.timer) this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
