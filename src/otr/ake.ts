/**
 * The authenticated key exchange (spec "Authenticated Key Exchange", "Authentication state" and the D-H Commit /
 * D-H Key / Reveal Signature / Signature transitions). Pure: it returns the binary messages to send; the session
 * frames, addresses and fragments them.
 */
import { compareBytes, concatBytes, encodeMpi } from '../bytes/bytes.js';
import { serializePublicKey, type DsaKeyParams, type DsaPublicKey } from '../keys/dsa-key.js';
import {
  G,
  constantTimeEqual,
  isValidGroupElement,
  modPow,
  randomBytes,
  randomExponent,
  type RandomSource,
} from './crypto/group.js';
import { dsaSign, dsaVerify } from './crypto/dsa.js';
import { OtrProtocolError } from './errors.js';
import { aesCtr, deriveAkeKeys, hmacSha256, sha256, type AkeKeys } from './keys.js';
import {
  encodeDhCommit,
  encodeDhKey,
  encodeRevealSig,
  encodeSig,
  type DhCommit,
  type DhKey,
  type Header,
  type OtrVersion,
  type RevealSig,
  type Sig,
} from './messages.js';
import { Reader, Writer } from './wire.js';

export type AuthState = 'none' | 'awaiting-dhkey' | 'awaiting-revealsig' | 'awaiting-sig';

/** What a successful AKE leaves behind for the data-message layer. */
export interface AkeResult {
  version: OtrVersion;
  ourDh: { priv: bigint; pub: bigint };
  ourKeyid: number;
  theirPub: bigint;
  theirKeyid: number;
  theirLongTermKey: DsaPublicKey;
  ssid: Uint8Array;
  /** True when we sent the Reveal Signature message (we display the first half of the ssid in bold). */
  weRevealed: boolean;
}

/** Builds the header for an outgoing AKE message of a given version (the session knows the instance tags). */
export type HeaderFor = (version: OtrVersion) => Header;

/** Our D-H key for the AKE is our_dh[our_keyid-1] with our_keyid starting at 2 (spec "Key Management"). */
export const AKE_KEYID = 1;

/** Our D-H Commit: the secret behind it and the message as sent (retransmitted byte for byte). */
interface OurCommit {
  readonly version: OtrVersion;
  readonly r: Uint8Array;
  readonly x: bigint;
  readonly gx: bigint;
  readonly hashedGx: Uint8Array;
  readonly msg: Uint8Array;
}

/**
 * The authentication state, one variant per spec state, each carrying exactly the data that state needs.
 *
 * Only one path of the exchange is ever live. The one departure from the spec's text: after yielding a commit
 * collision we remember our own commit (`yielded`) without acting on it. A spec-following peer never answers it
 * (it won the collision and waits for our D-H Key). Two kinds of peer do answer it with a D-H Key:
 *  - libotr with v3 answers it from a fresh per-instance context, then takes our D-H Key for its own commit and
 *    sends its Reveal Signature right behind: the winner's path, which we are on. Nothing to do.
 *  - python-potr has no collision rule: it abandons its own commit, answers ours, and ignores our D-H Key. Both
 *    sides would wait for a Reveal Signature forever.
 * So such a D-H Key is only noted (`answered`). If the peer's Reveal Signature does not follow within a grace
 * period, the session's tick() calls switchToYielded(): we drop the responder path and reveal for our yielded
 * commit (AWAITING_SIG). At no moment can two paths complete, so both sides finish the same exchange.
 */
type State =
  | { readonly kind: 'none' }
  | { readonly kind: 'awaiting-dhkey'; readonly commit: OurCommit }
  | {
      readonly kind: 'awaiting-revealsig';
      readonly version: OtrVersion;
      readonly y: bigint;
      readonly gy: bigint;
      readonly dhKeyMsg: Uint8Array;
      readonly theirEncGx: Uint8Array;
      readonly theirHashedGx: Uint8Array;
      readonly yielded: OurCommit | null;
      /** The peer answered our yielded commit with this D-H Key (see above), at this time. */
      readonly answered: { readonly msg: DhKey; readonly at: number } | null;
    }
  | {
      readonly kind: 'awaiting-sig';
      readonly commit: OurCommit;
      readonly gy: bigint;
      readonly gyRaw: Uint8Array;
      readonly keys: AkeKeys;
      readonly revealSigMsg: Uint8Array;
    };

const NONE: State = { kind: 'none' };

export class Ake {
  private st: State = NONE;
  private readonly ourPubRaw: Uint8Array;

  /** `random`: the source of r, x, y and the signature's nonce input (the CSPRNG unless a test fixes it). */
  constructor(
    private readonly ourKey: DsaKeyParams,
    private readonly header: HeaderFor,
    private readonly now: () => number = Date.now,
    private readonly random: RandomSource = randomBytes,
  ) {
    this.ourPubRaw = serializePublicKey(ourKey);
  }

