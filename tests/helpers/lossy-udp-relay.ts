// A lossy UDP relay for RTP and RTCP on loopback: two legs of two sockets each (RTP on an even port, RTCP on
// the next), side A talks to leg A, side B to leg B, and every datagram crosses to the other side through the
// other leg. Each direction drops a given fraction of packets, decided by a seeded PRNG so a run can be
// repeated, and can add delay, jitter and reordering. The relay does not look inside packets: SRTP passes
// as it is. Pair it with sip-sdp-relay.ts, which points each side's SDP at the relay.
import { createSocket, type Socket } from 'node:dgram';
import { seededRandom } from './tone.js';

export interface DirectionImpairment {
  /** Fraction of packets dropped, 0..1. */
  readonly loss?: number;
  /** Fixed delay added to every packet (ms). */
  readonly delayMs?: number;
  /** Extra random delay, uniform in 0..jitterMs (ms): packets may overtake each other. */
  readonly jitterMs?: number;
  /** Fraction of packets held back and sent right after the next one (a swap), 0..1. */
  readonly reorder?: number;
  /** Apply loss to RTCP too (default false: RTCP carries the statistics the benchmark reads). */
  readonly rtcpLoss?: boolean;
}

export interface RelayOptions {
  readonly seed?: number;
  /** Sees every datagram as it reaches the relay (before any drop), with Date.now(): for wire timings. */
  readonly tap?: (dir: 'aToB' | 'bToA', kind: 'rtp' | 'rtcp', data: Buffer, atMs: number) => void;
  /** Packets from A to B. */
  readonly aToB?: DirectionImpairment;
  /** Packets from B to A. */
  readonly bToA?: DirectionImpairment;
}

export interface DirectionStats {
  received: number;
  forwarded: number;
  dropped: number;
  reordered: number;
}

interface Leg {
  rtp: Socket;
  rtcp: Socket;
  rtpPort: number;
  /** Where this leg's side receives, learned from the SDP (or set by hand). */
  target?: { rtp: number; rtcp: number; host: string };
}

function bind(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

async function bindPair(): Promise<Leg> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const p = 2 * (10000 + Math.floor(Math.random() * 20000));
    const rtp = await bind(p);
    if (!rtp) continue;
    const rtcp = await bind(p + 1);
    if (!rtcp) {
      rtp.close();
      continue;
    }
    return { rtp, rtcp, rtpPort: p };
  }
  throw new Error('no free even/odd UDP port pair');
}

export class LossyUdpRelay {
  readonly stats: { aToB: DirectionStats; bToA: DirectionStats } = {
    aToB: { received: 0, forwarded: 0, dropped: 0, reordered: 0 },
    bToA: { received: 0, forwarded: 0, dropped: 0, reordered: 0 },
  };
  private readonly rnd: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly held = new Map<string, () => void>();
  private closed = false;

  private constructor(
    /** Side A sends here (leg A). */
    readonly legA: Leg,
    /** Side B sends here (leg B). */
    readonly legB: Leg,
    private readonly options: RelayOptions,
  ) {
    this.rnd = seededRandom(options.seed ?? 1);
    this.wire(legA, legB, 'aToB', options.aToB ?? {});
    this.wire(legB, legA, 'bToA', options.bToA ?? {});
  }

  static async start(options: RelayOptions = {}): Promise<LossyUdpRelay> {
    const a = await bindPair();
    const b = await bindPair();
    return new LossyUdpRelay(a, b, options);
  }

  /** Where side A's media is received (its SDP's RTP port; RTCP on the next unless given). */
  setTargetA(rtp: number, rtcp = rtp + 1, host = '127.0.0.1'): void {
    this.legA.target = { rtp, rtcp, host };
  }
  setTargetB(rtp: number, rtcp = rtp + 1, host = '127.0.0.1'): void {
    this.legB.target = { rtp, rtcp, host };
  }

  private wire(from: Leg, to: Leg, dir: 'aToB' | 'bToA', imp: DirectionImpairment): void {
    const stats = this.stats[dir];
    const handle = (msg: Buffer, isRtcp: boolean): void => {
      if (this.closed || !to.target) return;
      this.options.tap?.(dir, isRtcp ? 'rtcp' : 'rtp', msg, Date.now());
      stats.received++;
      if ((!isRtcp || imp.rtcpLoss) && imp.loss && this.rnd() < imp.loss) {
        stats.dropped++;
        return;
      }
      const sock = isRtcp ? to.rtcp : to.rtp;
      const port = isRtcp ? to.target.rtcp : to.target.rtp;
      const host = to.target.host;
      const send = (): void => {
        if (this.closed) return;
        stats.forwarded++;
        sock.send(msg, port, host);
      };
      const key = `${dir}:${isRtcp ? 'rtcp' : 'rtp'}`;
      const release = (): void => {
        // a held packet goes right after this one: the two arrive swapped
        const prior = this.held.get(key);
        this.held.delete(key);
        send();
        prior?.();
      };
      if (!isRtcp && imp.reorder && !this.held.has(key) && this.rnd() < imp.reorder) {
        stats.reordered++;
        this.held.set(key, send);
        return;
      }
      const delay = (imp.delayMs ?? 0) + (imp.jitterMs ? this.rnd() * imp.jitterMs : 0);
      if (delay <= 0) {
        release();
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        release();
      }, delay);
      this.timers.add(t);
    };
    from.rtp.on('message', (m) => handle(m, false));
    from.rtcp.on('message', (m) => handle(m, true));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const l of [this.legA, this.legB]) {
      l.rtp.close();
      l.rtcp.close();
    }
  }
}
