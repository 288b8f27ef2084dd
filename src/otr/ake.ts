/**
 * The authenticated key exchange (spec "Authenticated Key Exchange", "Authentication state" and the D-H Commit /
 * D-H Key / Reveal Signature / Signature transitions). Pure: it returns the binary messages to send; the session
 * frames, addresses and fragments them.
 */
import { G, constantTimeEqual, isValidGroupElement, modPow, randomBytes, randomExponent } from './crypto/group.js';
import { dsaSign, dsaVerify, type DsaKeyParams } from './crypto/dsa.js';
import { OtrProtocolError } from './errors.js';
import { aesCtr, deriveAkeKeys, hmacSha256, sha256, type AkeKeys } from './keys.js';
import {
  encodeDhCommit, encodeDhKey, encodeRevealSig, encodeSig,
  type DhCommit, type DhKey, type Header, type OtrVersion, type RevealSig, type Sig,
} from './messages.js';
import { Reader, Writer, concatBytes, mpiBytes, serializePubkey, type WirePublicKey } from './wire.js';

export type AuthState = 'none' | 'awaiting-dhkey' | 'awaiting-revealsig' | 'awaiting-sig';

/** What a successful AKE leaves behind for the data-message layer. */
export interface AkeResult {
  version: OtrVersion;
  ourDh: { priv: bigint; pub: bigint };
  ourKeyid: number;
  theirPub: bigint;
  theirKeyid: number;
  theirLongTermKey: WirePublicKey;
  ssid: Uint8Array;
  /** True when we sent the Reveal Signature message (we display the first half of the ssid in bold). */
  weRevealed: boolean;
}

/** Builds the header for an outgoing AKE message of a given version (the session knows the instance tags). */
export type HeaderFor = (version: OtrVersion) => Header;

/** Our D-H key for the AKE is our_dh[our_keyid-1] with our_keyid starting at 2 (spec "Key Management"). */
export const AKE_KEYID = 1;

