// The private file format (README "Private file transfer"): a file encrypted and authenticated end to end with a
// key derived from OTR v3's extra symmetric key, carried by an ordinary RFC 5547 transfer. Pure: bytes in, bytes
// out. Every record is AES-256-GCM with its index and a final flag in the nonce, so a relay that drops, reorders,
// repeats, truncates or extends records, or flips a bit, makes the receiver refuse the file.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

/** TLV 8 use code ("BTF1"): the first 4 bytes of the TLV; its use-data is the transfer's a=file-transfer-id. */
export const FILE_KEY_USE = 0x42544631;
/** The SDP attribute of a private offer; its value is `v1 <base64 sealed metadata>`. */
export const PRIVATE_ATTRIBUTE = 'x-blink-tui-otr-file';
/** The a=blink-features token of a chat whose side takes private files. */
export const PRIVATE_FEATURE = 'blink-tui-otr-file-v1';
const LABEL = 'blink-tui file v1';
const TAG = 16;
/** Ciphertext record = one 64 KiB MSRP chunk. */
export const RECORD_CIPHERTEXT = 64 * 1024;
export const RECORD_PLAINTEXT = RECORD_CIPHERTEXT - TAG;
const FLAG_META = 0;
const FLAG_DATA = 1;
const FLAG_FINAL = 2;
const MAX_META = 4096;

export class FileCryptoError extends Error {
  override name = 'FileCryptoError';
}

export interface PrivateFileMeta {
  readonly name: string;
  readonly type: string;
  /** Plaintext size in bytes. */
  readonly size: number;
}

/** The transfer's key: HMAC-SHA256(extra key, "blink-tui file v1" || 0x00 || transfer-id as UTF-8). */
export function deriveFileKey(extraKey: Uint8Array, transferId: string): Uint8Array {
  if (extraKey.length !== 32) throw new FileCryptoError('the OTR extra symmetric key has 32 bytes');
  return new Uint8Array(
    createHmac('sha256', extraKey)
      .update(Buffer.concat([Buffer.from(LABEL, 'utf8'), Buffer.from([0]), Buffer.from(transferId, 'utf8')]))
      .digest(),
  );
}

/** 12-byte nonce: u32 flag (0 metadata, 1 data, 2 final data) || u64 record index, big-endian. */
function nonce(flag: number, index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(flag, 0);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function seal(key: Uint8Array, iv: Buffer, aad: Buffer, plain: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const out = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return out;
}

function open(key: Uint8Array, iv: Buffer, aad: Buffer, sealed: Uint8Array, what: string): Buffer {
  if (sealed.length < TAG) throw new FileCryptoError(`${what}: shorter than its tag`);
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    const plain = d.update(sealed.subarray(0, sealed.length - TAG));
    // GCM's final() checks the tag and yields nothing more: the record is `plain` itself, not a copy of it.
    const rest = d.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    throw new FileCryptoError(`${what}: authentication failed (altered, reordered or not for this key)`);
  }
}

/** Record count: ceil(size / RECORD_PLAINTEXT), at least one (an empty file is one empty final record). */
export function recordCount(size: number): number {
  return Math.max(1, Math.ceil(size / RECORD_PLAINTEXT));
}

/** Bytes on the wire (the offer's size) for a plaintext of `size` bytes. */
export function ciphertextSize(size: number): number {
  return size + TAG * recordCount(size);
}

/** The metadata (name, type, plaintext size), sealed under nonce(0, 0) with the label as AAD, base64. */
export function sealMetadata(key: Uint8Array, meta: PrivateFileMeta): string {
  const json = Buffer.from(JSON.stringify({ name: meta.name, type: meta.type, size: meta.size }), 'utf8');
  if (json.length > MAX_META) throw new FileCryptoError('file name too long');
  return seal(key, nonce(FLAG_META, 0), Buffer.from(LABEL, 'utf8'), json).toString('base64');
}

export function openMetadata(key: Uint8Array, sealedB64: string): PrivateFileMeta {
  if (sealedB64.length > ((MAX_META + TAG) * 4) / 3 + 8 || !/^[A-Za-z0-9+/]*={0,2}$/.test(sealedB64))
    throw new FileCryptoError('metadata: not base64 of a sensible length');
  const plain = open(
    key,
    nonce(FLAG_META, 0),
    Buffer.from(LABEL, 'utf8'),
    Buffer.from(sealedB64, 'base64'),
    'metadata',
  );
  let v: unknown;
  try {
    v = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new FileCryptoError('metadata: not JSON');
  }
  const o = v as Record<string, unknown>;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.name !== 'string' ||
    typeof o.type !== 'string' ||
    typeof o.size !== 'number' ||
    !Number.isSafeInteger(o.size) ||
    o.size < 0
  )
    throw new FileCryptoError('metadata: missing name, type or size');
  return { name: o.name, type: o.type, size: o.size };
}

