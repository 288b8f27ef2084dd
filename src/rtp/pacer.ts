// An even 20 ms clock for sending and playout. Ticks are scheduled from a monotonic start time, not from the last
// timer: a late timer runs the ticks that are due (catch-up), at most `maxCatchUp` of them, and skips the rest, so
// packets never bunch beyond what catching up requires. The tick number is what the RTP timestamp follows.
import { performance } from 'node:perf_hooks';

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
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - this.now()));
  }

  private fire(): void {
    if (!this.timer) return;
    const elapsed = this.now() - this.start;
    const due = Math.floor(elapsed / this.periodMs) + 1; // ticks whose time has come
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
