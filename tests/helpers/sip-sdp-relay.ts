// A minimal SIP-over-UDP relay that puts a LossyUdpRelay into a call between two peers that do not know about
// it. Side A sends its INVITE to this relay's A port instead of to B; the relay passes every message on
// unchanged except SDP bodies, where it swaps the m=audio port (and a=rtcp) for the media relay's leg that
// faces the other side, and notes the real port as that side's target. Content-Length is recomputed.
// Responses come back through it because both peers' Vias carry rport (replies go to the source address);
// in-dialog requests (ACK, BYE) follow the Contact and may go peer to peer, which carries no SDP here.
// Loopback only, one call at a time: a test fixture, not a proxy.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { LossyUdpRelay } from './lossy-udp-relay.js';

function bindAny(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

export interface SdpRewrite {
  readonly body: string;
  readonly rtp?: number;
  readonly rtcp?: number;
}

/** Swaps the audio RTP port (and an a=rtcp port) of an SDP for the given ones; returns the originals. */
export function rewriteSdpPorts(sdp: string, rtp: number, rtcp: number): SdpRewrite {
  let oldRtp: number | undefined;
  let oldRtcp: number | undefined;
  const body = sdp
    .replace(/^m=audio (\d+) /m, (_m, p: string) => {
      oldRtp = Number(p);
      return `m=audio ${rtp} `;
    })
    .replace(/^a=rtcp:(\d+)/m, (_m, p: string) => {
      oldRtcp = Number(p);
      return `a=rtcp:${rtcp}`;
    });
  return {
    body,
    ...(oldRtp !== undefined ? { rtp: oldRtp } : {}),
    ...(oldRtcp !== undefined ? { rtcp: oldRtcp } : {}),
  };
}

export class SipSdpRelay {
  /** Every SDP body seen, as sent by each side (before rewriting). */
  readonly sdps: Array<{ from: 'A' | 'B'; sdp: string }> = [];
  private aAddr: RemoteInfo | undefined;

  private constructor(
    private readonly sockA: Socket,
    private readonly sockB: Socket,
    private readonly bPort: number,
    private readonly media: LossyUdpRelay,
  ) {
    sockA.on('message', (m, r) => {
      this.aAddr = r;
      this.forward(m, 'A', sockB, bPort);
    });
    sockB.on('message', (m) => {
      if (this.aAddr) this.forward(m, 'B', sockA, this.aAddr.port);
    });
  }

  /** Relays SIP for a peer at 127.0.0.1:bSipPort; side A sends to `portA`. */
  static async start(bSipPort: number, media: LossyUdpRelay): Promise<SipSdpRelay> {
    return new SipSdpRelay(await bindAny(), await bindAny(), bSipPort, media);
  }

  get portA(): number {
    return this.sockA.address().port;
  }

  private forward(msg: Buffer, from: 'A' | 'B', out: Socket, port: number): void {
    const text = msg.toString('latin1');
    const split = text.indexOf('\r\n\r\n');
    let result = text;
    if (split >= 0 && /^content-type:\s*application\/sdp/im.test(text.slice(0, split))) {
      const head = text.slice(0, split);
      const body = text.slice(split + 4);
      this.sdps.push({ from, sdp: body });
      // A's media must reach the relay leg that faces B's side, and the other way round
      const leg = from === 'A' ? this.media.legB : this.media.legA;
      const rw = rewriteSdpPorts(body, leg.rtpPort, leg.rtpPort + 1);
      if (rw.rtp !== undefined) {
        if (from === 'A') this.media.setTargetA(rw.rtp, rw.rtcp ?? rw.rtp + 1);
        else this.media.setTargetB(rw.rtp, rw.rtcp ?? rw.rtp + 1);
      }
      const newHead = head.replace(
        /^(content-length|l)\s*:\s*\d+/im,
        `Content-Length: ${Buffer.byteLength(rw.body, 'latin1')}`,
      );
      result = `${newHead}\r\n\r\n${rw.body}`;
    }
    out.send(Buffer.from(result, 'latin1'), port, '127.0.0.1');
  }

  close(): void {
    this.sockA.close();
    this.sockB.close();
  }
}
