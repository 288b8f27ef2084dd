/**
 * One OTR conversation with one correspondent (spec "The protocol state machine"): message state, the AKE, data
 * messages, fragments, policies and SMP wiring. Pure: inputs are the calls made on it, outputs are events; no
 * sockets, files or timers (time is read from an injectable clock only to decide on heartbeats).
 */
import { Ake, type AkeResult } from './ake.js';
import { DataKeys } from './data.js';
import { OtrProtocolError } from './errors.js';
import { Reassembler, fragmentMessage, isFragment, parseFragment } from './fragment.js';
import { acceptsInstanceTags, isValidInstanceTag, randomInstanceTag } from './instance-tag.js';
import {
  FLAG_IGNORE_UNREADABLE,
  MSG_DATA,
  MSG_DH_COMMIT,
  decodeMessage,
  readHeader,
  type DataMsg,
  type Header,
  type OtrBinaryMessage,
  type OtrVersion,
} from './messages.js';
import { DEFAULT_POLICY, otrEnabled, type OtrPolicy } from './policy.js';
import {
  buildErrorMessage,
  buildQuery,
  buildWhitespaceTag,
  findWhitespaceTag,
  parseErrorMessage,
  parseQuery,
} from './query.js';
import { Smp, smpSecret, type SmpEvent } from './smp.js';
import { TLV_DISCONNECTED, TLV_EXTRA_KEY, decodePlaintext, encodePlaintext, type Tlv } from './tlv.js';
import { Reader, frameEncoded, unframeEncoded } from './wire.js';
import {
  fingerprint,
  fingerprintHex,
  publicKeyOf,
  serializePublicKey,
  type DsaKeyParams,
  type DsaPublicKey,
} from '../keys/dsa-key.js';
import { randomBytes, type RandomSource } from './crypto/group.js';

export type { OtrPolicy } from './policy.js';
export { DEFAULT_POLICY } from './policy.js';

export interface OtrSessionOptions {
  /** Our long-term key. */
  key: DsaKeyParams;
  policy?: OtrPolicy;
  /** Our v3 instance tag (random >= 0x100 if absent). */
  instanceTag?: number;
  /** 0/undefined: never fragment outgoing messages. */
  maxFragmentSize?: number;
  /** Human text after the query tag. */
  queryText?: string;
  /** Never receives secrets. */
  log?: (msg: string) => void;
  /** Milliseconds clock, only used to decide whether a received Data Message calls for a heartbeat. */
  now?: () => number;
  /** Minimum quiet time before we answer a Data Message with a heartbeat (default 60 s, as libotr). */
  heartbeatIntervalMs?: number;
  /**
   * Where every random byte of the session comes from: the AKE's r, x, y and signature nonce input, new D-H keys,
   * SMP exponents, and the instance tag when none is given. Default: node:crypto's CSPRNG. Only tests pass
   * another (a fixed source makes an AKE transcript a byte-exact fixture).
   */
  random?: (n: number) => Uint8Array;
  /**
   * Called with every extra symmetric key the peer announces (TLV 8, v3), as it is decrypted: several may arrive
   * close together (one per file transfer), where `receivedExtraSymmetricKey` keeps only the last.
   */
  onExtraSymmetricKey?: (k: ExtraSymmetricKey) => void;
}

export type MessageState = 'plaintext' | 'encrypted' | 'finished';

export type OtrEvent =
  | { type: 'send'; wire: string[] }
  | { type: 'message'; text: string; encrypted: boolean; tlvs: Tlv[] }
  | { type: 'state'; state: MessageState; version: 2 | 3 | null; theirFingerprint: string | null }
  | { type: 'smp'; event: SmpEvent }
  | {
      type: 'error';
      message: string;
      fromPeer: boolean;
      /** A Data Message we could not decrypt. */
      unreadable?: true;
      /** Plaintext arrived while we are encrypted (or require encryption). */
      unencrypted?: true;
    }
  | { type: 'held'; count: number }
  | { type: 'peer-supports-otr'; versions: number[] };

