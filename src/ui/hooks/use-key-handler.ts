import { useCallback, useRef, type Dispatch, type SetStateAction } from 'react';
import { useInput, type Key } from 'ink';
import type { SessionView } from '../../chat/types.js';
import { parseCommand, type UiAction } from '../commands.js';
import { complete } from '../complete.js';
import { InputHistory } from '../input-history.js';
import { splitChunk } from '../key-chunks.js';
import { keyAction, type KeyAction } from '../keymap.js';
import { editLine, EMPTY_LINE, lineOf, type LineState } from '../line-edit.js';
import type { Overlay } from '../MainPane.js';
import { selectedSession, sessionName } from '../SessionList.js';
import type { CommandRunner } from './use-command-runner.js';
import type { Composing } from './use-composing.js';
import type { Notice } from './use-notice.js';
import { useRefState } from './use-ref-state.js';
import type { Scroll } from './use-scroll.js';
import type { SmpPrompt } from './use-smp-prompt.js';

/** What the keys act on: the App's view state and the other hooks. */
export interface KeyHandlerDeps {
  sessions: SessionView[];
  /** The selection as of the last key (see useRefState), for keys handled before the next render. */
  selectedRef: { readonly current: string | null };
  setSelectedId(id: string): void;
  overlayRef: { readonly current: Overlay };
  setOverlay: Dispatch<SetStateAction<Overlay>>;
  setNotice(n: Notice | null): void;
  smp: SmpPrompt;
  composing: Composing;
  commands: CommandRunner;
  scroll: Scroll;
  /** Rows that PgUp/PgDn move. */
  page: number;
  /** Ctrl-T: the call statistics in the header, on or off. */
  toggleCallStats(): void;
}

interface EditedLine {
  ref: { readonly current: LineState };
  set(next: LineState): void;
}

interface KeyContext extends KeyHandlerDeps {
  line: EditedLine;
  /** The answer typed at the verification prompt (kept apart from the input line, which keeps its draft). */
  smpLine: EditedLine;
  history: InputHistory;
}

type LineKey = Extract<KeyAction, { kind: 'smp-submit' | 'smp-edit' | 'submit' | 'history' | 'complete' | 'edit' }>;
const LINE_KEYS: ReadonlySet<KeyAction['kind']> = new Set([
  'smp-submit',
  'smp-edit',
  'submit',
  'history',
  'complete',
  'edit',
]);
const isLineKey = (a: KeyAction): a is LineKey => LINE_KEYS.has(a.kind);

const currentSelected = (c: KeyContext): SessionView | null => selectedSession(c.sessions, c.selectedRef.current);

function select(c: KeyContext, index: number): void {
  const s = c.sessions[index];
  if (!s) {
    c.setNotice({ text: `No chat number ${index + 1}.`, level: 'error' });
    return;
  }
  if (s.id !== c.selectedRef.current) c.composing.stop();
  c.setSelectedId(s.id);
  c.setOverlay((o) => (o?.kind === 'verify' ? null : o));
}

/** Sends the text to the selected chat; false (and a notice saying why) when it cannot take it. */
function sendText(c: KeyContext, text: string): boolean {
  const s = currentSelected(c);
  if (!s) {
    c.setNotice({ text: 'No chat open: /chat user@host starts one (F1 for help).', level: 'error' });
    return false;
  }
  if (s.state === 'incoming' && !c.commands.accepted.has(s.id)) {
    c.setNotice({ text: `Accept the chat from ${sessionName(s)} first: /accept`, level: 'error' });
    return false;
  }
  if (s.state === 'ended') {
    c.setNotice({ text: `The chat with ${sessionName(s)} has ended: /chat ${s.peer} to start again.`, level: 'error' });
    return false;
  }
  c.composing.sent();
  c.scroll.reset(s.id);
  void c.commands.dispatch({ cmd: 'send', session: s.id, text });
  return true;
}

