// ZRTP on one audio stream: the pure engine (src/zrtp) bound to the stream's seam (src/rtp: packets with the ZRTP
// cookie in, raw packets out, SRTP keys set from outside), its timers on the session clock, our ZID and retained
// secrets from the file cache (src/chat-storage). What the user sees of it (SAS, alarms, the SMP from the call) is
// audio.ts's business: this file only runs the protocol and reports `secure` or `failed`.
import type { RemoteInfo } from 'node:dgram';
import { isSrtpProfile, type AudioStream, type SrtpMasterKey, type SrtpProfile } from '../rtp/index.js';
import { ZrtpEngine, type AlgorithmLists, type ZidCachePort, type ZrtpEvent, type ZrtpSecure } from '../zrtp/index.js';
import type { Clock, Timer } from './session.js';

/** What src/rtp's RtpAudioStream adds to the AudioStream contract for ZRTP (a fake stream in tests may lack it). */
export interface ZrtpSeam {
  readonly ssrc: number;
  zrtpHash: string | null;
  readonly peerZrtpHash: string | null;
  onZrtpPacket(handler: ((packet: Uint8Array, from: RemoteInfo) => void) | null): void;
  sendRaw(packet: Uint8Array): void;
  setSrtpKeys(keys: { tx: SrtpMasterKey; rx: SrtpMasterKey; profile?: SrtpProfile }): void;
}

export function zrtpSeamOf(stream: AudioStream): (AudioStream & ZrtpSeam) | null {
  const s = stream as AudioStream & Partial<ZrtpSeam>;
  return typeof s.onZrtpPacket === 'function' &&
    typeof s.sendRaw === 'function' &&
    typeof s.setSrtpKeys === 'function' &&
    typeof s.ssrc === 'number'
    ? (s as AudioStream & ZrtpSeam)
    : null;
}

/** Our ZID and the retained secrets per peer ZID (src/chat-storage's ZrtpCacheStore satisfies it). */
export interface ZrtpStore extends ZidCachePort {
  readonly zid: Uint8Array;
}

/**
 * What we offer in a call: every SRTP profile src/rtp does (AES-128 and AES-256 counter mode, 80- and 32-bit tags).
 * AES1 first, AES3 second: the choice rule takes the stronger of the two sides' first common choices, so a peer
 * that prefers AES3 (ZRTPCPP, Blink's engine: `2FS3 AES3 2FS1 AES1`) gets it and bzrtp (`AES1 AES3`) stays on AES1,
 * as issue 13 asks. HS80 first, so HS80 wins whenever we choose; HS32 is mandatory and taken when an initiator
 * names it.
 */
export const CALL_ALGORITHMS: AlgorithmLists = {
  hash: ['S256', 'S384'],
  cipher: ['AES1', 'AES3'],
  authTag: ['HS80', 'HS32'],
  keyAgreement: ['EC25', 'DH3k'],
  sas: ['B32', 'B256'],
};
/** Early packets kept until media starts: a Hello and a retransmission or two is all a peer sends by then. */
const MAX_EARLY = 8;

export interface ZrtpBindingEvents {
  secure(info: ZrtpSecure): void;
  failed(reason: string): void;
  log(msg: string): void;
}

export class ZrtpBinding {
  private readonly engine: ZrtpEngine;
  private timer: Timer | null = null;
  private started = false;
  private closed = false;
  private info: ZrtpSecure | null = null;
  /** Media start (clock ms), for the time-to-SAS figure in the logs. */
  private startedAt = 0;
  /**
   * ZRTP packets that came before our media started (the peer's side started first: the callee's Hello can reach
   * the caller before the caller has read the 200 OK). Fed to the engine at start, so the exchange need not wait
   * for the peer's first retransmission (50 ms); bounded, and dropped if the peer's Hello hash does not match.
   */
  private early: Uint8Array[] = [];

  constructor(
    private readonly stream: AudioStream & ZrtpSeam,
    store: ZrtpStore,
    private readonly clock: Clock,
    peerIdentity: string,
    private readonly on: ZrtpBindingEvents,
    /** Our Hello's lists: CALL_ALGORITHMS; tests pass others to stand for a peer with other preferences. */
    algorithms: AlgorithmLists = CALL_ALGORITHMS,
  ) {
    this.engine = new ZrtpEngine({
      zid: store.zid,
      ssrc: stream.ssrc,
      cache: store,
      peerIdentity,
      algorithms,
    });
    // before the first offer or answer: both carry a=zrtp-hash
    stream.zrtpHash = this.engine.helloHash();
    stream.onZrtpPacket((b) => this.receive(b));
  }

  /** The stream's SDP exchange chose ZRTP (an answer or offer with a=zrtp-hash and no a=crypto). */
  get chosen(): boolean {
    return this.stream.encryption === 'zrtp';
  }
  get isStarted(): boolean {
    return this.started;
  }
  get secure(): ZrtpSecure | null {
    return this.info;
  }

  /** Media flows: send our Hello. The peer's a=zrtp-hash, when its SDP had one, must match its Hello (§8.1). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.startedAt = this.clock.now();
    const peerHash = this.stream.peerZrtpHash;
    if (peerHash) this.engine.setPeerHelloHash(peerHash);
    this.run(this.engine.start(this.clock.now()));
    const early = this.early;
    this.early = [];
    for (const b of early) if (!this.closed) this.run(this.engine.receive(b, this.clock.now()));
  }

  /** The user compared the SAS (true) or found it different (false): kept per peer ZID for the next calls. */
  setVerified(verified: boolean): void {
    this.engine.setVerified(verified);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.stream.onZrtpPacket(null);
  }

  private receive(b: Uint8Array): void {
    if (this.closed) return;
    if (!this.started) {
      // a copy: the socket's buffer is not ours to keep
      if (this.early.length < MAX_EARLY) this.early.push(b.slice());
      return;
    }
    this.run(this.engine.receive(b, this.clock.now()));
  }

  private run(events: ZrtpEvent[]): void {
    for (const e of events) {
      if (this.closed) return;
      switch (e.type) {
        case 'send':
          this.stream.sendRaw(e.packet);
          break;
        case 'ignored':
          this.on.log(`ZRTP: ignored a packet: ${e.reason}`);
          break;
        case 'failed':
          this.on.log(`ZRTP failed (0x${e.code.toString(16)}, ${e.by}): ${e.reason}`);
          this.on.failed(e.by === 'timeout' ? `no ZRTP answer from the peer (${e.reason})` : e.reason);
          break;
        case 'secure': {
          const i = e.info;
          // the engine and src/rtp name profiles alike (RFC 4568/6188 names); one we lack is refused, never keyed
          if (!isSrtpProfile(i.srtpProfile)) {
            this.on.failed(`the peer chose ${i.srtpProfile}, which our SRTP does not do`);
            break;
          }
          this.stream.setSrtpKeys({ tx: i.srtp.local, rx: i.srtp.remote, profile: i.srtpProfile });
          this.info = i;
          this.on.log(
            `ZRTP secure after ${this.clock.now() - this.startedAt} ms: ${i.keyAgreement}/${i.cipher}/${i.authTag}/${i.hash}, ` +
              `${i.role}, cache ${i.cache}, peer ${i.peerClientId.trim()} ZID ${i.peerZid}`,
          );
          this.on.secure(i);
          break;
        }
      }
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const due = this.engine.nextTimeout();
    if (due === undefined || this.closed) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        if (!this.closed) this.run(this.engine.tick(this.clock.now()));
      },
      Math.max(0, due - this.clock.now()),
    );
    this.timer.unref();
  }
}
