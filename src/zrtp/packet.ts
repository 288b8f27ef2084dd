// ZRTP packets on the RTP port (RFC 6189 §5): the 12-byte header (0x10 0x00, sequence number, magic cookie 'ZRTP',
// SSRC), one message, the CRC-32C trailer; and every message of §5.2-§5.16, parsed and built. Parsers throw only
// ZrtpError, check every length against the packet before reading, and keep the message's exact bytes (`raw`,
// preamble to MAC) because hvi, total_hash and the MACs are computed over them.
import { crc32c } from './crc32c.js';
import { ZrtpError } from './errors.js';

export const MAGIC = 0x5a525450;
export const HEADER_LENGTH = 12;
const PREAMBLE = 0x505a;

export type MessageType =
  | 'Hello'
  | 'HelloACK'
  | 'Commit'
  | 'DHPart1'
  | 'DHPart2'
  | 'Confirm1'
  | 'Confirm2'
  | 'Conf2ACK'
  | 'Error'
  | 'ErrorACK'
  | 'GoClear'
  | 'ClearACK'
  | 'SASrelay'
  | 'RelayACK'
  | 'Ping'
  | 'PingACK';

const TYPES: readonly MessageType[] = [
  'Hello',
  'HelloACK',
  'Commit',
  'DHPart1',
  'DHPart2',
  'Confirm1',
  'Confirm2',
  'Conf2ACK',
  'Error',
  'ErrorACK',
  'GoClear',
  'ClearACK',
  'SASrelay',
  'RelayACK',
  'Ping',
  'PingACK',
];

export interface Hello {
  type: 'Hello';
  version: string;
  clientId: string;
  h3: Uint8Array;
  zid: Uint8Array;
  signature: boolean;
  mitm: boolean;
  passive: boolean;
  hash: string[];
  cipher: string[];
  authTag: string[];
  keyAgreement: string[];
  sas: string[];
  mac: Uint8Array;
}
export interface Commit {
  type: 'Commit';
  h2: Uint8Array;
  zid: Uint8Array;
  hash: string;
  cipher: string;
  authTag: string;
  keyAgreement: string;
  sas: string;
  /** DH mode: hvi (32 bytes). Multistream and Preshared carry a nonce (and a key ID) instead. */
  hvi?: Uint8Array;
  nonce?: Uint8Array;
  keyId?: Uint8Array;
  mac: Uint8Array;
}
export interface DHPart {
  type: 'DHPart1' | 'DHPart2';
  h1: Uint8Array;
  rs1Id: Uint8Array;
  rs2Id: Uint8Array;
  auxId: Uint8Array;
  pbxId: Uint8Array;
  pv: Uint8Array;
  mac: Uint8Array;
}
export interface Confirm {
  type: 'Confirm1' | 'Confirm2';
  confirmMac: Uint8Array;
  iv: Uint8Array;
  /** H0, flags, cache expiration and any signature, still encrypted. */
  encrypted: Uint8Array;
}
export interface ErrorMessage {
  type: 'Error';
  code: number;
}
export interface GoClear {
  type: 'GoClear';
  clearMac: Uint8Array;
}
export interface Ping {
  type: 'Ping';
  version: string;
  endpointHash: Uint8Array;
}
export interface PingAck {
  type: 'PingACK';
  version: string;
  senderHash: Uint8Array;
  receivedHash: Uint8Array;
  ssrc: number;
}
export interface Bare {
  type: 'HelloACK' | 'Conf2ACK' | 'ErrorACK' | 'ClearACK' | 'RelayACK' | 'SASrelay';
}
export type Message = Hello | Commit | DHPart | Confirm | ErrorMessage | GoClear | Ping | PingAck | Bare;

export interface Packet {
  sequence: number;
  ssrc: number;
  message: Message;
  /** The message's bytes, preamble through MAC: what hvi, total_hash, the MACs and a=zrtp-hash cover. */
  raw: Uint8Array;
}