/** A v3 extra symmetric key announced by the peer (TLV 8), with the use it declared. */
export interface ExtraSymmetricKey {
  key: Uint8Array;
  use: number;
  useData: Uint8Array;
}

export const DEFAULT_QUERY_TEXT =
  'I would like to start an Off-the-Record private conversation, but you do not seem to support that.';
/**
 * An AKE that has made no progress for this long is taken as lost (a message dropped on the way, a peer that went
 * away): a Query or /otr init may then start a new one. Before that, restarting would discard an exchange the peer
 * may be finishing (see startAkeFor).
 */
export const AKE_STALE_MS = 10_000;
/**
 * How long we wait for the Reveal Signature of a peer that answered the commit we yielded before concluding it
 * abandoned its own (python-potr) and revealing for ours. libotr's follows at once, in the same burst.
 */
export const AKE_SWITCH_GRACE_MS = 250;
const UNREADABLE_TEXT = 'The encrypted message you sent could not be read.';
const NOT_EXPECTED_TEXT = 'Encrypted message received, but no private conversation is in progress.';

interface HeldMessage {
  text: string;
  tlvs: Tlv[];
}

export class OtrSession {
  readonly instanceTag: number;
  private readonly policy: OtrPolicy;
  private readonly key: DsaKeyParams;
  private readonly maxFragmentSize: number;
  private readonly queryText: string;
  private readonly log: (msg: string) => void;
  private readonly onExtraKey: ((k: ExtraSymmetricKey) => void) | undefined;
  private readonly now: () => number;
  private readonly random: RandomSource;
  private readonly heartbeatMs: number;
  private readonly ourFp: Uint8Array;
  private readonly ourFpHex: string;

  private msgState: MessageState = 'plaintext';
  private readonly ake: Ake;
  /** The instance tag of the peer we are running the AKE with (v3). */
  private akeTheirTag = 0;
  private data: DataKeys | null = null;
  /**
   * The keys of the previous exchange, after a refresh (a new AKE while encrypted): the peer's Data Messages
   * that were already on their way under them stay readable. Dropped once the peer uses the new keys.
   */
  private prevData: { keys: DataKeys; version: OtrVersion; theirTag: number } | null = null;
  private _version: OtrVersion | null = null;
  private theirTag = 0;
  private theirKey: DsaPublicKey | null = null;
  private theirFp: Uint8Array | null = null;
  private _ssid: Uint8Array | null = null;
  private weRevealed = false;
  private smp: Smp | null = null;
  private readonly reassembler = new Reassembler();
  private held: HeldMessage[] = [];
  /**
   * Our OTR offer (libotr's otr_offer): the whitespace tag goes on the first plaintext message only, and not at all
   * once a Query went out or the peer answered either way. A tag on every message made the peer restart its AKE
   * with each one.
   */
  private offer: 'not' | 'sent' | 'rejected' | 'accepted' = 'not';
  private lastSentAt = Number.NEGATIVE_INFINITY;
  /** When the AKE last moved (a message of it sent or accepted). */
  private akeActivityAt = 0;
  private _receivedExtraKey: ExtraSymmetricKey | null = null;

  constructor(opts: OtrSessionOptions) {
    this.key = opts.key;
    this.policy = { ...(opts.policy ?? DEFAULT_POLICY) };
    if (opts.instanceTag !== undefined && !isValidInstanceTag(opts.instanceTag)) {
      throw new RangeError(`instance tag must be in 0x100..0xffffffff, got ${opts.instanceTag}`);
    }
    this.random = opts.random ?? randomBytes;
    this.instanceTag = opts.instanceTag ?? randomInstanceTag(this.random);
    const mfs = opts.maxFragmentSize ?? 0;
    if (mfs !== 0 && (!Number.isInteger(mfs) || mfs < 40))
      throw new RangeError('maxFragmentSize must be 0 or an integer >= 40');
    this.maxFragmentSize = mfs;
    this.queryText = opts.queryText ?? DEFAULT_QUERY_TEXT;
    this.log = opts.log ?? (() => {});
    this.onExtraKey = opts.onExtraSymmetricKey;
    this.now = opts.now ?? Date.now;
    this.heartbeatMs = opts.heartbeatIntervalMs ?? 60_000;
    this.ourFp = fingerprint(publicKeyOf(this.key));
    this.ourFpHex = fingerprintHex(this.ourFp);
    this.ake = new Ake(
      this.key,
      (version) => this.header(version, this.akeTheirTag),
      () => this.now(),
      this.random,
    );
  }

