// One read from the terminal can hold several keys; they are taken apart here, before the keymap sees them.
import type { Key } from 'ink';

/** A key event with no key flag set (ink's Key shape), for splitting coalesced input into single keys. */
export const PLAIN_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/**
 * ink hands over everything between two escape sequences as one input, so a fast typist's or tmux's
 * "abc<DEL><DEL>x<CR>" arrives whole. Split it back into keys: text runs, Backspace, Enter, Tab, Ctrl-letter.
 */
export function splitChunk(input: string, key: Key): Array<[string, Key]> {
  // eslint-disable-next-line no-control-regex
  if (input.length <= 1 || input.startsWith('\u001b') || !/[\u0000-\u001f\u007f]/.test(input)) return [[input, key]];
  const out: Array<[string, Key]> = [];
  let run = '';
  const flush = (): void => {
    if (run) out.push([run, PLAIN_KEY]);
    run = '';
  };
  for (const ch of input) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0x20 && c !== 0x7f) {
      run += ch;
      continue;
    }
    flush();
    if (c === 0x7f || c === 0x08) out.push(['', { ...PLAIN_KEY, backspace: true }]);
    else if (c === 0x0d || c === 0x0a) out.push(['', { ...PLAIN_KEY, return: true }]);
    else if (c === 0x09) out.push(['', { ...PLAIN_KEY, tab: true }]);
    else if (c >= 0x01 && c <= 0x1a) out.push([String.fromCharCode(c + 0x60), { ...PLAIN_KEY, ctrl: true }]);
  }
  flush();
  return out;
}