/** Cheap demultiplexing test for the RTP port (§5): first nibble 0001 and the magic cookie. */
export function looksLikeZrtp(b: Uint8Array): boolean {
  return b.length >= 4 + 8 && b[0]! >> 4 === 1 && new DataView(b.buffer, b.byteOffset, b.length).getUint32(4) === MAGIC;
}

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);
/** An algorithm name block: 4 characters, short names padded with spaces ("B32 "). */
const algo = (b: Uint8Array): string => ascii(b).trimEnd();
const enc = (s: string, n: number): Uint8Array => {
  const out = new Uint8Array(n).fill(0x20);
  for (let i = 0; i < s.length && i < n; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

/** Reads one framed packet. Throws ZrtpError: 'truncated', 'bad-header', 'bad-crc', 'bad-length', 'bad-type'... */
export function parsePacket(b: Uint8Array): Packet {
  if (b.length < HEADER_LENGTH + 12 + 4) throw new ZrtpError('truncated', `ZRTP packet of ${b.length} bytes`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0]! >> 4 !== 1 || dv.getUint32(4) !== MAGIC) throw new ZrtpError('bad-header', 'not a ZRTP packet');
  // RFC 6189 sets the rest of the first byte to zero. bzrtp sends 0x11 for fragments of messages above its MTU (only
  // for key agreements we never offer): not ours to read, so dropped rather than answered as malformed.
  if (b[0] !== 0x10) throw new ZrtpError('bad-header', `ZRTP packet with first byte 0x${b[0]!.toString(16)}`);
  const crc = dv.getUint32(b.length - 4, true);
  if (crc32c(b.subarray(0, b.length - 4)) !== crc) throw new ZrtpError('bad-crc', 'CRC-32C mismatch');
  const raw = b.slice(HEADER_LENGTH, b.length - 4);
  return { sequence: dv.getUint16(2), ssrc: dv.getUint32(8), message: parseMessage(raw), raw };
}

/** Reads one message (preamble to MAC). */
export function parseMessage(m: Uint8Array): Message {
  if (m.length < 12) throw new ZrtpError('truncated', 'message shorter than its type block');
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  if (dv.getUint16(0) !== PREAMBLE) throw new ZrtpError('bad-header', 'bad message preamble');
  const words = dv.getUint16(2);
  if (words * 4 > m.length) throw new ZrtpError('oversized', `length ${words} words, ${m.length} bytes present`);
  if (words * 4 !== m.length) throw new ZrtpError('bad-length', `length ${words} words, ${m.length} bytes present`);
  const typeText = ascii(m.subarray(4, 12)).replace(/ +$/, '');
  const type = TYPES.find((t) => t === typeText);
  if (!type) throw new ZrtpError('bad-type', `unknown message type ${JSON.stringify(typeText)}`);
  const need = (n: number, exact = true) => {
    if (exact ? words !== n : words < n) throw new ZrtpError('bad-length', `${type} of ${words} words`);
  };
  const at = (o: number, n: number) => m.slice(o, o + n);
  switch (type) {
    case 'HelloACK':
    case 'Conf2ACK':
    case 'ErrorACK':
    case 'ClearACK':
    case 'RelayACK':
      need(3);
      return { type };
    case 'SASrelay':
      need(19, false);
      return { type };
    case 'Hello': {
      need(22, false);
      const f = dv.getUint32(76);
      const counts = [(f >>> 16) & 15, (f >>> 12) & 15, (f >>> 8) & 15, (f >>> 4) & 15, f & 15];
      if (counts.some((c) => c > 7)) throw new ZrtpError('bad-value', 'more than 7 algorithms of one kind');
      const total = counts.reduce((a, c) => a + c, 0);
      need(22 + total);
      let o = 80;
      const lists = counts.map((c) => {
        const l: string[] = [];
        for (let i = 0; i < c; i++, o += 4) l.push(algo(m.subarray(o, o + 4)));
        return l;
      });
      return {
        type,
        version: ascii(m.subarray(12, 16)),
        clientId: ascii(m.subarray(16, 32)),
        h3: at(32, 32),
        zid: at(64, 12),
        signature: (f & 0x40000000) !== 0,
        mitm: (f & 0x20000000) !== 0,
        passive: (f & 0x10000000) !== 0,
        hash: lists[0]!,
        cipher: lists[1]!,
        authTag: lists[2]!,
        keyAgreement: lists[3]!,
        sas: lists[4]!,
        mac: at(o, 8),
      };
    }
    case 'Commit': {
      need(25, false);
      // Layout (§5.4): H2 8 words, ZID 3, hash, cipher, auth tag, key agreement, SAS (one word each), then mode data.
      const base: Commit = {
        type,
        h2: at(12, 32),
        zid: at(44, 12),
        hash: algo(m.subarray(56, 60)),
        cipher: algo(m.subarray(60, 64)),
        authTag: algo(m.subarray(64, 68)),
        keyAgreement: algo(m.subarray(68, 72)),
        sas: algo(m.subarray(72, 76)),
        mac: new Uint8Array(0),
      };
      if (base.keyAgreement === 'Mult') {
        need(25);
        base.nonce = at(76, 16);
        base.mac = at(92, 8);
      } else if (base.keyAgreement === 'Prsh') {
        need(27);
        base.nonce = at(76, 16);
        base.keyId = at(92, 8);
        base.mac = at(100, 8);
      } else {
        need(29);
        base.hvi = at(76, 32);
        base.mac = at(108, 8);
      }
      return base;
    }
    case 'DHPart1':
    case 'DHPart2': {
      need(22, false);
      return {
        type,
        h1: at(12, 32),
        rs1Id: at(44, 8),
        rs2Id: at(52, 8),
        auxId: at(60, 8),
        pbxId: at(68, 8),
        pv: at(76, m.length - 76 - 8),
        mac: at(m.length - 8, 8),
      };
    }
    case 'Confirm1':
    case 'Confirm2':
      need(19, false);
      return { type, confirmMac: at(12, 8), iv: at(20, 16), encrypted: at(36, m.length - 36) };
    case 'Error':
      need(4);
      return { type, code: dv.getUint32(12) };
    case 'GoClear':
      need(5);
      return { type, clearMac: at(12, 8) };
    case 'Ping':
      need(6);
      return { type, version: ascii(m.subarray(12, 16)), endpointHash: at(16, 8) };
    case 'PingACK':
      need(9);
      return {
        type,
        version: ascii(m.subarray(12, 16)),
        senderHash: at(16, 8),
        receivedHash: at(24, 8),
        ssrc: dv.getUint32(32),
      };
  }
}

/** The fields of a Confirm's encrypted part (§5.7). */
export interface ConfirmBody {
  h0: Uint8Array;
  /** E, V, A, D flags. */
  enrollment: boolean;
  verified: boolean;
  allowClear: boolean;
  disclosure: boolean;
  cacheExpiration: number;
}

export function parseConfirmBody(b: Uint8Array): ConfirmBody {
  if (b.length < 40) throw new ZrtpError('truncated', 'Confirm body');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const w = dv.getUint32(32);
  const sigWords = (w >>> 8) & 0x1ff;
  if (40 + sigWords * 4 !== b.length) throw new ZrtpError('bad-length', 'Confirm signature length');
  return {
    h0: b.slice(0, 32),
    enrollment: (w & 8) !== 0,
    verified: (w & 4) !== 0,
    allowClear: (w & 2) !== 0,
    disclosure: (w & 1) !== 0,
    cacheExpiration: dv.getUint32(36),
  };
}

export function buildConfirmBody(c: ConfirmBody): Uint8Array {
  const b = new Uint8Array(40);
  const dv = new DataView(b.buffer);
  b.set(c.h0, 0);
  dv.setUint32(32, (c.enrollment ? 8 : 0) | (c.verified ? 4 : 0) | (c.allowClear ? 2 : 0) | (c.disclosure ? 1 : 0));
  dv.setUint32(36, c.cacheExpiration >>> 0);
  return b;
}

/** A message's bytes with preamble, length and type filled in; `body` is everything after the type block. */
function frameMessage(type: MessageType, body: Uint8Array): Uint8Array {
  if (body.length % 4 !== 0) throw new ZrtpError('bad-argument', 'message body not word aligned');
  const m = new Uint8Array(12 + body.length);
  const dv = new DataView(m.buffer);
  dv.setUint16(0, PREAMBLE);
  dv.setUint16(2, m.length / 4);
  m.set(enc(type, 8), 4);
  m.set(body, 12);
  return m;
}

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/**
 * Builds a message. For Hello, Commit and DHPart, `mac` computes the 8-byte MAC over the message without it (the
 * caller keys it with the right hash-chain link); the other types have no MAC of this kind.
 */
export function buildMessage(msg: Message, mac?: (withoutMac: Uint8Array) => Uint8Array): Uint8Array {
  const withMac = (type: MessageType, body: Uint8Array) => {
    const pre = frameMessage(type, cat(body, new Uint8Array(8)));
    const m = mac ? mac(pre.subarray(0, pre.length - 8)) : new Uint8Array(8);
    pre.set(m.subarray(0, 8), pre.length - 8);
    return pre;
  };
  switch (msg.type) {
    case 'Hello': {
      const lists = [msg.hash, msg.cipher, msg.authTag, msg.keyAgreement, msg.sas];
      if (lists.some((l) => l.length > 7)) throw new ZrtpError('bad-argument', 'more than 7 algorithms');
      const f = new Uint8Array(4);
      const word =
        (msg.signature ? 0x40000000 : 0) |
        (msg.mitm ? 0x20000000 : 0) |
        (msg.passive ? 0x10000000 : 0) |
        (msg.hash.length << 16) |
        (msg.cipher.length << 12) |
        (msg.authTag.length << 8) |
        (msg.keyAgreement.length << 4) |
        msg.sas.length;
      new DataView(f.buffer).setUint32(0, word >>> 0);
      return withMac(
        'Hello',
        cat(enc(msg.version, 4), enc(msg.clientId, 16), msg.h3, msg.zid, f, ...lists.flat().map((a) => enc(a, 4))),
      );
    }
    case 'Commit': {
      const algos = [msg.hash, msg.cipher, msg.authTag, msg.keyAgreement, msg.sas].map((a) => enc(a, 4));
      const mode = msg.hvi ?? (msg.keyId && msg.nonce ? cat(msg.nonce, msg.keyId) : (msg.nonce ?? new Uint8Array(32)));
      return withMac('Commit', cat(msg.h2, msg.zid, ...algos, mode));
    }
    case 'DHPart1':
    case 'DHPart2':
      return withMac(msg.type, cat(msg.h1, msg.rs1Id, msg.rs2Id, msg.auxId, msg.pbxId, msg.pv));
    case 'Confirm1':
    case 'Confirm2':
      return frameMessage(msg.type, cat(msg.confirmMac, msg.iv, msg.encrypted));
    case 'Error': {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, msg.code >>> 0);
      return frameMessage('Error', b);
    }
    case 'GoClear':
      return frameMessage('GoClear', msg.clearMac);
    case 'Ping':
      return frameMessage('Ping', cat(enc(msg.version, 4), msg.endpointHash));
    case 'PingACK': {
      const s = new Uint8Array(4);
      new DataView(s.buffer).setUint32(0, msg.ssrc >>> 0);
      return frameMessage('PingACK', cat(enc(msg.version, 4), msg.senderHash, msg.receivedHash, s));
    }
    case 'SASrelay':
      throw new ZrtpError('bad-argument', 'we never send SASrelay');
    default:
      return frameMessage(msg.type, new Uint8Array(0));
  }
}

/** Wraps a message into a packet: header, message, CRC-32C (least significant byte first, see crc32c.ts). */
export function framePacket(message: Uint8Array, sequence: number, ssrc: number): Uint8Array {
  const p = new Uint8Array(HEADER_LENGTH + message.length + 4);
  const dv = new DataView(p.buffer);
  p[0] = 0x10;
  dv.setUint16(2, sequence & 0xffff);
  dv.setUint32(4, MAGIC);
  dv.setUint32(8, ssrc >>> 0);
  p.set(message, HEADER_LENGTH);
  dv.setUint32(p.length - 4, crc32c(p.subarray(0, p.length - 4)), true);
  return p;
}
