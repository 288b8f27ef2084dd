// The file transfer's disk and hash stages on real files in a temp folder: read-ahead with reused buffers, the
// batched writer's 128 KiB calls, the piecewise reader, and the SHA-1 that runs in a worker thread for large files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchedFileWriter, ReadAhead, forEachPiece, hashFileHandle } from '../../src/chat/file-io.js';
import { FileSinkThread, SINK_THREAD_MIN_BYTES } from '../../src/chat/file-sink-thread.js';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'blink-file-io-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('ReadAhead hands out every piece of the file, and fills a released block again instead of a new one', async () => {
  using t = tempDir();
  const block = 64 * 1024;
  const data = randomBytes(block * 20 + 1234);
  const path = join(t.dir, 'src.bin');
  writeFileSync(path, data);
  const fh = await open(path, 'r');
  try {
    const r = new ReadAhead(fh, data.length, block, 2);
    const chunk = block / 4;
    const buffers = new Set<ArrayBufferLike>();
    const out: Buffer[] = [];
    for (let pos = 0; pos < data.length; pos += chunk) {
      const piece = await r.read(pos, Math.min(chunk, data.length - pos));
      // Copied before release: the block's memory is about to be read into again.
      out.push(Buffer.from(piece));
      buffers.add(piece.buffer);
      r.release(piece);
    }
    assert.ok(Buffer.concat(out).equals(data));
    // 21 blocks went through at most 1 + 2 ahead + 1 being retired buffers.
    assert.ok(buffers.size <= 4, `${buffers.size} buffers for 21 blocks`);
    // A piece that is never released keeps its block out of reuse: the next pass needs new memory for it.
    const kept = await r.read(0, chunk);
    const keptCopy = Buffer.from(kept);
    for (let pos = block; pos < data.length; pos += chunk)
      r.release(await r.read(pos, Math.min(chunk, data.length - pos)));
    assert.ok(Buffer.from(kept).equals(keptCopy), 'a piece still out was overwritten');
  } finally {
    await fh.close();
  }
});

test('BatchedFileWriter writes pieces of any size (cut into 128 KiB calls) in place, and reports each as written', async () => {
  using t = tempDir();
  const path = join(t.dir, 'out.bin');
  const fh = await open(path, 'w');
  const sizes = [1, 65536, 1048576 + 7, 200_000, 3, 131072, 131073, 5 * 1024 * 1024];
  const pieces = sizes.map((n) => randomBytes(n));
  let written = 0;
  try {
    const w = new BatchedFileWriter(fh);
    let pos = 0;
    for (const p of pieces) {
      await w.write(pos, p, () => written++);
      pos += p.length;
    }
    await w.flush();
  } finally {
    await fh.close();
  }
  assert.equal(written, pieces.length);
  assert.ok(readFileSync(path).equals(Buffer.concat(pieces)));
});

test('forEachPiece and hashFileHandle read a file whole through two buffers; a stop ends it', async () => {
  using t = tempDir();
  const data = randomBytes(5 * 1024 * 1024 + 99);
  const path = join(t.dir, 'h.bin');
  writeFileSync(path, data);
  const fh = await open(path, 'r');
  try {
    const seen: number[] = [];
    const digest = await hashFileHandle(fh, data.length, (n) => seen.push(n));
    assert.equal(Buffer.from(digest).toString('hex'), sha1(data));
    assert.equal(seen[seen.length - 1], data.length);
    // The first 3 MiB only (a resume feeds the kept part of a file).
    const h = createHash('sha1');
    await forEachPiece(fh, 3 * 1024 * 1024, (p) => void h.update(p));
    assert.equal(h.digest('hex'), sha1(data.subarray(0, 3 * 1024 * 1024)));
    await assert.rejects(
      hashFileHandle(fh, data.length, undefined, () => true),
      /cancelled/,
    );
    assert.equal(Buffer.from(await hashFileHandle(fh, 0)).toString('hex'), sha1(new Uint8Array(0)));
  } finally {
    await fh.close();
  }
});

test('FileSinkThread writes and hashes shared and copied pieces (small, and larger than its ring) in order', async () => {
  using t = tempDir();
  const path = join(t.dir, 'sink.bin');
  const fh = await open(path, 'w');
  const total = SINK_THREAD_MIN_BYTES;
  const sink = new FileSinkThread({ hash: true, fd: fh.fd });
  const ref = createHash('sha1');
  const shared = Buffer.from(new SharedArrayBuffer(1024 * 1024 + 300));
  let fed = 0;
  let doneCount = 0;
  let sharedCalls = 0;
  let expected = '';
  // The shared buffer is filled again only once its last piece is let go, as the parser's pool buffers are.
  let sharedFree: Promise<void> = Promise.resolve();
  try {
    for (let call = 1; fed < total; call++) {
      const kind = call % 3 === 0 ? 'small' : call % 5 === 0 ? 'large' : 'shared';
      const n = Math.min(
        kind === 'shared' ? 1024 * 1024 : kind === 'small' ? 70_000 : 5 * 1024 * 1024 + 17,
        total - fed,
      );
      if (kind === 'shared') await sharedFree;
      const piece = kind === 'shared' ? shared.subarray(100, 100 + n) : Buffer.from(randomBytes(n));
      if (kind === 'shared') randomBytes(n).copy(piece);
      ref.update(piece);
      if (kind === 'shared') {
        sharedCalls++;
        sharedFree = new Promise<void>(
          (r) =>
            void sink.put(piece, fed, () => {
              doneCount++;
              r();
            }),
        );
        // put() resolved or not, the piece is now the thread's until its callback.
      } else {
        // Copied into the ring: the caller may fill its buffer again at once.
        let letGo = false;
        await sink.put(piece, fed, () => (letGo = true));
        assert.ok(letGo);
        piece.fill(0);
      }
      fed += n;
    }
    expected = ref.digest('hex');
    assert.equal(await sink.finish(), expected);
    assert.equal(doneCount, sharedCalls);
  } finally {
    await sink.close();
    await fh.close();
  }
  // What the thread wrote is what was put, where it was put.
  assert.equal(sha1(readFileSync(path)), expected);
});

test('FileSinkThread: a write that fails fails the next put or finish with the reason', async () => {
  using t = tempDir();
  const path = join(t.dir, 'ro.bin');
  writeFileSync(path, 'x');
  const fh = await open(path, 'r');
  const sink = new FileSinkThread({ hash: false, fd: fh.fd });
  try {
    const piece = randomBytes(2 * 1024 * 1024);
    await sink.put(piece, 0).catch(() => undefined);
    await assert.rejects(
      (async () => {
        for (let i = 1; i < 20; i++) await sink.put(piece, i * piece.length);
        await sink.finish();
      })(),
      /cannot write the file/,
    );
  } finally {
    await sink.close();
    await fh.close();
  }
});
