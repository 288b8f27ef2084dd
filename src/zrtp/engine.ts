// The ZRTP protocol machine (RFC 6189 §4, DH mode), sans-IO: packets in, packets and events out. The caller passes
// the time into start/receive/tick and calls tick at nextTimeout(); randomness is injected so two engines in one
// process produce a fixed transcript.
import {
  AUTH_TAGS,
  CIPHERS,
  DEFAULT_ALGORITHMS,
  KEY_AGREEMENTS,
  MANDATORY,
  choose,
  type AlgorithmLists,
  type AuthTagAlgo,
  type Chosen,
  type CipherAlgo,
  type HashAlgo,
  type KeyAgreementAlgo,
  type SasAlgo,
} from './algorithms.js';
import { compareBytes, constantTimeEqual, toHex } from '../bytes/bytes.js';
import { matchRetainedSecret, type CacheResult, type ZidCachePort, type ZidRecord } from './cache.js';
import { cfb, generateKeyPair, hmac, sha256, type KeyPair, type Random } from './crypto.js';
import { ZrtpError } from './errors.js';
import { chainsTo, checkMessageMac, hashChain, messageMac, type HashChain } from './hash-chain.js';
import { deriveKeys, hvi as computeHvi, s0 as computeS0, secretId, totalHash, type SessionKeys } from './keys.js';
import {
  buildConfirmBody,
  buildMessage,
  framePacket,
  parseConfirmBody,
  parsePacket,
  type Commit,
  type Confirm,
  type DHPart,
  type Hello,
  type Message,
  type MessageType,
  type Packet,
} from './packet.js';
import { renderSas } from './sas.js';
import { randomBytes } from 'node:crypto';

export const ZRTP_VERSION = '1.10';
export const DEFAULT_CLIENT_ID = 'blink-tui';

/** Error codes of §5.9 that this engine sends or understands by name. */
export const ERROR_CODES: Record<number, string> = {
  0x10: 'Malformed packet (CRC OK, but wrong structure)',
  0x20: 'Critical software error',
  0x30: 'Unsupported ZRTP version',
  0x40: 'Hello components mismatch',
  0x51: 'Hash Type not supported',
  0x52: 'Cipher Type not supported',
  0x53: 'Public key exchange not supported',
  0x54: 'SRTP auth tag not supported',
  0x55: 'SAS rendering scheme not supported',
  0x56: 'No shared secret available, DH mode required',
  0x61: 'DH Error: bad pvi or pvr (== 1, 0, or p-1)',
  0x62: 'DH Error: hvi != hashed data',
  0x63: 'Received relayed SAS from untrusted MiTM',
  0x70: 'Auth Error: Bad Confirm pkt MAC',
  0x80: 'Nonce reuse',
  0x90: 'Equal ZIDs in Hello',
  0x91: 'SSRC collision',
  0xa0: 'Service unavailable',
  0xb0: 'Protocol timeout error',
  0x100: 'GoClear message received, but not allowed',
};

// §6 retransmission: T1 for Hello (50 ms doubling to 200 ms, 20 retries), T2 for Commit, DHPart2, Confirm2 and
// Error (150 ms doubling to 1200 ms, 10 retries).
const T1 = { first: 50, cap: 200, retries: 20 };
const T2 = { first: 150, cap: 1200, retries: 10 };
/** Once the peer's Hello is here, our Hello keeps going longer (ZRTPCPP's reading of §6: 60 resends). */
const T1_PEER_SEEN_RETRIES = 60;
/** A phase in which we send nothing of our own (waiting for the peer's Commit, DHPart2, Confirm2) ends after this. */
const SILENT_WAIT_MS = 10_000;

export type Phase =
  | 'idle'
  | 'discovery'
  | 'commit-sent'
  | 'responder-dh1'
  | 'initiator-dh2'
  | 'responder-confirm1'
  | 'initiator-confirm2'
  | 'secure'
  | 'failed';

export interface SrtpKeys {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
}

/** What a completed run gives the SRTP layer and the UI. */
export interface ZrtpSecure {
  sas: string;
  sasRender: { b32: string; b256: string };
  sasType: SasAlgo;
  hash: HashAlgo;
  cipher: CipherAlgo;
  authTag: AuthTagAlgo;
  keyAgreement: KeyAgreementAlgo;
  /** RFC 4568 / RFC 6188 name of the SRTP crypto suite these keys are for. */
  srtpProfile: string;
  /** local: what we encrypt with; remote: what we decrypt the peer's SRTP with. */
  srtp: { local: SrtpKeys; remote: SrtpKeys };
  cache: CacheResult;
  peerZid: string;
  /** Trusted as verified: our cache flag, the peer's V flag, and a matching cache all agree (§7.1). */
  verified: boolean;
  role: 'initiator' | 'responder';
  peerClientId: string;
}