function runCommand(c: KeyContext, a: UiAction): void {
  // Answering or aborting the peer's question by command closes its prompt, as Enter and Esc there do.
  if (a.kind === 'core' && (a.cmd.cmd === 'smp_respond' || a.cmd.cmd === 'smp_abort')) c.smp.dismiss(a.cmd.session);
  c.commands.run(a);
}

function submit(c: KeyContext, value: string): void {
  if (value.trim() === '') return;
  c.history.push(value);
  c.line.set(EMPTY_LINE);
  c.setNotice(null);
  // Text that could not be sent stays on the input line: nothing typed is lost.
  const send = (text: string) => {
    if (!sendText(c, text)) c.line.set(lineOf(value));
  };
  if (value.startsWith('//')) send(value.slice(1));
  else if (value.startsWith('/')) {
    c.composing.stop();
    runCommand(c, parseCommand(value, { sessions: c.sessions, selected: currentSelected(c) }));
  } else send(value);
}

/** Enter at the verification prompt: a command typed there runs as a command, never as the secret. */
function answerSmp(c: KeyContext, s: SessionView): void {
  const value = c.smpLine.ref.current.value;
  if (value.startsWith('/') && !value.startsWith('//')) {
    c.smpLine.set(EMPTY_LINE);
    submit(c, value);
    return;
  }
  const secret = value.startsWith('//') ? value.slice(1) : value;
  if (secret === '') {
    c.setNotice({ text: 'Type the answer first (Esc aborts the verification).', level: 'error' });
    return;
  }
  c.smp.dismiss(s.id);
  c.smpLine.set(EMPTY_LINE);
  void c.commands.dispatch({ cmd: 'smp_respond', session: s.id, secret }, 'Answer sent; waiting for the result…');
}

/** Keys that change the view: overlays, the selected chat, scrolling, quitting. */
function applyViewKey(
  c: KeyContext,
  a: Exclude<KeyAction, LineKey>,
  selected: SessionView | null,
  smpSession: SessionView | null,
): void {
  const overlay = c.overlayRef.current;
  switch (a.kind) {
    case 'quit':
      c.commands.quit();
      return;
    case 'verify-trust': {
      const s = overlay?.kind === 'verify' ? c.sessions.find((x) => x.id === overlay.session) : undefined;
      if (s?.otr.theirFingerprint)
        void c.commands.dispatch({ cmd: 'trust', session: s.id }, `${sessionName(s)} marked verified.`);
      return;
    }
    case 'close-overlay':
      c.setOverlay(null);
      return;
    case 'abort-smp':
      if (smpSession) {
        c.smp.dismiss(smpSession.id);
        c.smpLine.set(EMPTY_LINE);
        void c.commands.dispatch({ cmd: 'smp_abort', session: smpSession.id }, 'Verification aborted.');
      }
      return;
    case 'clear-notice':
      c.setNotice(null);
      return;
    case 'select':
      select(c, a.index);
      return;
    case 'call': {
      // in the verify view, the SAS key is about the session shown there
      const shown = overlay?.kind === 'verify' ? c.sessions.find((x) => x.id === overlay.session) : undefined;
      callKey(c, a.what, shown ?? selected);
      return;
    }
    case 'cycle': {
      if (c.sessions.length === 0) return;
      const i = selected ? c.sessions.indexOf(selected) : 0;
      select(c, (i + a.delta + c.sessions.length) % c.sessions.length);
      return;
    }
    case 'help-scroll':
      if (overlay?.kind === 'help')
        c.setOverlay({ kind: 'help', scroll: Math.max(0, overlay.scroll + a.dir * c.page) });
      return;
    case 'scroll':
      if (selected) c.scroll.scrollBy(selected.id, a.dir * c.page);
      return;
    case 'none':
      return;
  }
}

