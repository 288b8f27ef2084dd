// A session's audio as the chat header and the session list show it: state, codec, SRTP or not, duration, a level
// meter each way, and (on Ctrl-T) loss, jitter and RTT from RTCP. Pure.
import type { AudioView, ZrtpView } from '../chat/types.js';
import type { Row } from './text.js';

/** `z q z e`: the B32 SAS letter-spaced and upper-cased, so it reads aloud one character at a time. */
export function spacedSas(sas: string): string {
  return sas.toUpperCase().split('').join(' ');
}

/** The alarm states: a SAS our user rejected, or a retained secret that matched nothing and is not confirmed yet. */
export function zrtpAlarm(z: ZrtpView): boolean {
  return z.state === 'failed' || z.verdict === 'rejected' || (z.cache === 'mismatch' && z.verdict !== 'confirmed');
}

/** The encryption segment of the call header: SDES, or ZRTP negotiating / unverified with the SAS / verified. */
export function encryptionSegment(a: AudioView): Row[number] {
  const z = a.zrtp;
  if (!z) {
    return a.encryption === 'none'
      ? { text: ' · NOT ENCRYPTED', color: 'red', bold: true }
      : { text: ` · SRTP (${a.encryption.toUpperCase()})`, color: 'green' };
  }
  if (z.state === 'negotiating') return { text: ' · ZRTP: agreeing on keys (nothing sent yet)', color: 'yellow' };
  if (z.state === 'failed') return { text: ' · ZRTP FAILED', color: 'red', bold: true };
  const sas = spacedSas(z.sas ?? '');
  if (z.verdict === 'rejected') return { text: ` · ZRTP SAS ${sas} REJECTED`, color: 'red', bold: true };
  if (z.cache === 'mismatch' && z.verdict !== 'confirmed')
    return { text: ` · ZRTP CACHE MISMATCH · SAS ${sas}`, color: 'red', bold: true };
  if (z.verified) return { text: ` · ZRTP verified (SAS ${sas})`, color: 'green' };
  return { text: ` · ZRTP unverified · SAS ${sas}`, color: 'yellow', bold: true };
}

/**
 * The row under the messages while the call's SAS waits for the user (or raises an alarm): the SAS big enough
 * to read aloud (letters spaced, reverse video) with its PGP words, and what to do.
 */
export function sasRow(a: AudioView | undefined): Row | null {
  const z = a?.zrtp;
  if (!a || a.state === 'ended' || !z || z.state !== 'secure' || !z.sas) return null;
  if (z.verified && !zrtpAlarm(z)) return null;
  const alarm = zrtpAlarm(z);
  const row: Row = [
    { text: ' SAS ', bold: true, color: alarm ? 'red' : 'yellow' },
    { text: `  ${spacedSas(z.sas)}  `, bold: true, inverse: true, color: alarm ? 'red' : 'yellow' },
    { text: `  ${z.sasWords ?? ''}  `, bold: true },
  ];
  if (z.verdict === 'rejected') row.push({ text: 'REJECTED: the call may be intercepted', color: 'red', bold: true });
  else
    row.push({
      text: `${z.cache === 'mismatch' ? 'CACHE MISMATCH! ' : ''}Same on both sides? Alt-S or /sas confirm; /sas reject`,
      color: alarm ? 'red' : 'cyan',
      bold: alarm,
    });
  return row;
}

const METER = 5;

/** `▮▮▮▯▯` for a 0..1 peak level, on a rough dB scale (speech sits in the middle, not at the bottom). */
export function meter(level: number): string {
  const db = level <= 0 ? -60 : 20 * Math.log10(Math.min(1, level));
  const n = Math.max(0, Math.min(METER, Math.round(((db + 50) / 50) * METER)));
  return '▮'.repeat(n) + '▯'.repeat(METER - n);
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Whether the session has audio worth showing (not ended). */
export function hasCall(a: AudioView | undefined): a is AudioView {
  return a !== undefined && a.state !== 'ended';
}

const STATE_WORD: Record<AudioView['state'], string> = {
  proposed: 'audio offered: /accept or /reject',
  connecting: 'calling…',
  active: 'on call',
  held: 'on hold',
  ended: 'call ended',
};

/** The call's segments for the header: `☎ on call 01:23 · opus/48000 · SRTP (SDES) · mic ▮▮▮▯▯ spk ▮▮▯▯▯`. */
export function callSegments(a: AudioView, now: number, stats: boolean): Row {
  const held = a.state === 'held';
  const row: Row = [
    {
      text: `☎ ${held ? (a.localHold ? 'on hold (you)' : 'held by peer') : STATE_WORD[a.state]}`,
      color: a.state === 'active' ? 'green' : 'yellow',
      bold: true,
    },
  ];
  if (a.since !== null && (a.state === 'active' || held)) row.push({ text: ` ${duration(now - a.since)}` });
  if (a.codec) row.push({ text: ` · ${a.codec}`, dim: true });
  if (a.state === 'active' || held) {
    row.push(encryptionSegment(a));
    row.push({ text: ` · mic ${a.muted ? 'muted' : meter(a.txLevel)}`, color: a.muted ? 'yellow' : undefined });
    row.push({ text: ` spk ${meter(a.rxLevel)}` });
  }
  if (stats)
    row.push({
      text: ` · rx ${a.rxPackets} · lost ${a.lost} · jitter ${a.jitterMs.toFixed(1)} ms · RTT ${a.rttMs === null ? '-' : `${a.rttMs.toFixed(0)} ms`}`,
      dim: true,
    });
  return row;
}
