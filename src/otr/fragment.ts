/**
 * OTR fragments (spec "Fragmentation"): v2 `?OTR,k,n,piece,` and v3 `?OTR|sender|receiver,k,n,piece,`.
 */
import { OtrProtocolError } from './errors.js';

export interface Fragment {
  version: 2 | 3;
  /** 0 for v2 fragments. */
  senderTag: number;
  /** 0 for v2 fragments. */
  receiverTag: number;
  k: number;
  n: number;
  piece: string;
}

/** The largest message we are willing to reassemble, to bound memory held for a hostile sender. */
export const MAX_REASSEMBLED = 1 << 20;

// Instance tags are %x and k, n are %hu in the spec: any number of leading zeroes is allowed (sscanf in libotr reads
// them), so the digits after them are what is bounded.
const V3_RE = /^\?OTR\|0*([0-9a-fA-F]{1,8})\|0*([0-9a-fA-F]{1,8}),0*(\d{1,10}),0*(\d{1,10}),([^,]+),\s*$/;
const V2_RE = /^\?OTR,0*(\d{1,10}),0*(\d{1,10}),([^,]+),\s*$/;

export function isFragment(msg: string): boolean {
  // One pass over the text (a whole encoded message is ~1.4 MB for 1 MiB of text): each '?OTR' and the character after it.
  for (let i = msg.indexOf('?OTR'); i >= 0; i = msg.indexOf('?OTR', i + 4)) {
    const c = msg.charCodeAt(i + 4);
    if (c === 0x7c /* | */ || c === 0x2c /* , */) return true;
  }
  return false;
}

/**
 * Parse a fragment. Returns null when the text does not have the fragment syntax at all (ordinary text that
 * happens to contain "?OTR," is then handled as an unfragmented message, as libotr does). Throws
 * OtrProtocolError('bad-fragment') for a well-formed fragment with illegal numbers: k or n outside 1..65535, or
 * k > n (the spec says to discard those).
 */
export function parseFragment(msg: string): Fragment | null {
  let at = msg.indexOf('?OTR|');
  let f: Fragment | null = null;
  if (at >= 0) {
    const m = V3_RE.exec(msg.slice(at));
    if (m)
      f = {
        version: 3,
        senderTag: parseInt(m[1]!, 16),
        receiverTag: parseInt(m[2]!, 16),
        k: Number(m[3]),
        n: Number(m[4]),
        piece: m[5]!,
      };
  } else {
    at = msg.indexOf('?OTR,');
    if (at >= 0) {
      const m = V2_RE.exec(msg.slice(at));
      if (m) f = { version: 2, senderTag: 0, receiverTag: 0, k: Number(m[1]), n: Number(m[2]), piece: m[3]! };
    }
  }
  if (!f) return null;
  if (f.k === 0 || f.n === 0 || f.k > 65535 || f.n > 65535 || f.k > f.n) {
    throw new OtrProtocolError('bad-fragment', `illegal fragment numbers k=${f.k} n=${f.n}`);
  }
  return f;
}

/** Reassembly state machine, exactly as the spec lays it out: (K, N, F). */
export class Reassembler {
  private K = 0;
  private N = 0;
  private F: string[] = [];
  private size = 0;
  private sender = 0;

  /** Any non-fragment message resets the buffer. */
  reset(): void {
    this.K = 0;
    this.N = 0;
    this.F = [];
    this.size = 0;
    this.sender = 0;
  }

  /** Feed one parsed fragment; returns the complete message once the last piece arrives. */
  add(f: Fragment): string | null {
    if (f.k === 1) {
      this.F = [f.piece];
      this.size = f.piece.length;
      this.K = 1;
      this.N = f.n;
      this.sender = f.senderTag;
    } else if (f.n === this.N && f.k === this.K + 1 && f.senderTag === this.sender) {
      this.F.push(f.piece);
      this.size += f.piece.length;
      this.K = f.k;
    } else {
      this.reset();
      return null;
    }
    if (this.size > MAX_REASSEMBLED) {
      this.reset();
      return null;
    }
    if (this.N > 0 && this.K === this.N) {
      const whole = this.F.join('');
      this.reset();
      return whole;
    }
    return null;
  }

  get pending(): boolean {
    return this.K > 0;
  }
}

function hex8(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}
function dec5(x: number): string {
  return String(x).padStart(5, '0');
}

export function fragmentOverhead(version: 2 | 3): number {
  // ?OTR|xxxxxxxx|xxxxxxxx,kkkkk,nnnnn,  ...  ,   (v3)      ?OTR,kkkkk,nnnnn, ... ,   (v2)
  return version === 3 ? 36 : 18;
}

/**
 * Split an encoded message into fragments no longer than `maxSize` characters each.
 * Returns [msg] unchanged when it already fits.
 */
export function fragmentMessage(
  msg: string,
  maxSize: number,
  version: 2 | 3,
  senderTag: number,
  receiverTag: number,
): string[] {
  if (!maxSize || msg.length <= maxSize) return [msg];
  const room = maxSize - fragmentOverhead(version);
  if (room < 1) throw new RangeError(`maxFragmentSize ${maxSize} leaves no room for a fragment's data`);
  const n = Math.ceil(msg.length / room);
  if (n > 65535) throw new RangeError('message needs more than 65535 fragments');
  const out: string[] = [];
  for (let k = 1; k <= n; k++) {
    const piece = msg.slice((k - 1) * room, k * room);
    out.push(
      version === 3
        ? `?OTR|${hex8(senderTag)}|${hex8(receiverTag)},${dec5(k)},${dec5(n)},${piece},`
        : `?OTR,${dec5(k)},${dec5(n)},${piece},`,
    );
  }
  return out;
}
