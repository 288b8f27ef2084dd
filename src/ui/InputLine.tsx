import { Rows } from './Rows.js';
import { charWidth, textWidth, type Row } from './text.js';
import type { LineState } from './line-edit.js';

export interface InputLayout {
  row: Row;
  /** Column of the cursor within the row. */
  cursorX: number;
}

/**
 * The prompt and the part of the line around the cursor that fits: long lines scroll sideways so the cursor
 * stays visible. The terminal's own cursor marks the position (no reverse-video block, which NO_COLOR forbids).
 */
export function inputRow(prompt: string, promptColor: string | undefined, line: LineState, width: number): InputLayout {
  const pw = textWidth(prompt);
  const room = Math.max(1, width - pw - 1);
  const chars = Array.from(line.value);
  // Index of the cursor in code points.
  const cursorCp = Array.from(line.value.slice(0, line.cursor)).length;
  let start = 0;
  let w = 0;
  for (let i = cursorCp - 1; i >= 0; i--) {
    w += charWidth(chars[i] ?? '');
    if (w > room) {
      start = i + 1;
      break;
    }
  }
  let shown = '';
  let sw = 0;
  let cursorX = pw;
  for (let i = start; i < chars.length; i++) {
    const cw = charWidth(chars[i] ?? '');
    if (sw + cw > room) break;
    if (i === cursorCp) cursorX = pw + sw;
    shown += chars[i];
    sw += cw;
  }
  if (cursorCp >= chars.length || cursorCp < start) cursorX = pw + textWidth(chars.slice(start, cursorCp).join(''));
  return { row: [{ text: prompt, color: promptColor, bold: true }, { text: shown }], cursorX };
}

export function InputLine(props: { layout: InputLayout; width: number; noColor: boolean }) {
  return <Rows rows={[props.layout.row]} width={props.width} height={1} noColor={props.noColor} />;
}