/**
 * Record i (1-based) of the ciphertext: AES-256-GCM(key, nonce(final ? 2 : 1, i), plaintext, AAD = u64 size).
 * `plain` must be the file's bytes [(i-1)*RECORD_PLAINTEXT, +RECORD_PLAINTEXT) (shorter only for the last record).
 */
export function encryptRecord(key: Uint8Array, size: number, index: number, plain: Uint8Array): Buffer {
  const n = recordCount(size);
  if (index < 1 || index > n) throw new FileCryptoError(`record ${index} of ${n}`);
  const expected = index < n ? RECORD_PLAINTEXT : size - (n - 1) * RECORD_PLAINTEXT;
  if (plain.length !== expected)
    throw new FileCryptoError(`record ${index} has ${plain.length} bytes, not ${expected}`);
  return seal(key, nonce(index === n ? FLAG_FINAL : FLAG_DATA, index), u64(size), plain);
}

/**
 * encryptRecord into `out` at `at` (ciphertext then tag), for a sender that fills chunk buffers it uses again;
 * returns the bytes written. The same record, without a new buffer for each record and each chunk.
 */
export function encryptRecordInto(
  key: Uint8Array,
  size: number,
  index: number,
  plain: Uint8Array,
  out: Buffer,
  at: number,
): number {
  const n = recordCount(size);
  if (index < 1 || index > n) throw new FileCryptoError(`record ${index} of ${n}`);
  const expected = index < n ? RECORD_PLAINTEXT : size - (n - 1) * RECORD_PLAINTEXT;
  if (plain.length !== expected)
    throw new FileCryptoError(`record ${index} has ${plain.length} bytes, not ${expected}`);
  if (out.length - at < plain.length + TAG) throw new FileCryptoError('no room for the record');
  const c = createCipheriv('aes-256-gcm', key, nonce(index === n ? FLAG_FINAL : FLAG_DATA, index));
  c.setAAD(u64(size));
  let w = c.update(plain).copy(out, at);
  w += c.final().copy(out, at + w);
  w += c.getAuthTag().copy(out, at + w);
  return w;
}

/**
 * Decrypts the ciphertext stream as it arrives, in any split: push() returns the plaintext of every record
 * completed by these bytes (throws FileCryptoError on the first bad one); end() throws unless the final record
 * came and nothing after it.
 */
export class StreamDecryptor {
  private readonly n: number;
  private index = 1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;

  constructor(
    private readonly key: Uint8Array,
    private readonly size: number,
  ) {
    this.n = recordCount(size);
  }

  private recordLength(i: number): number {
    return (i < this.n ? RECORD_PLAINTEXT : this.size - (this.n - 1) * RECORD_PLAINTEXT) + TAG;
  }

  /** Bytes of an unfinished record kept (views of what push() was given: the caller must not reuse them). */
  get holding(): boolean {
    return this.pendingBytes > 0;
  }

  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    while (buf.length > 0) {
      if (this.done) throw new FileCryptoError('bytes after the final record');
      const need = this.recordLength(this.index) - this.pendingBytes;
      if (buf.length < need) {
        this.pending.push(buf);
        this.pendingBytes += buf.length;
        break;
      }
      const record = this.pending.length
        ? Buffer.concat([...this.pending, buf.subarray(0, need)])
        : buf.subarray(0, need);
      this.pending = [];
      this.pendingBytes = 0;
      buf = buf.subarray(need);
      const final = this.index === this.n;
      out.push(
        open(
          this.key,
          nonce(final ? FLAG_FINAL : FLAG_DATA, this.index),
          u64(this.size),
          record,
          `record ${this.index}`,
        ),
      );
      this.index++;
      if (final) this.done = true;
    }
    return out;
  }

  /** Throws unless the whole file arrived (truncation is not a shorter file). */
  end(): void {
    if (!this.done)
      throw new FileCryptoError(`the file ends before its final record (record ${this.index} of ${this.n})`);
  }
}
