// A session's audio as the chat header and the session list show it: state, codec, SRTP or not, duration, a level
// meter each way, and (on Ctrl-T) loss, jitter and RTT from RTCP. Pure.
import type { AudioView } from '../chat/types.js';
import type { Row } from './text.js';

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
    row.push(
      a.encryption === 'none'
        ? { text: ' · NOT ENCRYPTED', color: 'red', bold: true }
        : { text: ` · SRTP (${a.encryption.toUpperCase()})`, color: 'green' },
    );
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