/** Alt-M, Alt-H, Alt-X, Ctrl-T on the selected session's call. */
function callKey(
  c: KeyContext,
  what: 'mute' | 'hold' | 'hangup-audio' | 'stats' | 'sas-confirm',
  s: SessionView | null,
): void {
  if (what === 'stats') {
    c.toggleCallStats();
    return;
  }
  if (what === 'sas-confirm') {
    const z = s?.audio?.zrtp;
    if (!s || !z || z.state !== 'secure' || !z.sas) {
      c.setNotice({ text: 'No ZRTP SAS to confirm in the selected session.', level: 'error' });
      return;
    }
    void c.commands.dispatch({ cmd: 'sas', session: s.id, action: 'confirm' }, `SAS ${z.sas} confirmed.`);
    return;
  }
  const a = s?.audio;
  if (!s || !a || a.state === 'ended' || a.state === 'proposed') {
    c.setNotice({ text: 'No call in the selected session.', level: 'error' });
    return;
  }
  if (what === 'mute') void c.commands.dispatch({ cmd: 'audio', session: s.id, action: a.muted ? 'unmute' : 'mute' });
  else if (what === 'hold')
    void c.commands.dispatch({ cmd: 'audio', session: s.id, action: a.localHold ? 'resume' : 'hold' });
  // audio in a chat goes (port 0) and the chat stays; an audio-only call is hung up
  else if (s.media?.includes('chat')) void c.commands.dispatch({ cmd: 'audio', session: s.id, action: 'remove' });
  else void c.commands.dispatch({ cmd: 'hangup', session: s.id });
}

/** Keys that edit or submit the input line, or the answer at the verification prompt. */
function applyLineKey(
  c: KeyContext,
  a: LineKey,
  input: string,
  key: Key,
  selected: SessionView | null,
  smpSession: SessionView | null,
): void {
  const line = c.line.ref.current;
  switch (a.kind) {
    case 'smp-submit':
      if (smpSession) answerSmp(c, smpSession);
      return;
    case 'smp-edit': {
      const next = editLine(c.smpLine.ref.current, input, key);
      if (next) c.smpLine.set(next);
      return;
    }
    case 'submit':
      submit(c, line.value);
      return;
    case 'history': {
      const v = a.dir === 'up' ? c.history.up(line.value) : c.history.down();
      if (v !== null) c.line.set(lineOf(v));
      return;
    }
    case 'complete': {
      const done = complete(line.value);
      if (done.line !== line.value) c.line.set(lineOf(done.line));
      if (done.candidates.length > 1) c.setNotice({ text: done.candidates.join('  '), level: 'info' });
      return;
    }
    case 'edit': {
      const next = editLine(line, input, key);
      if (next && next !== line) {
        c.line.set(next);
        if (next.value !== line.value) c.composing.typed(selected, next.value);
      }
      return;
    }
  }
}

/** One key: the keymap says what it means here (src/ui/keymap.ts), this applies it. */
function applyKey(c: KeyContext, input: string, key: Key): void {
  const selected = currentSelected(c);
  const smpSession = c.smp.promptFor(selected);
  const a = keyAction(input, key, { overlay: c.overlayRef.current?.kind ?? null, smpPrompt: smpSession !== null });
  if (isLineKey(a)) applyLineKey(c, a, input, key, selected, smpSession);
  else applyViewKey(c, a, selected, smpSession);
}

/** The keyboard: owns the input line, the verification answer and the input history; returns what to draw. */
export function useKeyHandler(deps: KeyHandlerDeps): { line: LineState; smpLine: LineState } {
  const [line, setLine, lineRef] = useRefState<LineState>(EMPTY_LINE);
  const [smpLine, setSmpLine, smpLineRef] = useRefState<LineState>(EMPTY_LINE);
  const history = useRef(new InputHistory());
  const context: KeyContext = {
    ...deps,
    line: { ref: lineRef, set: setLine },
    smpLine: { ref: smpLineRef, set: setSmpLine },
    history: history.current,
  };
  // Replaced on every render, so a key sees this render's sessions and page size (and the refs, the last key's
  // results); the input handler itself stays the same, so ink does not re-subscribe.
  const ctx = useRef(context);
  ctx.current = context;
  useInput(
    useCallback((input: string, key: Key) => {
      for (const [i, k] of splitChunk(input, key)) applyKey(ctx.current, i, k);
    }, []),
  );
  return { line, smpLine };
}