  get state(): AuthState {
    return this.st.kind;
  }
  get inProgress(): boolean {
    return this.st.kind !== 'none';
  }
  /** The version of the exchange in progress (null when none is). */
  get akeVersion(): OtrVersion | null {
    switch (this.st.kind) {
      case 'none':
        return null;
      case 'awaiting-revealsig':
        return this.st.version;
      default:
        return this.st.commit.version;
    }
  }
  /** Our pending D-H Commit while we wait for the peer's D-H Key (to send it again unchanged). */
  get pendingCommit(): Uint8Array | null {
    return this.st.kind === 'awaiting-dhkey' ? this.st.commit.msg : null;
  }

  reset(): void {
    this.st = NONE;
  }

  /** Start (or restart) the AKE as the initiator: returns the D-H Commit message. */
  initiate(version: OtrVersion): Uint8Array {
    const r = this.random(16);
    const x = randomExponent(40, this.random);
    const gx = modPow(G, x);
    const gxmpi = encodeMpi(gx);
    const hashedGx = sha256(gxmpi);
    const msg = encodeDhCommit(this.header(version), aesCtr(r, gxmpi), hashedGx);
    this.st = { kind: 'awaiting-dhkey', commit: { version, r, x, gx, hashedGx, msg } };
    return msg;
  }

  private replyDhKey(msg: DhCommit, yielded: OurCommit | null): Uint8Array {
    const version = msg.header.version;
    const y = randomExponent(40, this.random);
    const gy = modPow(G, y);
    const dhKeyMsg = encodeDhKey(this.header(version), gy);
    this.st = {
      kind: 'awaiting-revealsig',
      version,
      y,
      gy,
      dhKeyMsg,
      theirEncGx: msg.encryptedGx.slice(),
      theirHashedGx: msg.hashedGx.slice(),
      yielded,
      answered: null,
    };
    return dhKeyMsg;
  }

  /** Received a D-H Commit. Returns the message to send (or null). */
  onDhCommit(msg: DhCommit): Uint8Array | null {
    const st = this.st;
    switch (st.kind) {
      case 'none':
        return this.replyDhKey(msg, null);
      case 'awaiting-dhkey':
        // Both sides committed at once: the higher hashed g^x keeps its commit, the other becomes the responder.
        if (compareBytes(st.commit.hashedGx, msg.hashedGx) > 0) return st.commit.msg;
        return this.replyDhKey(msg, st.commit);
      case 'awaiting-revealsig': {
        // Keep our D-H key (so every copy the peer sees is the same) but use the newest commit.
        const dhKeyMsg =
          msg.header.version === st.version ? st.dhKeyMsg : encodeDhKey(this.header(msg.header.version), st.gy);
        this.st = {
          ...st,
          version: msg.header.version,
          dhKeyMsg,
          theirEncGx: msg.encryptedGx.slice(),
          theirHashedGx: msg.hashedGx.slice(),
        };
        return dhKeyMsg;
      }
      case 'awaiting-sig':
        // The peer started afresh: answer its commit and forget ours (spec).
        return this.replyDhKey(msg, null);
    }
  }

  /** Received a D-H Key. Returns the Reveal Signature message (or a retransmission, or null). */
  onDhKey(msg: DhKey): Uint8Array | null {
    const st = this.st;
    switch (st.kind) {
      case 'awaiting-dhkey':
        return this.reveal(st.commit, msg);
      case 'awaiting-revealsig':
        // Only a peer that answers the commit we yielded sends this (see State): note it, keep waiting.
        if (st.yielded && !st.answered && msg.header.version === st.yielded.version) {
          if (!isValidGroupElement(msg.gy)) throw new OtrProtocolError('bad-group-element', 'g^y out of range');
          this.st = { ...st, answered: { msg, at: this.now() } };
        }
        return null;
      case 'awaiting-sig':
        if (msg.header.version === st.commit.version && constantTimeEqual(st.gyRaw, msg.gyRaw)) return st.revealSigMsg;
        return null;
      case 'none':
        return null;
    }
  }

  /** When the peer answered our yielded commit and we are still waiting for its Reveal Signature: since when. */
  get yieldedAnsweredAt(): number | null {
    return this.st.kind === 'awaiting-revealsig' && this.st.answered ? this.st.answered.at : null;
  }

  /**
   * The peer answered our yielded commit and its Reveal Signature did not follow: it abandoned its own commit
   * (python-potr). Drop the responder path and reveal for ours. Returns the Reveal Signature, or null.
   */
  switchToYielded(): { msg: Uint8Array; version: OtrVersion } | null {
    const st = this.st;
    if (st.kind !== 'awaiting-revealsig' || !st.yielded || !st.answered) return null;
    const msg = this.reveal(st.yielded, st.answered.msg);
    return msg ? { msg, version: st.yielded.version } : null;
  }

