// The one row between the main pane and the input line.
import type { ChatLine, SessionView } from '../chat/types.js';
import type { Notice } from './hooks/use-notice.js';
import { Rows } from './Rows.js';
import { sessionName } from './SessionList.js';
import { clipRow, sanitizeLine, type Row } from './text.js';

/**
 * What the row says, most urgent first: the peer's verification question while its prompt is open, else the UI's
 * own notice, else the core's last global notice.
 */
export function noticeRow(
  smpSession: SessionView | null,
  notice: Notice | null,
  coreNotices: readonly ChatLine[],
): Row {
  if (smpSession) {
    const q = smpSession.otr.smp?.question;
    return [
      { text: ` ${sessionName(smpSession)} wants to verify you`, color: 'yellow', bold: true },
      { text: q ? ` and asks: ${sanitizeLine(q)}` : ': type the shared secret' },
      { text: '  (Enter answers, Esc aborts)', dim: true },
    ];
  }
  if (notice)
    return [
      { text: ` ${notice.text}`, color: notice.level === 'error' ? 'red' : undefined, dim: notice.level === 'info' },
    ];
  const last = coreNotices[coreNotices.length - 1];
  if (last) return [{ text: ` ${sanitizeLine(last.text)}`, color: last.level === 'warning' ? 'red' : undefined }];
  return [];
}

export function NoticeRow(props: {
  smpSession: SessionView | null;
  notice: Notice | null;
  coreNotices: readonly ChatLine[];
  width: number;
  noColor: boolean;
}) {
  const row = noticeRow(props.smpSession, props.notice, props.coreNotices);
  return <Rows rows={[clipRow(row, props.width)]} width={props.width} height={1} noColor={props.noColor} />;
}
