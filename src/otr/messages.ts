/**
 * The five binary OTR messages (v2 and v3): D-H Commit, D-H Key, Reveal Signature, Signature, Data.
 * v3 adds sender/receiver instance tags after the type byte; v2 has none (we report them as 0).
 */
import { OtrProtocolError } from './errors.js';
import { encodeMpi } from '../bytes/bytes.js';
import { Reader, Writer } from './wire.js';

export const MSG_DH_COMMIT = 0x02;
export const MSG_DATA = 0x03;
export const MSG_DH_KEY = 0x0a;
export const MSG_REVEAL_SIG = 0x11;
export const MSG_SIG = 0x12;

export const FLAG_IGNORE_UNREADABLE = 0x01;

export type OtrVersion = 2 | 3;

export interface Header {
  version: OtrVersion;
  type: number;
  /** 0 for v2 messages. */
  senderTag: number;
  /** 0 for v2 messages. */
  receiverTag: number;
}

export interface DhCommit {
  kind: 'dh-commit';
  header: Header;
  encryptedGx: Uint8Array;
  hashedGx: Uint8Array;
}
export interface DhKey {
  kind: 'dh-key';
  header: Header;
  gy: bigint;
  gyRaw: Uint8Array;
}
export interface RevealSig {
  kind: 'reveal-sig';
  header: Header;
  revealedKey: Uint8Array;
  encSig: Uint8Array;
  encSigField: Uint8Array;
  mac: Uint8Array;
}
export interface Sig {
  kind: 'sig';
  header: Header;
  encSig: Uint8Array;
  encSigField: Uint8Array;
  mac: Uint8Array;
}
export interface DataMsg {
  kind: 'data';
  header: Header;
  flags: number;
  senderKeyid: number;
  recipientKeyid: number;
  /**
   * The next D-H public key's MPI magnitude (minimum length already checked). Only the first message after the
   * peer rotates needs its value (DataKeys converts it then): parsing 1536 bits on every message was measurable.
   */
  nextDhMag: Uint8Array;
  ctr: Uint8Array;
  encrypted: Uint8Array;
  /** Bytes from the protocol version through the encrypted DATA field: what the MAC covers. */
  authenticated: Uint8Array;
  mac: Uint8Array;
  oldMacKeys: Uint8Array;
}
export type OtrBinaryMessage = DhCommit | DhKey | RevealSig | Sig | DataMsg;

/** Reads just the header; lets the caller check instance tags before doing any expensive work. */
export function readHeader(r: Reader): Header {
  const version = r.short();
  if (version !== 2 && version !== 3)
    throw new OtrProtocolError('bad-version', `unsupported protocol version ${version}`);
  const type = r.byte();
  let senderTag = 0,
    receiverTag = 0;
  if (version === 3) {
    senderTag = r.int();
    receiverTag = r.int();
  }
  return { version, type, senderTag, receiverTag };
}

/** Parse a whole binary message, rejecting truncation and trailing garbage. */
export function decodeMessage(bin: Uint8Array): OtrBinaryMessage {
  const r = new Reader(bin);
  const header = readHeader(r);
  let msg: OtrBinaryMessage;
  switch (header.type) {
    case MSG_DH_COMMIT: {
      const encryptedGx = r.data(4096);
      const hashedGx = r.data(64);
      if (hashedGx.length !== 32)
        throw new OtrProtocolError('bad-hash', `hashed g^x must be 32 bytes, got ${hashedGx.length}`);
      msg = { kind: 'dh-commit', header, encryptedGx, hashedGx };
      break;
    }
    case MSG_DH_KEY: {
      const { value, raw } = r.mpiWithBytes(1024);
      msg = { kind: 'dh-key', header, gy: value, gyRaw: raw };
      break;
    }
    case MSG_REVEAL_SIG: {
      const revealedKey = r.data(64);
      if (revealedKey.length !== 16)
        throw new OtrProtocolError('bad-mac', `revealed key must be 16 bytes, got ${revealedKey.length}`);
      const start = r.offset;
      const encSig = r.data(8192);
      const encSigField = bin.subarray(start, r.offset);
      const mac = r.mac();
      msg = { kind: 'reveal-sig', header, revealedKey, encSig, encSigField, mac };
      break;
    }
    case MSG_SIG: {
      const start = r.offset;
      const encSig = r.data(8192);
      const encSigField = bin.subarray(start, r.offset);
      const mac = r.mac();
      msg = { kind: 'sig', header, encSig, encSigField, mac };
      break;
    }
    case MSG_DATA: {
      const flags = r.byte();
      const senderKeyid = r.int();
      const recipientKeyid = r.int();
      const nextDhMag = r.mpiMagnitude(1024);
      const ctr = r.ctr();
      const encrypted = r.data();
      const authenticated = bin.subarray(0, r.offset);
      const mac = r.mac();
      const oldMacKeys = r.data();
      msg = {
        kind: 'data',
        header,
        flags,
        senderKeyid,
        recipientKeyid,
        nextDhMag,
        ctr,
        encrypted,
        authenticated,
        mac,
        oldMacKeys,
      };
      break;
    }
    default:
      throw new OtrProtocolError('bad-type', `unknown message type 0x${header.type.toString(16)}`);
  }
  r.end('OTR message');
  return msg;
}

export function writeHeader(w: Writer, h: Header): Writer {
  w.short(h.version).byte(h.type);
  if (h.version === 3) w.int(h.senderTag).int(h.receiverTag);
  return w;
}

