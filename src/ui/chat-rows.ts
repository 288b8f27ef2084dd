// Turns chat lines into screen rows. Only the rows that can be seen are built: the history is walked from the
// newest line backwards until the view (plus the scroll offset) is full, so a long history costs nothing.
import type { ChatLine, SessionView } from '../chat/types.js';
import { LOCK_COLOR, LOCK_MARKER, messageLock } from './lock.js';
import { hhmm } from './format.js';
import { fit, sanitize, sanitizeLine, textWidth, truncate, wrapSegs, type Row, type Seg } from './text.js';

export const MARKER_WIDTH = 3;
const MAX_SENDER = 14;

export interface LineLayout {
  width: number;
  senderWidth: number;
  peerName: string;
}

interface Cached {
  key: string;
  rows: Row[];
}
const cache = new WeakMap<ChatLine, Cached>();

function layoutKey(l: LineLayout): string {
  return `${l.width}|${l.senderWidth}|${l.peerName}`;
}

export function senderWidthFor(s: SessionView): number {
  if (s.isFocus) return 12;
  return Math.min(MAX_SENDER, Math.max(2, textWidth(sanitizeLine(s.displayName || s.peer))));
}

/** Builds (or reuses) the rows of one chat line. */
export function lineRows(line: ChatLine, layout: LineLayout): Row[] {
  const key = layoutKey(layout);
  const hit = cache.get(line);
  if (hit && hit.key === key) return hit.rows;
  const rows = buildLineRows(line, layout);
  cache.set(line, { key, rows });
  return rows;
}

function withIndent(rows: Row[], prefix: Row, indent: number): Row[] {
  return rows.map((r, i) => (i === 0 ? [...prefix, ...r] : [{ text: ' '.repeat(indent) }, ...r]));
}

export function buildLineRows(line: ChatLine, layout: LineLayout): Row[] {
  const time = hhmm(line.time);
  if (line.kind === 'system') {
    const warn = line.level === 'warning';
    const prefix: Row = [
      { text: time, dim: true },
      { text: '  ' },
      { text: '--', color: warn ? 'red' : undefined, bold: warn, dim: !warn },
      { text: '  ' },
    ];
    const indent = time.length + 6;
    const body: Seg[] = [{ text: sanitize(line.text), color: warn ? 'red' : undefined, dim: !warn }];
    return withIndent(wrapSegs(body, layout.width - indent), prefix, indent);
  }
  const lock = messageLock(line.encryption);
  const marker = LOCK_MARKER[lock];
  const out = line.direction === 'out';
  const sender = out ? 'me' : sanitizeLine(line.sender ?? layout.peerName);
  const prefix: Row = [
    { text: time, dim: true },
    { text: ' ' },
    { text: fit(marker, MARKER_WIDTH), color: LOCK_COLOR[lock], bold: lock !== 'none' },
    { text: ' ' },
    {
      text: fit(truncate(sender, layout.senderWidth), layout.senderWidth),
      color: out ? 'cyan' : 'magenta',
      bold: !out,
    },
    { text: ' ' },
  ];
  const indent = time.length + 1 + MARKER_WIDTH + 1 + layout.senderWidth + 1;
  const body: Seg[] = [{ text: sanitize(line.text) }];
  if (out) body.push(...deliverySegs(line));
  return withIndent(wrapSegs(body, layout.width - indent), prefix, indent);
}

export interface Viewport {
  rows: Row[];
  /** The scroll offset actually used (clamped so the top of the history stays reachable but not passable). */
  scroll: number;
  /** True when older rows exist above the view. */
  more: boolean;
}

/**
 * The `height` rows that end `scroll` rows above the newest one. Content sits at the bottom of the view,
 * as in every chat program; empty rows fill the top.
 */
export function viewport(lines: readonly ChatLine[], layout: LineLayout, height: number, scroll: number): Viewport {
  const need = height + Math.max(0, scroll);
  const collected: Row[][] = [];
  let count = 0;
  let i = lines.length - 1;
  for (; i >= 0 && count < need + 1; i--) {
    const rows = lineRows(lines[i]!, layout);
    collected.push(rows);
    count += rows.length;
  }
  const all: Row[] = [];
  for (let k = collected.length - 1; k >= 0; k--) all.push(...collected[k]!);
  const total = all.length;
  const hasOlder = i >= 0;
  const maxScroll = hasOlder ? Math.max(0, scroll) : Math.max(0, total - height);
  const s = Math.min(Math.max(0, scroll), maxScroll);
  const end = total - s;
  const start = Math.max(0, end - height);
  const rows = all.slice(start, end);
  while (rows.length < height) rows.unshift([]);
  return { rows, scroll: s, more: start > 0 || hasOlder };
}

/** Per-message state after an outgoing message: words, so NO_COLOR terminals show the same. */
export function deliverySegs(line: ChatLine): Seg[] {
  switch (line.delivery) {
    case 'pending':
      return [{ text: ' (sending)', dim: true }];
    case 'delivered':
      return [{ text: line.resent ? ' (resent, delivered)' : ' (delivered)', dim: true }];
    case 'resent':
      return [{ text: ' (resent)', color: 'yellow' }];
    case 'failed':
      return [
        {
          text: line.failReason ? ` (failed: ${sanitizeLine(line.failReason)})` : ' (failed)',
          color: 'red',
          bold: true,
        },
      ];
    default:
      return [];
  }
}
