// The whole screen. It reads the core's state, keeps only view state of its own (selection, scroll, input,
// overlays), and turns keys and commands into core commands. It never changes core state by itself.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Box, useApp, useCursor, useInput, useStdin, useStdout, type Key } from 'ink';
import type { ChatLine, CoreCommand, CoreState, SessionView, Trust } from '../chat/types.js';
import { ChatView } from './ChatView.js';
import { parseCommand, type UiAction } from './commands.js';
import { complete } from './complete.js';
import { HelpView } from './HelpView.js';
import { InputLine, inputRow } from './InputLine.js';
import { editLine, EMPTY_LINE, lineOf, type LineState } from './line-edit.js';
import { Rows } from './Rows.js';
import { SearchView, type SearchState } from './SearchView.js';
import { SessionList, sessionName } from './SessionList.js';
import { StatusLine } from './StatusLine.js';
import { TabBar } from './TabBar.js';
import { clipRow, sanitizeLine, type Row } from './text.js';
import type { UiCore } from './types.js';
import { VerifyView } from './VerifyView.js';

export interface AppProps {
  core: UiCore;
  noColor: boolean;
  bell?: () => void;
}

type Overlay = { kind: 'help'; scroll: number } | { kind: 'verify'; session: string } | { kind: 'search'; search: SearchState } | null;

interface Notice {
  text: string;
  level: 'info' | 'error';
}

/** is-composing: refresh "active" at most this often while typing, and go idle after this long without keys. */
export const COMPOSING_REFRESH_MS = 10_000;
export const COMPOSING_IDLE_MS = 15_000;
export const INFO_NOTICE_MS = 10_000;

const separators = new Map<number, Row[]>();
function separator(height: number): Row[] {
  let rows = separators.get(height);
  if (!rows) {
    rows = Array.from({ length: height }, () => [{ text: '│', dim: true }]);
    separators.set(height, rows);
  }
  return rows;
}

