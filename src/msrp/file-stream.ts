// RFC 5547 file data over one MSRP session, streamed: the sender reads a piece only when the previous one is with
// the kernel, the receiver hands each chunk to its sink as it arrives (nothing is reassembled in memory). The wire
// follows Blink (STACK.md): one Message-ID per file, 64 KiB chunks, `Byte-Range: S-E/TOTAL`, `+` on every chunk but
// the last, success and failure reports asked on every chunk, a REPORT per chunk from the receiver, the transfer
// done when a success REPORT reaches TOTAL; a resume starts with FILE_OFFSET, answered 200 with `Offset: N`.
import { MsrpStatusError, MsrpTimeoutError } from './errors.js';
import { getHeader } from './frame.js';
import { newMessageId } from './ids.js';
import type { MsrpIncomingChunk, MsrpReportEvent, MsrpSession } from './session.js';

export const FILE_CHUNK_SIZE = 64 * 1024;
export const FILE_OFFSET_METHOD = 'FILE_OFFSET';
/** Chunks written but not yet with the kernel, at most. */
const WRITE_WINDOW = 4;

export interface FileSource {
  /** Bytes of the file (or ciphertext) from `position` (0-based), at most `length`; fewer only at its end. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** A piece from read() is with the kernel (or will never be sent): the source may fill its memory again. */
  release?(piece: Uint8Array): void;
}

export interface SendFileOptions {
  readonly total: number;
  readonly contentType: string;
  /** Bytes the receiver already has (FILE_OFFSET): sending starts after them. */
  readonly offset?: number;
  readonly chunkSize?: number;
  readonly messageId?: string;
  /** Bytes confirmed so far (transaction 200s), including `offset`. */
  readonly onProgress?: (bytes: number) => void;
  /** How long to wait for the final success REPORT after the last 200. Default 30 s. */
  readonly reportTimeoutMs?: number;
  /** Set to stop between chunks (cancel). */
  readonly aborted?: () => boolean;
}

/**
 * Asks the receiver how much of this file it already has (Blink's FILE_OFFSET). 0 when it answers anything but a
 * 200 with a usable Offset header.
 */
