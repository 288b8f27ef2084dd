// Text helpers for a fixed-size terminal grid. The UI wraps and truncates by itself (instead of leaving it to
// ink) so that it knows how many rows every chat line takes and only lays out what is visible.

/**
 * Characters a peer could use to paint the screen or spoof a lock marker: C0/C1 controls (ESC sequences),
 * DEL, and the bidirectional overrides/isolates that reorder what follows them.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Makes untrusted text (messages, names, reasons) safe to print: tabs become spaces, controls become U+FFFD. */
export function sanitize(text: string): string {
  return text.replace(/\t/g, '    ').replace(/\r\n?/g, '\n').replace(UNSAFE, '\uFFFD');
}

/** Like sanitize, but for one-row fields (names, reasons): newlines become spaces. */
export function sanitizeLine(text: string): string {
  return sanitize(text).replace(/\n/g, ' ');
}

function isCombining(cp: number): boolean {
  return (
    (cp >= 0x0300 && cp <= 0x036f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xfe20 && cp <= 0xfe2f) ||
    cp === 0x200b ||
    cp === 0x200c ||
    cp === 0x200d ||
    (cp >= 0xe0100 && cp <= 0xe01ef)
  );
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Terminal columns taken by one code point (0, 1 or 2). */
export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20) return 0;
  if (isCombining(cp)) return 0;
  return isWide(cp) ? 2 : 1;
}

export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch);
  return w;
}

/** Cuts text to at most `width` columns; marks the cut with an ellipsis when there is room for one. */
export function truncate(text: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  const room = width - textWidth(ellipsis);
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch);
    if (w + cw > room) break;
    out += ch;
    w += cw;
  }
  return room > 0 ? out + ellipsis : out;
}

/** Pads (or truncates) to exactly `width` columns. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = truncate(text, width);
  const gap = ' '.repeat(Math.max(0, width - textWidth(t)));
  return align === 'left' ? t + gap : gap + t;
}

/** A run of text with one style. Colour names are ink/chalk names; the theme strips them for NO_COLOR. */
export interface Seg {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

export type Row = Seg[];

export function rowWidth(row: Row): number {
  let w = 0;
  for (const s of row) w += textWidth(s.text);
  return w;
}

/** Truncates a row of segments to `width` columns, keeping styles. */
export function clipRow(row: Row, width: number): Row {
  const out: Row = [];
  let left = width;
  for (const s of row) {
    if (left <= 0) break;
    const w = textWidth(s.text);
    if (w <= left) {
      out.push(s);
      left -= w;
    } else {
      out.push({ ...s, text: truncate(s.text, left) });
      left = 0;
    }
  }
  return out;
}

interface Cell {
  ch: string;
  w: number;
  seg: number;
}

function cellsToRow(cells: Cell[], segs: Seg[]): Row {
  const row: Row = [];
  let cur: Seg | null = null;
  let curSeg = -1;
  for (const c of cells) {
    if (cur && c.seg === curSeg) {
      cur.text += c.ch;
    } else {
      cur = { ...segs[c.seg]!, text: c.ch };
      curSeg = c.seg;
      row.push(cur);
    }
  }
  return row;
}

/**
 * Word-wraps styled text to `width` columns. Breaks after spaces where it can, inside a word only when the word
 * is longer than a row; `\n` forces a break. Always returns at least one row.
 */
export function wrapSegs(segs: Seg[], width: number): Row[] {
  const w = Math.max(1, width);
  const rows: Row[] = [];
  let line: Cell[] = [];
  let lineW = 0;
  let lastSpace = -1; // index in `line` of the last breakable space
  const flush = (cells: Cell[]): void => {
    rows.push(cellsToRow(cells, segs));
  };
  segs.forEach((seg, si) => {
    for (const ch of seg.text) {
      if (ch === '\n') {
        flush(line);
        line = [];
        lineW = 0;
        lastSpace = -1;
        continue;
      }
      const cw = charWidth(ch);
      if (lineW + cw > w && line.length > 0) {
        if (ch === ' ') {
          // A space at the edge is the break itself.
          flush(line);
          line = [];
          lineW = 0;
          lastSpace = -1;
          continue;
        }
        if (lastSpace >= 0) {
          const head = line.slice(0, lastSpace);
          const tail = line.slice(lastSpace + 1);
          flush(head);
          line = tail;
        } else {
          flush(line);
          line = [];
        }
        lineW = line.reduce((a, c) => a + c.w, 0);
        lastSpace = line.map((c) => c.ch).lastIndexOf(' ');
      }
      if (ch === ' ') lastSpace = line.length;
      line.push({ ch, w: cw, seg: si });
      lineW += cw;
    }
  });
  flush(line);
  return rows;
}
