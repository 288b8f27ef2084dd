// A file streamed over two real MSRP sessions on 127.0.0.1 (src/msrp/file-stream.ts): in order to the sink, REPORT
// per chunk, done at the REPORT that reaches TOTAL; a FILE_OFFSET answered with what the receiver has and data
// resumed after it; a sink that refuses the data makes the sender fail with the receiver's reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createMsrpSession, type LocalMsrpSession } from '../../src/msrp/index.js';
import { queryFileOffset, receiveFileStream, sendFileStream, type FileSink } from '../../src/msrp/file-stream.js';
import { MsrpStatusError } from '../../src/msrp/errors.js';
import type { MsrpIncomingChunk } from '../../src/msrp/session.js';

async function pair(): Promise<[LocalMsrpSession, LocalMsrpSession]> {
  const a = await createMsrpSession({ acceptTypes: ['*'], acceptWrappedTypes: [] });
  const b = await createMsrpSession({ acceptTypes: ['*'], acceptWrappedTypes: [] });
  const passive = b.startPassive({ remotePath: a.localPath });
  await a.startActive(b.localPath);
  await passive;
  return [a, b];
}

function memorySink(into: Buffer, refuseAt?: number): FileSink & { writes: number[] } {
  const writes: number[] = [];
  return {
    writes,
    write: async (pos, data) => {
      if (refuseAt !== undefined && pos >= refuseAt) throw new Error('refused: not this data');
      writes.push(pos);
      into.set(data, pos);
    },
    finish: async () => ({ ok: true }),
  };
}

test('a file arrives whole and in order; the sender is done at the final REPORT', async () => {
  const [a, b] = await pair();
  try {
    const data = randomBytes(5 * 65536 + 777);
    const got = Buffer.alloc(data.length);
    const sink = memorySink(got);
    const reports: number[] = [];
    a.on('report', (r) => reports.push(r.byteRange?.end ?? -1));
    // What the wire carried, as Blink sends a file: one Message-ID, 64 KiB chunks, '+' on all but the last ('$'),
    // a success report asked on every chunk.
    const seen: MsrpIncomingChunk[] = [];
    const setSink = b.setChunkSink.bind(b);
    b.setChunkSink = (sink) => setSink(sink && ((c) => (seen.push(c), sink(c))));
    const ended = new Promise((resolve) => receiveFileStream(b, sink, { total: data.length, onEnd: resolve }));
    await sendFileStream(
      a,
      { read: async (p, l) => data.subarray(p, p + l) },
      {
        total: data.length,
        contentType: 'application/octet-stream',
      },
    );
    assert.deepEqual(await ended, { ok: true });
    assert.deepEqual(got, data);
    assert.deepEqual(
      sink.writes,
      [0, 1, 2, 3, 4, 5].map((i) => i * 65536),
    );
    assert.equal(new Set(seen.map((c) => c.messageId)).size, 1);
    assert.deepEqual(
      seen.map((c) => [c.range.start, c.body.length, c.range.total, c.endFlag, c.successReport]),
      [0, 1, 2, 3, 4, 5].map((i) => [i * 65536 + 1, i < 5 ? 65536 : 777, data.length, i < 5 ? '+' : '$', true]),
    );
    // A REPORT per chunk, as Blink's receiver sends them; the last one reaches TOTAL.
    assert.equal(reports.length, 6);
    assert.equal(reports[reports.length - 1], data.length);
  } finally {
    a.close();
    b.close();
  }
});

test('FILE_OFFSET: the receiver says what it has, and the data resumes after it', async () => {
  const [a, b] = await pair();
  try {
    const data = randomBytes(3 * 65536);
    const have = 65536 + 100;
    const got = Buffer.alloc(data.length);
    data.copy(got, 0, 0, have);
    const sink = memorySink(got);
    const ended = new Promise((resolve) =>
      receiveFileStream(b, sink, { total: data.length, offset: have, onEnd: resolve }),
    );
    const offset = await queryFileOffset(a, data.length);
    assert.equal(offset, have);
    await sendFileStream(
      a,
      { read: async (p, l) => data.subarray(p, p + l) },
      {
        total: data.length,
        contentType: 'application/octet-stream',
        offset,
      },
    );
    assert.deepEqual(await ended, { ok: true });
    assert.equal(sink.writes[0], have, 'the first byte written is the one after what the receiver had');
    // The first chunk after the offset is cut short, so that every later one starts on a chunk boundary (the
    // sender's file reader hands out pieces of blocks that are whole numbers of chunks).
    assert.deepEqual(sink.writes, [have, 2 * 65536]);
    assert.deepEqual(got, data);
  } finally {
    a.close();
    b.close();
  }
});

test('a sink that refuses the data: the sender fails with the receiver reason', async () => {
  const [a, b] = await pair();
  try {
    const data = randomBytes(4 * 65536);
    const ended = new Promise<unknown>((resolve) =>
      receiveFileStream(b, memorySink(Buffer.alloc(data.length), 2 * 65536), { total: data.length, onEnd: resolve }),
    );
    await assert.rejects(
      sendFileStream(
        a,
        { read: async (p, l) => data.subarray(p, p + l) },
        {
          total: data.length,
          contentType: 'application/octet-stream',
        },
      ),
      (e: Error) => e instanceof MsrpStatusError && /refused: not this data/.test(e.message),
    );
    assert.deepEqual(await ended, { ok: false, reason: 'refused: not this data' });
  } finally {
    a.close();
    b.close();
  }
});
