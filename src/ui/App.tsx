// The whole screen. It reads the core's state, keeps only view state of its own (selection, scroll, input,
// overlays), and turns keys and commands into core commands. It never changes core state by itself.
// Each behaviour is a hook (src/ui/hooks/) and each part of the screen a component; App composes them.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Box, useCursor, useStdout } from 'ink';
import type { SessionView } from '../chat/types.js';
import { useCommandRunner } from './hooks/use-command-runner.js';
import { useComposing } from './hooks/use-composing.js';
import { useCoreState } from './hooks/use-core-state.js';
import { useF1 } from './hooks/use-function-key.js';
import { useKeyChangeBell } from './hooks/use-key-change-bell.js';
import { useKeyHandler } from './hooks/use-key-handler.js';
import { useMarkRead } from './hooks/use-mark-read.js';
import { useCoreNotice, useNotice } from './hooks/use-notice.js';
import { useRefState } from './hooks/use-ref-state.js';
import { useScroll } from './hooks/use-scroll.js';
import { useSessionArrivals } from './hooks/use-session-arrivals.js';
import { useSmpPrompt } from './hooks/use-smp-prompt.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { InputLine, inputRow } from './InputLine.js';
import { screenLayout } from './layout.js';
import { MainPane, type Overlay } from './MainPane.js';
import { NoticeRow } from './NoticeRow.js';
import { Rows } from './Rows.js';
import { selectedSession, SessionList } from './SessionList.js';
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

/** The session list and the separator right of it; nothing on a terminal too narrow for them. */
function SessionColumn(props: {
  sessions: SessionView[];
  selectedId: string | null;
  width: number;
  height: number;
  noColor: boolean;
}) {
  if (props.width <= 0) return null;
  const { sessions, selectedId, width, height, noColor } = props;
  return (
    <>
      <SessionList sessions={sessions} selectedId={selectedId} width={width} height={height} noColor={noColor} />
      <Rows rows={separator(height)} width={2} height={height} noColor={noColor} />
    </>
  );
}

export function App({ core, noColor, bell }: AppProps) {
  const { stdout } = useStdout();
  const { setCursorPosition } = useCursor();
  const size = useTerminalSize(stdout);
  const layout = useMemo(() => screenLayout(size), [size]);
  const state = useCoreState(core);
  const [notice, setNotice] = useNotice(core);
  const coreNotice = useCoreNotice(state.notices);
  const rowNotices = useMemo(() => (coreNotice ? [coreNotice] : []), [coreNotice]);
  const [selectedId, setSelectedId, selectedRef] = useRefState<string | null>(null);
  const [overlay, setOverlay, overlayRef] = useRefState<Overlay>(null);
  const commands = useCommandRunner(core, setNotice, setOverlay);

  const sessions = state.sessions;
  const selected = selectedSession(sessions, selectedId);
  const selId = selected?.id ?? null;
  useSessionArrivals(sessions, setSelectedId, setNotice);
  useKeyChangeBell(sessions, bell);
  useMarkRead(selected, commands.dispatchQuiet);
  const smp = useSmpPrompt(sessions, selId, setNotice);
  const smpSession = smp.promptFor(selected);
  const composing = useComposing(commands.dispatchQuiet);
  const scroll = useScroll();
  const [callStats, setCallStats] = useState(false);
  // A call's duration moves every second even when nothing else does.
  const onCall = sessions.some((s) => s.audio?.state === 'active' || s.audio?.state === 'held');
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!onCall) return;
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [onCall]);
  const { line, smpLine } = useKeyHandler({
    sessions,
    selectedRef,
    setSelectedId,
    overlayRef,
    setOverlay,
    setNotice,
    smp,
    composing,
    commands,
    scroll,
    page: layout.page,
    toggleCallStats: useCallback(() => setCallStats((v) => !v), []),
  });
  useF1(useCallback(() => setOverlay((o) => (o?.kind === 'help' ? null : { kind: 'help', scroll: 0 })), [setOverlay]));

  const { cols, listW, chatW, mainH } = layout;
  const input = inputRow(
    smpSession ? 'answer> ' : '> ',
    smpSession ? 'yellow' : 'cyan',
    smpSession ? smpLine : line,
    cols,
  );
  useEffect(() => {
    if (overlay?.kind === 'verify') setCursorPosition(undefined);
    else setCursorPosition({ x: input.cursorX, y: layout.inputY });
  });

  return (
    <Box flexDirection="column" width={cols} height={layout.height}>
      <StatusLine account={state.account} width={cols} noColor={noColor} />
      <Box flexDirection="row" width={cols} height={mainH}>
        <SessionColumn sessions={sessions} selectedId={selId} width={listW} height={mainH} noColor={noColor} />
        <MainPane
          overlay={overlay}
          sessions={sessions}
          selected={selected}
          scroll={scroll.offsetOf(selId)}
          coreNotices={state.notices}
          width={chatW}
          height={mainH}
          noColor={noColor}
          callStats={callStats}
        />
      </Box>
      <NoticeRow smpSession={smpSession} notice={notice} coreNotices={rowNotices} width={cols} noColor={noColor} />
      <InputLine layout={input} width={cols} noColor={noColor} />
      <TabBar sessions={sessions} selectedId={selId} width={cols} noColor={noColor} />
    </Box>
  );
}
