// The receiver's file on disk (src/chat/file-receive.ts) on a real temp folder: kept only once checked, renamed to a
// name it does not overwrite, resumed from a partial file named by the offer's hash, never left half-written.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import {
  RECORD_PLAINTEXT,
  ciphertextSize,
  deriveFileKey,
  encryptRecord,
  recordCount,
} from '../../src/chat/file-crypto.js';
import { IncomingFile, TamperError, type IncomingOffer } from '../../src/chat/file-receive.js';

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});
function folder(): string {
  const f = mkdtempSync(join(tmpdir(), 'file-receive-'));
  folders.push(f);
  return f;
}

const sha1 = (b: Uint8Array) => new Uint8Array(createHash('sha1').update(b).digest());
const named = (name: string) => (dir: string) => join(dir, name);

function plainOffer(data: Buffer, over: Partial<IncomingOffer> = {}): IncomingOffer {
  return {
    id: 'f1',
    name: 'a.bin',
    size: data.length,
    wireSize: data.length,
    encrypted: false,
    cancelled: false,
    sha1: sha1(data),
    ...over,
  };
}

async function feed(file: IncomingFile, data: Uint8Array, from = 0, piece = 1000): Promise<void> {
  const sink = file.sink(() => Promise.reject(new Error('the test checks by itself')));
  for (let pos = from; pos < data.length; pos += piece) await sink.write(pos, data.subarray(pos, pos + piece));
}

test('a plain file whose bytes match the hash is renamed to its final name, and no temp file stays', async () => {
  const dir = folder();
  const data = randomBytes(5000);
  const offer = plainOffer(data);
  const file = await IncomingFile.open(dir, offer);
  assert.equal(file.offset, 0);
  await feed(file, data);
  const r = await file.check(offer, named('a.bin'));
  assert.deepEqual(r, { ok: true, path: join(dir, 'a.bin') });
  assert.deepEqual(readFileSync(join(dir, 'a.bin')), data);
  assert.deepEqual(readdirSync(dir), ['a.bin']);
});

test('bytes that do not match the hash are refused and nothing is kept, not even for a resume', async () => {
  const dir = folder();
  const data = randomBytes(3000);
  const offer = plainOffer(data);
  const file = await IncomingFile.open(dir, offer);
  const altered = Buffer.from(data);
  altered[1234]! ^= 0x40;
  await feed(file, altered);
  const r = await file.check(offer, named('a.bin'));
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.comment, /does not match the hash/);
  await file.discard(false);
  assert.deepEqual(readdirSync(dir), []);
});

test('a partial plain file is kept under its hash and a later offer of the same file resumes from it', async () => {
  const dir = folder();
  const data = randomBytes(10_000);
  const offer = plainOffer(data);
  const first = await IncomingFile.open(dir, offer);
  await feed(first, data.subarray(0, 4000));
  await first.discard(false);
  const kept = readdirSync(dir);
  assert.equal(kept.length, 1);
  assert.match(kept[0]!, /^\.blink-tui-[0-9a-f]{40}\.part$/);

  // What the writer had put on disk stays (bytes still queued when the transfer ends are dropped with it).
  const have = statSync(join(dir, kept[0]!)).size;
  assert.ok(have > 0 && have <= 4000, `kept ${have} bytes`);
  assert.deepEqual(readFileSync(join(dir, kept[0]!)), data.subarray(0, have));

  const second = await IncomingFile.open(dir, offer);
  assert.equal(second.offset, have);
  await feed(second, data, have);
  const r = await second.check(offer, named('a.bin'));
  assert.equal(r.ok, true);
  assert.deepEqual(readFileSync(join(dir, 'a.bin')), data);
  assert.deepEqual(readdirSync(dir), ['a.bin']);
});

test('a partial file the receiver cancelled is removed; one the size of the whole file is not resumed', async () => {
  const dir = folder();
  const data = randomBytes(2000);
  const offer = plainOffer(data);
  const file = await IncomingFile.open(dir, offer);
  await feed(file, data.subarray(0, 1000));
  await file.discard(true);
  assert.deepEqual(readdirSync(dir), []);

  // A kept part as long as the offer cannot be a prefix of it: start again.
  const temp = join(dir, `.blink-tui-${Buffer.from(offer.sha1!).toString('hex')}.part`);
  writeFileSync(temp, data);
  const again = await IncomingFile.open(dir, offer);
  assert.equal(again.offset, 0);
  await again.close();
});

test('a transfer that is ending when the last byte arrives is not completed', async () => {
  const dir = folder();
  const data = randomBytes(100);
  const file = await IncomingFile.open(dir, plainOffer(data));
  await feed(file, data);
  const r = await file.check(plainOffer(data, { ending: true, cancelled: true }), named('a.bin'));
  assert.deepEqual(r, { ok: false, code: 400, comment: 'cancelled by the receiver' });
  await file.discard(true);
  assert.deepEqual(readdirSync(dir), []);
});

