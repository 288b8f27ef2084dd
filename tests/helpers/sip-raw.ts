// Hand-written SIP for scripted peers in tests (a UAS that answers with ;isfocus, silent or late
// responders). Deliberately independent of sip.js.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { firstHeader, headerValues, parseHead } from '../../src/sip/wire.js';

export function buildResponse(
  request: string,
  status: number,
  reason: string,
  extra: string[] = [],
  body = '',
): string {
  const head = parseHead(request);
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const v of headerValues(head, 'via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${firstHeader(head, 'from') ?? ''}`);
  let to = firstHeader(head, 'to') ?? '';
  if (status > 100 && !/;\s*tag=/i.test(to)) to += ';tag=scripted' + Math.random().toString(36).slice(2, 8);
  lines.push(`To: ${to}`);
  lines.push(`Call-ID: ${firstHeader(head, 'call-id') ?? ''}`);
  lines.push(`CSeq: ${firstHeader(head, 'cseq') ?? ''}`);
  lines.push(...extra);
  if (body.length > 0) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

export function buildRequest(opts: {
  method: string;
  uri: string;
  viaPort: number;
  branch: string;
  callId: string;
  cseq?: number;
  fromUser?: string;
  toTag?: string;
  extra?: string[];
  body?: string;
}): string {
  const body = opts.body ?? '';
  const lines = [
    `${opts.method} ${opts.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${opts.viaPort};branch=${opts.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${opts.fromUser ?? 'raw'}@127.0.0.1>;tag=rawfrom`,
    `To: <${opts.uri}>${opts.toTag !== undefined ? ';tag=' + opts.toTag : ''}`,
    `Call-ID: ${opts.callId}`,
    `CSeq: ${opts.cseq ?? 1} ${opts.method === 'ACK' ? 'INVITE' : opts.method}`,
    ...(opts.extra ?? []),
  ];
  if (body.length > 0) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

export interface Datagram {
  readonly text: string;
  readonly at: number;
  readonly port: number;
}

/** A UDP peer on 127.0.0.1 that records what it receives and can answer. */
export class RawUdpPeer {
  readonly received: Datagram[] = [];
  private waiters: Array<() => void> = [];
  onDatagram: ((d: Datagram) => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.on('message', (buf, rinfo) => {
      const d = { text: buf.toString('utf8'), at: Date.now(), port: rinfo.port };
      this.received.push(d);
      this.onDatagram?.(d);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  static async open(): Promise<RawUdpPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new RawUdpPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(text, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Waits until `predicate` holds over what was received, or fails after `ms`. */
  async waitFor(predicate: (all: Datagram[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`RawUdpPeer: condition not met within ${ms} ms (got ${this.received.length} datagrams)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