  // --- accessors ---------------------------------------------------------------------------------------

  get state(): MessageState {
    return this.msgState;
  }
  get version(): 2 | 3 | null {
    return this.msgState === 'encrypted' ? this._version : null;
  }
  get ourFingerprint(): string {
    return this.ourFpHex;
  }
  get theirFingerprint(): string | null {
    return this.theirFp ? fingerprintHex(this.theirFp) : null;
  }
  get ssid(): Uint8Array | null {
    return this.msgState === 'encrypted' && this._ssid ? this._ssid.slice() : null;
  }
  /** The ssid as the spec displays it: two %08x halves; `bold` is the half this side reads aloud. */
  get ssidDisplay(): { first: string; second: string; bold: 'first' | 'second' } | null {
    const s = this.ssid;
    if (!s) return null;
    const hex = Buffer.from(s).toString('hex');
    return { first: hex.slice(0, 8), second: hex.slice(8, 16), bold: this.weRevealed ? 'first' : 'second' };
  }
  /** The peer's instance tag once known (0 for v2 or before any v3 message). */
  get theirInstanceTag(): number {
    return this.theirTag;
  }
  /** The authentication state (for diagnostics and tests). */
  get authState(): string {
    return this.ake.state;
  }
  /** The last extra symmetric key the peer announced with TLV 8 (v3 only), or null. */
  get receivedExtraSymmetricKey(): ExtraSymmetricKey | null {
    return this._receivedExtraKey;
  }
  get smpInProgress(): boolean {
    return this.smp?.inProgress ?? false;
  }
  /** An AKE is under way (we sent a D-H Commit, D-H Key or Reveal Signature and wait for the answer). */
  get akeInProgress(): boolean {
    return this.ake.inProgress;
  }

  queryMessage(): string {
    return buildQuery(this.policy.allowV2, this.policy.allowV3, this.queryText);
  }

  // --- user actions -------------------------------------------------------------------------------------

  start(): OtrEvent[] {
    if (!otrEnabled(this.policy)) return [{ type: 'error', message: 'OTR is disabled by policy', fromPeer: false }];
    return [this.sendQuery()];
  }

  private sendQuery(): OtrEvent {
    if (this.offer === 'not') this.offer = 'sent';
    return this.sendEvent([this.queryMessage()]);
  }

  send(text: string, tlvs: Tlv[] = []): OtrEvent[] {
    try {
      return this.sendInner(text, tlvs);
    } catch (e) {
      return [{ type: 'error', message: `message not sent: ${errText(e)}`, fromPeer: false }];
    }
  }

  private sendInner(text: string, tlvs: Tlv[]): OtrEvent[] {
    if (!otrEnabled(this.policy)) return [this.sendEvent([text])];
    switch (this.msgState) {
      case 'plaintext': {
        if (this.policy.requireEncryption) {
          encodePlaintext(text, tlvs); // refuse now what could never be sent later
          this.held.push({ text, tlvs });
          const ev: OtrEvent[] = [{ type: 'held', count: this.held.length }];
          // The first held message asks the peer for the AKE; later ones wait for the same one.
          if (this.held.length === 1) ev.push(this.sendQuery());
          return ev;
        }
        let out = text;
        if (this.policy.sendWhitespaceTag && this.offer === 'not') {
          out = text + buildWhitespaceTag(this.policy.allowV2, this.policy.allowV3);
          this.offer = 'sent';
        }
        return [this.sendEvent([out])];
      }
      case 'encrypted':
        return [this.sendEvent(this.encryptData(text, tlvs, 0))];
      case 'finished':
        encodePlaintext(text, tlvs);
        this.held.push({ text, tlvs });
        return [
          {
            type: 'error',
            message: 'message not sent: the correspondent has ended the private conversation; end or restart it',
            fromPeer: false,
          },
          { type: 'held', count: this.held.length },
        ];
    }
  }