export type ZrtpEvent =
  | { type: 'send'; packet: Uint8Array; message: MessageType }
  | { type: 'secure'; info: ZrtpSecure }
  | { type: 'failed'; code: number; reason: string; by: 'us' | 'peer' | 'timeout' }
  /** A packet dropped without an answer, and why (for logs and tests: bad CRC, bad MAC, replay...). */
  | { type: 'ignored'; reason: string };

export interface ZrtpEngineOptions {
  /** Our 96-bit ZID (persisted by the caller, like the OTR key). */
  zid: Uint8Array;
  /** The SSRC we send ZRTP packets with (the RTP stream's). */
  ssrc: number;
  cache: ZidCachePort;
  random?: Random;
  clientId?: string;
  algorithms?: AlgorithmLists;
  /** Never send Commit (§5.2 P flag): only respond. */
  passive?: boolean;
  /** The peer's a=zrtp-hash from SDP ("1.10 <hex>"), checked against its Hello (§8.1). */
  peerHelloHash?: string;
  /** The remote SIP identity, stored with the cache record for the UI. */
  peerIdentity?: string;
  /** Wall clock for the cache's lastSeen (ms since the epoch). */
  wallClock?: () => number;
}

interface Timer {
  due: number;
  interval: number;
  count: number;
  retries: number;
  spec: typeof T1;
  /** The message (preamble to MAC) to resend, framed afresh each time; undefined for the silent wait. */
  raw: Uint8Array | undefined;
  message: MessageType | undefined;
  /** The phase a silent wait was armed in: a new phase starts a new wait. */
  phase?: Phase;
}

interface Peer {
  hello: Hello;
  helloRaw: Uint8Array;
  ssrc: number;
}

export class ZrtpEngine {
  readonly zid: Uint8Array;
  private readonly random: Random;
  private readonly opts: ZrtpEngineOptions;
  private readonly algorithms: AlgorithmLists;
  private readonly chain: HashChain;
  private readonly helloRaw: Uint8Array;
  private phase: Phase = 'idle';
  private seq: number;
  private timer: Timer | undefined;
  private peer: Peer | undefined;
  private gotHelloAck = false;
  private role: 'initiator' | 'responder' | undefined;
  private chosen: Chosen | undefined;
  private readonly keyPairs = new Map<KeyAgreementAlgo, KeyPair>();
  private ourCommitRaw: Uint8Array | undefined;
  private ourCommit: Commit | undefined;
  private ourDhRaw: Uint8Array | undefined;
  private peerCommitRaw: Uint8Array | undefined;
  private peerCommit: Commit | undefined;
  private peerDh: DHPart | undefined;
  private peerDhRaw: Uint8Array | undefined;
  private keys: SessionKeys | undefined;
  private cacheResult: CacheResult = 'new';
  private record: ZidRecord | undefined;
  private peerVerifiedFlag = false;
  /** Answers kept for a peer's retransmission (the responder never retransmits on its own, §6). */
  private lastReply: { to: Uint8Array; raw: Uint8Array; message: MessageType } | undefined;
  private secureInfo: ZrtpSecure | undefined;
  /** After a cache mismatch the new rs1 waits for the user's SAS confirmation (§4.6.1.1). */
  private pendingRs1: Uint8Array | undefined;

  constructor(opts: ZrtpEngineOptions) {
    if (opts.zid.length !== 12) throw new ZrtpError('bad-argument', 'a ZID is 12 bytes');
    this.opts = opts;
    this.zid = opts.zid;
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
    this.chain = hashChain(this.random(32));
    this.seq = new DataView(this.random(2).buffer).getUint16(0) & 0x7fff;
    const hello: Hello = {
      type: 'Hello',
      version: ZRTP_VERSION,
      clientId: (opts.clientId ?? DEFAULT_CLIENT_ID).padEnd(16, ' ').slice(0, 16),
      h3: this.chain.h3,
      zid: this.zid,
      signature: false,
      mitm: false,
      passive: opts.passive ?? false,
      ...this.algorithms,
      mac: new Uint8Array(8),
    };
    this.helloRaw = buildMessage(hello, (m) => messageMac(this.chain.h2, m));
  }

  /** Our a=zrtp-hash value (§8.1): version and the hex SHA-256 of our Hello message. */
  helloHash(): string {
    return `${ZRTP_VERSION} ${toHex(sha256(this.helloRaw))}`;
  }