const F1 = /^\u001b(?:OP|\[11~|\[\[A|\[1?P)$/;

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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * State that key handlers read through a ref: several keys can arrive in one read from the terminal (a paste,
 * a fast typist, tmux send-keys) and are handled before React renders again, so each must see the last one's result.
 */
function useRefState<T>(initial: T): [T, (next: T | ((prev: T) => T)) => void, { readonly current: T }] {
  const [value, setValue] = useState<T>(initial);
  const ref = useRef<T>(initial);
  const set = useCallback((next: T | ((prev: T) => T)) => {
    const v = typeof next === 'function' ? (next as (prev: T) => T)(ref.current) : next;
    ref.current = v;
    setValue(v);
  }, []);
  return [value, set, ref];
}

export function App({ core, noColor, bell }: AppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const { internal_eventEmitter: inputEvents } = useStdin();
  const { setCursorPosition } = useCursor();

  const [size, setSize] = useState(() => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 }));
  useEffect(() => {
    const onResize = (): void => setSize({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  const [state, setState] = useState<CoreState>(() => core.getState());
  useEffect(() => {
    setState(core.getState());
    return core.subscribe((s) => setState(s));
  }, [core]);

  const [notice, setNotice] = useState<Notice | null>(null);
  useEffect(
    () =>
      core.onEvent((ev) => {
        if (ev.ev === 'error') setNotice({ text: sanitizeLine(ev.message), level: 'error' });
      }),
    [core],
  );

  // Progress notes ("Calling …") fade after a while; errors stay until the next command or Esc.
  useEffect(() => {
    if (!notice || notice.level !== 'info') return;
    const t = setTimeout(() => setNotice((n) => (n === notice ? null : n)), INFO_NOTICE_MS);
    t.unref?.();
    return () => clearTimeout(t);
  }, [notice]);

  const [selectedId, setSelectedId, selectedRef] = useRefState<string | null>(null);
  const [overlay, setOverlay, overlayRef] = useRefState<Overlay>(null);
  const [line, setLine, lineRef] = useRefState<LineState>(EMPTY_LINE);
  const [smpLine, setSmpLine, smpLineRef] = useRefState<LineState>(EMPTY_LINE);
  const [scrolls, setScrolls] = useState<ReadonlyMap<string, number>>(new Map());
  const [smpDismissed, setSmpDismissed, smpDismissedRef] = useRefState<ReadonlySet<string>>(new Set());

  const sessions = state.sessions;
  const selected: SessionView | null = sessions.find((s) => s.id === selectedId) ?? sessions[0] ?? null;
  const selId = selected?.id ?? null;
  // The selection as of the last key (see useRefState), for handlers running before the next render.
  const currentSelected = (): SessionView | null =>
    sessions.find((s) => s.id === selectedRef.current) ?? sessions[0] ?? null;

  // A chat the user starts becomes the selected one; incoming chats do not steal the view.
  const known = useRef<Set<string> | null>(null);
  known.current ??= new Set(sessions.map((s) => s.id));
  useEffect(() => {
    const prev = known.current ?? new Set<string>();
    known.current = new Set(sessions.map((s) => s.id));
    const fresh = sessions.filter((s) => !prev.has(s.id));
    const mine = fresh.filter((s) => s.direction === 'out');
    const pick = mine[mine.length - 1];
    if (pick) setSelectedId(pick.id);
    for (const s of fresh) {
      if (s.direction === 'in' && s.state === 'incoming' && pick?.id !== s.id) {
        const n = sessions.indexOf(s) + 1;
        setNotice({ text: `Incoming chat from ${sessionName(s)} (${n}): /accept ${n} or /reject ${n}`, level: 'info' });
      }
    }
  }, [sessions]);

  // A changed key rings once per change, whichever session it is in.
  const trusts = useRef(new Map<string, Trust | null>());
  useEffect(() => {
    let ring = false;
    const next = new Map<string, Trust | null>();
    for (const s of sessions) {
      const was = trusts.current.get(s.id);
      if (s.otr.trust === 'changed' && was !== 'changed') ring = true;
      next.set(s.id, s.otr.trust);
    }
    trusts.current = next;
    if (ring && bell) {
      try {
        bell();
      } catch {
        // A failing notifier must not take the UI down.
      }
    }
  }, [sessions, bell]);

  const dispatch = useCallback(
    (cmd: CoreCommand, done?: string, quiet = false): Promise<void> => {
      if (done) setNotice({ text: done, level: 'info' });
      let p: Promise<void>;
      try {
        p = Promise.resolve(core.command(cmd));
      } catch (err) {
        p = Promise.reject(err);
      }
      return p.catch((err: unknown) => {
        if (!quiet) setNotice({ text: sanitizeLine(errorText(err)), level: 'error' });
      });
    },
    [core],
  );

  // Reading the selected chat clears its unread count (once per count, so a core that keeps it does not loop).
  const readSent = useRef('');
  useEffect(() => {
    if (!selected || selected.unread === 0) return;
    const key = `${selected.id}:${selected.lines.length}`;
    if (readSent.current === key) return;
    readSent.current = key;
    void dispatch({ cmd: 'read', session: selected.id }, undefined, true);
  }, [selected, dispatch]);

  // SMP questions on other chats are announced; a dismissed prompt reopens only for a new question.
  const asked = useRef(new Set<string>());
  useEffect(() => {
    const now = new Set<string>();
    for (const s of sessions) {
      if (s.otr.smp?.phase !== 'asked') continue;
      now.add(s.id);
      if (!asked.current.has(s.id) && s.id !== selId) {
        const n = sessions.indexOf(s) + 1;
        setNotice({ text: `${sessionName(s)} wants to verify you: Alt-${n} to answer`, level: 'info' });
      }
    }
    asked.current = now;
    setSmpDismissed((d) => {
      const keep = [...d].filter((id) => now.has(id));
      return keep.length === d.size ? d : new Set(keep);
    });
  }, [sessions, selId]);

  const smpSession = selected && selected.otr.smp?.phase === 'asked' && !smpDismissed.has(selected.id) ? selected : null;

  // is-composing, throttled; only for an active chat and never for commands.
  const composing = useRef<{ session: string; at: number } | null>(null);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const stopComposing = useCallback(() => {
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = null;
    const c = composing.current;
    composing.current = null;
    if (c) void dispatch({ cmd: 'composing', session: c.session, active: false }, undefined, true);
  }, [dispatch]);
  useEffect(
    () => () => {
      if (idleTimer.current) clearTimeout(idleTimer.current);
    },
    [],
  );
  const noteTyping = (value: string): void => {
    const s = currentSelected();
    if (!s || s.state !== 'active' || value === '' || value.startsWith('/')) {
      if (composing.current) stopComposing();
      return;
    }
    const now = Date.now();
    const c = composing.current;
    if (c && c.session !== s.id) stopComposing();
    if (!composing.current || now - composing.current.at >= COMPOSING_REFRESH_MS) {
      composing.current = { session: s.id, at: now };
      void dispatch({ cmd: 'composing', session: s.id, active: true }, undefined, true);
    }
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(stopComposing, COMPOSING_IDLE_MS);
    idleTimer.current.unref?.();
  };

  const quitting = useRef(false);
  const quit = useCallback(() => {
    if (quitting.current) {
      exit();
      return;
    }
    quitting.current = true;
    setNotice({ text: 'Quitting… (Ctrl-C again to force)', level: 'info' });
    void dispatch({ cmd: 'quit' }).finally(() => exit());
  }, [dispatch, exit]);

  const history = useRef<string[]>([]);
  const histPos = useRef<number | null>(null);
  const draft = useRef('');

  const select = useCallback(
    (index: number) => {
      const s = sessions[index];
      if (!s) {
        setNotice({ text: `No chat number ${index + 1}.`, level: 'error' });
        return;
      }
      if (composing.current && composing.current.session !== s.id) stopComposing();
      setSelectedId(s.id);
      setOverlay((o) => (o?.kind === 'verify' ? null : o));
    },
    [sessions, stopComposing],
  );

  const runAction = useCallback(
    (a: UiAction) => {
      switch (a.kind) {
        case 'core':
          if (a.cmd.cmd === 'smp_respond' || a.cmd.cmd === 'smp_abort') {
            const id = a.cmd.session;
            setSmpDismissed((d) => new Set(d).add(id));
          }
          if (a.cmd.cmd === 'quit') quit();
          else void dispatch(a.cmd, a.done);
          return;
        case 'error':
          setNotice({ text: a.message, level: 'error' });
          return;
        case 'help':
          setOverlay({ kind: 'help', scroll: 0 });
          return;
        case 'verify':
          setOverlay({ kind: 'verify', session: a.session });
          return;
        case 'quit':
          quit();
          return;
        case 'search': {
          const search = core.search;
          if (typeof search !== 'function') {
            setNotice({ text: 'History search is not available in this build.', level: 'error' });
            return;
          }
          const text = a.text;
          setOverlay({ kind: 'search', search: { text, results: null } });
          let p: Promise<ChatLine[]>;
          try {
            p = Promise.resolve(search.call(core, text));
          } catch (err) {
            p = Promise.reject(err);
          }
          p.then(
            (results) =>
              setOverlay((o) => (o?.kind === 'search' && o.search.text === text ? { kind: 'search', search: { text, results } } : o)),
            (err: unknown) =>
              setOverlay((o) =>
                o?.kind === 'search' && o.search.text === text
                  ? { kind: 'search', search: { text, results: null, error: errorText(err) } }
                  : o,
              ),
          );
          return;
        }
      }
    },
    [core, dispatch, quit],
  );

  const sendText = (text: string): void => {
    const s = currentSelected();
    if (!s) {
      setNotice({ text: 'No chat open: /chat user@host starts one (F1 for help).', level: 'error' });
      return;
    }
    if (s.state === 'incoming') {
      setNotice({ text: `Accept the chat from ${sessionName(s)} first: /accept`, level: 'error' });
      return;
    }
    if (s.state === 'ended') {
      setNotice({ text: `The chat with ${sessionName(s)} has ended: /chat ${s.peer} to start again.`, level: 'error' });
      return;
    }
    composing.current = null;
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = null;
    setScrolls((m) => {
      if (!m.get(s.id)) return m;
      const n = new Map(m);
      n.delete(s.id);
      return n;
    });
    void dispatch({ cmd: 'send', session: s.id, text });
  };

  const submit = (value: string): void => {
    if (value.trim() === '') return;
    const h = history.current;
    if (h[h.length - 1] !== value) h.push(value);
    if (h.length > 500) h.shift();
    histPos.current = null;
    draft.current = '';
    setLine(EMPTY_LINE);
    setNotice(null);
    if (value.startsWith('//')) sendText(value.slice(1));
    else if (value.startsWith('/')) {
      if (composing.current) stopComposing();
      runAction(parseCommand(value, { sessions, selected: currentSelected() }));
    } else sendText(value);
  };

  const layout = useMemo(() => {
    const cols = Math.max(20, size.cols);
    // One row fewer than the terminal: ink clears the whole screen on every frame once the output fills it.
    const height = Math.max(8, size.rows - 1);
    const listW = cols >= 60 ? Math.min(30, Math.max(18, Math.round(cols * 0.24))) : 0;
    const chatW = cols - listW - (listW > 0 ? 2 : 0);
    const mainH = height - 4;
    return { cols, height, listW, chatW, mainH };
  }, [size]);

  const scrollOf = selId ? (scrolls.get(selId) ?? 0) : 0;
  const scrollBy = (delta: number): void => {
    const id = currentSelected()?.id;
    if (!id) return;
    setScrolls((m) => {
      const n = new Map(m);
      n.set(id, Math.max(0, (m.get(id) ?? 0) + delta));
      return n;
    });
  };

  const onKey = (input: string, key: Key): void => {
    const line = lineRef.current;
    const smpLine = smpLineRef.current;
    const overlay = overlayRef.current;
    const selected = currentSelected();
    const smpSession =
      selected && selected.otr.smp?.phase === 'asked' && !smpDismissedRef.current.has(selected.id) ? selected : null;
    if (key.ctrl && input === 'c') {
      quit();
      return;
    }
    if (overlay?.kind === 'verify') {
      if (input === 'v' && !key.ctrl && !key.meta) {
        const s = sessions.find((x) => x.id === overlay.session);
        if (s?.otr.theirFingerprint) void dispatch({ cmd: 'trust', session: s.id }, `${sessionName(s)} marked verified.`);
        return;
      }
      if (key.escape || input === 'q') setOverlay(null);
      return;
    }
    if (key.escape) {
      if (smpSession) {
        const id = smpSession.id;
        setSmpDismissed((d) => new Set(d).add(id));
        setSmpLine(EMPTY_LINE);
        void dispatch({ cmd: 'smp_abort', session: id }, 'Verification aborted.');
      } else if (overlay) setOverlay(null);
      else setNotice(null);
      return;
    }
    if (key.meta && /^[1-9]$/.test(input)) {
      select(Number(input) - 1);
      return;
    }
    if (key.ctrl && (input === 'n' || input === 'p')) {
      if (sessions.length === 0) return;
      const i = selected ? sessions.indexOf(selected) : 0;
      const n = sessions.length;
      select((i + (input === 'n' ? 1 : n - 1)) % n);
      return;
    }
    if ((key.pageUp || key.pageDown) && overlay?.kind === 'help') {
      const step = Math.max(1, layout.mainH - 3);
      setOverlay({ kind: 'help', scroll: Math.max(0, overlay.scroll + (key.pageDown ? step : -step)) });
      return;
    }
    if (key.pageUp || key.pageDown) {
      const step = Math.max(1, layout.mainH - 3);
      scrollBy(key.pageUp ? step : -step);
      return;
    }
    if (smpSession) {
      if (key.return && smpLine.value.startsWith('/') && !smpLine.value.startsWith('//')) {
        // A command typed at the prompt (e.g. "/otr auth ...", "/quit") runs as a command, never as the secret.
        const value = smpLine.value;
        setSmpLine(EMPTY_LINE);
        submit(value);
        return;
      }
      if (key.return) {
        const secret = smpLine.value.startsWith('//') ? smpLine.value.slice(1) : smpLine.value;
        if (secret === '') {
          setNotice({ text: 'Type the answer first (Esc aborts the verification).', level: 'error' });
          return;
        }
        const id = smpSession.id;
        setSmpDismissed((d) => new Set(d).add(id));
        setSmpLine(EMPTY_LINE);
        void dispatch({ cmd: 'smp_respond', session: id, secret }, 'Answer sent; waiting for the result…');
        return;
      }
      const next = editLine(smpLine, input, key);
      if (next) setSmpLine(next);
      return;
    }
    if (key.return) {
      submit(line.value);
      return;
    }
    if (key.upArrow || key.downArrow) {
      const h = history.current;
      if (h.length === 0) return;
      let pos = histPos.current;
      if (key.upArrow) {
        if (pos === null) {
          draft.current = line.value;
          pos = h.length - 1;
        } else pos = Math.max(0, pos - 1);
        histPos.current = pos;
        setLine(lineOf(h[pos] ?? ''));
      } else {
        if (pos === null) return;
        if (pos >= h.length - 1) {
          histPos.current = null;
          setLine(lineOf(draft.current));
        } else {
          histPos.current = pos + 1;
          setLine(lineOf(h[pos + 1] ?? ''));
        }
      }
      return;
    }
    if (key.tab) {
      const c = complete(line.value);
      if (c.line !== line.value) setLine(lineOf(c.line));
      if (c.candidates.length > 1) setNotice({ text: c.candidates.join('  '), level: 'info' });
      return;
    }
    const next = editLine(line, input, key);
    if (next && next !== line) {
      setLine(next);
      if (next.value !== line.value) noteTyping(next.value);
    }
  };
  const keyRef = useRef(onKey);
  keyRef.current = onKey;
  const stableKey = useCallback((input: string, key: Key) => {
    for (const [i, k] of splitChunk(input, key)) keyRef.current(i, k);
  }, []);
  useInput(stableKey);

  // F1 is not reported by useInput (it has no name there), so it is read from the raw input.
  useEffect(() => {
    const onRaw = (data: string): void => {
      if (F1.test(data)) setOverlay((o) => (o?.kind === 'help' ? null : { kind: 'help', scroll: 0 }));
    };
    inputEvents?.on('input', onRaw);
    return () => {
      inputEvents?.off('input', onRaw);
    };
  }, [inputEvents]);

  const { cols, listW, chatW, mainH } = layout;

  const prompt = smpSession ? 'answer> ' : '> ';
  const input = inputRow(prompt, smpSession ? 'yellow' : 'cyan', smpSession ? smpLine : line, cols);
  const inputY = 1 + mainH + 1;
  useEffect(() => {
    if (overlay?.kind === 'verify') setCursorPosition(undefined);
    else setCursorPosition({ x: input.cursorX, y: inputY });
  });

  let noticeRow: Row = [];
  if (smpSession) {
    const q = smpSession.otr.smp?.question;
    noticeRow = [
      { text: ` ${sessionName(smpSession)} wants to verify you`, color: 'yellow', bold: true },
      { text: q ? ` and asks: ${sanitizeLine(q)}` : ': type the shared secret' },
      { text: '  (Enter answers, Esc aborts)', dim: true },
    ];
  } else if (notice) {
    noticeRow = [{ text: ` ${notice.text}`, color: notice.level === 'error' ? 'red' : undefined, dim: notice.level === 'info' }];
  } else {
    const last = state.notices[state.notices.length - 1];
    if (last) noticeRow = [{ text: ` ${sanitizeLine(last.text)}`, color: last.level === 'warning' ? 'red' : undefined }];
  }

  let pane;
  if (overlay?.kind === 'help') pane = <HelpView width={chatW} height={mainH} scroll={overlay.scroll} noColor={noColor} />;
  else if (overlay?.kind === 'search') pane = <SearchView search={overlay.search} width={chatW} height={mainH} noColor={noColor} />;
  else if (overlay?.kind === 'verify') {
    const s = sessions.find((x) => x.id === overlay.session);
    pane = s ? (
      <VerifyView session={s} width={chatW} height={mainH} noColor={noColor} />
    ) : (
      <Rows rows={[[{ text: ' That chat is gone. Esc closes.' }]]} width={chatW} height={mainH} noColor={noColor} />
    );
  } else if (selected) {
    pane = <ChatView session={selected} width={chatW} height={mainH} scroll={scrollOf} noColor={noColor} />;
  } else {
    const rows: Row[] = [
      [{ text: ' No chats yet.', bold: true }],
      [{ text: ' /chat user@host starts one; incoming chats appear on the left. F1 shows all commands.', dim: true }],
      [],
      ...state.notices.slice(-(mainH - 3)).map((n) =>
        clipRow([{ text: ` -- ${sanitizeLine(n.text)}`, color: n.level === 'warning' ? 'red' : undefined }], chatW),
      ),
    ];
    pane = <Rows rows={rows} width={chatW} height={mainH} noColor={noColor} />;
  }

  return (
    <Box flexDirection="column" width={cols} height={layout.height}>
      <StatusLine account={state.account} width={cols} noColor={noColor} />
      <Box flexDirection="row" width={cols} height={mainH}>
        {listW > 0 ? (
          <>
            <SessionList sessions={sessions} selectedId={selId} width={listW} height={mainH} noColor={noColor} />
            <Rows rows={separator(mainH)} width={2} height={mainH} noColor={noColor} />
          </>
        ) : null}
        {pane}
      </Box>
      <Rows rows={[clipRow(noticeRow, cols)]} width={cols} height={1} noColor={noColor} />
      <InputLine layout={input} width={cols} noColor={noColor} />
      <TabBar sessions={sessions} selectedId={selId} width={cols} noColor={noColor} />
    </Box>
  );
}
