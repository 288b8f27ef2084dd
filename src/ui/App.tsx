// The whole screen. It reads the core's state, keeps only view state of its own (selection, scroll, input,
// overlays), and turns keys and commands into core commands. It never changes core state by itself.
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { Box, useCursor, useInput, useStdout, type Key } from 'ink';
import type { SessionView } from '../chat/types.js';
import { parseCommand } from './commands.js';
import { complete } from './complete.js';
import { useCommandRunner } from './hooks/use-command-runner.js';
import { useComposing } from './hooks/use-composing.js';
import { useCoreState } from './hooks/use-core-state.js';
import { useF1 } from './hooks/use-function-key.js';
import { useKeyChangeBell } from './hooks/use-key-change-bell.js';
import { useMarkRead } from './hooks/use-mark-read.js';
import { useNotice } from './hooks/use-notice.js';
import { useRefState } from './hooks/use-ref-state.js';
import { useScroll } from './hooks/use-scroll.js';
import { useSessionArrivals } from './hooks/use-session-arrivals.js';
import { useSmpPrompt } from './hooks/use-smp-prompt.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { InputHistory } from './input-history.js';
import { splitChunk } from './key-chunks.js';
import { keyAction } from './keymap.js';
import { screenLayout } from './layout.js';
import { InputLine, inputRow } from './InputLine.js';
import { editLine, EMPTY_LINE, lineOf, type LineState } from './line-edit.js';
import { MainPane, type Overlay } from './MainPane.js';
import { NoticeRow } from './NoticeRow.js';
import { Rows } from './Rows.js';
import { SessionList, sessionName } from './SessionList.js';
import { StatusLine } from './StatusLine.js';
import { TabBar } from './TabBar.js';
import type { Row } from './text.js';
import type { UiCore } from './types.js';

export interface AppProps {
  core: UiCore;
  noColor: boolean;
  bell?: () => void;
}

export { INFO_NOTICE_MS } from './hooks/use-notice.js';
export { PLAIN_KEY, splitChunk } from './key-chunks.js';

const separators = new Map<number, Row[]>();
function separator(height: number): Row[] {
  let rows = separators.get(height);
  if (!rows) {
    rows = Array.from({ length: height }, () => [{ text: '│', dim: true }]);
    separators.set(height, rows);
  }
  return rows;
}