  /** The peer's a=zrtp-hash, when the answer arrives after the engine was created. */
  setPeerHelloHash(value: string): void {
    this.opts.peerHelloHash = value;
  }

  get state(): Phase {
    return this.phase;
  }

  /** When tick() is next due (ms on the caller's clock), or undefined if nothing waits. */
  nextTimeout(): number | undefined {
    return this.timer?.due;
  }

  start(now: number): ZrtpEvent[] {
    if (this.phase !== 'idle') return [];
    this.phase = 'discovery';
    const out: ZrtpEvent[] = [];
    this.sendWithTimer(out, this.helloRaw, 'Hello', T1, now);
    return out;
  }

  tick(now: number): ZrtpEvent[] {
    const t = this.timer;
    if (!t || now < t.due) return [];
    const out: ZrtpEvent[] = [];
    if (!t.raw || !t.message) {
      this.timer = undefined;
      this.fail(out, 0xb0, `nothing from the peer in ${this.phase}`, 'timeout');
      return out;
    }
    const retries = t.message === 'Hello' && this.peer ? T1_PEER_SEEN_RETRIES : t.retries;
    if (t.count >= retries) {
      this.timer = undefined;
      if (t.message === 'Error') return out;
      this.fail(out, 0xb0, `no answer to ${t.message}`, 'timeout');
      return out;
    }
    t.count++;
    t.interval = Math.min(t.interval * 2, t.spec.cap);
    t.due = now + t.interval;
    this.send(out, t.raw, t.message);
    return out;
  }

  /**
   * Nothing of ours to resend while we wait for the peer (after HelloACK before its Hello or Commit, or as the
   * responder): a deadline instead, so a vanished peer ends in `failed` rather than a negotiation that never ends.
   */
  private armSilentWait(now: number): void {
    if (this.timer && !this.timer.raw && this.timer.phase !== this.phase) this.timer = undefined;
    const waiting = this.phase !== 'idle' && this.phase !== 'secure' && this.phase !== 'failed';
    if (waiting && !this.timer) {
      this.timer = {
        due: now + SILENT_WAIT_MS,
        interval: 0,
        count: 0,
        retries: 0,
        spec: T2,
        raw: undefined,
        message: undefined,
        phase: this.phase,
      };
    }
    if (!waiting && this.timer && !this.timer.raw) this.timer = undefined;
  }

  /** An SRTP packet from the peer authenticated: for the initiator it stands for a lost Conf2ACK (§5.8). */
  srtpReceived(): ZrtpEvent[] {
    const out: ZrtpEvent[] = [];
    if (this.phase === 'initiator-confirm2') this.goSecure(out);
    return out;
  }

  /**
   * The user compared the SAS (true) or found it wrong / withdrew it (false). Stored per peer ZID; the next run's
   * Confirm carries V. After a cache mismatch, confirming is what lets the new retained secret into the cache.
   * The `secure` event already sent is not revised: its `verified` is what both sides knew when the run ended.
   */
  setVerified(verified: boolean): void {
    const zid = this.peer?.hello.zid;
    if (!zid) return;
    const rec: ZidRecord = this.opts.cache.load(zid) ?? { verified: false, lastSeen: this.now() };
    rec.verified = verified;
    if (verified && this.pendingRs1) {
      rec.rs2 = rec.rs1;
      rec.rs1 = this.pendingRs1;
      this.pendingRs1 = undefined;
    }
    this.opts.cache.save(zid, rec);
  }

  receive(bytes: Uint8Array, now: number): ZrtpEvent[] {
    const out: ZrtpEvent[] = [];
    let p: Packet;
    try {
      p = parsePacket(bytes);
    } catch (e) {
      if (!(e instanceof ZrtpError)) throw e;
      // Damaged or foreign packets are dropped; a CRC-valid message with a wrong structure gets Error 0x10 (§5.9),
      // except an unknown type, ignored for forward compatibility.
      if (['bad-length', 'bad-value', 'oversized'].includes(e.code) && this.phase !== 'idle') {
        if (this.phase !== 'secure' && this.phase !== 'failed') this.sendError(out, 0x10, now);
        else out.push({ type: 'ignored', reason: `malformed: ${e.message}` });
      } else out.push({ type: 'ignored', reason: `${e.code}: ${e.message}` });
      return out;
    }
    if (this.phase === 'idle') {
      out.push({ type: 'ignored', reason: 'not started' });
      return out;
    }
    if (this.peer && p.ssrc !== this.peer.ssrc) {
      out.push({ type: 'ignored', reason: `wrong SSRC ${p.ssrc}` });
      return out;
    }
    try {
      this.dispatch(p, out, now);
    } catch (e) {
      // A check that a parser below us could not make must never take the call down; report and drop.
      if (e instanceof ZrtpError) out.push({ type: 'ignored', reason: `${e.code}: ${e.message}` });
      else throw e;
    }
    this.armSilentWait(now);
    return out;
  }

