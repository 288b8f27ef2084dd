// RtpAudioStream: one m=audio stream, the AudioStream contract of api.ts. Owns the RTP/RTCP sockets, the
// negotiated state (codec, payload types, remote addresses, SRTP contexts, direction), and a 20 ms clock that each
// tick reads a frame from the source, sends it (or a DTMF packet), and plays one frame out of the jitter buffer
// into the sink. Everything it decides comes from the pure modules beside it.
import { EventEmitter } from 'node:events';
import type { RemoteInfo, Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type {
  AudioDirection,
  AudioEncryption,
  AudioStats,
  AudioStream,
  AudioStreamEvents,
  AudioStreamOptions,
  AudioStreamState,
} from './api.js';
import { createCodec, FRAME_MS, findCodec, type Codec, type CodecSpec } from './codecs.js';
import { dtmfTrain, DtmfReceiver, type DtmfPacket } from './dtmf.js';
import { peakLevel, Resampler } from './dsp.js';
import { AudioNegotiationError, RtpParseError, SrtpDowngradeError, SrtpError } from './errors.js';
import { openSink, openSource, OUTPUT_RATE, type AudioSink, type AudioSource } from './io.js';
import { Concealer, JitterBuffer } from './jitter.js';
import { isZrtpPacket, looksLikeRtcp, parseRtp, serializeRtp } from './packet.js';
import { Pacer } from './pacer.js';
import { ReceiverStats } from './receiver-stats.js';
import { compound, ntpMiddle, parseRtcp, rttFromReport, toNtp, type ReportBlock, type RtcpPacket } from './rtcp.js';
import { buildCryptoAttribute, newMasterKey, SDES_SUITE } from './sdes.js';
import {
  answerDirection,
  buildAudioSection,
  chooseCodec,
  offerCodecs,
  parseAudioSection,
  usableCrypto,
  type AudioSection,
  type RtpMap,
} from './sdp.js';
import { bindPair } from './socket.js';
import { SrtpContext, type SrtpMasterKey, type SrtpProfile } from './srtp.js';

interface Remote {
  address: string;
  port: number;
}

interface Negotiation {
  codec: CodecSpec;
  sendPt: number;
  dtmf: { pt: number; clockRate: number } | null;
  /** Payload types the peer may send us, by the codec they stand for. */
  peerPts: Map<number, CodecSpec>;
  /** Where the SDP says to send; remoteRtp/remoteRtcp follow the peer's packets (symmetric RTP). */
  sdpRtp: Remote | null;
  sdpRtcp: Remote | null;
  remoteRtp: Remote | null;
  remoteRtcp: Remote | null;
  rtcpMux: boolean;
  direction: AudioDirection;
  encryption: AudioEncryption;
  rxKey: SrtpMasterKey | null;
}

const OUT_FRAME = (OUTPUT_RATE * FRAME_MS) / 1000;
const EMPTY = new Int16Array(0);
const STATS_TICKS = 100; // 2 s
const RTCP_TICKS = 250; // 5 s
const sameKey = (a: SrtpMasterKey | null, b: SrtpMasterKey | null): boolean =>
  !!a && !!b && Buffer.compare(a.masterKey, b.masterKey) === 0 && Buffer.compare(a.masterSalt, b.masterSalt) === 0;

export class RtpAudioStream extends EventEmitter<AudioStreamEvents> implements AudioStream {
  private readonly localKey: SrtpMasterKey = newMasterKey();
  /** Our RTP SSRC (ZRTP packets carry it too). */
  readonly ssrc = randomInt(0, 0xffffffff);
  private readonly cname: string;
  private pending: { direction: AudioDirection; sdes: boolean } | null = null;
  private neg: Negotiation | null = null;
  private txSrtp: SrtpContext | null = null;
  private sdesTx: SrtpContext | null = null;
  private rxSrtp: SrtpContext | null = null;
  private rxKey: SrtpMasterKey | null = null;
  private txCodec: Codec | null = null;
  private readonly decoders = new Map<number, { codec: Codec; resampler: Resampler }>();
  private readonly pacer: Pacer;
  private source: AudioSource | null = null;
  private sink: AudioSink | null = null;
  private state: AudioStreamState = 'idle';
  private hold = false;
  private mute = false;
  private seq = randomInt(0, 0x10000);
  private tsBase = randomInt(0, 0xffffffff);
  private tickBase = 0;
  private lastTick = 0;
  private ticked = false;
  private readonly jitter = new JitterBuffer();
  private readonly concealer = new Concealer();
  /** Payload type of the last decoded packet: the codec that rebuilds a lost frame. */
  private lastPt: number | null = null;
  /** Lost frames rebuilt from the next packet's FEC (Opus). */
  fecRecovered = 0;
  private outFifo: Int16Array = EMPTY;
  private rx = new ReceiverStats();
  private peerSsrc: number | null = null;
  private rxClock = 8000;
  private readonly dtmfRx = new DtmfReceiver();
  private dtmfQueue: { digits: string[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  private dtmfTrain: { packets: DtmfPacket[]; i: number; ts: number; gap: number } | null = null;
  private txPackets = 0;
  private txOctets = 0;
  private rxPackets = 0;
  private srtpDropped = 0;
  private lastSr: { middle: number; at: number } | null = null;
  private rttMs: number | null = null;
  private txPeaks: number[] = [];
  private rxPeaks: number[] = [];
  private zrtpHandler: ((packet: Uint8Array, from: RemoteInfo) => void) | null = null;
  /**
   * Our a=zrtp-hash ("1.10 <hex>"), set by the ZRTP binding before the first offer or answer: offers then carry it
   * beside a=crypto (Blink's "opportunistic"), and an offer with a=zrtp-hash is answered with ZRTP instead of SDES.
   */
  zrtpHash: string | null = null;
  /** The peer's a=zrtp-hash from its last offer or answer (checked against its Hello by the binding). */
  peerZrtpHash: string | null = null;

  private constructor(
    private readonly opts: AudioStreamOptions,
    private readonly rtpSock: Socket,
    private readonly rtcpSock: Socket,
    readonly localPort: number,
  ) {
    super();
    this.cname = `blink-tui-${this.ssrc.toString(16)}@${opts.advertiseHost ?? opts.host}`;
    this.pacer = new Pacer(FRAME_MS, (n) => this.tick(n));
    rtpSock.on('message', (m, r) => this.onRtpSocket(new Uint8Array(m.buffer, m.byteOffset, m.length), r));
    rtcpSock.on('message', (m, r) => this.onRtcp(new Uint8Array(m.buffer, m.byteOffset, m.length), r));
    for (const s of [rtpSock, rtcpSock]) s.on('error', (e) => this.opts.log(`audio socket: ${e.message}`));
  }

  static async create(opts: AudioStreamOptions): Promise<RtpAudioStream> {
    const { rtp, rtcp, port } = await bindPair(opts.host);
    return new RtpAudioStream(opts, rtp, rtcp, port);
  }

  get codec(): string | null {
    return this.neg ? `${this.neg.codec.name}/${this.neg.codec.clockRate}` : null;
  }
  get encryption(): AudioEncryption {
    return this.neg?.encryption ?? 'none';
  }
  get direction(): AudioDirection | null {
    return this.neg?.direction ?? null;
  }

  private get address(): string {
    return this.opts.advertiseHost ?? this.opts.host;
  }

  // ---- negotiation -------------------------------------------------------------------------------------------

  /**
   * ZRTP keys this stream (or will, once ZRTP is done): from then on SDP never switches it to SDES keys.
   * SDES keys travel in the signalling, readable by every proxy and B2BUA on the path; the ZRTP keys were agreed end
   * to end and their SAS compared by the users. A re-offer or answer carrying only a=crypto (a B2BUA rewriting the
   * SDP, a peer that dropped ZRTP, or someone who wants the keys) would otherwise move the media silently to keys
   * the signalling path knows while the call's header still says ZRTP. Keeping ZRTP is what the users checked; our
   * SDP then says so plainly (our a=zrtp-hash, no a=crypto), and a peer that really switched to SDES is heard no
   * more (its packets fail authentication and are counted), which is visible, rather than a quiet downgrade.
   */
  private get zrtpInUse(): boolean {
    return this.neg?.encryption === 'zrtp' && !!this.zrtpHash;
  }

  async createOffer(direction: AudioDirection): Promise<string> {
    // no a=crypto in our re-offers once ZRTP keys the call: an answer could otherwise switch us to SDES
    const sdes = this.opts.sdes !== false && !this.zrtpInUse;
    this.pending = { direction, sdes };
    return buildAudioSection({
      port: this.localPort,
      address: this.address,
      proto: 'RTP/AVP', // Blink's "opportunistic" SDES: RTP/AVP with a=crypto
      codecs: offerCodecs(this.opts.codecs),
      rtcpPort: this.localPort + 1,
      rtcpMux: false,
      crypto: sdes ? buildCryptoAttribute(1, this.localKey) : null,
      zrtpHash: this.zrtpHash,
      direction,
    });
  }

  async applyAnswer(section: string): Promise<void> {
    const offer = this.pending;
    if (!offer) throw new AudioNegotiationError('no offer of ours is waiting for an answer');
    const a = parseAudioSection(section);
    if (a.port === 0) throw new AudioNegotiationError('the peer refused the audio stream (port 0)');
    const chosen = chooseCodec(a, this.opts.codecs);
    if (!chosen) throw new AudioNegotiationError('the answer has no codec we offered');
    let encryption: AudioEncryption = 'none';
    let rxKey: SrtpMasterKey | null = null;
    if (a.crypto.length > 0) {
      const c = a.crypto.find((x) => x.tag === 1 && x.suite === SDES_SUITE && x.key);
      if (!offer.sdes || !c) throw new AudioNegotiationError("the answer's a=crypto matches nothing we offered");
      encryption = 'sdes';
      rxKey = c.key;
    } else if (/SAVP/.test(a.proto)) throw new AudioNegotiationError(`${a.proto} answer without a=crypto`);
    // no a=crypto in the answer to our opportunistic offer, but the peer speaks ZRTP: keys come from ZRTP
    else if (this.zrtpHash && a.zrtpHash) encryption = 'zrtp';
    this.peerZrtpHash = a.zrtpHash;
    this.pending = null;
    this.apply(a, chosen, answerDirection(a.direction, offer.direction), encryption, rxKey, false);
  }

  async createAnswer(offerText: string, direction: AudioDirection): Promise<string> {
    const o = parseAudioSection(offerText);
    if (o.port === 0) throw new AudioNegotiationError('the offer disables the audio stream (port 0)');
    const chosen = chooseCodec(o, this.opts.codecs);
    if (!chosen) throw new AudioNegotiationError('no common codec in the offer');
    const savp = /SAVP/.test(o.proto);
    const crypto = usableCrypto(o);
    if (savp && !crypto) throw new AudioNegotiationError(`${o.proto} offer with no crypto suite we know`);
    const zrtpInUse = this.zrtpInUse;
    // after ZRTP, never SDES (see zrtpInUse): RTP/SAVP cannot be answered without a=crypto, so the re-offer is refused
    if (zrtpInUse && savp) {
      throw new SrtpDowngradeError(`${o.proto} re-offer would replace the ZRTP keys with SDES keys: refused`);
    }
    // Blink's rule: an RTP/AVP offer with a=zrtp-hash is answered with ZRTP (our a=zrtp-hash, no a=crypto) when
    // we speak it; RTP/SAVP needs SDES keys in SDP whatever else it offers. A call keyed by ZRTP stays on ZRTP.
    const useZrtp = (!savp && !!o.zrtpHash && !!this.zrtpHash) || zrtpInUse;
    const useSdes = !useZrtp && !!crypto && (savp || this.opts.sdes !== false);
    const dir = answerDirection(o.direction, direction);
    const codecs: RtpMap[] = [{ ...specMap(chosen.codec), pt: chosen.pt }];
    if (chosen.dtmf) {
      const ev = o.rtpmaps.get(chosen.dtmf.pt);
      codecs.push({
        pt: chosen.dtmf.pt,
        name: ev?.name ?? 'telephone-event',
        clockRate: chosen.dtmf.clockRate,
        fmtp: ev?.fmtp ?? '0-16',
      });
    }
    const answer = buildAudioSection({
      port: this.localPort,
      address: this.address,
      proto: o.proto,
      codecs,
      rtcpPort: o.rtcpMux ? null : this.localPort + 1,
      rtcpMux: o.rtcpMux,
      crypto: useSdes && crypto ? buildCryptoAttribute(crypto.tag, this.localKey) : null,
      zrtpHash: useZrtp ? this.zrtpHash : null,
      direction: dir,
    });
    this.pending = null;
    // a re-offer without a=zrtp-hash leaves the one the running ZRTP session was checked against
    this.peerZrtpHash = o.zrtpHash ?? (zrtpInUse ? this.peerZrtpHash : null);
    if (zrtpInUse && crypto && !o.zrtpHash) this.opts.log('audio: re-offer with a=crypto only; keeping the ZRTP keys');
    this.apply(
      o,
      chosen,
      dir,
      useZrtp ? 'zrtp' : useSdes ? 'sdes' : 'none',
      useSdes && crypto ? crypto.key : null,
      o.rtcpMux,
    );
    return answer;
  }

  private apply(
    peer: AudioSection,
    chosen: NonNullable<ReturnType<typeof chooseCodec>>,
    direction: AudioDirection,
    encryption: AudioEncryption,
    rxKey: SrtpMasterKey | null,
    rtcpMux: boolean,
  ): void {
    const peerPts = new Map<number, CodecSpec>();
    for (const pt of peer.formats) {
      const m = peer.rtpmaps.get(pt);
      const c = m && findCodec(m.name, m.clockRate);
      if (c) peerPts.set(pt, c);
    }
    const addr = peer.address && peer.address !== '0.0.0.0' && peer.address !== '::' ? peer.address : null;
    const remoteRtp = addr ? { address: addr, port: peer.port } : null;
    const remoteRtcp = !addr
      ? null
      : rtcpMux
        ? remoteRtp
        : { address: peer.rtcpAddress ?? addr, port: peer.rtcpPort ?? peer.port + 1 };
    const prev = this.neg;
    // a re-offer that names the same address keeps what symmetric RTP learnt (the peer may be behind a NAT)
    const sameSdp = !!prev && sameRemote(prev.sdpRtp, remoteRtp) && sameRemote(prev.sdpRtcp, remoteRtcp);
    // with keys from ZRTP, a re-negotiation without a=crypto keeps them (ZRTP does not go through SDP)
    const keepZrtp = encryption === 'none' && prev?.encryption === 'zrtp';
    this.neg = {
      codec: chosen.codec,
      sendPt: chosen.pt,
      dtmf: chosen.dtmf,
      peerPts,
      sdpRtp: remoteRtp,
      sdpRtcp: remoteRtcp,
      remoteRtp: sameSdp ? prev.remoteRtp : remoteRtp,
      remoteRtcp: sameSdp ? prev.remoteRtcp : remoteRtcp,
      rtcpMux,
      direction,
      encryption: keepZrtp ? 'zrtp' : encryption,
      rxKey,
    };
    if (!prev || prev.codec !== chosen.codec) {
      const old = this.txCodec;
      if (old) {
        // the media clock goes on across a codec change: continue from where the old codec's timestamps were
        const next = this.lastTick + 1;
        this.tsBase = (this.tsBase + (next - this.tickBase) * old.frameTicks) >>> 0;
        this.tickBase = next;
        old.close();
      }
      this.txCodec = createCodec(chosen.codec);
    }
    for (const [pt, d] of this.decoders) {
      if (peerPts.get(pt) !== d.codec.spec) {
        d.codec.close();
        this.decoders.delete(pt);
      }
    }
    // the decoder of what the peer will send, made now rather than in the first tick that plays its packet (making an
    // Opus decoder the first time compiles its WebAssembly: too long for a 20 ms tick)
    this.decoder(chosen.pt);
    if (encryption === 'sdes') {
      // one context for our key for the stream's whole life: a fresh one would restart the SRTCP index and the
      // ROC under the same key, and so reuse keystream
      this.sdesTx ??= SrtpContext.fromKeys(this.localKey);
      this.txSrtp = this.sdesTx;
      if (!sameKey(this.rxKey, rxKey)) this.rxSrtp = SrtpContext.fromKeys(rxKey!);
      this.rxKey = rxKey;
    } else if (encryption === 'none' && !keepZrtp) {
      this.txSrtp = null;
      this.rxSrtp = null;
      this.rxKey = null;
    }
    this.opts.log(
      `audio: ${this.codec} pt ${chosen.pt}, ${direction}, ${encryption}` +
        (remoteRtp ? ` -> ${remoteRtp.address}:${remoteRtp.port}` : ' (no remote address)'),
    );
  }

  // ---- ZRTP seam: packets with the ZRTP cookie, raw sends, keys set from outside ------------------------------

  /** Hands every ZRTP packet (cookie 0x5A525450 at bytes 4..7) arriving on the RTP port to `handler`. */
  onZrtpPacket(handler: ((packet: Uint8Array, from: RemoteInfo) => void) | null): void {
    this.zrtpHandler = handler;
  }

  /** Sends bytes as they are to the peer's RTP address (ZRTP messages). */
  sendRaw(packet: Uint8Array): void {
    const r = this.neg?.remoteRtp;
    if (r) this.rtpSock.send(packet, r.port, r.address);
  }

  /**
   * Switches SRTP to keys agreed elsewhere (ZRTP): ours protects what we send, theirs what we receive, under
   * `profile` (AES_CM_128_HMAC_SHA1_80 unless ZRTP chose AES3 or HS32). Throws SrtpError when the keys do not fit it.
   */
  setSrtpKeys(
    keys: { tx: SrtpMasterKey; rx: SrtpMasterKey; profile?: SrtpProfile },
    encryption: AudioEncryption = 'zrtp',
  ): void {
    const profile = keys.profile ?? 'AES_CM_128_HMAC_SHA1_80';
    this.txSrtp = SrtpContext.fromKeys(keys.tx, profile);
    this.rxSrtp = SrtpContext.fromKeys(keys.rx, profile);
    this.rxKey = keys.rx;
    if (this.neg) this.neg.encryption = encryption;
  }

  // ---- control -----------------------------------------------------------------------------------------------

  start(): void {
    if (this.state === 'closed') return;
    if (!this.neg) {
      this.opts.log('audio: start() before negotiation: nothing to start yet');
      return;
    }
    const warn = (m: string) => this.emit('warning', m);
    this.source ??= openSource(this.opts.input, warn, this.opts.log);
    this.sink ??= openSink(this.opts.output, warn, this.opts.log);
    if (!this.pacer.running) this.pacer.begin();
    if (this.state === 'idle') {
      this.state = 'active';
      this.emit('state', 'active');
    }
  }

  setHold(on: boolean): void {
    this.hold = on;
    if (on) {
      // digits not sent yet would go out after the hold, out of context: drop them
      for (const j of this.dtmfQueue) j.reject(new Error('audio put on hold'));
      this.dtmfQueue = [];
      this.dtmfTrain = null;
      this.jitter.reset();
      this.outFifo = EMPTY;
    }
  }

  setMute(on: boolean): void {
    this.mute = on;
  }

  sendDtmf(digits: string): Promise<void> {
    const list = [...digits].filter((d) => d.trim() !== '');
    for (const d of list)
      if (!/^[0-9*#A-Da-d]$/.test(d)) return Promise.reject(new RangeError(`not a DTMF digit: ${d}`));
    if (!this.neg?.dtmf) return Promise.reject(new AudioNegotiationError('the peer takes no telephone-event'));
    if (!this.pacer.running || !this.canSend()) {
      return Promise.reject(new Error('DTMF needs a stream that is sending (started, not held, not recvonly)'));
    }
    if (list.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.dtmfQueue.push({ digits: list, resolve, reject }));
  }

  stats(): AudioStats {
    return {
      rxPackets: this.rxPackets,
      txPackets: this.txPackets,
      lost: Math.max(0, this.rx.lost),
      jitterMs: (this.rx.jitter / this.rxClock) * 1000,
      rttMs: this.rttMs,
      rxLevel: Math.max(0, ...this.rxPeaks),
      txLevel: Math.max(0, ...this.txPeaks),
    };
  }

  /** SRTP packets dropped (authentication failure, replay) since the start. */
  get srtpFailures(): number {
    return this.srtpDropped;
  }

  close(): void {
    if (this.state === 'closed') return;
    const wasActive = this.state === 'active';
    this.state = 'closed';
    this.pacer.stop();
    if (wasActive) this.sendRtcp(true);
    for (const j of this.dtmfQueue) j.reject(new Error('audio stream closed'));
    this.dtmfQueue = [];
    this.source?.close();
    this.sink?.close();
    this.txCodec?.close();
    for (const d of this.decoders.values()) d.codec.close();
    this.decoders.clear();
    for (const s of [this.rtpSock, this.rtcpSock]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.emit('state', 'closed');
  }

  // ---- the 20 ms clock ---------------------------------------------------------------------------------------

  private tick(n: number): void {
    const skipped = this.ticked ? n - this.lastTick - 1 : 0;
    this.ticked = true;
    this.lastTick = n;
    try {
      if (skipped > 0) this.skipFrames(skipped);
      this.sendFrame(n);
      this.playFrame();
      // RTCP after 1 s and 2 s (a round-trip time early in the call), then every 5 s
      if (n === 50 || n === 100 || (n > 100 && n % RTCP_TICKS === 100)) this.sendRtcp(false);
      if (n % STATS_TICKS === STATS_TICKS - 1) this.emit('stats', this.stats());
    } catch (e) {
      this.opts.log(`audio tick: ${(e as Error).message}`);
    }
  }

  /**
   * Ticks the pacer skipped (the event loop was held up for more than its catch-up): the source and the sink stay
   * on the wall clock anyway. The source drops those frames (a file goes on where a device would be), the sink gets
   * silence for them, so a recording keeps sample k at (first frame's time + k / rate): what the benchmark's
   * alignment of the --audio-out file relies on. Bounded: after a long stop (a suspended laptop) 5 s at most.
   */
  private skipFrames(count: number): void {
    const codec = this.txCodec;
    for (let i = 0; i < Math.min(count, 250); i++) {
      if (codec && this.source) this.source.read(codec.spec.sampleRate, codec.frameSamples);
      this.sink?.write(new Int16Array(OUT_FRAME));
    }
  }

  private canSend(): boolean {
    const d = this.neg?.direction;
    return !this.hold && !!this.neg?.remoteRtp && (d === 'sendrecv' || d === 'sendonly');
  }

  private canReceive(): boolean {
    const d = this.neg?.direction;
    return !this.hold && (d === 'sendrecv' || d === 'recvonly');
  }

  private sendFrame(n: number): void {
    const neg = this.neg;
    const codec = this.txCodec;
    if (!neg || !codec || !this.source) return;
    const pcm = this.source.read(codec.spec.sampleRate, codec.frameSamples);
    const send = this.canSend();
    pushPeak(this.txPeaks, send && !this.mute ? peakLevel(pcm) : 0);
    if (!send) return;
    const ts = (this.tsBase + (n - this.tickBase) * codec.frameTicks) >>> 0;
    if (this.sendDtmfFrame(ts, codec)) return;
    const payload = codec.encode(this.mute ? new Int16Array(pcm.length) : pcm);
    this.sendRtp(neg.sendPt, ts, payload, false);
  }

  /** Sends this frame's DTMF packet, if a digit is being sent; true when it took the frame. */
  private sendDtmfFrame(ts: number, codec: Codec): boolean {
    const ev = this.neg?.dtmf;
    if (!ev) return false;
    if (!this.dtmfTrain) {
      const job = this.dtmfQueue[0];
      if (!job) return false;
      const digit = job.digits.shift()!;
      const evTicks = (ev.clockRate * FRAME_MS) / 1000;
      // the event's timestamp is the audio clock's now, on the telephone-event clock when the two differ
      const evTs =
        ev.clockRate === codec.spec.clockRate ? ts : Math.round((ts * ev.clockRate) / codec.spec.clockRate) >>> 0;
      this.dtmfTrain = { packets: dtmfTrain(digit, evTicks), i: 0, ts: evTs, gap: 0 };
    }
    const t = this.dtmfTrain;
    const p = t.packets[t.i];
    if (p) {
      this.sendRtp(ev.pt, t.ts, p.payload, p.marker);
      t.i++;
      if (t.i === t.packets.length) {
        const job = this.dtmfQueue[0];
        if (job && job.digits.length === 0) {
          this.dtmfQueue.shift();
          job.resolve();
        }
      }
      return true;
    }
    // two frames of audio between digits, so the peer sees separate events
    if (++t.gap >= 2) this.dtmfTrain = null;
    return false;
  }

  private sendRtp(pt: number, ts: number, payload: Uint8Array, marker: boolean): void {
    const r = this.neg?.remoteRtp;
    if (!r) return;
    // ZRTP still talking: nothing goes out in the clear
    if (this.neg?.encryption === 'zrtp' && !this.txSrtp) return;
    let pkt = serializeRtp({ payloadType: pt, marker, sequence: this.seq, timestamp: ts, ssrc: this.ssrc, payload });
    this.seq = (this.seq + 1) & 0xffff;
    if (this.txSrtp) pkt = this.txSrtp.protectRtp(pkt);
    this.rtpSock.send(pkt, r.port, r.address);
    this.txPackets++;
    this.txOctets += payload.length;
  }

  private playFrame(): void {
    if (!this.sink) return;
    if (!this.canReceive()) {
      pushPeak(this.rxPeaks, 0);
      this.sink.write(new Int16Array(OUT_FRAME));
      return;
    }
    while (this.outFifo.length < OUT_FRAME) {
      const item = this.jitter.pop();
      let frame: Int16Array;
      if (item.kind === 'packet') {
        const d = this.decoder(item.packet.pt);
        if (!d) continue;
        try {
          frame = d.resampler.process(d.codec.decode(item.packet.payload));
          this.concealer.good(frame);
          this.lastPt = item.packet.pt;
        } catch {
          // a payload the decoder refuses (authenticated, so a broken peer, not an attacker): treat as lost
          frame = this.concealer.conceal(OUT_FRAME);
        }
      } else if (item.kind === 'lost') frame = this.recoverLost();
      else frame = new Int16Array(OUT_FRAME - this.outFifo.length);
      if (this.outFifo.length === 0)
        this.outFifo = frame; // the usual case: one decoded frame is one output frame
      else {
        const f = new Int16Array(this.outFifo.length + frame.length);
        f.set(this.outFifo);
        f.set(frame, this.outFifo.length);
        this.outFifo = f;
      }
    }
    let out = this.outFifo;
    if (out.length === OUT_FRAME) this.outFifo = EMPTY;
    else {
      out = this.outFifo.subarray(0, OUT_FRAME);
      this.outFifo = this.outFifo.slice(OUT_FRAME);
    }
    pushPeak(this.rxPeaks, peakLevel(out));
    this.sink.write(out);
  }

  /**
   * A frame for a lost packet: the codec rebuilds it when it can (Opus: in-band FEC of the next packet when that one
   * is already in the jitter buffer, else libopus's concealment), otherwise the last frame repeated and faded.
   */
  private recoverLost(): Int16Array {
    const d = this.lastPt === null ? undefined : this.decoders.get(this.lastPt);
    if (d?.codec.recover) {
      const next = this.jitter.peekNext();
      try {
        const pcm = d.codec.recover(next && next.pt === this.lastPt ? next.payload : null);
        if (next && next.pt === this.lastPt) this.fecRecovered++;
        return d.resampler.process(pcm);
      } catch {
        // a next packet the decoder refuses: fall back to repeating
      }
    }
    return this.concealer.conceal(OUT_FRAME);
  }

  private decoder(pt: number): { codec: Codec; resampler: Resampler } | null {
    let d = this.decoders.get(pt);
    if (!d) {
      const spec = this.neg?.peerPts.get(pt);
      if (!spec) return null;
      d = { codec: createCodec(spec), resampler: new Resampler(spec.sampleRate, OUTPUT_RATE) };
      this.decoders.set(pt, d);
    }
    return d;
  }

  // ---- receiving ---------------------------------------------------------------------------------------------

  private onRtpSocket(b: Uint8Array, from: RemoteInfo): void {
    if (this.state === 'closed') return;
    if (isZrtpPacket(b)) {
      this.zrtpHandler?.(b, from);
      return;
    }
    const neg = this.neg;
    if (!neg) return;
    if (looksLikeRtcp(b)) {
      // RTCP on the RTP port: the rtcp-mux we answered, or a peer that muxes anyway; either way it is RTCP
      this.onRtcp(b, from, true);
      return;
    }
    let plain = b;
    try {
      if (this.rxSrtp) plain = this.rxSrtp.unprotectRtp(b);
      else if (neg.encryption !== 'none') return; // keys not there yet (ZRTP still talking)
      const p = parseRtp(plain);
      // symmetric RTP: answer to where the peer's authenticated packets come from
      if (!neg.remoteRtp || neg.remoteRtp.address !== from.address || neg.remoteRtp.port !== from.port) {
        neg.remoteRtp = { address: from.address, port: from.port };
        if (neg.rtcpMux) neg.remoteRtcp = neg.remoteRtp;
      }
      this.rxPackets++;
      if (this.peerSsrc !== p.ssrc) {
        this.peerSsrc = p.ssrc;
        this.rx = new ReceiverStats();
      }
      const spec = neg.peerPts.get(p.payloadType);
      const clock = spec?.clockRate ?? neg.dtmf?.clockRate ?? 8000;
      this.rxClock = clock;
      const isDtmf = !!neg.dtmf && p.payloadType === neg.dtmf.pt;
      this.rx.update(p.sequence, p.timestamp, Math.round((performance.now() * clock) / 1000), !isDtmf);
      if (isDtmf) {
        const digit = this.dtmfRx.receive(p.timestamp, p.payload);
        if (digit !== null) this.emit('dtmf', digit);
        return;
      }
      if (!spec || !this.canReceive()) return;
      this.jitter.setJitter((this.rx.jitter / clock) * 1000);
      this.jitter.push({ seq: p.sequence, timestamp: p.timestamp, pt: p.payloadType, payload: p.payload });
    } catch (e) {
      // what arrives on a socket never ends the process: count or log it and go on
      if (e instanceof SrtpError) this.srtpDropped++;
      else if (!(e instanceof RtpParseError)) this.opts.log(`audio: dropped a packet: ${(e as Error).message}`);
    }
  }

  private onRtcp(b: Uint8Array, from: RemoteInfo, onRtpPort = false): void {
    if (this.state === 'closed' || !this.neg) return;
    if (!this.rxSrtp && this.neg.encryption === 'zrtp') return; // keys not there yet (ZRTP still talking)
    let packets: RtcpPacket[];
    try {
      const plain = this.rxSrtp ? this.rxSrtp.unprotectRtcp(b) : b;
      packets = parseRtcp(plain);
    } catch (e) {
      if (!(e instanceof SrtpError || e instanceof RtpParseError)) this.opts.log(`audio RTCP: ${(e as Error).message}`);
      return;
    }
    // symmetric RTCP, on the socket it came to (a peer muxing on our RTP port is answered on our RTCP port)
    if (!this.neg.rtcpMux && !onRtpPort) this.neg.remoteRtcp = { address: from.address, port: from.port };
    const now = Date.now();
    for (const p of packets) {
      if (p.type === 'sr') this.lastSr = { middle: ntpMiddle(p.ntpSec, p.ntpFrac), at: now };
      if (p.type === 'sr' || p.type === 'rr') {
        for (const r of p.reports) if (r.ssrc === this.ssrc) this.rttMs = rttFromReport(r, now) ?? this.rttMs;
      }
      if (p.type === 'bye') this.opts.log(`audio: the peer sent RTCP BYE${p.reason ? ` (${p.reason})` : ''}`);
    }
  }

  private sendRtcp(bye: boolean): void {
    const neg = this.neg;
    const r = neg?.remoteRtcp;
    if (!neg || !r) return;
    if (neg.encryption === 'zrtp' && !this.txSrtp) return; // not in the clear while ZRTP talks
    const now = Date.now();
    const reports: ReportBlock[] = [];
    if (this.peerSsrc !== null && this.rx.hasData) {
      reports.push({
        ssrc: this.peerSsrc,
        fractionLost: this.rx.takeFractionLost(),
        cumulativeLost: Math.max(-0x800000, Math.min(0x7fffff, this.rx.lost)),
        highestSeq: this.rx.extendedMax,
        jitter: Math.round(this.rx.jitter),
        lsr: this.lastSr?.middle ?? 0,
        dlsr: this.lastSr ? Math.round(((now - this.lastSr.at) / 1000) * 65536) : 0,
      });
    }
    const packets: RtcpPacket[] = [];
    if (this.txPackets > 0 && this.txCodec) {
      const ntp = toNtp(now);
      packets.push({
        type: 'sr',
        ssrc: this.ssrc,
        ntpSec: ntp.sec,
        ntpFrac: ntp.frac,
        rtpTimestamp: (this.tsBase + (this.lastTick - this.tickBase) * this.txCodec.frameTicks) >>> 0,
        packetCount: this.txPackets,
        octetCount: this.txOctets,
        reports,
      });
    } else packets.push({ type: 'rr', ssrc: this.ssrc, reports });
    packets.push({ type: 'sdes', chunks: [{ ssrc: this.ssrc, cname: this.cname }] });
    if (bye) packets.push({ type: 'bye', ssrcs: [this.ssrc] });
    let pkt = compound(packets);
    if (this.txSrtp) pkt = this.txSrtp.protectRtcp(pkt);
    const sock = neg.rtcpMux ? this.rtpSock : this.rtcpSock;
    try {
      sock.send(pkt, r.port, r.address);
    } catch (e) {
      this.opts.log(`audio RTCP: ${(e as Error).message}`);
    }
  }
}

function sameRemote(a: Remote | null, b: Remote | null): boolean {
  return a === b || (!!a && !!b && a.address === b.address && a.port === b.port);
}

function specMap(c: CodecSpec): Omit<RtpMap, 'pt'> {
  const m: Omit<RtpMap, 'pt'> = { name: c.name, clockRate: c.clockRate };
  if (c.channels) m.channels = c.channels;
  if (c.fmtp) m.fmtp = c.fmtp;
  return m;
}

function pushPeak(list: number[], v: number): void {
  list.push(v);
  if (list.length > 5) list.shift();
}