export function App({ core, noColor, bell }: AppProps) {
  const { stdout } = useStdout();
  const { setCursorPosition } = useCursor();
  const size = useTerminalSize(stdout);
  const state = useCoreState(core);
  const [notice, setNotice] = useNotice(core);

  const [selectedId, setSelectedId, selectedRef] = useRefState<string | null>(null);
  const [overlay, setOverlay, overlayRef] = useRefState<Overlay>(null);
  const [line, setLine, lineRef] = useRefState<LineState>(EMPTY_LINE);
  const [smpLine, setSmpLine, smpLineRef] = useRefState<LineState>(EMPTY_LINE);

  const sessions = state.sessions;
  const selected: SessionView | null = sessions.find((s) => s.id === selectedId) ?? sessions[0] ?? null;
  const selId = selected?.id ?? null;
  // The selection as of the last key (see useRefState), for handlers running before the next render.
  const currentSelected = (): SessionView | null =>
    sessions.find((s) => s.id === selectedRef.current) ?? sessions[0] ?? null;

  const commands = useCommandRunner(core, setNotice, setOverlay);
  const { dispatch, quit } = commands;
  const runAction = commands.run;

  useSessionArrivals(sessions, setSelectedId, setNotice);
  useKeyChangeBell(sessions, bell);
  useMarkRead(selected, commands.dispatchQuiet);
  const smp = useSmpPrompt(sessions, selId, setNotice);
  const smpSession = smp.promptFor(selected);
  const composing = useComposing(commands.dispatchQuiet);
  const scroll = useScroll();
  const history = useRef(new InputHistory());

  const select = useCallback(
    (index: number) => {
      const s = sessions[index];
      if (!s) {
        setNotice({ text: `No chat number ${index + 1}.`, level: 'error' });
        return;
      }
      if (s.id !== selectedRef.current) composing.stop();
      setSelectedId(s.id);
      setOverlay((o) => (o?.kind === 'verify' ? null : o));
    },
    [sessions, composing, setNotice, setSelectedId, setOverlay, selectedRef],
  );

  /** Sends the text to the selected chat; false (and a notice saying why) when it cannot take it. */
  const sendText = (text: string): boolean => {
    const s = currentSelected();
    if (!s) {
      setNotice({ text: 'No chat open: /chat user@host starts one (F1 for help).', level: 'error' });
      return false;
    }
    if (s.state === 'incoming' && !commands.accepted.has(s.id)) {
      setNotice({ text: `Accept the chat from ${sessionName(s)} first: /accept`, level: 'error' });
      return false;
    }
    if (s.state === 'ended') {
      setNotice({ text: `The chat with ${sessionName(s)} has ended: /chat ${s.peer} to start again.`, level: 'error' });
      return false;
    }
    composing.sent();
    scroll.reset(s.id);
    void dispatch({ cmd: 'send', session: s.id, text });
    return true;
  };

  const submit = (value: string): void => {
    if (value.trim() === '') return;
    history.current.push(value);
    setLine(EMPTY_LINE);
    setNotice(null);
    // Text that could not be sent stays on the input line: nothing typed is lost.
    const send = (text: string) => {
      if (!sendText(text)) setLine(lineOf(value));
    };
    if (value.startsWith('//')) send(value.slice(1));
    else if (value.startsWith('/')) {
      composing.stop();
      const a = parseCommand(value, { sessions, selected: currentSelected() });
      // Answering or aborting the peer's question by command closes its prompt, as Enter and Esc there do.
      if (a.kind === 'core' && (a.cmd.cmd === 'smp_respond' || a.cmd.cmd === 'smp_abort')) smp.dismiss(a.cmd.session);
      runAction(a);
    } else send(value);
  };

  const layout = useMemo(() => screenLayout(size), [size]);

  const scrollOf = scroll.offsetOf(selId);
  const scrollBy = (delta: number): void => {
    const id = currentSelected()?.id;
    if (id) scroll.scrollBy(id, delta);
  };

  const onKey = (input: string, key: Key): void => {
    const line = lineRef.current;
    const overlay = overlayRef.current;
    const selected = currentSelected();
    const smpSession = smp.promptFor(selected);
    const a = keyAction(input, key, { overlay: overlay?.kind ?? null, smpPrompt: smpSession !== null });
    const page = layout.page;
    switch (a.kind) {
      case 'quit':
        quit();
        return;
      case 'verify-trust': {
        const s = overlay?.kind === 'verify' ? sessions.find((x) => x.id === overlay.session) : undefined;
        if (s?.otr.theirFingerprint) void dispatch({ cmd: 'trust', session: s.id }, `${sessionName(s)} marked verified.`);
        return;
      }
      case 'close-overlay':
        setOverlay(null);
        return;
      case 'abort-smp':
        if (smpSession) {
          smp.dismiss(smpSession.id);
          setSmpLine(EMPTY_LINE);
          void dispatch({ cmd: 'smp_abort', session: smpSession.id }, 'Verification aborted.');
        }
        return;
      case 'clear-notice':
        setNotice(null);
        return;
      case 'select':
        select(a.index);
        return;
      case 'cycle': {
        if (sessions.length === 0) return;
        const i = selected ? sessions.indexOf(selected) : 0;
        select((i + a.delta + sessions.length) % sessions.length);
        return;
      }
      case 'help-scroll':
        if (overlay?.kind === 'help') setOverlay({ kind: 'help', scroll: Math.max(0, overlay.scroll + a.dir * page) });
        return;
      case 'scroll':
        scrollBy(a.dir * page);
        return;
      case 'smp-submit':
        if (smpSession) answerSmp(smpSession);
        return;
      case 'smp-edit': {
        const next = editLine(smpLineRef.current, input, key);
        if (next) setSmpLine(next);
        return;
      }
      case 'submit':
        submit(line.value);
        return;
      case 'history': {
        const v = a.dir === 'up' ? history.current.up(line.value) : history.current.down();
        if (v !== null) setLine(lineOf(v));
        return;
      }
      case 'complete': {
        const c = complete(line.value);
        if (c.line !== line.value) setLine(lineOf(c.line));
        if (c.candidates.length > 1) setNotice({ text: c.candidates.join('  '), level: 'info' });
        return;
      }
      case 'edit': {
        const next = editLine(line, input, key);
        if (next && next !== line) {
          setLine(next);
          if (next.value !== line.value) composing.typed(selected, next.value);
        }
        return;
      }
      case 'none':
        return;
    }
  };

  /** Enter at the verification prompt: a command typed there runs as a command, never as the secret. */
  const answerSmp = (s: SessionView): void => {
    const value = smpLineRef.current.value;
    if (value.startsWith('/') && !value.startsWith('//')) {
      setSmpLine(EMPTY_LINE);
      submit(value);
      return;
    }
    const secret = value.startsWith('//') ? value.slice(1) : value;
    if (secret === '') {
      setNotice({ text: 'Type the answer first (Esc aborts the verification).', level: 'error' });
      return;
    }
    smp.dismiss(s.id);
    setSmpLine(EMPTY_LINE);
    void dispatch({ cmd: 'smp_respond', session: s.id, secret }, 'Answer sent; waiting for the result…');
  };
  const keyRef = useRef(onKey);
  keyRef.current = onKey;
  const stableKey = useCallback((input: string, key: Key) => {
    for (const [i, k] of splitChunk(input, key)) keyRef.current(i, k);
  }, []);
  useInput(stableKey);

  useF1(useCallback(() => setOverlay((o) => (o?.kind === 'help' ? null : { kind: 'help', scroll: 0 })), [setOverlay]));

  const { cols, listW, chatW, mainH } = layout;

  const prompt = smpSession ? 'answer> ' : '> ';
  const input = inputRow(prompt, smpSession ? 'yellow' : 'cyan', smpSession ? smpLine : line, cols);
  useEffect(() => {
    if (overlay?.kind === 'verify') setCursorPosition(undefined);
    else setCursorPosition({ x: input.cursorX, y: layout.inputY });
  });

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
        <MainPane
          overlay={overlay}
          sessions={sessions}
          selected={selected}
          scroll={scrollOf}
          coreNotices={state.notices}
          width={chatW}
          height={mainH}
          noColor={noColor}
        />
      </Box>
      <NoticeRow smpSession={smpSession} notice={notice} coreNotices={state.notices} width={cols} noColor={noColor} />
      <InputLine layout={input} width={cols} noColor={noColor} />
      <TabBar sessions={sessions} selectedId={selId} width={cols} noColor={noColor} />
    </Box>
  );
}
