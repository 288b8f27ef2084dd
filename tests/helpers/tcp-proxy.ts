// A loopback TCP proxy the test controls: every connection to `port` is forwarded to the target, and the test
// can then make the network misbehave — swallow everything on the open connections (a dead NAT binding or a
// pulled cable: nothing closes, nothing arrives) or reset them (RST to both ends).
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface ProxiedConnection {
  readonly client: Socket;
  readonly server: Socket;
  /** Bytes that went from the client to the target, and back, while forwarded. */
  readonly up: Buffer[];
  readonly down: Buffer[];
  /** What arrived from either end after blackholeAll(), and went nowhere. */
  readonly swallowed: Buffer[];
  blackholed: boolean;
  /**
   * Once this many bytes went from the target to the client, the rest is held back (kept, not forwarded; closes
   * still pass): the client's end of a transfer stops at a known point, however fast the machine is.
   */
  holdDownAfter?: number;
  readonly held: Buffer[];
}

/**
 * Replaces one byte string with another in a stream cut anywhere: keeps back the bytes that could start a match
 * until the next chunk shows whether they do.
 */
export class StreamRewriter {
  private tail = Buffer.alloc(0);
  constructor(
    private readonly from: Buffer,
    private readonly to: Buffer,
  ) {}

  push(chunk: Buffer): Buffer {
    const buf = Buffer.concat([this.tail, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    for (let i = buf.indexOf(this.from, pos); i >= 0; i = buf.indexOf(this.from, pos)) {
      out.push(buf.subarray(pos, i), this.to);
      pos = i + this.from.length;
    }
    // Keep back only a tail that is the start of a match (nothing else may wait for more bytes that may never come).
    let keep = Math.min(this.from.length - 1, buf.length - pos);
    while (keep > 0 && !buf.subarray(buf.length - keep).equals(this.from.subarray(0, keep))) keep--;
    out.push(buf.subarray(pos, buf.length - keep));
    this.tail = Buffer.from(buf.subarray(buf.length - keep));
    return Buffer.concat(out);
  }
}

export class TcpProxy {
  /**
   * Rewrites applied to what passes (client to target, target to client): an MSRP-aware detour puts the paths
   * back as each endpoint knows them, so the endpoints' To-Path checks see their own URIs.
   */
  rewrite: { up?: [string, string]; down?: [string, string] } = {};
  /** Applied after `rewrite` to every piece going from the client to the target (e.g. flip a byte: tampering). */
  transformUp: ((d: Buffer) => Buffer) | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly connections: readonly ProxiedConnection[],
  ) {}

  /** Listens on `targetHost` too (a test on an address of its own in 127/8 keeps all its traffic there). */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const conns: ProxiedConnection[] = [];
    let self: TcpProxy | null = null;
    const server = createServer((client) => {
      const upstream = connect({ host: targetHost, port: targetPort });
      const c: ProxiedConnection = {
        client,
        server: upstream,
        up: [],
        down: [],
        swallowed: [],
        blackholed: false,
        held: [],
      };
      conns.push(c);
      const rw = self?.rewrite ?? {};
      const upRw = rw.up ? new StreamRewriter(Buffer.from(rw.up[0]), Buffer.from(rw.up[1])) : null;
      const downRw = rw.down ? new StreamRewriter(Buffer.from(rw.down[0]), Buffer.from(rw.down[1])) : null;
      client.on('data', (d: Buffer) => {
        if (c.blackholed) return void c.swallowed.push(d);
        if (upRw) d = upRw.push(d);
        if (self?.transformUp) d = self.transformUp(d);
        c.up.push(d);
        upstream.write(d);
      });
      let downBytes = 0;
      upstream.on('data', (d: Buffer) => {
        if (c.blackholed) return void c.swallowed.push(d);
        if (downRw) d = downRw.push(d);
        const room = c.holdDownAfter === undefined ? d.length : Math.max(0, c.holdDownAfter - downBytes);
        if (room < d.length) {
          c.held.push(d.subarray(room));
          d = d.subarray(0, room);
          if (d.length === 0) return;
        }
        downBytes += d.length;
        c.down.push(d);
        client.write(d);
      });
      const end = (): void => {
        if (c.blackholed) return; // a dead path carries no FIN either
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, targetHost, () => resolve());
    });
    const addr = server.address();
    self = new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0, conns);
    return self;
  }

  /** Open connections: from now on nothing passes in either direction, and nothing is closed. */
  blackholeAll(): void {
    for (const c of this.connections) c.blackholed = true;
  }

  /** Sends a TCP RST to both ends of every open connection. */
  resetAll(): void {
    for (const c of this.connections) {
      if (!c.client.destroyed) c.client.resetAndDestroy();
      if (!c.server.destroyed) c.server.resetAndDestroy();
    }
  }

  async close(): Promise<void> {
    for (const c of this.connections) {
      c.client.destroy();
      c.server.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
