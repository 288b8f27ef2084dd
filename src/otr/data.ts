/**
 * Data Messages and their key management (spec "Exchanging data", "Key Management", "Revealing MAC keys").
 * Keeps our two newest D-H key pairs and the peer's two newest public keys, derives and caches the session keys
 * of each pairing, enforces per-pairing counters that only go forward, and collects MAC keys to reveal.
 */
import { bytesToBigint, concatBytes, encodeMpi } from '../bytes/bytes.js';
import { constantTimeEqual, isValidGroupElement, randomBytes, type RandomSource } from './crypto/group.js';
import { OtrProtocolError } from './errors.js';
import { aes128CtrKeyed, hmacSha1Keyed, type CtrCipher, type Mac } from './crypto/primitives.js';
import { deriveSessionKeys, newDhKeyPair, type DhKeyPair, type SessionKeys } from './keys.js';
import { layoutDataMessage, type DataMsg, type Header } from './messages.js';

interface Pairing {
  keys: SessionKeys;
  /** Keyed primitives, made on first use in each direction (most pairings only ever send or only receive). */
  send: { cipher: CtrCipher; mac: Mac } | null;
  recv: { cipher: CtrCipher; mac: Mac } | null;
  /** Top half of the last counter we sent with this pairing. */
  sendCtr: bigint;
  /** Top half of the last counter we accepted with this pairing. */
  recvCtr: bigint;
  /** Whether the receiving MAC key verified a message (only those get revealed). */
  recvMacUsed: boolean;
}

const MAX_CTR = (1n << 64n) - 1n;
const NO_REVEAL = new Uint8Array(0);

export interface DecryptedData {
  plaintext: Uint8Array;
  /** The extra symmetric key of the pairing this message used (meaningful for v3 TLV 8). */
  extraKey: Uint8Array;
}

export class DataKeys {
  private ourKeyid: number;
  private readonly ourDh = new Map<number, DhKeyPair>();
  /** Serialized MPI of each of our public keys, made once per key pair (it goes out in every Data Message). */
  private readonly ourPubMpi = new Map<number, Uint8Array>();
  private theirKeyid: number;
  private readonly theirY = new Map<number, bigint>();
  private readonly pairings = new Map<string, Pairing>();
  private pendingReveal: Uint8Array[] = [];

  /**
   * Set up after a successful AKE: our AKE key is our_dh[keyid], a fresh our_dh[keyid+1] is generated.
   * `random` makes our new D-H keys (the CSPRNG unless a test fixes it).
   */
  constructor(
    akeDh: DhKeyPair,
    akeKeyid: number,
    theirPub: bigint,
    theirKeyid: number,
    private readonly random: RandomSource = randomBytes,
  ) {
    this.ourDh.set(akeKeyid, akeDh);
    this.ourKeyid = akeKeyid + 1;
    this.addOurKey(this.ourKeyid, newDhKeyPair(this.random));
    this.theirKeyid = theirKeyid;
    this.theirY.set(theirKeyid, theirPub);
  }

  /** Hand back pending MAC keys (e.g. when the session ends) so nothing secret lingers. */
  wipe(): void {
    this.ourDh.clear();
    this.ourPubMpi.clear();
    this.theirY.clear();
    this.pairings.clear();
    this.pendingReveal = [];
  }

  private addOurKey(keyid: number, kp: DhKeyPair): void {
    this.ourDh.set(keyid, kp);
    this.ourPubMpi.set(keyid, encodeMpi(kp.pub));
  }

  private pairing(ourId: number, theirId: number): Pairing {
    const k = `${ourId}/${theirId}`;
    let p = this.pairings.get(k);
    if (!p) {
      const ours = this.ourDh.get(ourId);
      const theirs = this.theirY.get(theirId);
      if (!ours || theirs === undefined) throw new OtrProtocolError('unreadable', `no keys for pairing ${k}`);
      p = {
        keys: deriveSessionKeys(ours.pub, ours.priv, theirs),
        send: null,
        recv: null,
        sendCtr: 0n,
        recvCtr: 0n,
        recvMacUsed: false,
      };
      this.pairings.set(k, p);
    }
    return p;
  }

  /** Forget every pairing that used one of our keys (side 'ours') or one of theirs, queueing used MAC keys. */
  private retire(side: 'ours' | 'theirs', keyid: number): void {
    for (const [k, p] of this.pairings) {
      const [o, t] = k.split('/').map(Number) as [number, number];
      if ((side === 'ours' && o === keyid) || (side === 'theirs' && t === keyid)) {
        if (p.recvMacUsed) this.pendingReveal.push(p.keys.recvMac);
        this.pairings.delete(k);
      }
    }
  }

