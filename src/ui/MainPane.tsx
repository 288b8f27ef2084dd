// The pane right of the session list: an overlay (help, search results, fingerprint verification) when one is
// open, else the selected chat, else a word on how to start one.
import type { ChatLine, SessionView } from '../chat/types.js';
import { ChatView } from './ChatView.js';
import { HelpView } from './HelpView.js';
import { Rows } from './Rows.js';
import { SearchView, type SearchState } from './SearchView.js';
import { clipRow, sanitizeLine, type Row } from './text.js';
import { VerifyView } from './VerifyView.js';

/** What covers the chat, if anything (view state of the App; Esc closes it). */
export type Overlay =
  | { kind: 'help'; scroll: number }
  | { kind: 'verify'; session: string }
  | { kind: 'search'; search: SearchState }
  | null;

/** No chat open: how to start one, then the core's latest global notices as far as they fit. */
export function noChatRows(coreNotices: readonly ChatLine[], width: number, height: number): Row[] {
  return [
    [{ text: ' No chats yet.', bold: true }],
    [{ text: ' /chat user@host starts one; incoming chats appear on the left. F1 shows all commands.', dim: true }],
    [],
    ...coreNotices
      .slice(-(height - 3))
      .map((n) =>
        clipRow([{ text: ` -- ${sanitizeLine(n.text)}`, color: n.level === 'warning' ? 'red' : undefined }], width),
      ),
  ];
}

export interface MainPaneProps {
  overlay: Overlay;
  sessions: readonly SessionView[];
  selected: SessionView | null;
  /** The selected chat's scroll offset from the bottom. */
  scroll: number;
  coreNotices: readonly ChatLine[];
  width: number;
  height: number;
  noColor: boolean;
  callStats?: boolean;
}

export function MainPane({
  overlay,
  sessions,
  selected,
  scroll,
  coreNotices,
  width,
  height,
  noColor,
  callStats = false,
}: MainPaneProps) {
  if (overlay?.kind === 'help')
    return <HelpView width={width} height={height} scroll={overlay.scroll} noColor={noColor} />;
  if (overlay?.kind === 'search')
    return <SearchView search={overlay.search} width={width} height={height} noColor={noColor} />;
  if (overlay?.kind === 'verify') {
    const s = sessions.find((x) => x.id === overlay.session);
    return s ? (
      <VerifyView session={s} width={width} height={height} noColor={noColor} />
    ) : (
      <Rows rows={[[{ text: ' That chat is gone. Esc closes.' }]]} width={width} height={height} noColor={noColor} />
    );
  }
  if (selected)
    return (
      <ChatView
        session={selected}
        width={width}
        height={height}
        scroll={scroll}
        noColor={noColor}
        callStats={callStats}
      />
    );
  return <Rows rows={noChatRows(coreNotices, width, height)} width={width} height={height} noColor={noColor} />;
}