  end(): OtrEvent[] {
    const ev: OtrEvent[] = [];
    this.held = [];
    this.ake.reset();
    this.dropPrevious();
    if (this.msgState === 'encrypted') {
      try {
        ev.push(this.sendEvent(this.encryptData('', [{ type: TLV_DISCONNECTED, value: new Uint8Array(0) }], 0)));
      } catch (e) {
        ev.push({ type: 'error', message: `could not send the disconnect notice: ${errText(e)}`, fromPeer: false });
      }
    }
    if (this.msgState !== 'plaintext') {
      ev.push(...this.goPlaintext('plaintext'));
      ev.push(this.stateEvent());
    }
    return ev;
  }

  /**
   * Re-run the AKE: straight to a D-H Commit when we know the version, else by a Query Message. While an AKE is
   * already under way this does nothing: restarting it would throw away the half the peer may already have
   * completed, and the two sides would end up on different keys.
   */
  refresh(): OtrEvent[] {
    if (this.akeBusy()) return [];
    if (this.msgState === 'encrypted' && this._version) {
      this.akeTheirTag = this.theirTag;
      return [this.akeSend(this.ake.initiate(this._version), this._version, this.theirTag)];
    }
    return this.start();
  }

  smpStart(secret: string, question?: string): OtrEvent[] {
    return this.withSmp((smp) => {
      const x = smpSecret(this.ourFp, this.theirFp!, this._ssid!, utf8(secret));
      // restart() prepends the abort TLV the spec asks for when a run is already in progress.
      return smp.restart(x, question);
    });
  }

  smpRespond(secret: string): OtrEvent[] {
    return this.withSmp((smp) => {
      const y = smpSecret(this.theirFp!, this.ourFp, this._ssid!, utf8(secret));
      return smp.respond(y);
    });
  }

  smpAbort(): OtrEvent[] {
    return this.withSmp((smp) => smp.abort());
  }

  /**
   * Announce use of the v3 extra symmetric key (TLV 8) and return the key. The key never travels; the peer derives
   * the same one from the keys of the Data Message that carries the TLV.
   */
  useExtraSymmetricKey(
    use: number,
    useData: Uint8Array = new Uint8Array(0),
  ): { key: Uint8Array | null; events: OtrEvent[] } {
    if (this.msgState !== 'encrypted' || this._version !== 3 || !this.data) {
      return {
        key: null,
        events: [
          { type: 'error', message: 'the extra symmetric key needs an encrypted OTR v3 session', fromPeer: false },
        ],
      };
    }
    const value = new Uint8Array(4 + useData.length);
    new DataView(value.buffer).setUint32(0, use >>> 0);
    value.set(useData, 4);
    const key = this.data.sendingExtraKey().slice();
    const events = [this.sendEvent(this.encryptData('', [{ type: TLV_EXTRA_KEY, value }], 0))];
    return { key, events };
  }

  private withSmp(fn: (smp: Smp) => Tlv | Tlv[]): OtrEvent[] {
    if (this.msgState !== 'encrypted' || !this.smp || !this.theirFp || !this._ssid) {
      return [{ type: 'error', message: 'SMP needs an encrypted session', fromPeer: false }];
    }
    try {
      const tlv = fn(this.smp);
      return [this.sendEvent(this.encryptData('', Array.isArray(tlv) ? tlv : [tlv], 0))];
    } catch (e) {
      return [{ type: 'error', message: `SMP: ${errText(e)}`, fromPeer: false }];
    }
  }

  /**
   * Milliseconds until tick() has work to do, or null. The engine has no timers: its owner calls tick() then.
   */
  get tickDueIn(): number | null {
    const at = this.ake.yieldedAnsweredAt;
    return at === null ? null : Math.max(0, at + AKE_SWITCH_GRACE_MS - this.now());
  }