  /** Build a complete binary Data Message. */
  encrypt(header: Header, flags: number, plaintext: Uint8Array): Uint8Array {
    const senderKeyid = this.ourKeyid - 1;
    const recipientKeyid = this.theirKeyid;
    const p = this.pairing(senderKeyid, recipientKeyid);
    if (p.sendCtr >= MAX_CTR) throw new OtrProtocolError('bad-counter', 'counter space exhausted for this key pair');
    p.sendCtr += 1n;
    const top = new Uint8Array(8);
    new DataView(top.buffer).setBigUint64(0, p.sendCtr);
    const send = (p.send ??= { cipher: aes128CtrKeyed(p.keys.sendAes), mac: hmacSha1Keyed(p.keys.sendMac) });
    const nextDhMpi = this.ourPubMpi.get(this.ourKeyid)!;
    const reveal = this.pendingReveal.length === 0 ? NO_REVEAL : concatBytes(...this.pendingReveal);
    const { bytes, encryptedOffset, authenticatedLength } = layoutDataMessage(
      header,
      flags,
      senderKeyid,
      recipientKeyid,
      nextDhMpi,
      top,
      plaintext.length,
      reveal,
    );
    send.cipher.apply(top, plaintext, bytes, encryptedOffset);
    bytes.set(send.mac.mac(bytes.subarray(0, authenticatedLength)), authenticatedLength);
    this.pendingReveal = [];
    return bytes;
  }

  /**
   * Verify and decrypt a Data Message, then rotate keys as the spec says. Throws OtrProtocolError for anything
   * unreadable; in that case no state has changed.
   */
  decrypt(msg: DataMsg): DecryptedData {
    const { senderKeyid, recipientKeyid } = msg;
    if (senderKeyid === 0 || recipientKeyid === 0) throw new OtrProtocolError('bad-keyid', 'key id 0');
    if (senderKeyid !== this.theirKeyid && senderKeyid !== this.theirKeyid - 1)
      throw new OtrProtocolError('bad-keyid', `unknown sender keyid ${senderKeyid}`);
    if (!this.theirY.has(senderKeyid))
      throw new OtrProtocolError('bad-keyid', `no public key for sender keyid ${senderKeyid}`);
    if (recipientKeyid !== this.ourKeyid && recipientKeyid !== this.ourKeyid - 1)
      throw new OtrProtocolError('bad-keyid', `unknown recipient keyid ${recipientKeyid}`);
    if (!this.ourDh.has(recipientKeyid))
      throw new OtrProtocolError('bad-keyid', `no key pair for recipient keyid ${recipientKeyid}`);
    const p = this.pairing(recipientKeyid, senderKeyid);
    const recv = (p.recv ??= { cipher: aes128CtrKeyed(p.keys.recvAes), mac: hmacSha1Keyed(p.keys.recvMac) });
    const mac = recv.mac.mac(msg.authenticated);
    if (!constantTimeEqual(mac, msg.mac)) throw new OtrProtocolError('bad-mac', 'data message MAC does not verify');
    if (msg.ctr.length !== 8) throw new OtrProtocolError('bad-counter', 'counter must be 8 bytes');
    const ctr = new DataView(msg.ctr.buffer, msg.ctr.byteOffset, 8).getBigUint64(0);
    if (ctr === 0n) throw new OtrProtocolError('bad-counter', 'counter top half is zero');
    if (ctr <= p.recvCtr)
      throw new OtrProtocolError('bad-counter', 'counter did not increase (replayed or reordered message)');
    const rotateTheirs = senderKeyid === this.theirKeyid;
    const nextDh = rotateTheirs ? bytesToBigint(msg.nextDhMag) : 0n;
    if (rotateTheirs && !isValidGroupElement(nextDh))
      throw new OtrProtocolError('bad-group-element', 'next D-H key out of range');

    p.recvCtr = ctr;
    p.recvMacUsed = true;
    // Every byte is written by the cipher: no need for zeroed memory. A plain Uint8Array view, so that .slice()
    // (TLV values) copies, as it does for every other Uint8Array (Buffer's slice would alias this memory).
    const out = Buffer.allocUnsafe(msg.encrypted.length);
    const plaintext = new Uint8Array(out.buffer, out.byteOffset, out.length);
    recv.cipher.apply(msg.ctr, msg.encrypted, plaintext);
    const extraKey = p.keys.extraKey;

    if (recipientKeyid === this.ourKeyid) {
      // The peer has seen our newest key: forget the previous one and make a new newest.
      const old = this.ourKeyid - 1;
      this.retire('ours', old);
      this.ourDh.delete(old);
      this.ourPubMpi.delete(old);
      this.ourKeyid += 1;
      this.addOurKey(this.ourKeyid, newDhKeyPair(this.random));
    }
    if (rotateTheirs) {
      const old = this.theirKeyid - 1;
      this.retire('theirs', old);
      this.theirY.delete(old);
      this.theirKeyid += 1;
      this.theirY.set(this.theirKeyid, nextDh);
    }
    return { plaintext, extraKey };
  }

  /** The extra symmetric key of the pairing our next message will use. */
  sendingExtraKey(): Uint8Array {
    return this.pairing(this.ourKeyid - 1, this.theirKeyid).keys.extraKey;
  }

  /** For tests and diagnostics: the key ids in play. */
  get keyids(): { ourKeyid: number; theirKeyid: number } {
    return { ourKeyid: this.ourKeyid, theirKeyid: this.theirKeyid };
  }
}
