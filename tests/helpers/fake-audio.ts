// A stand-in for src/rtp's AudioStream in process: it writes and reads real m=audio sections (so the session layer's
// SDP, re-INVITEs and directions are exercised for real) but moves no sound. Streams in one process find each other
// by port, so DTMF sent on one arrives as `dtmf` events on the other.
import { EventEmitter } from 'node:events';
import type { AudioDirection, AudioEncryption, AudioStats, AudioStream, AudioStreamEvents } from '../../src/rtp/api.js';

const byPort = new Map<number, FakeAudioStream>();
let nextPort = 41000;

const INTERSECT: Record<AudioDirection, Record<AudioDirection, AudioDirection>> = {
  sendrecv: { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' },
  sendonly: { sendrecv: 'sendonly', sendonly: 'inactive', recvonly: 'sendonly', inactive: 'inactive' },
  recvonly: { sendrecv: 'recvonly', sendonly: 'recvonly', recvonly: 'inactive', inactive: 'inactive' },
  inactive: { sendrecv: 'inactive', sendonly: 'inactive', recvonly: 'inactive', inactive: 'inactive' },
};

function dirOf(section: string): AudioDirection {
  return (/^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(section)?.[1] as AudioDirection) ?? 'sendrecv';
}

export class FakeAudioStream extends EventEmitter<AudioStreamEvents> implements AudioStream {
  readonly localPort = (nextPort += 2);
  codec: string | null = null;
  encryption: AudioEncryption = 'none';
  remotePort = 0;
  started = 0;
  held = false;
  muted = false;
  closed = false;
  /** The direction we last wrote, and what the peer last wrote. */
  ourDirection: AudioDirection | null = null;
  peerDirection: AudioDirection | null = null;
  sentDtmf: string[] = [];

  constructor() {
    super();
    byPort.set(this.localPort, this);
  }

  private section(direction: AudioDirection): string {
    this.ourDirection = direction;
    return (
      `m=audio ${this.localPort} RTP/SAVP 0 101\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:0 PCMU/8000\r\n` +
      `a=rtpmap:101 telephone-event/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:fake\r\na=${direction}\r\n`
    );
  }

  private learn(section: string): void {
    const m = /^m=audio (\d+) /m.exec(section);
    if (!m) throw new Error('not an audio section');
    this.remotePort = Number(m[1]);
    this.peerDirection = dirOf(section);
    this.codec = 'PCMU/8000';
    this.encryption = /a=crypto:/.test(section) ? 'sdes' : 'none';
  }

  async createOffer(direction: AudioDirection): Promise<string> {
    return this.section(direction);
  }
  async applyAnswer(section: string): Promise<void> {
    this.learn(section);
  }
  async createAnswer(offer: string, direction: AudioDirection): Promise<string> {
    this.learn(offer);
    return this.section(INTERSECT[direction][this.peerDirection!]);
  }
  start(): void {
    this.started++;
    this.emit('state', 'active');
  }
  setHold(on: boolean): void {
    this.held = on;
  }
  setMute(on: boolean): void {
    this.muted = on;
  }
  async sendDtmf(digits: string): Promise<void> {
    const peer = byPort.get(this.remotePort);
    for (const d of digits) {
      this.sentDtmf.push(d);
      peer?.emit('dtmf', d);
    }
  }
  stats(): AudioStats {
    return { rxPackets: 0, txPackets: 0, lost: 0, jitterMs: 0, rttMs: null, rxLevel: 0, txLevel: 0 };
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    byPort.delete(this.localPort);
    this.emit('state', 'closed');
  }
}