  /** Time-driven steps (see tickDueIn): today, switching a crossed AKE with a peer lacking the collision rule. */
  tick(): OtrEvent[] {
    const at = this.ake.yieldedAnsweredAt;
    if (at === null || this.now() - at < AKE_SWITCH_GRACE_MS) return [];
    const reveal = this.ake.switchToYielded();
    if (!reveal) return [];
    this.log('crossed AKE: the peer answered our commit and abandoned its own; revealing for ours');
    return [this.akeSend(reveal.msg, reveal.version, this.akeTheirTag)];
  }

  // --- receiving ----------------------------------------------------------------------------------------

  receive(wire: string): OtrEvent[] {
    try {
      return this.receiveInner(wire);
    } catch (e) {
      // Anything that escapes the handlers below is a bug or hostile input we did not classify: never throw.
      this.log(`receive: ${errText(e)}`);
      return [{ type: 'error', message: `malformed OTR message ignored: ${errText(e)}`, fromPeer: false }];
    }
  }

  private receiveInner(wire: string): OtrEvent[] {
    if (!otrEnabled(this.policy)) return [{ type: 'message', text: wire, encrypted: false, tlvs: [] }];
    if (isFragment(wire)) {
      let f;
      try {
        f = parseFragment(wire);
      } catch (e) {
        this.log(`fragment discarded: ${errText(e)}`);
        return [];
      }
      if (f) {
        if (f.version === 3) {
          if (!this.policy.allowV3) return [];
          if (!acceptsInstanceTags(this.instanceTag, f.senderTag, f.receiverTag, true)) {
            this.log('fragment for another instance discarded');
            return [];
          }
        }
        const whole = this.reassembler.add(f);
        if (whole === null) return [];
        // A fragment cannot carry fragments.
        if (isFragment(whole)) return [];
        return this.receiveMessage(whole);
      }
    }
    this.reassembler.reset();
    return this.receiveMessage(wire);
  }

  private receiveMessage(msg: string): OtrEvent[] {
    if (msg.includes('?OTR:')) return this.receiveEncoded(msg);
    const errorText = parseErrorMessage(msg);
    if (errorText !== null) {
      const ev: OtrEvent[] = [{ type: 'error', message: errorText, fromPeer: true }];
      // Ask for a new exchange, unless one is already under way (a Query would make the peer restart it).
      if (this.policy.errorStartAke && !this.akeBusy()) ev.push(this.sendQuery());
      return ev;
    }
    const versions = parseQuery(msg);
    if (versions !== null) {
      this.offer = 'accepted';
      const ev: OtrEvent[] = [{ type: 'peer-supports-otr', versions }];
      return ev.concat(this.startAkeFor(versions, 'query'));
    }
    return this.receivePlaintext(msg);
  }

  private receivePlaintext(msg: string): OtrEvent[] {
    const ev: OtrEvent[] = [];
    const tag = findWhitespaceTag(msg);
    const text = tag ? tag.stripped : msg;
    // The peer answered our tag with plain text: it does not speak OTR (or does not want to); do not ask again.
    if (this.offer === 'sent' && !tag) this.offer = 'rejected';
    else if (tag) this.offer = 'accepted';
    if (text.length > 0) ev.push({ type: 'message', text, encrypted: false, tlvs: [] });
    if (text.length > 0 && (this.msgState !== 'plaintext' || this.policy.requireEncryption)) {
      ev.push({
        type: 'error',
        message: 'the last message was received unencrypted',
        fromPeer: false,
        unencrypted: true,
      });
    }
    if (tag) {
      ev.push({ type: 'peer-supports-otr', versions: tag.versions });
      if (this.policy.whitespaceStartAke) ev.push(...this.startAkeFor(tag.versions, 'tag'));
    }
    return ev;
  }