  private dispatch(p: Packet, out: ZrtpEvent[], now: number): void {
    const m = p.message;
    // A repeat of the packet we last answered gets the same answer (the peer lost ours).
    if (this.lastReply && constantTimeEqual(this.lastReply.to, p.raw)) {
      this.send(out, this.lastReply.raw, this.lastReply.message);
      return;
    }
    switch (m.type) {
      case 'Hello':
        return this.onHello(p, m, out, now);
      case 'HelloACK':
        return this.onHelloAck(out, now);
      case 'Commit':
        return this.onCommit(p, m, out, now);
      case 'DHPart1':
        return this.onDhPart1(p, m, out, now);
      case 'DHPart2':
        return this.onDhPart2(p, m, out, now);
      case 'Confirm1':
        return this.onConfirm1(m, out, now);
      case 'Confirm2':
        return this.onConfirm2(p, m, out);
      case 'Conf2ACK':
        if (this.phase === 'initiator-confirm2') this.goSecure(out);
        else out.push({ type: 'ignored', reason: `Conf2ACK in ${this.phase}` });
        return;
      case 'Error':
        this.send(out, buildMessage({ type: 'ErrorACK' }), 'ErrorACK');
        // §5.9: Error ends a key agreement in progress; a secure call is not torn down by one (unauthenticated).
        if (this.phase === 'secure')
          return void out.push({ type: 'ignored', reason: `Error 0x${m.code.toString(16)} after secure` });
        if (this.phase !== 'failed') {
          this.fail(out, m.code, ERROR_CODES[m.code] ?? `error 0x${m.code.toString(16)}`, 'peer');
        }
        return;
      case 'ErrorACK':
        if (this.timer?.message === 'Error') this.timer = undefined;
        return;
      case 'GoClear':
        // We never go clear (our Confirm's A flag is 0): refuse, and stay secure.
        this.send(out, buildMessage({ type: 'Error', code: 0x100 }), 'Error');
        return;
      case 'SASrelay':
        // We are not enrolled with any trusted MiTM (§7.3): a relayed SAS is refused and never shown.
        this.send(out, buildMessage({ type: 'Error', code: 0x63 }), 'Error');
        return;
      case 'Ping':
        this.send(
          out,
          buildMessage({
            type: 'PingACK',
            version: ZRTP_VERSION,
            senderHash: sha256(this.zid).slice(0, 8),
            receivedHash: m.endpointHash,
            ssrc: p.ssrc,
          }),
          'PingACK',
        );
        return;
      default:
        out.push({ type: 'ignored', reason: `${m.type} in ${this.phase}` });
    }
  }

  private onHello(p: Packet, m: Hello, out: ZrtpEvent[], now: number): void {
    if (this.peer) {
      if (constantTimeEqual(this.peer.helloRaw, p.raw)) this.send(out, buildMessage({ type: 'HelloACK' }), 'HelloACK');
      else out.push({ type: 'ignored', reason: 'a second, different Hello' });
      return;
    }
    if (this.phase !== 'discovery') return void out.push({ type: 'ignored', reason: `Hello in ${this.phase}` });
    const want = this.opts.peerHelloHash;
    if (want) {
      const [ver, hex] = want.trim().split(/\s+/);
      const got = toHex(sha256(p.raw));
      if (ver !== ZRTP_VERSION || hex?.toLowerCase() !== got) {
        // §8.1: a Hello that is not the one the signalling announced is not the peer's; wait for the real one.
        return void out.push({ type: 'ignored', reason: 'Hello does not match a=zrtp-hash' });
      }
    }
    // §4.1.1: we speak 1.10 (any 1.1x is the same protocol). A lower version is refused; a higher one waits for
    // the peer to fall back to ours.
    if (!m.version.startsWith('1.1')) {
      if (m.version > ZRTP_VERSION) return void out.push({ type: 'ignored', reason: `Hello version ${m.version}` });
      return this.sendError(out, 0x30, now);
    }
    if (constantTimeEqual(m.zid, this.zid)) return this.sendError(out, 0x90, now);
    const pick = choose(this.algorithms, this.peerLists(m));
    if ('missing' in pick) {
      const code = { hash: 0x51, cipher: 0x52, keyAgreement: 0x53, authTag: 0x54, sas: 0x55 }[pick.missing];
      return this.sendError(out, code, now);
    }
    this.peer = { hello: m, helloRaw: p.raw, ssrc: p.ssrc };
    this.record = this.opts.cache.load(m.zid);
    this.send(out, buildMessage({ type: 'HelloACK' }), 'HelloACK');
    if (this.gotHelloAck) this.sendCommit(out, now);
  }

