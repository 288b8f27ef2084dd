// DTMF as RFC 4733 telephone-events: 4-byte payloads (event, E bit, volume, duration), a sender that turns a digit
// into its packet train, and a receiver that reports each event once. Pure.
import { RtpParseError } from './errors.js';

const DIGITS = '0123456789*#ABCD';

export function digitToEvent(d: string): number | null {
  const i = DIGITS.indexOf(d.toUpperCase());
  return i < 0 ? null : i;
}

export function eventToDigit(e: number): string | null {
  return DIGITS[e] ?? null;
}

export interface DtmfPayload {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

export function encodeDtmf(p: DtmfPayload): Uint8Array {
  return new Uint8Array([p.event, (p.end ? 0x80 : 0) | (p.volume & 0x3f), (p.duration >> 8) & 0xff, p.duration & 0xff]);
}

export function decodeDtmf(b: Uint8Array): DtmfPayload {
  if (b.length < 4) throw new RtpParseError('truncated', `telephone-event payload of ${b.length} bytes`);
  return { event: b[0]!, end: (b[1]! & 0x80) !== 0, volume: b[1]! & 0x3f, duration: (b[2]! << 8) | b[3]! };
}

/** One packet of an event's train: payload, marker, and its duration so far. */
export interface DtmfPacket {
  payload: Uint8Array;
  marker: boolean;
  end: boolean;
}

/**
 * The packets of one digit, one per frame: `toneFrames` growing durations (the first with the marker), then the
 * final duration three times with the end bit (RFC 4733 2.5.1.4: end packets are repeated for robustness).
 * All carry the event's start timestamp; durations are in ticks of the telephone-event clock.
 */
export function dtmfTrain(digit: string, frameTicks: number, toneFrames = 5, volume = 10): DtmfPacket[] {
  const event = digitToEvent(digit);
  if (event === null) throw new RangeError(`not a DTMF digit: ${digit}`);
  const out: DtmfPacket[] = [];
  for (let i = 1; i <= toneFrames; i++) {
    out.push({
      payload: encodeDtmf({ event, end: false, volume, duration: i * frameTicks }),
      marker: i === 1,
      end: false,
    });
  }
  const total = Math.min(0xffff, toneFrames * frameTicks);
  for (let i = 0; i < 3; i++)
    out.push({ payload: encodeDtmf({ event, end: true, volume, duration: total }), marker: false, end: true });
  return out;
}

/** Reports each event once, however many packets (and retransmitted end packets) it takes. */
export class DtmfReceiver {
  private lastTimestamp: number | null = null;
  private lastEvent: number | null = null;
  /** Returns the digit when this packet starts an event not reported yet, else null. */
  receive(timestamp: number, payload: Uint8Array): string | null {
    const p = decodeDtmf(payload);
    if (timestamp === this.lastTimestamp && p.event === this.lastEvent) return null;
    this.lastTimestamp = timestamp;
    this.lastEvent = p.event;
    return eventToDigit(p.event);
  }
}
