// A private file's sender side (src/chat/file-send.ts): the ciphertext read in chunks of any size is the records of
// file-crypto.ts, back to back, and the receiver's decryptor gets the file back from it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  RECORD_CIPHERTEXT,
  RECORD_PLAINTEXT,
  StreamDecryptor,
  ciphertextSize,
  deriveFileKey,
} from '../../src/chat/file-crypto.js';
import { encryptingSource } from '../../src/chat/file-send.js';
import { SealingSource } from '../../src/chat/file-seal-thread.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const key = deriveFileKey(randomBytes(32), 'transfer-s');

async function readAll(plain: Buffer, chunk: number, from = 0): Promise<Buffer> {
  let reads = 0;
  const source = encryptingSource(key, plain.length, {
    read: async (pos, len) => {
      reads++;
      return plain.subarray(pos, pos + len);
    },
  });
  const total = ciphertextSize(plain.length);
  const out: Buffer[] = [];
  for (let pos = from; pos < total;) {
    const c = await source.read(pos, Math.min(chunk, total - pos));
    assert.ok(c.length > 0 && c.length <= chunk);
    out.push(Buffer.from(c));
    // Handed back as the socket does once it has taken a chunk: its buffer is used again for a later one.
    source.release?.(c);
    pos += c.length;
  }
  assert.ok(reads > 0);
  return Buffer.concat(out);
}

test('chunks of one record or of several give the same ciphertext, which decrypts to the file', async () => {
  const plain = randomBytes(RECORD_PLAINTEXT * 3 + 999);
  const oneRecord = await readAll(plain, RECORD_CIPHERTEXT);
  const large = await readAll(plain, 16 * RECORD_CIPHERTEXT);
  assert.equal(oneRecord.length, ciphertextSize(plain.length));
  assert.deepEqual(large, oneRecord);
  const d = new StreamDecryptor(key, plain.length);
  const back = Buffer.concat(d.push(large));
  d.end();
  assert.deepEqual(back, plain);
});

test('a resume starts at a record boundary only; a file that shrank on disk is reported', async () => {
  const plain = randomBytes(RECORD_PLAINTEXT * 2 + 10);
  const whole = await readAll(plain, RECORD_CIPHERTEXT);
  assert.deepEqual(await readAll(plain, RECORD_CIPHERTEXT, RECORD_CIPHERTEXT), whole.subarray(RECORD_CIPHERTEXT));
  const source = encryptingSource(key, plain.length, { read: async (pos, len) => plain.subarray(pos, pos + len) });
  await assert.rejects(source.read(100, RECORD_CIPHERTEXT), /record boundary/);
  const shrunk = encryptingSource(key, plain.length, {
    read: async (pos, len) => plain.subarray(pos, pos + len - 1),
  });
  await assert.rejects(shrunk.read(0, RECORD_CIPHERTEXT), /changed while it was being sent/);
});

test('SealingSource (a worker reading and encrypting ahead) gives the very ciphertext of encryptingSource, from a file on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-seal-'));
  try {
    const plain = randomBytes(RECORD_PLAINTEXT * 40 + 4321);
    const path = join(dir, 'plain.bin');
    writeFileSync(path, plain);
    const expected = await readAll(plain, RECORD_CIPHERTEXT);
    const fh = await open(path, 'r');
    for (const chunk of [RECORD_CIPHERTEXT, 16 * RECORD_CIPHERTEXT]) {
      const source = new SealingSource(fh.fd, key, plain.length);
      try {
        const got: Buffer[] = [];
        const total = ciphertextSize(plain.length);
        for (let pos = 0; pos < total;) {
          const c = await source.read(pos, Math.min(chunk, total - pos));
          assert.ok(c.length > 0);
          got.push(Buffer.from(c));
          // Handed back as the socket does: the worker fills it again for a later chunk.
          source.release(c);
          pos += c.length;
        }
        assert.deepEqual(Buffer.concat(got), expected);
        await assert.rejects(source.read(100, RECORD_CIPHERTEXT), /record boundary/);
      } finally {
        await source.close();
      }
    }
    // A file shorter on disk than announced: reported, not padded.
    const shrunk = new SealingSource(fh.fd, key, plain.length + RECORD_PLAINTEXT);
    await assert.rejects(
      (async () => {
        for (let pos = 0; ; pos += RECORD_CIPHERTEXT) await shrunk.read(pos, RECORD_CIPHERTEXT);
      })(),
      /changed while it was being sent/,
    );
    await shrunk.close();
    await fh.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