  private peerLists(m: Hello): AlgorithmLists {
    return {
      hash: m.hash as AlgorithmLists['hash'],
      cipher: m.cipher as AlgorithmLists['cipher'],
      authTag: m.authTag as AlgorithmLists['authTag'],
      keyAgreement: m.keyAgreement as AlgorithmLists['keyAgreement'],
      sas: m.sas as AlgorithmLists['sas'],
    };
  }

  private onHelloAck(out: ZrtpEvent[], now: number): void {
    if (this.phase !== 'discovery') return void out.push({ type: 'ignored', reason: `HelloACK in ${this.phase}` });
    this.gotHelloAck = true;
    if (this.timer?.message === 'Hello') this.timer = undefined;
    if (this.peer) this.sendCommit(out, now);
  }

  private keyPair(algo: KeyAgreementAlgo): KeyPair {
    let kp = this.keyPairs.get(algo);
    if (!kp) {
      kp = generateKeyPair(algo, this.random);
      this.keyPairs.set(algo, kp);
    }
    return kp;
  }

  /** rs1ID, rs2ID for our role (random when we hold no such secret, §4.3.1), and random aux/pbx IDs. */
  private secretIds(hashAlgo: HashAlgo, role: 'Initiator' | 'Responder') {
    const id = (s: Uint8Array | undefined) => (s ? secretId(hashAlgo, s, role) : this.random(8));
    return {
      rs1Id: id(this.record?.rs1),
      rs2Id: id(this.record?.rs2),
      auxId: this.random(8),
      pbxId: this.random(8),
    };
  }

  private buildDhPart(type: 'DHPart1' | 'DHPart2', chosen: Chosen): Uint8Array {
    const role = type === 'DHPart2' ? 'Initiator' : 'Responder';
    return buildMessage(
      {
        type,
        h1: this.chain.h1,
        ...this.secretIds(chosen.hash, role),
        pv: this.keyPair(chosen.keyAgreement).publicValue,
        mac: new Uint8Array(8),
      },
      (m) => messageMac(this.chain.h0, m),
    );
  }

  /** §4.1.2/§4.4.1.1: choose, build DHPart2 first (hvi covers it), then the Commit. */
  private sendCommit(out: ZrtpEvent[], now: number): void {
    if (this.phase !== 'discovery' || this.opts.passive || !this.peer) return;
    const pick = choose(this.algorithms, this.peerLists(this.peer.hello));
    if ('missing' in pick) return;
    const chosen = pick.chosen;
    this.chosen = chosen;
    this.ourDhRaw = this.buildDhPart('DHPart2', chosen);
    const commit: Commit = {
      type: 'Commit',
      h2: this.chain.h2,
      zid: this.zid,
      ...chosen,
      hvi: computeHvi(chosen.hash, this.ourDhRaw, this.peer.helloRaw),
      mac: new Uint8Array(8),
    };
    this.ourCommit = commit;
    this.ourCommitRaw = buildMessage(commit, (m) => messageMac(this.chain.h1, m));
    this.phase = 'commit-sent';
    this.sendWithTimer(out, this.ourCommitRaw, 'Commit', T2, now);
  }

