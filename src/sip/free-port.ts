// Picks a listening port the way a desktop SIP client does: the first free one from 5060 up.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { SipTransportError } from './errors.js';
import type { SipTransportProtocol } from './resolve.js';

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The first port at or above `from` (default 5060) that is free for `transport` on `host`.
 * The answer can go stale before the caller binds; binding errors still have to be handled.
 */
export async function findFreePort(
  transport: SipTransportProtocol,
  host = '127.0.0.1',
  from = 5060,
  to = Math.min(65535, from + 1000),
): Promise<number> {
  for (let port = from; port <= to; port++) {
    const free = transport === 'udp' ? await udpFree(host, port) : await tcpFree(host, port);
    if (free) return port;
  }
  throw new SipTransportError(`no free ${transport} port on ${host} in ${from}-${to}`);
}
