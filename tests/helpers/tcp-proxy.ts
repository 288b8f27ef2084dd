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

export class TcpProxy {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly connections: readonly ProxiedConnection[],
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const conns: ProxiedConnection[] = [];
    const server = createServer((client) => {
      const upstream = connect({ host: targetHost, port: targetPort });
      const c: ProxiedConnection = { client, server: upstream, up: [], down: [], swallowed: [], blackholed: false, held: [] };
      conns.push(c);
      client.on('data', (d: Buffer) => {
        if (c.blackholed) return void c.swallowed.push(d);
        c.up.push(d);
        upstream.write(d);
      });
      let downBytes = 0;
      upstream.on('data', (d: Buffer) => {
        if (c.blackholed) return void c.swallowed.push(d);
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
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    return new TcpProxy(server, typeof addr === 'object' && addr ? addr.port : 0, conns);
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