  private onCommit(p: Packet, m: Commit, out: ZrtpEvent[], now: number): void {
    const peer = this.peer;
    if (!peer) return void out.push({ type: 'ignored', reason: 'Commit before Hello' });
    if (this.peerCommitRaw) {
      // Our DHPart1 is answered through lastReply; anything else is a replay or a forgery.
      return void out.push({ type: 'ignored', reason: `Commit in ${this.phase}` });
    }
    if (this.phase !== 'discovery' && this.phase !== 'commit-sent') {
      return void out.push({ type: 'ignored', reason: `Commit in ${this.phase}` });
    }
    // §8.1, §10: H2 must hash to the Hello's H3, and H2 keys the Hello's MAC.
    if (!chainsTo(m.h2, peer.hello.h3, 1)) return void out.push({ type: 'ignored', reason: 'Commit: H2 is not H3' });
    if (!checkMessageMac(m.h2, peer.helloRaw)) return void out.push({ type: 'ignored', reason: 'Hello: bad MAC' });
    if (!constantTimeEqual(m.zid, peer.hello.zid))
      return void out.push({ type: 'ignored', reason: 'Commit: other ZID' });
    if (!m.hvi) {
      // Multistream or Preshared: we offer neither. Against our DH Commit it is simply discarded (§4.2).
      if (this.phase === 'commit-sent') return void out.push({ type: 'ignored', reason: 'non-DH Commit' });
      return this.sendError(out, 0x53, now);
    }
    const offered = (list: readonly string[], mandatory: string | string[], v: string) =>
      list.includes(v) || (Array.isArray(mandatory) ? mandatory.includes(v) : mandatory === v);
    const a = this.algorithms;
    if (!offered(a.hash, MANDATORY.hash, m.hash) || !(m.hash in { S256: 1, S384: 1 }))
      return this.sendError(out, 0x51, now);
    if (!offered(a.cipher, MANDATORY.cipher, m.cipher) || !(m.cipher in CIPHERS)) return this.sendError(out, 0x52, now);
    if (!offered(a.authTag, MANDATORY.authTag, m.authTag) || !(m.authTag in AUTH_TAGS)) {
      return this.sendError(out, 0x54, now);
    }
    if (!offered(a.keyAgreement, MANDATORY.keyAgreement, m.keyAgreement) || !(m.keyAgreement in KEY_AGREEMENTS)) {
      return this.sendError(out, 0x53, now);
    }
    if (!offered(a.sas, MANDATORY.sas, m.sas) || !['B32', 'B256'].includes(m.sas))
      return this.sendError(out, 0x55, now);
    if (this.phase === 'commit-sent') {
      // §4.2 contention, both DH: the Commit with the lower hvi is discarded and its sender becomes responder.
      // Different DH key agreements are still "both DH modes": the same rule, so exactly one side yields.
      const mine = this.ourCommit!.hvi!;
      // §4.2: hvi values compared as large integers in network byte order.
      if (compareBytes(mine, m.hvi) >= 0) {
        return void out.push({ type: 'ignored', reason: 'Commit contention: we stay initiator' });
      }
    }
    this.becomeResponder(p, m, out);
  }

  private becomeResponder(p: Packet, m: Commit, out: ZrtpEvent[]): void {
    this.timer = undefined; // our Hello or Commit retransmission ends: the Commit acknowledges our Hello
    this.role = 'responder';
    this.chosen = {
      hash: m.hash as HashAlgo,
      cipher: m.cipher as CipherAlgo,
      authTag: m.authTag as AuthTagAlgo,
      keyAgreement: m.keyAgreement as KeyAgreementAlgo,
      sas: m.sas as SasAlgo,
    };
    this.peerCommit = m;
    this.peerCommitRaw = p.raw;
    this.ourCommit = undefined;
    this.ourCommitRaw = undefined;
    this.ourDhRaw = this.buildDhPart('DHPart1', this.chosen);
    this.phase = 'responder-dh1';
    this.reply(out, p.raw, this.ourDhRaw, 'DHPart1');
  }

  private onDhPart1(p: Packet, m: DHPart, out: ZrtpEvent[], now: number): void {
    const peer = this.peer;
    if (this.phase !== 'commit-sent' || !peer || !this.chosen) {
      return void out.push({ type: 'ignored', reason: `DHPart1 in ${this.phase}` });
    }
    // We are the initiator: DHPart1's H1 hashes twice to the Hello's H3; H2 = hash(H1) keys the Hello's MAC.
    if (!chainsTo(m.h1, peer.hello.h3, 2))
      return void out.push({ type: 'ignored', reason: 'DHPart1: H1 not in chain' });
    if (!checkMessageMac(sha256(m.h1), peer.helloRaw))
      return void out.push({ type: 'ignored', reason: 'Hello: bad MAC' });
    if (m.pv.length !== KEY_AGREEMENTS[this.chosen.keyAgreement].pvLength) return this.sendError(out, 0x61, now);
    const dh = this.keyPair(this.chosen.keyAgreement).agree(m.pv);
    if (!dh) return this.sendError(out, 0x61, now);
    this.role = 'initiator';
    this.peerDh = m;
    this.peerDhRaw = p.raw;
    const total = totalHash(this.chosen.hash, peer.helloRaw, this.ourCommitRaw!, p.raw, this.ourDhRaw!);
    this.finishKeys(
      dh,
      total,
      this.zid,
      peer.hello.zid,
      matchRetainedSecret(this.chosen.hash, this.record, 'Responder', m.rs1Id, m.rs2Id),
    );
    this.phase = 'initiator-dh2';
    this.sendWithTimer(out, this.ourDhRaw!, 'DHPart2', T2, now);
  }

