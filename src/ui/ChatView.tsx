import { memo } from 'react';
import { callSegments, hasCall, sasRow } from './call.js';
import type { SessionView } from '../chat/types.js';
import { senderWidthFor, viewport } from './chat-rows.js';
import { LOCK_COLOR, LOCK_MARKER, LOCK_WORD, sessionLock } from './lock.js';
import { Rows } from './Rows.js';
import { sessionName } from './SessionList.js';
import { clipRow, sanitizeLine, type Row } from './text.js';

/**
 * Two rows: `bob (bob@example.org)  [V] OTR verified · SMP ...`, then the details:
 * `OTR v3 · msrp/tcp · not logged · 2 waiting for OTR · OTR off: reason · ended (reason)`.
 */
export function headerRows(s: SessionView, width: number, callStats = false, now = Date.now()): [Row, Row] {
  const lock = sessionLock(s);
  const name = sessionName(s);
  const top: Row = [{ text: name, bold: true }];
  if (name !== s.peer) top.push({ text: ` (${sanitizeLine(s.peer)})`, dim: true });
  top.push({ text: '  ' });
  const marker = LOCK_MARKER[lock];
  if (marker && lock !== 'conf') top.push({ text: `${marker} `, color: LOCK_COLOR[lock], bold: true });
  top.push({ text: LOCK_WORD[lock], color: LOCK_COLOR[lock], bold: lock === 'changed' });
  if (s.otr.smp?.phase === 'waiting') top.push({ text: ' · SMP: waiting for answer', color: 'yellow' });
  if (s.otr.smp?.phase === 'asked') top.push({ text: ' · SMP: answer asked', color: 'yellow' });

  const details: Row = [];
  const add = (seg: Row[number]): void => {
    details.push({ text: details.length === 0 ? '' : ' · ', dim: true }, seg);
  };
  // The call first: it is what changes while one talks (and it goes with /verify: compare fingerprints aloud).
  if (hasCall(s.audio)) for (const seg of callSegments(s.audio, now, callStats)) details.push(seg);
  if (s.otr.version && s.otr.state !== 'plaintext') add({ text: `OTR v${s.otr.version}`, dim: true });
  if (s.media?.includes('chat') ?? true) add({ text: sanitizeLine(s.transport), dim: true });
  if (s.loggingDisabled) add({ text: 'not logged', color: 'cyan' });
  if (s.otr.pending > 0) add({ text: `${s.otr.pending} waiting for OTR`, color: 'yellow' });
  if (s.otr.disabledReason) add({ text: `OTR off: ${sanitizeLine(s.otr.disabledReason)}`, dim: true });
  if (s.state !== 'active') {
    const st = s.state === 'ended' && s.reason ? `ended (${sanitizeLine(s.reason)})` : s.state;
    add({ text: st, color: s.state === 'ended' ? 'red' : 'yellow' });
  }
  return [clipRow(top, width), clipRow(details, width)];
}

/** The row under the messages: what needs the user's attention first, else who is typing. */
export function chatStatusRow(s: SessionView, more: boolean, scrolled: boolean): Row {
  const name = sessionName(s);
  if (s.state === 'incoming') {
    const what = s.media?.includes('audio') ? (s.media.includes('chat') ? 'call and chat' : 'call') : 'chat';
    return [
      {
        text: `${name} wants to ${what === 'chat' ? 'chat' : `start a ${what}`}: /accept or /reject`,
        color: 'cyan',
        bold: true,
      },
    ];
  }
  if (s.audio?.state === 'proposed')
    return [{ text: `${name} wants to add audio: /accept or /reject (the chat goes on)`, color: 'cyan', bold: true }];
  // the call's SAS waiting to be compared (or an alarm about it) comes before who is typing
  const sas = sasRow(s.audio);
  if (sas && !scrolled) return sas;
  const row: Row = [];
  if (s.state === 'ended') row.push({ text: `chat ended${s.reason ? `: ${sanitizeLine(s.reason)}` : ''}`, dim: true });
  else if (s.state === 'connecting') row.push({ text: 'connecting…', dim: true });
  else if (s.remoteComposing) row.push({ text: `${name} is typing...`, dim: true });
  if (scrolled) row.push({ text: '  -- scrolled back: PgDn for newer --', color: 'yellow' });
  else if (more && row.length === 0) row.push({ text: '' });
  return row;
}

export interface ChatViewProps {
  session: SessionView;
  width: number;
  height: number;
  scroll: number;
  noColor: boolean;
  /** Ctrl-T: loss, jitter and RTT of the call in the header. */
  callStats?: boolean;
}

export const ChatView = memo(function ChatView({
  session,
  width,
  height,
  scroll,
  noColor,
  callStats = false,
}: ChatViewProps) {
  const msgH = Math.max(1, height - 3);
  const vp = viewport(
    session.lines,
    { width, senderWidth: senderWidthFor(session), peerName: sessionName(session) },
    msgH,
    scroll,
  );
  const rows: Row[] = [
    ...headerRows(session, width, callStats),
    ...vp.rows,
    clipRow(chatStatusRow(session, vp.more, vp.scroll > 0), width),
  ];
  return <Rows rows={rows} width={width} height={height} noColor={noColor} />;
});
