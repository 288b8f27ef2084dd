// What a key does, as data: the App performs the action. Pure and tested (tests/tui/ui-units.test.ts), so the
// precedence of overlays, the SMP prompt and the input line is written down once.
import type { Key } from 'ink';

export interface KeyMode {
  overlay: 'help' | 'verify' | 'search' | null;
  /** The selected chat's peer asked us to verify and the prompt is open: keys edit the answer. */
  smpPrompt: boolean;
}

export type KeyAction =
  | { kind: 'quit' }
  | { kind: 'verify-trust' }
  | { kind: 'close-overlay' }
  | { kind: 'abort-smp' }
  | { kind: 'clear-notice' }
  | { kind: 'select'; index: number }
  | { kind: 'call'; what: 'mute' | 'hold' | 'hangup-audio' | 'stats' | 'sas-confirm' }
  | { kind: 'cycle'; delta: 1 | -1 }
  | { kind: 'help-scroll'; dir: 1 | -1 }
  | { kind: 'scroll'; dir: 1 | -1 }
  | { kind: 'smp-submit' }
  | { kind: 'smp-edit' }
  | { kind: 'submit' }
  | { kind: 'history'; dir: 'up' | 'down' }
  | { kind: 'complete' }
  | { kind: 'edit' }
  | { kind: 'none' };

export function keyAction(input: string, key: Key, mode: KeyMode): KeyAction {
  if (key.ctrl && input === 'c') return { kind: 'quit' };
  if (mode.overlay === 'verify') {
    if (input === 'v' && !key.ctrl && !key.meta) return { kind: 'verify-trust' };
    // the call's SAS, shown in the same view: s confirms it (we compared it aloud)
    if (input === 's' && !key.ctrl && !key.meta) return { kind: 'call', what: 'sas-confirm' };
    if (key.escape || input === 'q') return { kind: 'close-overlay' };
    return { kind: 'none' };
  }
  if (key.escape) {
    if (mode.smpPrompt) return { kind: 'abort-smp' };
    return mode.overlay ? { kind: 'close-overlay' } : { kind: 'clear-notice' };
  }
  if (key.meta && /^[1-9]$/.test(input)) return { kind: 'select', index: Number(input) - 1 };
  // The call of the selected session: Alt-M mute, Alt-H hold, Alt-X hang up the audio, Ctrl-T its statistics,
  // Alt-S "we compared the SAS and it is the same".
  if (key.ctrl && input === 't') return { kind: 'call', what: 'stats' };
  if (key.meta && !key.ctrl && input === 's') return { kind: 'call', what: 'sas-confirm' };
  if (key.meta && !key.ctrl && (input === 'm' || input === 'h' || input === 'x'))
    return { kind: 'call', what: input === 'm' ? 'mute' : input === 'h' ? 'hold' : 'hangup-audio' };
  if (key.ctrl && (input === 'n' || input === 'p')) return { kind: 'cycle', delta: input === 'n' ? 1 : -1 };
  if (key.pageUp || key.pageDown) {
    // Page Up shows older lines: the scroll offset from the bottom grows.
    const dir = key.pageUp ? 1 : -1;
    return mode.overlay === 'help' ? { kind: 'help-scroll', dir: key.pageDown ? 1 : -1 } : { kind: 'scroll', dir };
  }
  if (mode.smpPrompt) return key.return ? { kind: 'smp-submit' } : { kind: 'smp-edit' };
  if (key.return) return { kind: 'submit' };
  if (key.upArrow) return { kind: 'history', dir: 'up' };
  if (key.downArrow) return { kind: 'history', dir: 'down' };
  if (key.tab) return { kind: 'complete' };
  return { kind: 'edit' };
}
