import { Rows } from './Rows.js';
import { clipRow, wrapSegs, type Row } from './text.js';

const HELP: Array<[string, string]> = [
  ['/chat user@host', 'start a chat (also sip:user@host:port)'],
  ['/call user@host', 'start an audio call'],
  ['/accept [N]  /reject [N]', 'answer an incoming chat, call or audio offer'],
  ['/hangup [N]', 'end the selected chat or call (or N)'],
  ['/otr init | finish', 'start or end OTR encryption'],
  ['/otr info  /verify', 'fingerprints, to compare on a call (v marks verified)'],
  ['/otr trust | distrust', 'mark the peer verified / unverified by hand'],
  ['/otr auth SECRET', 'verify with a shared secret (SMP)'],
  ['/otr authq "QUESTION" SECRET', 'verify with a question the peer answers'],
  ['/otr authabort', 'abort a verification'],
  ['/otr genkey yes', 'make a new OTR key (asks to confirm; old key kept as a backup)'],
  ['/otr policy always|never|default', 'OTR for this contact (or all, with no chat open)'],
  ['/send [URI] PATH  /accept-file', 'files; also /send! (unencrypted), /reject-file, /cancel-file, /open'],
  ['/audio  /audio off  (Alt-X)', 'add audio to the selected chat; remove it (the chat goes on)'],
  ['/hold  /resume  (Alt-H)', 'hold the call (nothing sent or played), resume it'],
  ['/mute  /unmute  (Alt-M)', 'stop / start sending your microphone'],
  ['/dtmf 12#', 'send touch tones (RFC 4733)'],
  ['/sas confirm | reject  (Alt-S)', "the call's ZRTP SAS: the peer read the same (confirm) or not (reject)"],
  ['/search TEXT', 'search the chat history'],
  ['/help  /quit', 'this help; leave'],
  ['//text', 'send a line that starts with "/"'],
  ['', ''],
  ['Alt-1..9  Ctrl-N/Ctrl-P', 'switch chat'],
  ['PgUp/PgDn', 'scroll the chat'],
  ['Up/Down  Tab', 'input history; complete commands'],
  ['F1  Esc', 'toggle this help; close'],
  ['Ctrl-T', 'call statistics (loss, jitter, RTT) in the header'],
  ['Ctrl-C', 'quit'],
  ['', ''],
  ['[V] verified', '[U] encrypted, unverified   [!] KEY CHANGED   [-] OTR ended by peer'],
  ['ZRTP SAS a b c d', 'call encrypted by ZRTP: read the SAS aloud; verified once confirmed (kept per peer)'],
  ['(no marker)', 'plaintext        conf  conference room (no OTR)'],
];

export function helpRows(width: number): Row[] {
  const keyW = Math.min(34, Math.max(...HELP.map(([k]) => k.length)) + 2);
  const rows: Row[] = [
    [
      { text: ' Help', bold: true },
      { text: '  (Esc or F1 closes)', dim: true },
    ],
    [],
  ];
  for (const [k, v] of HELP) {
    const color = k.startsWith('[V]') ? 'green' : undefined;
    const key = { text: ` ${k.padEnd(keyW)}`, bold: true, color };
    if (width - keyW - 1 < 20) {
      // Too narrow for two columns: the description goes under its key.
      rows.push([key]);
      if (v) for (const r of wrapSegs([{ text: v }], width - 3)) rows.push([{ text: '   ' }, ...r]);
      continue;
    }
    wrapSegs([{ text: v }], width - keyW - 1).forEach((r, i) =>
      rows.push([i === 0 ? key : { text: ' '.repeat(keyW + 1) }, ...r]),
    );
  }
  return rows.map((r) => clipRow(r, width));
}

/** The help, scrolled by `scroll` rows (PgUp/PgDn), with a note when more is below. */
export function HelpView({
  width,
  height,
  scroll,
  noColor,
}: {
  width: number;
  height: number;
  scroll: number;
  noColor: boolean;
}) {
  const all = helpRows(width);
  const top = Math.min(Math.max(0, scroll), Math.max(0, all.length - height));
  let rows = all.slice(top, top + height);
  if (top + height < all.length)
    rows = [...rows.slice(0, height - 1), [{ text: ' -- PgDn for more --', color: 'yellow' }]];
  return <Rows rows={rows} width={width} height={height} noColor={noColor} />;
}