  /**
   * Start the AKE with the best version both sides allow, in answer to a Query Message or a whitespace tag.
   * Never while one is under way: restarting it discards the exchange the peer may already have finished (it then
   * encrypts to keys we no longer hold, and its first messages are unreadable). A Query answered while we wait for
   * a D-H Key gets our pending commit again, unchanged. A tag never restarts an encrypted conversation (libotr:
   * only a Query does).
   */
  private startAkeFor(versions: number[], why: 'query' | 'tag'): OtrEvent[] {
    let v: OtrVersion | null = null;
    if (versions.includes(3) && this.policy.allowV3) v = 3;
    else if (versions.includes(2) && this.policy.allowV2) v = 2;
    if (v === null) return [];
    if (this.akeBusy()) {
      const pending = this.ake.pendingCommit;
      const pv = this.ake.akeVersion;
      if (why === 'query' && pending && pv !== null) return [this.akeSend(pending, pv, this.akeTheirTag)];
      return [];
    }
    if (why === 'tag' && this.msgState === 'encrypted') return [];
    this.akeTheirTag = 0;
    return [this.akeSend(this.ake.initiate(v), v, 0)];
  }

  /** An AKE is under way and not stale. */
  private akeBusy(): boolean {
    return this.ake.inProgress && this.now() - this.akeActivityAt < AKE_STALE_MS;
  }

  /** Frames an AKE message; sending it counts as activity for the heartbeat, as in libotr. */
  private akeSend(bin: Uint8Array, version: OtrVersion, receiverTag: number): OtrEvent {
    this.lastSentAt = this.akeActivityAt = this.now();
    return this.sendEvent(this.frame(bin, version, receiverTag));
  }

  private receiveEncoded(msg: string): OtrEvent[] {
    let bin: Uint8Array;
    try {
      bin = unframeEncoded(msg);
    } catch (e) {
      return [{ type: 'error', message: `malformed OTR message ignored: ${errText(e)}`, fromPeer: false }];
    }
    // Check version and instance tags before anything costly.
    let header: Header;
    try {
      header = readHeader(new Reader(bin));
    } catch (e) {
      this.log(`encoded message ignored: ${errText(e)}`);
      return [];
    }
    if ((header.version === 2 && !this.policy.allowV2) || (header.version === 3 && !this.policy.allowV3)) return [];
    if (
      header.version === 3 &&
      !acceptsInstanceTags(this.instanceTag, header.senderTag, header.receiverTag, header.type === MSG_DH_COMMIT)
    ) {
      this.log('message for another instance ignored');
      return [];
    }
    let m: OtrBinaryMessage;
    try {
      m = decodeMessage(bin);
    } catch (e) {
      if (header.type === MSG_DATA)
        return this.unreadable(
          bin.length > (header.version === 3 ? 11 : 3) ? bin[header.version === 3 ? 11 : 3]! : 0,
          e,
        );
      return [{ type: 'error', message: `malformed OTR message ignored: ${errText(e)}`, fromPeer: false }];
    }
    try {
      switch (m.kind) {
        case 'dh-commit': {
          const prevTag = this.akeTheirTag;
          this.akeTheirTag = m.header.senderTag;
          const reply = this.ake.onDhCommit(m);
          if (!reply) {
            this.akeTheirTag = prevTag;
            return [];
          }
          this.offer = 'accepted';
          return [this.akeSend(reply, m.header.version, m.header.senderTag)];
        }
        case 'dh-key': {
          // Before our first D-H Key arrives any instance may answer our commit; after that, only the same one.
          if (this.ake.state === 'awaiting-dhkey') this.akeTheirTag = m.header.senderTag;
          else if (m.header.version === 3 && m.header.senderTag !== this.akeTheirTag) return [];
          const reply = this.ake.onDhKey(m);
          return reply ? [this.akeSend(reply, m.header.version, m.header.senderTag)] : [];
        }
        case 'reveal-sig': {
          if (m.header.version === 3 && this.akeTheirTag !== 0 && m.header.senderTag !== this.akeTheirTag) return [];
          this.akeTheirTag = m.header.senderTag;
          const r = this.ake.onRevealSig(m);
          if (!r) return [];
          const ev: OtrEvent[] = [this.akeSend(r.reply, m.header.version, m.header.senderTag)];
          return ev.concat(this.goEncrypted(r.result));
        }
        case 'sig': {
          if (m.header.version === 3 && m.header.senderTag !== this.akeTheirTag) return [];
          const r = this.ake.onSig(m);
          return r ? this.goEncrypted(r) : [];
        }
        case 'data':
          return this.receiveData(m);
      }
    } catch (e) {
      if (e instanceof OtrProtocolError) {
        // Failed AKE checks: the spec says to ignore the message; tell the user something odd arrived.
        this.log(`AKE message rejected: ${e.message}`);
        return [{ type: 'error', message: `OTR key exchange message rejected: ${e.message}`, fromPeer: false }];
      }
      throw e;
    }
  }