  private onDhPart2(p: Packet, m: DHPart, out: ZrtpEvent[], now: number): void {
    const peer = this.peer;
    const commit = this.peerCommit;
    if (this.phase !== 'responder-dh1' || !peer || !commit || !this.chosen) {
      return void out.push({ type: 'ignored', reason: `DHPart2 in ${this.phase}` });
    }
    if (!chainsTo(m.h1, commit.h2, 1)) return void out.push({ type: 'ignored', reason: 'DHPart2: H1 not in chain' });
    if (!checkMessageMac(m.h1, this.peerCommitRaw!))
      return void out.push({ type: 'ignored', reason: 'Commit: bad MAC' });
    // §4.4.1.1: the Commit's hvi must be the hash of this DHPart2 and our Hello, or a MiTM swapped values.
    if (!constantTimeEqual(computeHvi(this.chosen.hash, p.raw, this.helloRaw), commit.hvi!)) {
      return this.sendError(out, 0x62, now);
    }
    if (m.pv.length !== KEY_AGREEMENTS[this.chosen.keyAgreement].pvLength) return this.sendError(out, 0x61, now);
    const dh = this.keyPair(this.chosen.keyAgreement).agree(m.pv);
    if (!dh) return this.sendError(out, 0x61, now);
    this.peerDh = m;
    this.peerDhRaw = p.raw;
    const total = totalHash(this.chosen.hash, this.helloRaw, this.peerCommitRaw!, this.ourDhRaw!, p.raw);
    this.finishKeys(
      dh,
      total,
      peer.hello.zid,
      this.zid,
      matchRetainedSecret(this.chosen.hash, this.record, 'Initiator', m.rs1Id, m.rs2Id),
    );
    this.phase = 'responder-confirm1';
    this.reply(out, p.raw, this.buildConfirm('Confirm1'), 'Confirm1');
  }

  private finishKeys(
    dh: Uint8Array,
    total: Uint8Array,
    zidi: Uint8Array,
    zidr: Uint8Array,
    match: { result: CacheResult; s1?: Uint8Array },
  ): void {
    const chosen = this.chosen!;
    this.cacheResult = match.result;
    const s0 = computeS0(chosen.hash, dh, zidi, zidr, total, match.s1);
    this.keys = deriveKeys(chosen, s0, zidi, zidr, total);
  }

  private buildConfirm(type: 'Confirm1' | 'Confirm2'): Uint8Array {
    const k = this.keys!;
    const c = this.chosen!;
    const initiator = type === 'Confirm2';
    // §7.1: V is our cache's flag; after a mismatch it does not stand.
    const verified = this.cacheResult === 'match' && (this.record?.verified ?? false);
    const body = buildConfirmBody({
      h0: this.chain.h0,
      enrollment: false,
      verified,
      allowClear: false,
      disclosure: false,
      cacheExpiration: 0xffffffff,
    });
    const iv = this.random(16);
    const encrypted = cfb(c.cipher, initiator ? k.zrtpKeyI : k.zrtpKeyR, iv, body, false);
    const confirmMac = hmac(c.hash, initiator ? k.macKeyI : k.macKeyR, encrypted).slice(0, 8);
    return buildMessage({ type, confirmMac, iv, encrypted });
  }

  /** Checks a Confirm from the peer: MAC, decryption, then H0 against the peer's DHPart (and that DHPart's MAC). */
  private openConfirm(m: Confirm, out: ZrtpEvent[], now: number): boolean {
    const k = this.keys!;
    const c = this.chosen!;
    const fromInitiator = m.type === 'Confirm2';
    const mac = hmac(c.hash, fromInitiator ? k.macKeyI : k.macKeyR, m.encrypted).slice(0, 8);
    if (!constantTimeEqual(mac, m.confirmMac)) {
      this.sendError(out, 0x70, now);
      return false;
    }
    let body;
    try {
      body = parseConfirmBody(cfb(c.cipher, fromInitiator ? k.zrtpKeyI : k.zrtpKeyR, m.iv, m.encrypted, true));
    } catch {
      this.sendError(out, 0x10, now);
      return false;
    }
    if (!chainsTo(body.h0, this.peerDh!.h1, 1) || !checkMessageMac(body.h0, this.peerDhRaw!)) {
      out.push({ type: 'ignored', reason: `${m.type}: H0 does not match the DHPart` });
      return false;
    }
    this.peerVerifiedFlag = body.verified;
    return true;
  }

  private onConfirm1(m: Confirm, out: ZrtpEvent[], now: number): void {
    if (this.phase !== 'initiator-dh2') return void out.push({ type: 'ignored', reason: `Confirm1 in ${this.phase}` });
    if (!this.openConfirm(m, out, now)) return;
    this.phase = 'initiator-confirm2';
    this.sendWithTimer(out, this.buildConfirm('Confirm2'), 'Confirm2', T2, now);
  }