export async function queryFileOffset(session: MsrpSession, total: number): Promise<number> {
  try {
    const r = await session.request(FILE_OFFSET_METHOD);
    const v = getHeader(r.headers, 'Offset');
    if (v === undefined || !/^\d{1,16}$/.test(v.trim())) return 0;
    const n = Number(v.trim());
    return n >= 0 && n <= total ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * Sends a file as one MSRP message and resolves once the receiver's success REPORT covers its last byte. Rejects
 * with MsrpStatusError (an error response or failure REPORT), MsrpTimeoutError or MsrpClosedError.
 */
export async function sendFileStream(session: MsrpSession, src: FileSource, o: SendFileOptions): Promise<void> {
  const chunkSize = o.chunkSize ?? FILE_CHUNK_SIZE;
  const messageId = o.messageId ?? newMessageId();
  const total = o.total;
  let failure: Error | null = null;
  let confirmed = o.offset ?? 0;
  let settle: { resolve(): void; reject(e: Error): void } | null = null;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined);
  const cleanup = () => {
    session.off('report', onReport);
    session.off('close', onClose);
  };
  const fail = (e: Error) => {
    failure ??= e;
    cleanup();
    settle!.reject(failure);
  };
  const onReport = (r: MsrpReportEvent) => {
    if (r.messageId !== messageId) return;
    if (r.status === 'failed') fail(new MsrpStatusError(r.code, r.comment || 'failure report', messageId));
    else if (r.byteRange && r.byteRange.end !== null && r.byteRange.end >= total) {
      cleanup();
      settle!.resolve();
    }
  };
  const onClose = () => fail(new MsrpStatusError(0, 'the MSRP session closed before the transfer was confirmed'));
  session.on('report', onReport);
  session.once('close', onClose);

  let pos = o.offset ?? 0;
  let emptyAnswered: Promise<unknown> | null = null;
  const inFlight: Promise<void>[] = [];
  do {
    if (failure) break;
    if (o.aborted?.()) {
      fail(new MsrpStatusError(0, 'cancelled'));
      break;
    }
    // Chunks end on multiples of the chunk size: after a resume at any offset, the first one is shorter (the file's
    // reader hands out pieces of its blocks, which are whole numbers of chunks).
    const want = Math.min(chunkSize - (pos % chunkSize), total - pos);
    const piece = want > 0 ? await src.read(pos, want) : new Uint8Array(0);
    if (piece.length !== want) {
      fail(new MsrpStatusError(0, `the file changed while it was being sent (read ${piece.length} of ${want} bytes)`));
      break;
    }
    const last = pos + piece.length >= total;
    const sent = session.sendChunk({
      messageId,
      // A 0-byte file is one empty chunk 1-0/0 with a Content-Type (without one it would be a bind SEND).
      range: { start: pos + 1, end: pos + piece.length, total },
      contentType: o.contentType,
      body: piece,
      endFlag: last ? '$' : '+',
      successReport: true,
    });
    const { written, answered } = sent;
    if (total === 0) emptyAnswered = answered;
    const len = piece.length;
    answered.then(
      () => {
        confirmed += len;
        o.onProgress?.(confirmed);
      },
      (e: Error) => fail(e),
    );
    // A few chunks may be on their way to the kernel at once (each event-loop turn then carries more than one);
    // past that the sender waits: at most WRITE_WINDOW chunks of the file are ever in this process.
    written.then(
      () => src.release?.(piece),
      (e: Error) => fail(e),
    );
    inFlight.push(written);
    if (inFlight.length >= WRITE_WINDOW) {
      try {
        await inFlight.shift();
      } catch {
        break;
      }
    }
    if (failure) break;
    pos += piece.length;
  } while (pos < total);
  await Promise.allSettled(inFlight);
  if (!failure && emptyAnswered) {
    // An empty file: Blink never offers one and completes a received one when the sender hangs up (STACK.md), so
    // it may send no REPORT for its one empty chunk; the chunk's 200, or a REPORT, is enough.
    await Promise.race([emptyAnswered, done]);
    cleanup();
    return;
  }
  if (!failure) {
    const timeoutMs = o.reportTimeoutMs ?? 30_000;
    const timer = setTimeout(
      () => fail(new MsrpTimeoutError(`no success report for the whole file within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // The timer runs from the last write: the receiver reports once it has written and checked everything.
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
    return;
  }
  throw failure;
}

/** Where received file bytes go; calls are made one at a time, in order. */
export interface FileSink {
  /** Bytes at `position` (0-based). */
  write(position: number, data: Uint8Array): Promise<void>;
  /** All TOTAL bytes are written: check them; ok or a status + comment for the failure REPORT. */
  finish(): Promise<{ ok: true } | { ok: false; code: number; comment: string }>;
}

export interface ReceiveFileOptions {
  readonly total: number;
  /** Bytes we already have (a resume): FILE_OFFSET is answered with this, data must start after it. */
  readonly offset?: number;
  readonly onProgress?: (bytes: number) => void;
  /** The transfer ended: ok after a successful finish(), otherwise why not. */
  readonly onEnd: (r: { ok: true } | { ok: false; reason: string }) => void;
}

/** Bytes queued for the disk before the socket is paused (whatever the sender's chunk size). */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/**
 * Takes over a session's incoming SENDs for one file: chunks must come in order (one TCP connection, as Blink
 * sends them); each is queued for the sink, the socket pauses while the disk is behind; per-chunk success REPORTs
 * as Blink's receiver sends them, except that the last one waits for the sink's check (a failure REPORT instead).
 */
export function receiveFileStream(session: MsrpSession, sink: FileSink, o: ReceiveFileOptions): { stop(): void } {
  let next = (o.offset ?? 0) + 1;
  let messageId: string | null = null;
  let ended = false;
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  let paused = false;
  let written = o.offset ?? 0;
  const end = (r: { ok: true } | { ok: false; reason: string }) => {
    if (ended) return;
    ended = true;
    session.setChunkSink(() => 400);
    o.onEnd(r);
  };
  session.setRequestHandler(FILE_OFFSET_METHOD, () => ({
    status: 200,
    headers: [['Offset', String(next - 1)]],
  }));
  session.setChunkSink((c: MsrpIncomingChunk) => {
    if (ended) return 481;
    if (messageId === null) messageId = c.messageId;
    if (c.messageId !== messageId) return 400;
    if (c.endFlag === '#') {
      end({ ok: false, reason: 'the sender aborted the transfer' });
      return 200;
    }
    const total = c.range.total;
    if (total !== null && total !== o.total) {
      end({ ok: false, reason: `the sender sends ${total} bytes where the offer said ${o.total}` });
      return 400;
    }
    if (c.range.start !== next) {
      end({ ok: false, reason: `chunk at byte ${c.range.start} where ${next} was expected` });
      return 400;
    }
    const pos = next - 1;
    if (pos + c.body.length > o.total) {
      end({ ok: false, reason: 'the sender sends more bytes than offered' });
      return 400;
    }
    next += c.body.length;
    const isLast = c.endFlag === '$';
    if (isLast && next - 1 !== o.total) {
      end({ ok: false, reason: `the transfer ended at byte ${next - 1} of ${o.total}` });
      return 400;
    }
    const range = { start: c.range.start, end: next - 1, total: o.total };
    queued += c.body.length;
    if (queued >= HIGH_WATER_BYTES && !paused) {
      paused = true;
      session.pauseInput();
    }
    queue = queue.then(async () => {
      if (ended) return;
      try {
        if (c.body.length > 0) await sink.write(pos, c.body);
      } catch (e) {
        // The sink's message says why (a disk error, or data it refuses); the sender learns it in the REPORT.
        const why = (e as Error).message;
        session.sendReport(c.fromPath, c.messageId, range, 400, why.slice(0, 120).replace(/[\r\n]/g, ' '));
        end({ ok: false, reason: why });
        return;
      } finally {
        queued -= c.body.length;
        if (paused && queued < HIGH_WATER_BYTES / 2) {
          paused = false;
          session.resumeInput();
        }
      }
      written = pos + c.body.length;
      o.onProgress?.(written);
      if (!isLast) {
        if (c.successReport) session.sendReport(c.fromPath, c.messageId, range, 200);
        return;
      }
      const r = await sink.finish().catch((e: Error) => ({ ok: false as const, code: 500, comment: e.message }));
      if (r.ok) {
        session.sendReport(c.fromPath, c.messageId, range, 200);
        end({ ok: true });
      } else {
        session.sendReport(c.fromPath, c.messageId, range, r.code, r.comment);
        end({ ok: false, reason: r.comment });
      }
    });
    return 200;
  });
  return {
    stop: () => {
      ended = true;
      session.setChunkSink(() => 481);
    },
  };
}