test('a private file is decrypted record by record; an altered record is refused as tampering', async () => {
  const key = deriveFileKey(randomBytes(32), 'transfer-9');
  const plain = randomBytes(RECORD_PLAINTEXT * 2 + 123);
  const records: Buffer[] = [];
  for (let i = 1; i <= recordCount(plain.length); i++)
    records.push(encryptRecord(key, plain.length, i, plain.subarray((i - 1) * RECORD_PLAINTEXT, i * RECORD_PLAINTEXT)));
  const wire = Buffer.concat(records);
  assert.equal(wire.length, ciphertextSize(plain.length));
  const offer: IncomingOffer = {
    id: 'p1',
    name: 'p.bin',
    size: plain.length,
    wireSize: wire.length,
    encrypted: true,
    cancelled: false,
    key,
  };

  const dir = folder();
  const file = await IncomingFile.open(dir, offer);
  assert.equal(file.isPrivate, true);
  await feed(file, wire, 0, 7777);
  assert.equal(file.decrypted, plain.length);
  assert.deepEqual(await file.check(offer, named('p.bin')), { ok: true, path: join(dir, 'p.bin') });
  assert.deepEqual(readFileSync(join(dir, 'p.bin')), plain);

  const dir2 = folder();
  const bad = await IncomingFile.open(dir2, offer);
  const altered = Buffer.from(wire);
  altered[100]! ^= 1;
  await assert.rejects(feed(bad, altered, 0, 7777), TamperError);
  await bad.discard(false);
  assert.deepEqual(readdirSync(dir2), []);
});

test('a large private file is decrypted by the writing thread: whole, refused when altered (no byte of the altered record on disk), refused when cut short', async () => {
  // The writing thread takes files from this size on (64 MiB otherwise).
  process.env.BLINK_TUI_FILE_THREAD_MIN = '1';
  try {
    const key = deriveFileKey(randomBytes(32), 'transfer-10');
    const plain = randomBytes(RECORD_PLAINTEXT * 5 + 4321);
    const records: Buffer[] = [];
    for (let i = 1; i <= recordCount(plain.length); i++)
      records.push(
        encryptRecord(key, plain.length, i, plain.subarray((i - 1) * RECORD_PLAINTEXT, i * RECORD_PLAINTEXT)),
      );
    const wire = Buffer.concat(records);
    const offer: IncomingOffer = {
      id: 'p2',
      name: 'p.bin',
      size: plain.length,
      wireSize: wire.length,
      encrypted: true,
      cancelled: false,
      key,
    };
    // Pieces in shared memory (as the MSRP parser's chunk bodies are), split off record boundaries.
    const sharedWire = (bytes: Buffer) => {
      const s = Buffer.from(new SharedArrayBuffer(bytes.length));
      bytes.copy(s);
      return s;
    };

    const dir = folder();
    const file = await IncomingFile.open(dir, offer);
    assert.equal(file.isPrivate, true);
    await feed(file, sharedWire(wire), 0, 50_000);
    assert.equal(file.decrypted, plain.length);
    assert.deepEqual(await file.check(offer, named('p.bin')), { ok: true, path: join(dir, 'p.bin') });
    assert.deepEqual(readFileSync(join(dir, 'p.bin')), plain);

    // Record 3 altered: refused, either while the bytes come or at the check, and records 3.. never written.
    const dir2 = folder();
    const bad = await IncomingFile.open(dir2, offer);
    const altered = Buffer.from(wire);
    altered[2 * 65536 + 10]! ^= 1;
    let refusal = '';
    try {
      await feed(bad, sharedWire(altered), 0, 70_000);
      const r = await bad.check(offer, named('p.bin'));
      assert.equal(r.ok, false);
      if (!r.ok) refusal = r.comment;
    } catch (e) {
      assert.ok(e instanceof TamperError, String(e));
      refusal = e.message;
    }
    assert.match(refusal, /altered on the way \(record 3: authentication failed/);
    const temp = readdirSync(dir2)[0] ?? '';
    assert.ok(temp.endsWith('.part'), temp);
    assert.ok(statSync(join(dir2, temp)).size <= 2 * RECORD_PLAINTEXT, 'nothing of record 3 or after is written');
    await bad.discard(false);
    assert.deepEqual(readdirSync(dir2), []);

    // The final record missing: not a shorter file.
    const dir3 = folder();
    const cut = await IncomingFile.open(dir3, offer);
    await feed(cut, wire.subarray(0, 5 * 65536), 0, 65536);
    const r3 = await cut.check(offer, named('p.bin'));
    assert.deepEqual(r3, {
      ok: false,
      code: 400,
      comment: 'refused: the file ends before its final record (record 6 of 6)',
    });
    await cut.discard(false);
    assert.deepEqual(readdirSync(dir3), []);
  } finally {
    delete process.env.BLINK_TUI_FILE_THREAD_MIN;
  }
});