  private goEncrypted(r: AkeResult): OtrEvent[] {
    this.dropPrevious();
    if (this.data && this.msgState === 'encrypted' && this._version) {
      this.prevData = { keys: this.data, version: this._version, theirTag: this.theirTag };
    } else {
      this.data?.wipe();
    }
    this.offer = 'accepted';
    this.data = new DataKeys(r.ourDh, r.ourKeyid, r.theirPub, r.theirKeyid, this.random);
    this._version = r.version;
    this.theirTag = r.version === 3 ? this.akeTheirTag : 0;
    this.theirKey = r.theirLongTermKey;
    this.theirFp = fingerprint(r.theirLongTermKey);
    this._ssid = r.ssid;
    this.weRevealed = r.weRevealed;
    this.msgState = 'encrypted';
    const ev: OtrEvent[] = [];
    // A new key exchange changes the ssid the SMP secret is bound to: an SMP run in progress cannot finish.
    if (this.smp?.inProgress) ev.push({ type: 'smp', event: { type: 'aborted' } });
    this.smp = new Smp(this.random);
    // The exchange we just finished is recent activity: no heartbeat is due for the first message (libotr).
    this.lastSentAt = this.now();
    this.log(`private conversation started (v${r.version})`);
    ev.push(this.stateEvent());
    // Messages held back (require-encryption, or typed after the peer finished) go out now, encrypted.
    const held = this.held;
    this.held = [];
    for (const h of held) ev.push(this.sendEvent(this.encryptData(h.text, h.tlvs, 0)));
    return ev;
  }

  private receiveData(m: DataMsg): OtrEvent[] {
    if (this.msgState !== 'encrypted' || !this.data) {
      return this.unreadable(m.flags, new OtrProtocolError('state', NOT_EXPECTED_TEXT), NOT_EXPECTED_TEXT);
    }
    let dec;
    try {
      if (m.header.version !== this._version)
        throw new OtrProtocolError('bad-version', 'data message version differs from the session');
      if (m.header.version === 3 && m.header.senderTag !== this.theirTag) {
        throw new OtrProtocolError('bad-instance', 'data message from an instance we have no keys for');
      }
      dec = this.data.decrypt(m);
      // The peer uses the new keys: nothing more will come under the old ones.
      this.dropPrevious();
    } catch (e) {
      const prev = this.prevData;
      const fromPrev =
        prev && m.header.version === prev.version && (m.header.version !== 3 || m.header.senderTag === prev.theirTag);
      if (!fromPrev) return this.unreadable(m.flags, e);
      try {
        // Sent before the peer saw the refresh: readable with the keys it was sent under. No reply is sent under
        // those keys (our answers use the new ones).
        const old = prev.keys.decrypt(m);
        const { text } = decodePlaintext(old.plaintext);
        return text.length > 0 ? [{ type: 'message', text, encrypted: true, tlvs: [] }] : [];
      } catch {
        return this.unreadable(m.flags, e);
      }
    }
    const { text, tlvs, tlvError } = decodePlaintext(dec.plaintext);
    const ev: OtrEvent[] = [];
    if (tlvError) this.log(`data message TLVs: ${tlvError.message}`);
    if (text.length > 0 || tlvs.length > 0) ev.push({ type: 'message', text, encrypted: true, tlvs });
    let sentReply = false;
    let disconnected = false;
    for (const t of tlvs) {
      if (t.type === TLV_DISCONNECTED) disconnected = true;
      else if (t.type >= 2 && t.type <= 7) {
        if (disconnected || !this.smp) continue;
        const r = this.smp.receive(t);
        if (r.reply) {
          ev.push(this.sendEvent(this.encryptData('', [r.reply], 0)));
          sentReply = true;
        }
        if (r.event) ev.push({ type: 'smp', event: r.event });
      } else if (t.type === TLV_EXTRA_KEY && this._version === 3 && t.value.length >= 4) {
        const use = new DataView(t.value.buffer, t.value.byteOffset, 4).getUint32(0);
        this._receivedExtraKey = { key: dec.extraKey.slice(), use, useData: t.value.slice(4) };
        this.onExtraKey?.({ key: dec.extraKey.slice(), use, useData: t.value.slice(4) });
      }
    }
    if (disconnected) {
      ev.push(...this.goPlaintext('finished'));
      ev.push(this.stateEvent());
      return ev;
    }
    if (!sentReply && this.now() - this.lastSentAt >= this.heartbeatMs) {
      // Nothing sent for a while: a heartbeat lets the peer see our next key, so keys keep rotating.
      ev.push(this.sendEvent(this.encryptData('', [], FLAG_IGNORE_UNREADABLE)));
      this.log('heartbeat sent');
    }
    return ev;
  }

