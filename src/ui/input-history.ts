// The input line's history (Up/Down), as shells have it: Up from a draft keeps the draft, Down past the newest
// entry brings it back. Pure, so it is tested without a terminal.

export class InputHistory {
  private items: string[] = [];
  private pos: number | null = null;
  private draft = '';

  constructor(private readonly max = 500) {}

  /** A line was submitted: remember it (not twice in a row) and leave browsing. */
  push(value: string): void {
    if (this.items[this.items.length - 1] !== value) this.items.push(value);
    if (this.items.length > this.max) this.items.shift();
    this.pos = null;
    this.draft = '';
  }

  /** The older entry to show, or null when there is none; `current` is kept as the draft on the first step. */
  up(current: string): string | null {
    if (this.items.length === 0) return null;
    if (this.pos === null) {
      this.draft = current;
      this.pos = this.items.length - 1;
    } else this.pos = Math.max(0, this.pos - 1);
    return this.items[this.pos] ?? '';
  }

  /** The newer entry, the draft after the newest, or null when not browsing. */
  down(): string | null {
    if (this.pos === null) return null;
    if (this.pos >= this.items.length - 1) {
      this.pos = null;
      return this.draft;
    }
    this.pos += 1;
    return this.items[this.pos] ?? '';
  }
}
