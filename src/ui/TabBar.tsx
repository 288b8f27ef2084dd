import { memo } from 'react';
import type { SessionView } from '../chat/types.js';
import { LOCK_COLOR, LOCK_LETTER, sessionLock } from './lock.js';
import { Rows } from './Rows.js';
import { sessionName } from './SessionList.js';
import { clipRow, rowWidth, truncate, type Row } from './text.js';

const HINT = 'Alt-1..9 switch  PgUp/PgDn scroll ';

/** `[1 bob V] [2 carol U 2] [4 dave ! key changed]`; the selected tab is `<...>`. */
export function tabBarRow(sessions: readonly SessionView[], selectedId: string | null, width: number): Row {
  const row: Row = [{ text: ' ' }];
  sessions.forEach((s, i) => {
    const lock = sessionLock(s);
    const sel = s.id === selectedId;
    const parts: Row = [
      { text: `${sel ? '<' : '['}${i + 1} ${truncate(sessionName(s), 12)}`, bold: sel, inverse: sel },
    ];
    if (s.state === 'incoming') parts.push({ text: ' new', color: 'cyan', bold: true, inverse: sel });
    else if (LOCK_LETTER[lock])
      parts.push({ text: ` ${LOCK_LETTER[lock]}`, color: LOCK_COLOR[lock], bold: true, inverse: sel });
    if (s.unread > 0) parts.push({ text: ` ${s.unread}`, bold: true, inverse: sel });
    if (lock === 'changed') parts.push({ text: ' key changed', color: 'red', bold: true, inverse: sel });
    if (s.state === 'ended') parts.push({ text: ' ended', dim: true, inverse: sel });
    parts.push({ text: sel ? '>' : ']', bold: sel, inverse: sel }, { text: ' ' });
    row.push(...parts);
  });
  const used = rowWidth(row);
  if (used + HINT.length + 1 <= width) {
    row.push({ text: ' '.repeat(width - used - HINT.length) }, { text: HINT, dim: true });
  }
  return clipRow(row, width);
}

export const TabBar = memo(function TabBar(props: {
  sessions: readonly SessionView[];
  selectedId: string | null;
  width: number;
  noColor: boolean;
}) {
  return (
    <Rows
      rows={[tabBarRow(props.sessions, props.selectedId, props.width)]}
      width={props.width}
      height={1}
      noColor={props.noColor}
    />
  );
});
