import type { AccountView } from '../chat/types.js';
import { shortUri } from './format.js';
import { Rows } from './Rows.js';
import { clipRow, rowWidth, sanitizeLine, type Row } from './text.js';

const REG_COLOR: Record<AccountView['registration'], string | undefined> = {
  none: undefined,
  registering: 'yellow',
  registered: 'green',
  unregistered: 'yellow',
  failed: 'red',
};

export function statusRow(account: AccountView, width: number): Row {
  const reg =
    account.serverless && account.registration === 'none'
      ? 'serverless'
      : account.registration === 'none'
        ? 'not registered'
        : account.registration;
  const left: Row = [
    { text: ' blink-tui ', bold: true },
    { text: ' ' },
    { text: sanitizeLine(shortUri(account.uri)), bold: true },
    { text: '  ' },
    { text: reg, color: REG_COLOR[account.registration], bold: account.registration === 'failed' },
    { text: ` (${account.transport})`, dim: true },
  ];
  if (account.registrationError) {
    left.push({ text: `  ${sanitizeLine(account.registrationError)}`, color: 'red' });
  }
  if (account.registration === 'failed' && account.registrationRetryAt !== undefined) {
    left.push({
      text: `  next try ${new Date(account.registrationRetryAt).toTimeString().slice(0, 8)}`,
      color: 'yellow',
    });
  }
  const right: Row = [{ text: 'F1 help ', dim: true }];
  const rw = rowWidth(right);
  const clipped = clipRow(left, Math.max(0, width - rw - 1));
  const gap = Math.max(1, width - rowWidth(clipped) - rw);
  return clipRow([...clipped, { text: ' '.repeat(gap) }, ...right], width);
}

export function StatusLine({ account, width, noColor }: { account: AccountView; width: number; noColor: boolean }) {
  return <Rows rows={[statusRow(account, width)]} width={width} height={1} noColor={noColor} />;
}
