import type { ChatLine } from '../chat/types.js';
import { buildLineRows } from './chat-rows.js';
import { Rows } from './Rows.js';
import { clipRow, sanitizeLine, type Row } from './text.js';

export interface SearchState {
  text: string;
  results: ChatLine[] | null;
  error?: string;
}

export function searchRows(st: SearchState, width: number, height: number): Row[] {
  const head: Row = [
    { text: ` Search: ${sanitizeLine(st.text)}`, bold: true },
    { text: '  (Esc closes)', dim: true },
  ];
  if (st.error) return [head, [], [{ text: ` ${sanitizeLine(st.error)}`, color: 'red' }]];
  if (!st.results) return [head, [], [{ text: ' searching…', dim: true }]];
  if (st.results.length === 0) return [head, [], [{ text: ' no matches', dim: true }]];
  const body: Row[] = [];
  for (const l of st.results) body.push(...buildLineRows(l, { width, senderWidth: 12, peerName: l.sender ?? '' }));
  const room = Math.max(0, height - 2);
  const shown = body.slice(-room);
  return [clipRow([...head, { text: `  ${st.results.length} found`, dim: true }], width), [], ...shown];
}

export function SearchView(props: { search: SearchState; width: number; height: number; noColor: boolean }) {
  return (
    <Rows
      rows={searchRows(props.search, props.width, props.height)}
      width={props.width}
      height={props.height}
      noColor={props.noColor}
    />
  );
}
