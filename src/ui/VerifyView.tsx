import type { SessionView } from '../chat/types.js';
import { fingerprintGroups } from '../keys/fingerprint.js';
import { LOCK_COLOR, LOCK_MARKER, LOCK_WORD, sessionLock } from './lock.js';
import { Rows } from './Rows.js';
import { sessionName } from './SessionList.js';
import { clipRow, type Row } from './text.js';
import { spacedSas, zrtpAlarm } from './call.js';

/** The call's ZRTP SAS beside the fingerprints: one call can verify both (the SAS aloud, then the fingerprints). */
function sasRows(s: SessionView): Row[] {
  const z = s.audio?.state !== 'ended' ? s.audio?.zrtp : undefined;
  if (!z || z.state !== 'secure' || !z.sas) return [];
  const alarm = zrtpAlarm(z);
  const status =
    z.verdict === 'rejected'
      ? 'REJECTED: the call may be intercepted'
      : z.cache === 'mismatch' && z.verdict !== 'confirmed'
        ? 'CACHE MISMATCH: compare it before you trust this call'
        : z.verified
          ? 'verified'
          : 'not compared yet';
  return [
    [{ text: " This call's short authentication string (ZRTP):", bold: true }],
    [
      { text: '   ' },
      {
        text: `  ${spacedSas(z.sas)}  `,
        bold: true,
        inverse: true,
        color: alarm ? 'red' : z.verified ? 'green' : 'yellow',
      },
      { text: `   ${z.sasWords ?? ''}`, bold: true },
    ],
    [
      { text: '   Status: ' },
      { text: status, color: alarm ? 'red' : z.verified ? 'green' : 'yellow', bold: alarm },
      { text: `  (${z.cipher ?? ''}, peer ZID ${z.peerZid ?? '?'})`, dim: true },
    ],
    [],
  ];
}

/**
 * Fingerprints for reading aloud: five groups of eight, letter-spaced when the pane is wide enough, so that
 * "4 F 2 A ..." can be read and checked digit by digit on a call.
 */
export function fingerprintRows(fp: string, width: number, color?: string): Row[] {
  const groups = fingerprintGroups(fp);
  const spaced = groups.map((g) => g.split('').join(' '));
  const wide = `   ${spaced.join('    ')}`;
  if (wide.length <= width) return [[{ text: wide, bold: true, color }]];
  const plain = `   ${groups.join('  ')}`;
  if (plain.length <= width) return [[{ text: plain, bold: true, color }]];
  return groups.map((g, i) => [{ text: `   ${i + 1}. ${g}`, bold: true, color }]);
}

export function verifyRows(s: SessionView, width: number): Row[] {
  const name = sessionName(s);
  const lock = sessionLock(s);
  const rows: Row[] = [
    [
      { text: ` Verify ${name}`, bold: true },
      { text: ` (${s.peer})`, dim: true },
    ],
    [{ text: ' Compare both fingerprints with your peer on a call or another channel you trust.', dim: true }],
    [],
    ...sasRows(s),
    [{ text: ' Your fingerprint:', bold: true }],
    ...fingerprintRows(s.otr.ourFingerprint, width),
    [],
    [{ text: ` ${name}'s fingerprint:`, bold: true }],
  ];
  if (s.otr.theirFingerprint) {
    rows.push(...fingerprintRows(s.otr.theirFingerprint, width, LOCK_COLOR[lock]));
    rows.push([]);
    rows.push([
      { text: ' Status: ' },
      { text: `${LOCK_MARKER[lock]} ${LOCK_WORD[lock]}`.trim(), color: LOCK_COLOR[lock], bold: true },
      ...(s.otr.version ? [{ text: `  (OTR v${s.otr.version})`, dim: true }] : []),
    ]);
    if (lock === 'changed') {
      rows.push([
        {
          text: ` ${name}'s key is not the one you knew. Verify it again before you trust this chat.`,
          color: 'red',
          bold: true,
        },
      ]);
    }
    rows.push([]);
    rows.push([
      { text: ' v', bold: true },
      { text: `  mark ${name} verified (the fingerprints match)     ` },
      ...(sasRows(s).length > 0 ? [{ text: 's', bold: true }, { text: '  the SAS matches     ' }] : []),
      { text: 'Esc', bold: true },
      { text: '  close' },
    ]);
  } else {
    rows.push([{ text: '   (none yet: no OTR conversation with this peer; /otr init starts one)', dim: true }]);
    rows.push([]);
    rows.push([{ text: ' Esc', bold: true }, { text: '  close' }]);
  }
  return rows.map((r) => clipRow(r, width));
}

export function VerifyView(props: { session: SessionView; width: number; height: number; noColor: boolean }) {
  return (
    <Rows
      rows={verifyRows(props.session, props.width)}
      width={props.width}
      height={props.height}
      noColor={props.noColor}
    />
  );
}
