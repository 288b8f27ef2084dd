import { Rows } from './Rows.js';
import { clipRow, type Row } from './text.js';

const HELP: Array<[string, string]> = [
  ['/chat user@host', 'start a chat (also sip:user@host:port)'],
  ['/accept [N]  /reject [N]', 'answer an incoming chat'],
  ['/hangup [N]', 'end the selected chat (or number N)'],
  ['/otr init | finish', 'start or end OTR encryption'],
  ['/otr info  /verify', 'fingerprints, to compare on a call (v marks verified)'],
  ['/otr trust | distrust', 'mark the peer verified / unverified by hand'],
  ['/otr auth SECRET', 'verify with a shared secret (SMP)'],
  ['/otr authq "QUESTION" SECRET', 'verify with a question the peer answers'],
  ['/otr authabort', 'abort a verification'],
  ['/otr genkey', 'generate a new OTR key'],
  ['/otr policy always|never|default', 'OTR for this contact (or all, with no chat open)'],
  ['/search TEXT', 'search the chat history'],
  ['/help  /quit', 'this help; leave'],
  ['//text', 'send a line that starts with "/"'],
  ['', ''],
  ['Alt-1..9  Ctrl-N/Ctrl-P', 'switch chat'],
  ['PgUp/PgDn', 'scroll the chat'],
  ['Up/Down  Tab', 'input history; complete commands'],
  ['F1  Esc', 'toggle this help; close'],
  ['Ctrl-C', 'quit'],
  ['', ''],
  ['[V] verified', '[U] encrypted, unverified   [!] KEY CHANGED   [-] OTR ended by peer'],
  ['(no marker)', 'plaintext        conf  conference room (no OTR)'],
];

export function helpRows(width: number): Row[] {
  const keyW = Math.min(34, Math.max(...HELP.map(([k]) => k.length)) + 2);
  const rows: Row[] = [[{ text: ' Help', bold: true }, { text: '  (Esc or F1 closes)', dim: true }], []];
  for (const [k, v] of HELP) {
    const color = k.startsWith('[V]') ? 'green' : undefined;
    rows.push([{ text: ` ${k.padEnd(keyW)}`, bold: true, color }, { text: v }]);
  }
  return rows.map((r) => clipRow(r, width));
}

export function HelpView({ width, height, noColor }: { width: number; height: number; noColor: boolean }) {
  return <Rows rows={helpRows(width)} width={width} height={height} noColor={noColor} />;
}
