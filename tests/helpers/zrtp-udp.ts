// A ZRTP engine on a real UDP socket (127.0.0.1): what the audio layer will do, reduced to the ZRTP packets, for
// interop tests against linphonec. Timers run on setTimeout at the engine's nextTimeout().
import { createSocket, type Socket } from 'node:dgram';
import { looksLikeZrtp, type ZrtpEngine, type ZrtpEvent, type ZrtpSecure } from '../../src/zrtp/index.js';

export class ZrtpUdp {
  readonly events: ZrtpEvent[] = [];
  /** Non-ZRTP datagrams from the peer (its RTP or SRTP). */
  readonly media: Uint8Array[] = [];
  remotePort: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];
  private readonly t0 = performance.now();
  /** ms from start() to the secure event. */
  secureAfter: number | undefined;
  private startedAt = 0;
  private rtp: NodeJS.Timeout | undefined;

  /** ZRTP packets dropped on purpose, each way (for tests of retransmission against real peers). */
  dropped = { in: 0, out: 0 };

  private constructor(
    readonly socket: Socket,
    readonly engine: ZrtpEngine,
    private readonly loss: { p: number; rand: () => number } | undefined,
  ) {
    socket.on('message', (buf, rinfo) => {
      if (this.remotePort === undefined) this.remotePort = rinfo.port;
      if (this.loss && looksLikeZrtp(buf) && this.loss.rand() < this.loss.p) {
        this.dropped.in++;
        return;
      }
      if (!looksLikeZrtp(buf)) {
        if (this.media.length < 500) this.media.push(new Uint8Array(buf));
        return;
      }
      this.handle(this.engine.receive(new Uint8Array(buf), this.now()));
    });
  }

  /** `loss`: drop this share of ZRTP packets each way, decided by `rand` (seeded by the test). */
  static async open(engine: ZrtpEngine, loss?: { p: number; rand: () => number }): Promise<ZrtpUdp> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new ZrtpUdp(socket, engine, loss);
  }

  get port(): number {
    return this.socket.address().port;
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  start(remotePort: number, ssrc: number): void {
    this.remotePort = remotePort;
    this.startedAt = this.now();
    this.handle(this.engine.start(this.now()));
    // Some RTP (PCMU silence) so the peer's media stream sees us, as a real call would.
    let seq = 1;
    let ts = 0;
    this.rtp = setInterval(() => {
      const p = Buffer.alloc(12 + 160, 0xff);
      p[0] = 0x80;
      p[1] = 0;
      p.writeUInt16BE(seq++ & 0xffff, 2);
      p.writeUInt32BE((ts += 160) >>> 0, 4);
      p.writeUInt32BE(ssrc >>> 0, 8);
      if (this.remotePort !== undefined) this.socket.send(p, this.remotePort, '127.0.0.1');
    }, 20);
  }

  private handle(evs: ZrtpEvent[]): void {
    for (const e of evs) {
      this.events.push(e);
      if (e.type === 'send' && this.remotePort !== undefined) {
        if (this.loss && this.loss.rand() < this.loss.p) this.dropped.out++;
        else this.socket.send(e.packet, this.remotePort, '127.0.0.1');
      }
      if (e.type === 'secure' && this.secureAfter === undefined) this.secureAfter = this.now() - this.startedAt;
    }
    if (this.timer) clearTimeout(this.timer);
    const due = this.engine.nextTimeout();
    if (due !== undefined) {
      this.timer = setTimeout(() => this.handle(this.engine.tick(this.now())), Math.max(0, due - this.now()));
    }
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async waitSecure(ms = 10_000): Promise<ZrtpSecure> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.events.find((e) => e.type === 'secure');
      if (s && s.type === 'secure') return s.info;
      const f = this.events.find((e) => e.type === 'failed');
      if (f) throw new Error(`ZRTP failed: ${JSON.stringify(f)}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.events.map((e) =>
          e.type === 'send' ? `>${e.message}` : e.type === 'ignored' ? `!${e.reason}` : e.type,
        );
        throw new Error(`ZRTP not secure within ${ms} ms: ${seen.join(' ')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.rtp) clearInterval(this.rtp);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
