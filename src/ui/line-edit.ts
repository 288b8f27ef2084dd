// A single-line editor: the state is the text and a cursor (in UTF-16 units, always on a code point boundary).
import type { Key } from 'ink';

export interface LineState {
  value: string;
  cursor: number;
}

export const EMPTY_LINE: LineState = { value: '', cursor: 0 };

export function lineOf(value: string): LineState {
  return { value, cursor: value.length };
}

function prevBoundary(s: string, i: number): number {
  if (i <= 0) return 0;
  const c = s.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && i >= 2 ? i - 2 : i - 1;
}

function nextBoundary(s: string, i: number): number {
  if (i >= s.length) return s.length;
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? i + 2 : i + 1;
}

/** Printable text only: pasted control characters (ESC, CR, ...) never reach a message. */
function printable(input: string): string {
  return input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

/**
 * Applies one key to the line. Returns null when the key is not an editing key (so the caller may use it).
 * Emacs-style controls as in readline: Ctrl-A/E home/end, Ctrl-U/K kill to start/end, Ctrl-W kill word.
 */
export function editLine(st: LineState, input: string, key: Key): LineState | null {
  const { value, cursor } = st;
  if (key.leftArrow) return { value, cursor: prevBoundary(value, cursor) };
  if (key.rightArrow) return { value, cursor: nextBoundary(value, cursor) };
  if (key.home || (key.ctrl && input === 'a')) return { value, cursor: 0 };
  if (key.end || (key.ctrl && input === 'e')) return { value, cursor: value.length };
  // Terminals send DEL (0x7f) for Backspace and ink reports that as `delete`; the Delete key itself cannot be told
  // apart, so both erase backwards (as in ink-text-input) and Ctrl-D deletes forwards.
  if (key.backspace || key.delete || (key.ctrl && input === 'h')) {
    if (cursor === 0) return st;
    const p = prevBoundary(value, cursor);
    return { value: value.slice(0, p) + value.slice(cursor), cursor: p };
  }
  if (key.ctrl && input === 'd') {
    if (cursor >= value.length) return st;
    return { value: value.slice(0, cursor) + value.slice(nextBoundary(value, cursor)), cursor };
  }
  if (key.ctrl && input === 'u') return { value: value.slice(cursor), cursor: 0 };
  if (key.ctrl && input === 'k') return { value: value.slice(0, cursor), cursor };
  if (key.ctrl && input === 'w') {
    const head = value.slice(0, cursor).replace(/\S+\s*$/, '');
    return { value: head + value.slice(cursor), cursor: head.length };
  }
  if (key.ctrl || key.meta || key.return || key.tab || key.escape || key.upArrow || key.downArrow) return null;
  if (key.pageUp || key.pageDown) return null;
  const text = printable(input);
  if (text === '') return null;
  return { value: value.slice(0, cursor) + text + value.slice(cursor), cursor: cursor + text.length };
}
