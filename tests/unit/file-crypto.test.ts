// The private file format (src/chat/file-crypto.ts, README "Private file transfer"): round trip in any split,
// and every way a relay could change the ciphertext is refused: a flipped bit, records reordered, repeated,
// dropped or cut off, bytes added after the end, another key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  FileCryptoError,
  RECORD_CIPHERTEXT,
  RECORD_PLAINTEXT,
  StreamDecryptor,
  ciphertextSize,
  deriveFileKey,
  encryptRecord,
  encryptRecordInto,
  openMetadata,
  recordCount,
  sealMetadata,
} from '../../src/chat/file-crypto.js';

const extra = randomBytes(32);
const key = deriveFileKey(extra, 'transfer-1');

function encrypt(k: Uint8Array, plain: Buffer): Buffer {
  const n = recordCount(plain.length);
  const out: Buffer[] = [];
  for (let i = 1; i <= n; i++)
    out.push(encryptRecord(k, plain.length, i, plain.subarray((i - 1) * RECORD_PLAINTEXT, i * RECORD_PLAINTEXT)));
  return Buffer.concat(out);
}

function decrypt(k: Uint8Array, size: number, wire: Buffer, piece = 7777): Buffer {
  const d = new StreamDecryptor(k, size);
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length; i += piece) out.push(...d.push(wire.subarray(i, i + piece)));
  d.end();
  return Buffer.concat(out);
}

test('round trip for 0, 1, one record, one record + 1 and several records, whatever the split', () => {
  for (const size of [0, 1, RECORD_PLAINTEXT - 1, RECORD_PLAINTEXT, RECORD_PLAINTEXT + 1, 5 * RECORD_PLAINTEXT + 123]) {
    const plain = randomBytes(size);
    const wire = encrypt(key, plain);
    assert.equal(wire.length, ciphertextSize(size));
    for (const piece of [1000, 65536, 1 << 20])
      assert.deepEqual(decrypt(key, size, wire, piece), plain, `size ${size}`);
  }
  // Each full record is exactly one 64 KiB MSRP chunk.
  assert.equal(ciphertextSize(3 * RECORD_PLAINTEXT), 3 * RECORD_CIPHERTEXT);
});

test('the key depends on the extra key and the transfer id', () => {
  assert.notDeepEqual(deriveFileKey(extra, 'transfer-2'), key);
  assert.notDeepEqual(deriveFileKey(randomBytes(32), 'transfer-1'), key);
  assert.throws(() => deriveFileKey(randomBytes(16), 'x'), FileCryptoError);
});

test('tampering is refused: a flipped bit, another key', () => {
  const plain = randomBytes(3 * RECORD_PLAINTEXT);
  const wire = encrypt(key, plain);
  const flipped = Buffer.from(wire);
  flipped[RECORD_CIPHERTEXT + 100]! ^= 0x80;
  assert.throws(() => decrypt(key, plain.length, flipped), /record 2: authentication failed/);
  assert.throws(() => decrypt(deriveFileKey(extra, 'other'), plain.length, wire), FileCryptoError);
});

test('reordered, repeated or dropped records are refused', () => {
  const plain = randomBytes(3 * RECORD_PLAINTEXT + 10);
  const wire = encrypt(key, plain);
  const rec = (i: number) => wire.subarray(i * RECORD_CIPHERTEXT, (i + 1) * RECORD_CIPHERTEXT);
  const swapped = Buffer.concat([rec(1), rec(0), rec(2), wire.subarray(3 * RECORD_CIPHERTEXT)]);
  assert.throws(() => decrypt(key, plain.length, swapped), FileCryptoError);
  const repeated = Buffer.concat([rec(0), rec(0), rec(2), wire.subarray(3 * RECORD_CIPHERTEXT)]);
  assert.throws(() => decrypt(key, plain.length, repeated), FileCryptoError);
});

test('truncation is refused: a stream cut at a record boundary is not a shorter file', () => {
  const plain = randomBytes(2 * RECORD_PLAINTEXT);
  const wire = encrypt(key, plain);
  const d = new StreamDecryptor(key, plain.length);
  assert.equal(d.push(wire.subarray(0, RECORD_CIPHERTEXT)).length, 1);
  assert.throws(() => d.end(), /ends before its final record/);
  // Claiming the file had one record: record 1 was not sealed as final, so it is refused.
  assert.throws(() => decrypt(key, RECORD_PLAINTEXT, wire.subarray(0, RECORD_CIPHERTEXT)), FileCryptoError);
  // Bytes after the final record are refused too.
  assert.throws(() => decrypt(key, plain.length, Buffer.concat([wire, Buffer.from([1])])), /after the final record/);
});

test('metadata is sealed and checked', () => {
  const meta = { name: 'Grüße.pdf', type: 'application/pdf', size: 42 };
  const sealed = sealMetadata(key, meta);
  assert.doesNotMatch(Buffer.from(sealed, 'base64').toString('latin1'), /Gr|pdf/);
  assert.deepEqual(openMetadata(key, sealed), meta);
  assert.throws(() => openMetadata(deriveFileKey(extra, 'x'), sealed), FileCryptoError);
  const raw = Buffer.from(sealed, 'base64');
  raw[0]! ^= 1;
  assert.throws(() => openMetadata(key, raw.toString('base64')), FileCryptoError);
  assert.throws(() => openMetadata(key, '!!!'), FileCryptoError);
  assert.throws(() => openMetadata(key, 'A'.repeat(100000)), FileCryptoError);
});

test('encryptRecordInto writes the very record encryptRecord makes, at its place in a reused buffer', () => {
  const k = randomBytes(32);
  const size = 2 * RECORD_PLAINTEXT + 1000;
  const plain = randomBytes(size);
  const out = Buffer.alloc(3 * RECORD_PLAINTEXT + 100, 0xee);
  let at = 0;
  for (let i = 1; i <= 3; i++) {
    const p = plain.subarray((i - 1) * RECORD_PLAINTEXT, Math.min(i * RECORD_PLAINTEXT, size));
    const n = encryptRecordInto(k, size, i, p, out, at);
    assert.ok(out.subarray(at, at + n).equals(encryptRecord(k, size, i, p)), `record ${i}`);
    at += n;
  }
  assert.equal(at, size + 3 * 16);
  // No room left for a record: refused, nothing written past the buffer.
  assert.throws(() => encryptRecordInto(k, size, 3, plain.subarray(2 * RECORD_PLAINTEXT), out, out.length - 10));
});