/** Compare two equal-length byte strings as unsigned big-endian numbers. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 0;
    const y = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export class Ake {
  private _state: AuthState = 'none';
  /** Version of the AKE as responder (the peer's commit) and, for initiator paths, of our own commit. */
  private version: OtrVersion = 3;
  private initVersion: OtrVersion = 3;
  /**
   * After losing a commit collision we still remember our own commit ('committed'), and answer a D-H Key for it
   * ('revealed') while also waiting for the peer's Reveal Signature. Peers that lack the collision rule (python-potr
   * answers every commit with a D-H Key) otherwise leave both sides waiting for a Reveal Signature forever. Each path
   * is verified in full; whichever completes first wins and the other is discarded.
   */
  private kept: 'no' | 'committed' | 'revealed' = 'no';
  // Initiator (Bob) side.
  private r: Uint8Array | null = null;
  private x = 0n;
  private gx = 0n;
  private ourHashedGx: Uint8Array | null = null;
  private lastCommit: Uint8Array | null = null;
  private receivedGyRaw: Uint8Array | null = null;
  private gy = 0n;
  private lastRevealSig: Uint8Array | null = null;
  private keys: AkeKeys | null = null;
  // Responder (Alice) side.
  private y = 0n;
  private ourGy = 0n;
  private theirEncGx: Uint8Array | null = null;
  private theirHashedGx: Uint8Array | null = null;
  private lastDhKey: Uint8Array | null = null;

  private readonly ourPubRaw: Uint8Array;

  constructor(private readonly ourKey: DsaKeyParams, private readonly header: HeaderFor) {
    this.ourPubRaw = serializePubkey(ourKey);
  }

  get state(): AuthState { return this._state; }
  get akeVersion(): OtrVersion { return this.version; }

  reset(): void {
    this._state = 'none';
    this.kept = 'no';
    this.r = null; this.x = 0n; this.gx = 0n; this.ourHashedGx = null; this.lastCommit = null;
    this.receivedGyRaw = null; this.gy = 0n; this.lastRevealSig = null; this.keys = null;
    this.y = 0n; this.ourGy = 0n; this.theirEncGx = null; this.theirHashedGx = null; this.lastDhKey = null;
  }

  /** Start (or restart) the AKE as the initiator: returns the D-H Commit message. */
  initiate(version: OtrVersion): Uint8Array {
    this.reset();
    this.version = version;
    this.initVersion = version;
    this.r = randomBytes(16);
    this.x = randomExponent(40);
    this.gx = modPow(G, this.x);
    const gxmpi = mpiBytes(this.gx);
    this.ourHashedGx = sha256(gxmpi);
    this.lastCommit = encodeDhCommit(this.header(version), aesCtr(this.r, gxmpi), this.ourHashedGx);
    this._state = 'awaiting-dhkey';
    return this.lastCommit;
  }

  private replyDhKey(msg: DhCommit): Uint8Array {
    this.version = msg.header.version;
    this.y = randomExponent(40);
    this.ourGy = modPow(G, this.y);
    this.theirEncGx = msg.encryptedGx.slice();
    this.theirHashedGx = msg.hashedGx.slice();
    this.lastDhKey = encodeDhKey(this.header(this.version), this.ourGy);
    this._state = 'awaiting-revealsig';
    return this.lastDhKey;
  }

  /** Received a D-H Commit. Returns the message to send (or null). */
  onDhCommit(msg: DhCommit): Uint8Array | null {
    switch (this._state) {
      case 'none':
        return this.replyDhKey(msg);
      case 'awaiting-dhkey': {
        // Both sides committed at once: the higher hashed g^x keeps its commit, the other becomes the responder.
        if (compareBytes(this.ourHashedGx!, msg.hashedGx) > 0) {
          return this.lastCommit;
        }
        const reply = this.replyDhKey(msg);
        this.kept = 'committed';
        return reply;
      }
      case 'awaiting-revealsig':
        // Keep our D-H key (so every copy the peer sees is the same) but use the newest commit.
        this.theirEncGx = msg.encryptedGx.slice();
        this.theirHashedGx = msg.hashedGx.slice();
        if (msg.header.version !== this.version) {
          this.version = msg.header.version;
          this.lastDhKey = encodeDhKey(this.header(this.version), this.ourGy);
        }
        return this.lastDhKey;
      case 'awaiting-sig':
        this.forgetInitiator();
        return this.replyDhKey(msg);
    }
  }

  private forgetInitiator(): void {
    this.kept = 'no';
    this.r = null; this.x = 0n; this.gx = 0n; this.ourHashedGx = null; this.lastCommit = null;
    this.receivedGyRaw = null; this.gy = 0n; this.lastRevealSig = null; this.keys = null;
  }

  /** Received a D-H Key. Returns the Reveal Signature message (or a retransmission, or null). */
  onDhKey(msg: DhKey): Uint8Array | null {
    const revealed = this._state === 'awaiting-sig' || (this._state === 'awaiting-revealsig' && this.kept === 'revealed');
    if (revealed) {
      if (this.receivedGyRaw && msg.header.version === this.initVersion && constantTimeEqual(this.receivedGyRaw, msg.gyRaw)) {
        return this.lastRevealSig;
      }
      return null;
    }
    const committed = this._state === 'awaiting-dhkey' || (this._state === 'awaiting-revealsig' && this.kept === 'committed');
    if (!committed) return null;
    if (msg.header.version !== this.initVersion) return null;
    if (!isValidGroupElement(msg.gy)) throw new OtrProtocolError('bad-group-element', 'g^y out of range');
    this.gy = msg.gy;
    this.receivedGyRaw = msg.gyRaw.slice();
    const s = modPow(this.gy, this.x);
    this.keys = deriveAkeKeys(s);
    const { encSig, mac } = this.buildSignature(this.keys.c, this.keys.m1, this.keys.m2, this.gx, this.gy);
    this.lastRevealSig = encodeRevealSig(this.header(this.initVersion), this.r!, encSig, mac);
    if (this._state === 'awaiting-dhkey') this._state = 'awaiting-sig';
    else this.kept = 'revealed';
    return this.lastRevealSig;
  }

  /** Received a Reveal Signature. On success returns our Signature message and the AKE result. */
  onRevealSig(msg: RevealSig): { reply: Uint8Array; result: AkeResult } | null {
    if (this._state !== 'awaiting-revealsig' || msg.header.version !== this.version) return null;
    const gx = openCommitment(msg.revealedKey, this.theirEncGx!, this.theirHashedGx!);
    const keys = deriveAkeKeys(modPow(gx, this.y));
    const peer = verifyEncryptedSignature(keys.c, keys.m1, keys.m2, msg.encSigField, msg.encSig, msg.mac, gx, this.ourGy);
    const { encSig, mac } = this.buildSignature(keys.cp, keys.m1p, keys.m2p, this.ourGy, gx);
    const reply = encodeSig(this.header(this.version), encSig, mac);
    const result: AkeResult = {
      version: this.version,
      ourDh: { priv: this.y, pub: this.ourGy },
      ourKeyid: AKE_KEYID,
      theirPub: gx,
      theirKeyid: peer.keyid,
      theirLongTermKey: peer.key,
      ssid: keys.ssid,
      weRevealed: false,
    };
    this.reset();
    return { reply, result };
  }

  /** Received a Signature. On success returns the AKE result. */
  onSig(msg: Sig): AkeResult | null {
    const revealed = this._state === 'awaiting-sig' || (this._state === 'awaiting-revealsig' && this.kept === 'revealed');
    if (!revealed || msg.header.version !== this.initVersion) return null;
    const keys = this.keys!;
    const peer = verifyEncryptedSignature(keys.cp, keys.m1p, keys.m2p, msg.encSigField, msg.encSig, msg.mac, this.gy, this.gx);
    const result: AkeResult = {
      version: this.initVersion,
      ourDh: { priv: this.x, pub: this.gx },
      ourKeyid: AKE_KEYID,
      theirPub: this.gy,
      theirKeyid: peer.keyid,
      theirLongTermKey: peer.key,
      ssid: keys.ssid,
      weRevealed: true,
    };
    this.reset();
    return result;
  }

  /** X = pub, keyid, sig(MAC_m1(ours, theirs, pub, keyid)); returns AES_c(X) and MAC_m2 over its DATA field. */
  private buildSignature(c: Uint8Array, m1: Uint8Array, m2: Uint8Array, ourDhPub: bigint, theirDhPub: bigint): { encSig: Uint8Array; mac: Uint8Array } {
    const keyid = new Writer().int(AKE_KEYID).finish();
    const M = hmacSha256(m1, concatBytes(mpiBytes(ourDhPub), mpiBytes(theirDhPub), this.ourPubRaw, keyid));
    const sig = dsaSign(this.ourKey, M);
    const X = new Writer().raw(this.ourPubRaw).raw(keyid).sig(this.ourKey.q, sig).finish();
    const encSig = aesCtr(c, X);
    const mac = hmacSha256(m2, new Writer().data(encSig).finish()).slice(0, 20);
    return { encSig, mac };
  }
}