  private onConfirm2(p: Packet, m: Confirm, out: ZrtpEvent[]): void {
    if (this.phase !== 'responder-confirm1')
      return void out.push({ type: 'ignored', reason: `Confirm2 in ${this.phase}` });
    if (!this.openConfirm(m, out, 0)) return;
    this.reply(out, p.raw, buildMessage({ type: 'Conf2ACK' }), 'Conf2ACK');
    this.goSecure(out);
  }

  private goSecure(out: ZrtpEvent[]): void {
    this.timer = undefined;
    this.phase = 'secure';
    const k = this.keys!;
    const c = this.chosen!;
    const peerZid = this.peer!.hello.zid;
    // §4.6.1: rs2 = old rs1, rs1 = new; after a mismatch only once the user confirms the SAS (§4.6.1.1), and the
    // verified flag falls.
    const rec: ZidRecord = this.record ? { ...this.record } : { verified: false, lastSeen: 0 };
    rec.lastSeen = this.now();
    if (this.opts.peerIdentity) rec.peerIdentity = this.opts.peerIdentity;
    if (this.cacheResult === 'mismatch') {
      rec.verified = false;
      this.pendingRs1 = k.newRs1;
    } else {
      rec.rs2 = rec.rs1;
      rec.rs1 = k.newRs1;
      if (this.cacheResult === 'new') rec.verified = false;
    }
    this.opts.cache.save(peerZid, rec);
    this.record = rec;
    const initiator = this.role === 'initiator';
    const ours = { masterKey: initiator ? k.srtpKeyI : k.srtpKeyR, masterSalt: initiator ? k.srtpSaltI : k.srtpSaltR };
    const theirs = {
      masterKey: initiator ? k.srtpKeyR : k.srtpKeyI,
      masterSalt: initiator ? k.srtpSaltR : k.srtpSaltI,
    };
    const sas = renderSas(k.sashash, c.sas);
    const tag = AUTH_TAGS[c.authTag].bits;
    this.secureInfo = {
      sas: sas.sas,
      sasRender: { b32: sas.b32, b256: sas.b256 },
      sasType: c.sas,
      hash: c.hash,
      cipher: c.cipher,
      authTag: c.authTag,
      keyAgreement: c.keyAgreement,
      srtpProfile: c.cipher === 'AES1' ? `AES_CM_128_HMAC_SHA1_${tag}` : `AES_256_CM_HMAC_SHA1_${tag}`,
      srtp: { local: ours, remote: theirs },
      cache: this.cacheResult,
      peerZid: toHex(peerZid),
      verified: this.cacheResult === 'match' && rec.verified && this.peerVerifiedFlag,
      role: this.role!,
      peerClientId: this.peer!.hello.clientId.replace(/[\s\0]+$/, ''),
    };
    out.push({ type: 'secure', info: { ...this.secureInfo } });
  }

  private now(): number {
    return (this.opts.wallClock ?? Date.now)();
  }

  private sendError(out: ZrtpEvent[], code: number, now: number): void {
    if (this.phase === 'failed' || this.phase === 'secure') return;
    const raw = buildMessage({ type: 'Error', code });
    this.fail(out, code, ERROR_CODES[code] ?? 'error', 'us');
    this.sendWithTimer(out, raw, 'Error', T2, now);
  }

  private fail(out: ZrtpEvent[], code: number, reason: string, by: 'us' | 'peer' | 'timeout'): void {
    this.phase = 'failed';
    this.timer = undefined;
    out.push({ type: 'failed', code, reason, by });
  }

  /**
   * Every packet we send, first or repeated, gets the next sequence number (§5: "incremented for each ZRTP packet
   * sent"). bzrtp drops any packet whose number is not above the last one it accepted: a Hello resent with its
   * first number after our HelloACK went out would never reach it.
   */
  private send(out: ZrtpEvent[], raw: Uint8Array, message: MessageType): void {
    this.seq = (this.seq + 1) & 0xffff;
    out.push({ type: 'send', packet: framePacket(raw, this.seq, this.opts.ssrc), message });
  }

  /** Sends an answer and remembers it, so a retransmission of `to` gets it again without recomputation. */
  private reply(out: ZrtpEvent[], to: Uint8Array, raw: Uint8Array, message: MessageType): void {
    this.send(out, raw, message);
    this.lastReply = { to, raw, message };
  }

  private sendWithTimer(out: ZrtpEvent[], raw: Uint8Array, message: MessageType, spec: typeof T1, now: number) {
    this.send(out, raw, message);
    this.timer = { due: now + spec.first, interval: spec.first, count: 0, retries: spec.retries, spec, raw, message };
  }
}

export type { Message };
