// DER, PEM and PKCS#8 for DSA private keys: what OpenSSL writes (key generation reads its PKCS#8 export) and
// what `blink-tui import` reads (current Blink's otr.key, OpenSSL's traditional "DSA PRIVATE KEY").
// Errors are EncodingError('bad-der'); nothing here checks that the numbers form a usable key (checkDsaKey does).
import { EncodingError, bytesToBigint, modPowBigint } from '../bytes/bytes.js';
import type { DsaKeyParams } from './dsa-key.js';

class DerError extends EncodingError {
  constructor(message: string) {
    super('bad-der', message);
  }
}

/** One DER element; `content` is a view into the input. */
export interface DerNode {
  tag: number;
  content: Uint8Array;
  /** Offset just past this element. */
  end: number;
}

const MAX_DEPTH = 16;

/** Reads one DER TLV at `off`. Lengths are checked against the input before anything is sliced. */
export function readDer(buf: Uint8Array, off = 0): DerNode {
  if (off + 2 > buf.length) throw new DerError(`DER: truncated header at offset ${off}`);
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`DER: multi-byte tags are not used in keys (offset ${off})`);
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`DER: unsupported length form at offset ${off}`);
    if (p + n > buf.length) throw new DerError(`DER: truncated length at offset ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length)
    throw new DerError(`DER: element at offset ${off} claims ${len} bytes, only ${buf.length - p} left`);
  return { tag, content: buf.subarray(p, p + len), end: p + len };
}

/** The children of a constructed element (SEQUENCE, or an OCTET STRING that wraps DER). */
export function derChildren(content: Uint8Array, depth = 0): DerNode[] {
  if (depth > MAX_DEPTH) throw new DerError('DER: nested too deeply');
  const out: DerNode[] = [];
  let off = 0;
  while (off < content.length) {
    const n = readDer(content, off);
    out.push(n);
    off = n.end;
  }
  return out;
}

export const TAG_INTEGER = 0x02;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

function expect(n: DerNode | undefined, tag: number, what: string): DerNode {
  if (!n) throw new DerError(`DER: missing ${what}`);
  if (n.tag !== tag) throw new DerError(`DER: ${what} has tag 0x${n.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return n;
}

function derInteger(n: DerNode | undefined, what: string): bigint {
  const node = expect(n, TAG_INTEGER, what);
  if (node.content.length === 0) throw new DerError(`DER: empty INTEGER ${what}`);
  if (node.content[0]! & 0x80) throw new DerError(`DER: ${what} is negative`);
  return bytesToBigint(node.content);
}

export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new DerError('DER: empty OID');
  const parts: number[] = [];
  const first = content[0]!;
  parts.push(Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40)));
  let v = 0;
  for (let i = 1; i < content.length; i++) {
    const b = content[i]!;
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export const OID_DSA = '1.2.840.10040.4.1';

/**
 * PKCS#8 PrivateKeyInfo for DSA: SEQUENCE { version, SEQUENCE { OID dsa, SEQUENCE { p, q, g } }, OCTET STRING { x } }.
 * y is not stored in PKCS#8, so it is recomputed.
 */
export function parsePkcs8DsaDer(der: Uint8Array): DsaKeyParams {
  const top = readDer(der);
  expect(top, TAG_SEQUENCE, 'PrivateKeyInfo');
  if (top.end !== der.length) throw new DerError('DER: trailing bytes after PrivateKeyInfo');
  const [version, algo, pkey] = derChildren(top.content);
  const ver = derInteger(version, 'version');
  if (ver !== 0n && ver !== 1n) throw new DerError(`PKCS#8: unknown version ${ver}`);
  const algoParts = derChildren(expect(algo, TAG_SEQUENCE, 'AlgorithmIdentifier').content);
  const oid = decodeOid(expect(algoParts[0], TAG_OID, 'algorithm OID').content);
  if (oid !== OID_DSA) throw new DerError(`PKCS#8: key algorithm ${oid} is not DSA (${OID_DSA})`);
  const params = derChildren(expect(algoParts[1], TAG_SEQUENCE, 'DSA parameters').content);
  const p = derInteger(params[0], 'p');
  const q = derInteger(params[1], 'q');
  const g = derInteger(params[2], 'g');
  const inner = readDer(expect(pkey, TAG_OCTET_STRING, 'privateKey').content);
  const x = derInteger(inner, 'x');
  return { p, q, g, y: modPowBigint(g, x, p), x };
}

/** OpenSSL's traditional "DSA PRIVATE KEY": SEQUENCE { 0, p, q, g, y, x }. */
export function parseTraditionalDsaDer(der: Uint8Array): DsaKeyParams {
  const top = readDer(der);
  expect(top, TAG_SEQUENCE, 'DSAPrivateKey');
  const f = derChildren(top.content);
  if (derInteger(f[0], 'version') !== 0n) throw new DerError('DSAPrivateKey: unknown version');
  return {
    p: derInteger(f[1], 'p'),
    q: derInteger(f[2], 'q'),
    g: derInteger(f[3], 'g'),
    y: derInteger(f[4], 'y'),
    x: derInteger(f[5], 'x'),
  };
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** All PEM blocks in a text, in order. */
export function parsePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2]!;
    if (/:/.test(body)) throw new DerError(`PEM block "${m[1]}" has headers (legacy encrypted PEM is not supported)`);
    const b64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new DerError(`PEM block "${m[1]}" is not valid base64`);
    out.push({ label: m[1]!, der: Uint8Array.from(Buffer.from(b64, 'base64')) });
  }
  return out;
}