/**
 * Open a D-H commitment: decrypt g^x with the revealed key r, check it against the committed hash, parse it as a
 * single MPI and range-check it.
 */
export function openCommitment(r: Uint8Array, encryptedGx: Uint8Array, hashedGx: Uint8Array): bigint {
  const gxmpi = aesCtr(r, encryptedGx);
  if (!constantTimeEqual(sha256(gxmpi), hashedGx)) throw new OtrProtocolError('bad-hash', 'hash of revealed g^x does not match the commitment');
  const rd = new Reader(gxmpi);
  const gx = rd.mpi(1024);
  rd.end('g^x');
  if (!isValidGroupElement(gx)) throw new OtrProtocolError('bad-group-element', 'g^x out of range');
  return gx;
}

/**
 * The checks a Reveal Signature (keys c, m1, m2) and a Signature (c', m1', m2') both need: MAC over the encrypted
 * signature's DATA field (constant time), decrypt, parse PUBKEY/keyid/SIG, keyid != 0, and the DSA signature over
 * M = MAC_m1(their D-H pub, our D-H pub, their PUBKEY, keyid).
 */
export function verifyEncryptedSignature(c: Uint8Array, m1: Uint8Array, m2: Uint8Array, encSigField: Uint8Array, encSig: Uint8Array,
  mac: Uint8Array, theirDhPub: bigint, ourDhPub: bigint): { key: WirePublicKey; keyid: number } {
  const expected = hmacSha256(m2, encSigField).slice(0, 20);
  if (!constantTimeEqual(expected, mac)) throw new OtrProtocolError('bad-mac', 'AKE signature MAC does not verify');
  const X = aesCtr(c, encSig);
  const rd = new Reader(X);
  const { key, raw } = rd.pubkey();
  const keyid = rd.int();
  if (keyid === 0) throw new OtrProtocolError('bad-keyid', 'AKE keyid must be greater than 0');
  const sig = rd.sig(key.q);
  rd.end('AKE signature');
  const M = hmacSha256(m1, concatBytes(mpiBytes(theirDhPub), mpiBytes(ourDhPub), raw, new Writer().int(keyid).finish()));
  if (!dsaVerify(key, M, sig)) throw new OtrProtocolError('bad-signature', 'AKE signature does not verify');
  return { key, keyid };
}
