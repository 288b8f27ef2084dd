// The two UDP sockets of a stream: RTP on an even port, RTCP on the next one (RFC 3550 11), bound together.
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the address of every `send` through its lookup function; the default, dns.lookup, answers an IP
 * literal on the next tick, so each RTP packet went through dns.lookup's checks and a process.nextTick hop before
 * reaching the socket. Media addresses are IP literals (SDP c= lines, the source of the peer's packets): this one
 * answers them at once, and hands anything else to dns.lookup. (dgram passes the family as a number.)
 */
function literalLookup(host: string, family: number | LookupOneOptions, cb: LookupCallback): void {
  const f = isIP(host);
  if (f !== 0) cb(null, host, f);
  else dnsLookup(host, typeof family === 'number' ? { family } : family, cb);
}

function bind(sock: Socket, port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onErr = () => resolve(false);
    sock.once('error', onErr);
    sock.bind(port, host, () => {
      sock.off('error', onErr);
      resolve(true);
    });
  });
}

/** Binds an even port and port + 1 on `host` (tries random pairs in 16384..32767; port 0 is not usable here). */
export async function bindPair(host: string, attempts = 64): Promise<{ rtp: Socket; rtcp: Socket; port: number }> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  for (let i = 0; i < attempts; i++) {
    const port = randomInt(8192, 16384) * 2;
    const rtp = createSocket({ type, lookup: literalLookup });
    if (!(await bind(rtp, port, host))) {
      safeClose(rtp);
      continue;
    }
    const rtcp = createSocket({ type, lookup: literalLookup });
    if (await bind(rtcp, port + 1, host)) return { rtp, rtcp, port };
    safeClose(rtp);
    safeClose(rtcp);
  }
  throw new Error(`no free even RTP port pair on ${host}`);
}

function safeClose(s: Socket): void {
  try {
    s.close();
  } catch {
    // a socket whose bind failed is not running: nothing to close
  }
}