export function encodeDhCommit(h: Header, encryptedGx: Uint8Array, hashedGx: Uint8Array): Uint8Array {
  return writeHeader(new Writer(), { ...h, type: MSG_DH_COMMIT })
    .data(encryptedGx)
    .data(hashedGx)
    .finish();
}

export function encodeDhKey(h: Header, gy: bigint): Uint8Array {
  return writeHeader(new Writer(), { ...h, type: MSG_DH_KEY })
    .mpi(gy)
    .finish();
}

export function encodeRevealSig(h: Header, revealedKey: Uint8Array, encSig: Uint8Array, mac: Uint8Array): Uint8Array {
  return writeHeader(new Writer(), { ...h, type: MSG_REVEAL_SIG })
    .data(revealedKey)
    .data(encSig)
    .raw(mac)
    .finish();
}

export function encodeSig(h: Header, encSig: Uint8Array, mac: Uint8Array): Uint8Array {
  return writeHeader(new Writer(), { ...h, type: MSG_SIG })
    .data(encSig)
    .raw(mac)
    .finish();
}

/** The MAC'd part of a Data Message (version .. encrypted message). */
export function encodeDataAuthenticated(
  h: Header,
  flags: number,
  senderKeyid: number,
  recipientKeyid: number,
  nextDh: bigint,
  ctr: Uint8Array,
  encrypted: Uint8Array,
): Uint8Array {
  return writeHeader(new Writer(), { ...h, type: MSG_DATA })
    .byte(flags)
    .int(senderKeyid)
    .int(recipientKeyid)
    .mpi(nextDh)
    .raw(ctr)
    .data(encrypted)
    .finish();
}

export function encodeDataTail(authenticated: Uint8Array, mac: Uint8Array, oldMacKeys: Uint8Array): Uint8Array {
  return new Writer().raw(authenticated).raw(mac).data(oldMacKeys).finish();
}

/**
 * A whole Data Message in one allocation, with the MAC field left zero: the caller computes the MAC over
 * `bytes.subarray(0, authenticatedLength)` and writes it at `authenticatedLength`. Same bytes as
 * encodeDataTail(encodeDataAuthenticated(...), mac, oldMacKeys), without copying a large message twice.
 */
export function encodeDataMessage(
  h: Header,
  flags: number,
  senderKeyid: number,
  recipientKeyid: number,
  nextDh: bigint,
  ctr: Uint8Array,
  encrypted: Uint8Array,
  oldMacKeys: Uint8Array,
): { bytes: Uint8Array; authenticatedLength: number } {
  return encodeDataMessageMpi(h, flags, senderKeyid, recipientKeyid, encodeMpi(nextDh), ctr, encrypted, oldMacKeys);
}

/**
 * As encodeDataMessage, with the next D-H key already serialized as a whole MPI (length and value): the sender
 * keeps that encoding per key pair, so the hot path never converts the 1536-bit value to bytes again.
 */
export function encodeDataMessageMpi(
  h: Header,
  flags: number,
  senderKeyid: number,
  recipientKeyid: number,
  nextDhMpi: Uint8Array,
  ctr: Uint8Array,
  encrypted: Uint8Array,
  oldMacKeys: Uint8Array,
): { bytes: Uint8Array; authenticatedLength: number } {
  const { bytes, encryptedOffset, authenticatedLength } = layoutDataMessage(
    h,
    flags,
    senderKeyid,
    recipientKeyid,
    nextDhMpi,
    ctr,
    encrypted.length,
    oldMacKeys,
  );
  bytes.set(encrypted, encryptedOffset);
  return { bytes, authenticatedLength };
}

/**
 * A whole Data Message with room left for the encrypted text (at encryptedOffset, `encryptedLength` bytes) and
 * for the MAC (at authenticatedLength): the sender encrypts straight into the message, no intermediate copy.
 * The encrypted field is placed at a 4-byte aligned address, so the cipher can XOR word by word.
 */
export function layoutDataMessage(
  h: Header,
  flags: number,
  senderKeyid: number,
  recipientKeyid: number,
  nextDhMpi: Uint8Array,
  ctr: Uint8Array,
  encryptedLength: number,
  oldMacKeys: Uint8Array,
): { bytes: Uint8Array; encryptedOffset: number; authenticatedLength: number } {
  if (ctr.length !== 8) throw new RangeError('CTR must be 8 bytes');
  const headerLength = h.version === 3 ? 11 : 3;
  const prefixLength = headerLength + 1 + 4 + 4 + nextDhMpi.length + 8 + 4;
  const authenticatedLength = prefixLength + encryptedLength;
  const total = authenticatedLength + 20 + 4 + oldMacKeys.length;
  const lead = (4 - (prefixLength & 3)) & 3;
  const bytes = new Uint8Array(new ArrayBuffer(lead + total), lead, total);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv.setUint16(0, h.version);
  bytes[2] = MSG_DATA;
  if (h.version === 3) {
    dv.setUint32(3, h.senderTag);
    dv.setUint32(7, h.receiverTag);
  }
  let o = headerLength;
  bytes[o++] = flags & 0xff;
  dv.setUint32(o, senderKeyid);
  o += 4;
  dv.setUint32(o, recipientKeyid);
  o += 4;
  bytes.set(nextDhMpi, o);
  o += nextDhMpi.length;
  bytes.set(ctr, o);
  o += 8;
  dv.setUint32(o, encryptedLength);
  o += 4;
  const at = authenticatedLength + 20;
  dv.setUint32(at, oldMacKeys.length);
  bytes.set(oldMacKeys, at + 4);
  return { bytes, encryptedOffset: o, authenticatedLength };
}