  /** Unreadable Data Message: ignore if the sender asked for that, else tell the user and the peer. */
  private unreadable(flags: number, e: unknown, peerText = UNREADABLE_TEXT): OtrEvent[] {
    this.log(`unreadable data message: ${errText(e)}`);
    if (flags & FLAG_IGNORE_UNREADABLE) return [];
    return [
      {
        type: 'error',
        message: `unreadable encrypted message received (${errText(e)})`,
        fromPeer: false,
        unreadable: true,
      },
      this.sendEvent([buildErrorMessage(peerText)]),
    ];
  }

  // --- helpers ----------------------------------------------------------------------------------------

  /** Leave MSGSTATE_ENCRYPTED; returns the SMP 'aborted' event if a run was in progress. */
  private goPlaintext(state: 'plaintext' | 'finished'): OtrEvent[] {
    const ev: OtrEvent[] = this.smp?.inProgress ? [{ type: 'smp', event: { type: 'aborted' } }] : [];
    this.data?.wipe();
    this.data = null;
    this.dropPrevious();
    this.smp = null;
    this.msgState = state;
    if (state === 'plaintext') this.offer = 'not';
    return ev;
  }

  private dropPrevious(): void {
    this.prevData?.keys.wipe();
    this.prevData = null;
  }

  private stateEvent(): OtrEvent {
    return {
      type: 'state',
      state: this.msgState,
      version: this.version,
      theirFingerprint: this.msgState === 'plaintext' ? null : this.theirFingerprint,
    };
  }

  private header(version: OtrVersion, receiverTag: number): Header {
    return version === 3
      ? { version, type: 0, senderTag: this.instanceTag, receiverTag }
      : { version, type: 0, senderTag: 0, receiverTag: 0 };
  }

  private frame(bin: Uint8Array, version: OtrVersion, receiverTag: number): string[] {
    return fragmentMessage(frameEncoded(bin), this.maxFragmentSize, version, this.instanceTag, receiverTag);
  }

  private encryptData(text: string, tlvs: Tlv[], flags: number): string[] {
    const version = this._version!;
    const bin = this.data!.encrypt(this.header(version, this.theirTag), flags, encodePlaintext(text, tlvs));
    this.lastSentAt = this.now();
    return this.frame(bin, version, this.theirTag);
  }

  private sendEvent(wire: string[]): OtrEvent {
    return { type: 'send', wire };
  }

  /** The peer's long-term public key once authenticated (for callers that store keys, not just fingerprints). */
  get theirPublicKey(): Uint8Array | null {
    return this.theirKey ? serializePublicKey(this.theirKey) : null;
  }
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