  private reveal(commit: OurCommit, msg: DhKey): Uint8Array | null {
    if (msg.header.version !== commit.version) return null;
    if (!isValidGroupElement(msg.gy)) throw new OtrProtocolError('bad-group-element', 'g^y out of range');
    const keys = deriveAkeKeys(modPow(msg.gy, commit.x));
    const { encSig, mac } = this.buildSignature(keys.c, keys.m1, keys.m2, commit.gx, msg.gy);
    const revealSigMsg = encodeRevealSig(this.header(commit.version), commit.r, encSig, mac);
    this.st = { kind: 'awaiting-sig', commit, gy: msg.gy, gyRaw: msg.gyRaw.slice(), keys, revealSigMsg };
    return revealSigMsg;
  }

  /** Received a Reveal Signature. On success returns our Signature message and the AKE result. */
  onRevealSig(msg: RevealSig): { reply: Uint8Array; result: AkeResult } | null {
    const st = this.st;
    if (st.kind !== 'awaiting-revealsig' || msg.header.version !== st.version) return null;
    const gx = openCommitment(msg.revealedKey, st.theirEncGx, st.theirHashedGx);
    const keys = deriveAkeKeys(modPow(gx, st.y));
    const peer = verifyEncryptedSignature(keys.c, keys.m1, keys.m2, msg.encSigField, msg.encSig, msg.mac, gx, st.gy);
    const { encSig, mac } = this.buildSignature(keys.cp, keys.m1p, keys.m2p, st.gy, gx);
    const reply = encodeSig(this.header(st.version), encSig, mac);
    const result: AkeResult = {
      version: st.version,
      ourDh: { priv: st.y, pub: st.gy },
      ourKeyid: AKE_KEYID,
      theirPub: gx,
      theirKeyid: peer.keyid,
      theirLongTermKey: peer.key,
      ssid: keys.ssid,
      weRevealed: false,
    };
    this.st = NONE;
    return { reply, result };
  }

  /** Received a Signature. On success returns the AKE result. */
  onSig(msg: Sig): AkeResult | null {
    const st = this.st;
    if (st.kind !== 'awaiting-sig' || msg.header.version !== st.commit.version) return null;
    const { keys, commit } = st;
    const peer = verifyEncryptedSignature(
      keys.cp,
      keys.m1p,
      keys.m2p,
      msg.encSigField,
      msg.encSig,
      msg.mac,
      st.gy,
      commit.gx,
    );
    const result: AkeResult = {
      version: commit.version,
      ourDh: { priv: commit.x, pub: commit.gx },
      ourKeyid: AKE_KEYID,
      theirPub: st.gy,
      theirKeyid: peer.keyid,
      theirLongTermKey: peer.key,
      ssid: keys.ssid,
      weRevealed: true,
    };
    this.st = NONE;
    return result;
  }

  /** X = pub, keyid, sig(MAC_m1(ours, theirs, pub, keyid)); returns AES_c(X) and MAC_m2 over its DATA field. */
  private buildSignature(
    c: Uint8Array,
    m1: Uint8Array,
    m2: Uint8Array,
    ourDhPub: bigint,
    theirDhPub: bigint,
  ): { encSig: Uint8Array; mac: Uint8Array } {
    const keyid = new Writer().int(AKE_KEYID).finish();
    const M = hmacSha256(m1, concatBytes(encodeMpi(ourDhPub), encodeMpi(theirDhPub), this.ourPubRaw, keyid));
    const sig = dsaSign(this.ourKey, M, this.random);
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
  if (!constantTimeEqual(sha256(gxmpi), hashedGx))
    throw new OtrProtocolError('bad-hash', 'hash of revealed g^x does not match the commitment');
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
export function verifyEncryptedSignature(
  c: Uint8Array,
  m1: Uint8Array,
  m2: Uint8Array,
  encSigField: Uint8Array,
  encSig: Uint8Array,
  mac: Uint8Array,
  theirDhPub: bigint,
  ourDhPub: bigint,
): { key: DsaPublicKey; keyid: number } {
  const expected = hmacSha256(m2, encSigField).slice(0, 20);
  if (!constantTimeEqual(expected, mac)) throw new OtrProtocolError('bad-mac', 'AKE signature MAC does not verify');
  const X = aesCtr(c, encSig);
  const rd = new Reader(X);
  const { key, raw } = rd.pubkey();
  const keyid = rd.int();
  if (keyid === 0) throw new OtrProtocolError('bad-keyid', 'AKE keyid must be greater than 0');
  const sig = rd.sig(key.q);
  rd.end('AKE signature');
  const M = hmacSha256(
    m1,
    concatBytes(encodeMpi(theirDhPub), encodeMpi(ourDhPub), raw, new Writer().int(keyid).finish()),
  );
  if (!dsaVerify(key, M, sig)) throw new OtrProtocolError('bad-signature', 'AKE signature does not verify');
  return { key, keyid };
}
