// Mounts the App on ink-testing-library's fake terminal (100 columns, 24 rows) with a FixtureCore.
import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import { render } from 'ink-testing-library';
import { App } from '../../src/ui/App.js';
import type { FixtureCore } from './ui-fixture-core.js';

export const KEY = {
  enter: '\r',
  esc: '\u001b',
  up: '\u001b[A',
  down: '\u001b[B',
  tab: '\t',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  backspace: '\u007f',
  f1: '\u001bOP',
  ctrlC: '\u0003',
  ctrlN: '\u000e',
  ctrlP: '\u0010',
  alt: (d: number) => `\u001b${d}`,
} as const;

export const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

export interface Mounted {
  frame(): string;
  plain(): string;
  /** Writes raw input, then lets ink parse it and React render. */
  press(data: string): Promise<void>;
  /** Types text followed by Enter. */
  enter(text: string): Promise<void>;
  unmount(): void;
}

export async function mount(core: FixtureCore, opts: { noColor?: boolean; bell?: () => void } = {}): Promise<Mounted> {
  const inst = render(<App core={core} noColor={opts.noColor ?? false} bell={opts.bell} />);
  await tick();
  const press = async (data: string): Promise<void> => {
    const before = inst.frames.length;
    inst.stdin.write(data);
    // Wait for the render this key causes (keys that change nothing render nothing: give up after a while).
    // A lone ESC is held back by ink until the next turn, since it might start a sequence.
    const t0 = Date.now();
    while (inst.frames.length === before && Date.now() - t0 < 150) await tick(5);
    await tick(data === KEY.esc ? 30 : 10);
  };
  return {
    frame: () => inst.lastFrame() ?? '',
    plain: () => stripAnsi(inst.lastFrame() ?? ''),
    press,
    enter: async (text: string) => {
      await press(text);
      await press(KEY.enter);
    },
    unmount: () => inst.unmount(),
  };
}

/**
 * Waits until `check` stops throwing (or returns true), up to `ms`. Updates that come from the core (not from a
 * key) are rendered, and their effects run, on React's own schedule: tens of milliseconds later.
 */
export async function waitFor(check: () => unknown, ms = 1500): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (check() !== false) return;
    } catch (err) {
      if (Date.now() - t0 > ms) throw err;
    }
    if (Date.now() - t0 > ms) {
      if (check() === false) throw new Error('waitFor: condition still false');
      return;
    }
    await tick(5);
  }
}

/** A fake terminal whose size the test sets and changes (ink-testing-library's is fixed at 100 columns). */
export class SizedStdout extends EventEmitter {
  frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (frame: string): boolean => {
    this.frames.push(frame);
    return true;
  };
  lastFrame(): string {
    return this.frames[this.frames.length - 1] ?? '';
  }
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write(data: string): void {
    this.data = data;
    this.emit('readable');
  }
  read(): string | null {
    const d = this.data;
    this.data = null;
    return d;
  }
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export function mountSized(core: FixtureCore, columns: number, rows: number): { stdout: SizedStdout; unmount(): void } {
  const stdout = new SizedStdout(columns, rows);
  const inst = inkRender(<App core={core} noColor={true} />, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return { stdout, unmount: () => inst.unmount() };
}
