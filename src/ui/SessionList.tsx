import { memo } from 'react';
import type { SessionView } from '../chat/types.js';
import { LOCK_COLOR, LOCK_MARKER, sessionLock } from './lock.js';
import { Rows } from './Rows.js';
import { clipRow, fit, sanitizeLine, textWidth, type Row } from './text.js';

export function sessionName(s: SessionView): string {
  return sanitizeLine(s.displayName || s.peer);
}

/** The selected chat: the one with this id, else the first (null when there are none). */
export function selectedSession(sessions: readonly SessionView[], id: string | null): SessionView | null {
  return sessions.find((s) => s.id === id) ?? sessions[0] ?? null;
}

/** One list row: selection mark, number, name, unread count, lock marker (or the /accept hint). */
export function sessionRow(s: SessionView, index: number, selected: boolean, width: number): Row {
  const lock = sessionLock(s);
  const incoming = s.state === 'incoming';
  const ended = s.state === 'ended';
  const proposed = s.audio?.state === 'proposed';
  const mark = incoming || proposed ? '/accept' : LOCK_MARKER[lock];
  // one entry per session, chat and audio together: a call shows as ☎ before the name
  const call = s.audio && s.audio.state !== 'ended' && s.audio.state !== 'proposed' ? '☎ ' : '';
  const unread = s.unread > 0 ? `(${s.unread > 99 ? '99+' : s.unread})` : '';
  const num = `${selected ? '>' : ' '}${index + 1} `;
  const tail = `${unread ? ` ${unread}` : ''} ${fit(mark, Math.max(4, textWidth(mark)))}`;
  const nameW = Math.max(1, width - textWidth(num) - textWidth(tail));
  return clipRow(
    [
      { text: num, bold: selected },
      {
        text: fit(call + sessionName(s), nameW),
        bold: selected || incoming,
        dim: ended,
        color: incoming ? 'cyan' : undefined,
        inverse: incoming,
      },
      { text: unread ? ` ${unread}` : '', bold: true },
      { text: ' ' },
      {
        text: fit(mark, Math.max(4, textWidth(mark))),
        color: incoming ? 'cyan' : LOCK_COLOR[lock],
        bold: true,
        dim: ended && !incoming,
      },
    ],
    width,
  );
}

export function sessionListRows(sessions: readonly SessionView[], selectedId: string | null, width: number): Row[] {
  const rows: Row[] = [[{ text: fit(' Sessions', width), bold: true, dim: true }]];
  sessions.forEach((s, i) => rows.push(sessionRow(s, i, s.id === selectedId, width - 1)));
  if (sessions.length === 0) rows.push([{ text: ' (none)', dim: true }]);
  return rows;
}

export const SessionList = memo(function SessionList(props: {
  sessions: readonly SessionView[];
  selectedId: string | null;
  width: number;
  height: number;
  noColor: boolean;
}) {
  const { sessions, selectedId, width, height, noColor } = props;
  let rows = sessionListRows(sessions, selectedId, width);
  // Keep the selected session visible when the list is longer than the pane.
  const sel = sessions.findIndex((s) => s.id === selectedId);
  if (rows.length > height && sel + 2 > height) rows = [rows[0]!, ...rows.slice(sel + 3 - height, sel + 2)];
  return <Rows rows={rows} width={width} height={height} noColor={noColor} />;
});
