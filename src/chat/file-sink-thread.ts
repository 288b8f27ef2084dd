// A large received file's disk writes and SHA-1, on a worker thread of their own. On the main thread the SHA-1 cost
// ~0.65 s per GiB between two socket reads; writes through the thread pool, one round trip per 128 KiB call (see
// file-io.ts), kept the writer busy 2.6 s of a 3.3 s GiB with 0.4 s of system time: each call waited for the main
// thread, busy parsing, to issue the next (the socket paused ~200 times per GiB for it). Here the worker hashes and
// writes one piece after another without waiting for anyone. Chunk bodies from the MSRP parser lie in shared memory
// (its pooled buffers): the worker reads them where they lie, and each piece's callback runs once the worker is past
// it (the parser may then fill that memory again). Other pieces (not in shared memory) are copied into a ring of
// shared memory. A private file's ciphertext is decrypted here too: each record authenticated, then its plaintext
// written (on the main thread that was a decipher, its output and a copy into the ring per record, ~0.8 s of a
// GiB's 3.1-3.7 s there). Small files do without: a worker costs ~10 MB and tens of ms to start.
import { Worker } from 'node:worker_threads';
import { RECORD_CIPHERTEXT, RECORD_PLAINTEXT } from './file-crypto.js';
import { WRITE_PIECE } from './file-io.js';

const TAG = RECORD_CIPHERTEXT - RECORD_PLAINTEXT;

/** A private file's record failed to authenticate (or bytes came after its final one): the data is refused. */
export class SinkRefusedError extends Error {
  override name = 'SinkRefusedError';
}

/** Files from this size on are written (and hashed) by a worker. */
export const SINK_THREAD_MIN_BYTES = 64 * 1024 * 1024;

/**
 * SINK_THREAD_MIN_BYTES, or BLINK_TUI_FILE_THREAD_MIN (bytes) when set: the end-to-end tests send files of a few MiB
 * through the thread (80 MiB ones on the loopback made another test's packet capture drop packets).
 */
export function sinkThreadMinBytes(): number {
  const v = process.env.BLINK_TUI_FILE_THREAD_MIN;
  return v !== undefined && /^\d{1,12}$/.test(v) ? Number(v) : SINK_THREAD_MIN_BYTES;
}
/** Bytes handed to the worker and not yet done before put() makes its caller wait (flow control). */
const BACKLOG_BYTES = 8 * 1024 * 1024;
/** The worker says how far it got every this many bytes (and when asked to finish). */
const ACK_BYTES = 1024 * 1024;

// CommonJS, run by `new Worker(..., { eval: true })`: no file to find next to the bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { createHash, createDecipheriv } = require('node:crypto');
const h = workerData.hash ? createHash('sha1') : null;
const fd = workerData.fd;
const shared = new Map([[0, workerData.ring]]);
let since = 0;
let failed = false;

function writeAt(data, pos) {
  for (let off = 0; off < data.length; ) {
    // Calls of WRITE_PIECE bytes at most: see file-io.ts.
    const n = writeSync(fd, data, off, Math.min(${WRITE_PIECE}, data.length - off), pos + off);
    if (n === 0) throw new Error('the disk took no bytes');
    off += n;
  }
}

// A private file (file-crypto.ts, the format): the pieces are ciphertext, in order; each record is authenticated
// before its plaintext is written, so the temp file never holds a byte of a record that failed.
const crypt = workerData.decrypt;
class Refused extends Error {}
let index = 1, plain = 0, final = false;
const records = crypt ? Math.max(1, Math.ceil(crypt.size / ${RECORD_PLAINTEXT})) : 0;
// A record split across pieces is gathered here (a copy: the piece's memory goes back to the parser at once).
const partial = crypt ? Buffer.allocUnsafe(${RECORD_CIPHERTEXT}) : null;
let partialLen = 0;
const iv = Buffer.alloc(12);
const aad = Buffer.alloc(8);
if (crypt) aad.writeBigUInt64BE(BigInt(crypt.size));
function recordLength(i) {
  return (i < records ? ${RECORD_PLAINTEXT} : crypt.size - (records - 1) * ${RECORD_PLAINTEXT}) + ${TAG};
}
function openRecord(rec) {
  iv.writeUInt32BE(index === records ? 2 : 1, 0);
  iv.writeBigUInt64BE(BigInt(index), 4);
  const d = createDecipheriv('aes-256-gcm', crypt.key, iv, { authTagLength: ${TAG} });
  d.setAAD(aad);
  d.setAuthTag(rec.subarray(rec.length - ${TAG}));
  const out = d.update(rec.subarray(0, rec.length - ${TAG}));
  try {
    d.final();
  } catch {
    throw new Refused('record ' + index + ': authentication failed (altered, reordered or not for this key)');
  }
  writeAt(out, (index - 1) * ${RECORD_PLAINTEXT});
  plain += out.length;
  if (index === records) final = true;
  index++;
}
function decrypt(data) {
  for (let off = 0; off < data.length; ) {
    if (final) throw new Refused('bytes after the final record');
    const need = recordLength(index) - partialLen;
    if (partialLen === 0 && data.length - off >= need) {
      openRecord(data.subarray(off, off + need));
      off += need;
      continue;
    }
    const n = Math.min(need, data.length - off);
    partial.set(data.subarray(off, off + n), partialLen);
    partialLen += n;
    off += n;
    if (n === need) {
      const rec = partial.subarray(0, partialLen);
      partialLen = 0;
      openRecord(rec);
    }
  }
}

parentPort.on('message', (m) => {
  if (m.finish) {
    parentPort.postMessage({
      seq: m.seq,
      finished: true,
      digest: h && !failed ? h.digest('hex') : null,
      plain,
      missing: crypt && !final && !failed ? 'the file ends before its final record (record ' + index + ' of ' + records + ')' : null,
    });
    return;
  }
  if (m.forget !== undefined) {
    shared.delete(m.forget);
    return;
  }
  if (m.id !== undefined && m.buf !== undefined) shared.set(m.id, m.buf);
  if (failed) return;
  const data = new Uint8Array(m.id !== undefined ? shared.get(m.id) : m.buf, m.off, m.len);
  if (h) h.update(data);
  try {
    if (crypt) decrypt(data);
    else if (m.pos !== null) writeAt(data, m.pos);
  } catch (e) {
    failed = true;
    if (e instanceof Refused) parentPort.postMessage({ seq: m.seq, error: e.message, refused: true });
    else parentPort.postMessage({ seq: m.seq, error: 'cannot write the file: ' + e.message });
    return;
  }
  since += m.len;
  if (since >= ${ACK_BYTES}) {
    since = 0;
    parentPort.postMessage({ seq: m.seq });
  }
});
`;

interface Posted {
  readonly seq: number;
  readonly len: number;
  readonly done: (() => void) | undefined;
  /** Bytes of the ring this piece holds until the worker is past it (its copy, and any tail skipped for it). */
  readonly ring: number;
}

/**
 * Where a piece that is not in shared memory is copied for the worker: a ring of shared memory, used again and again.
 * Handing the worker new memory instead (a decrypted record's own buffer) grew the receiver's RSS by 70-100 MB: the
 * worker allocates next to nothing, so its garbage collector seldom ran to free what it had been given.
 */
const RING_BYTES = 8 * 1024 * 1024;
/** A larger piece goes through the ring in parts of this size. */
const RING_PIECE = RING_BYTES / 4;

/**
 * Writes pieces of a file at their positions (when given a file descriptor) and/or feeds them to a running SHA-1,
 * in order, on a worker thread. finish() once, after the last put().
 */
export class FileSinkThread {
  private readonly worker: Worker;
  private seq = 0;
  private readonly posted: Posted[] = [];
  private backlog = 0;
  private waiters: (() => void)[] = [];
  private finishWaiter: { resolve(digest: string | null): void; reject(e: Error): void } | null = null;
  private error: Error | null = null;
  private refed = false;
  private stopped: Promise<number> | null = null;
  /**
   * Shared buffers the worker holds, by id. Each goes over once: a SharedArrayBuffer in a message stays alive as
   * long as the worker's copy of the object, and the worker, which allocates next to nothing, would seldom collect
   * it (a 1 GiB file grew the RSS by 170 MB). The worker forgets a buffer once this thread has collected it.
   */
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 0;
  private readonly registry = new FinalizationRegistry<number>((id) => this.worker.postMessage({ forget: id }));
  private readonly ring = new Uint8Array(new SharedArrayBuffer(RING_BYTES));
  private ringHead = 0;
  private ringUsed = 0;

  /** A private file, after finish(): plaintext bytes written, and why the file is incomplete (null if it is not). */
  plainBytes = 0;
  missing: string | null = null;

  /**
   * `decrypt`: the pieces are a private file's ciphertext (file-crypto.ts), in order from its first byte; the
   * worker authenticates each record and writes its plaintext at its place (put's `pos` is then not used), and the
   * hash, if any, is of the ciphertext. On the main thread a private GiB cost 3.1-3.7 s of CPU there against
   * plain's 2.5-2.8 (a decipher and its output per record, and a copy of the plaintext into the ring).
   */
  constructor(opts: { hash: boolean; fd: number | null; decrypt?: { key: Uint8Array; size: number } }) {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        hash: opts.hash,
        fd: opts.fd,
        ring: this.ring.buffer,
        ...(opts.decrypt ? { decrypt: { key: new Uint8Array(opts.decrypt.key), size: opts.decrypt.size } } : {}),
      },
    });
    this.worker = w;
    w.on(
      'message',
      (m: {
        seq: number;
        digest?: string | null;
        finished?: boolean;
        error?: string;
        refused?: boolean;
        plain?: number;
        missing?: string | null;
      }) => {
        if (m.error !== undefined) this.fail(m.refused ? new SinkRefusedError(m.error) : new Error(m.error));
        else {
          if (m.finished) {
            this.plainBytes = m.plain ?? 0;
            this.missing = m.missing ?? null;
          }
          this.onAck(m.seq, m.finished === true, m.digest ?? null);
        }
      },
    );
    w.on('error', (e) => this.fail(new Error(`the file's writing thread failed: ${e.message}`)));
    w.on('exit', () => this.fail(new Error("the file's writing thread ended")));
    // An idle worker does not keep the process alive (the client may quit mid-transfer); a busy one does.
    w.unref();
  }

  /**
   * The next piece: written at `pos` (null: hashed only, e.g. the part of a file kept from before), hashed when
   * hashing. A piece in shared memory (the MSRP parser's) is read where it lies, and `done` runs once nothing reads
   * it any more; any other is copied (and `done` runs at once). Resolves at once unless the worker is BACKLOG_BYTES
   * behind; throws the first write error.
   */
  async put(data: Uint8Array, pos: number | null, done?: () => void): Promise<void> {
    if (this.error) throw this.error;
    const buf = data.buffer;
    if (buf instanceof SharedArrayBuffer) {
      const seq = ++this.seq;
      let id = this.ids.get(buf);
      const first = id === undefined;
      if (id === undefined) {
        id = ++this.nextId;
        this.ids.set(buf, id);
        this.registry.register(buf, id);
      }
      this.worker.postMessage({ seq, id, ...(first ? { buf } : {}), off: data.byteOffset, len: data.length, pos });
      this.posted.push({ seq, len: data.length, done, ring: 0 });
      this.backlog += data.length;
    } else {
      for (let off = 0; off < data.length || (off === 0 && data.length === 0); off += RING_PIECE) {
        const n = Math.min(RING_PIECE, data.length - off);
        const { at, cost } = await this.ringTake(n);
        this.ring.set(data.subarray(off, off + n), at);
        const seq = ++this.seq;
        this.worker.postMessage({ seq, id: 0, off: at, len: n, pos: pos === null ? null : pos + off });
        this.posted.push({ seq, len: n, done: undefined, ring: cost });
        this.backlog += n;
        if (n === 0) break;
      }
      done?.();
    }
    this.busy(true);
    while (this.backlog > BACKLOG_BYTES && !this.error) await new Promise<void>((r) => this.waiters.push(r));
    if (this.error) throw this.error;
  }

  /** Room for `n` bytes in the ring (FIFO: pieces are done in the order they were put). */
  private async ringTake(n: number): Promise<{ at: number; cost: number }> {
    for (;;) {
      if (this.error) throw this.error;
      if (this.ringHead + n <= RING_BYTES) {
        if (this.ringUsed + n <= RING_BYTES) {
          const at = this.ringHead;
          this.ringHead += n;
          this.ringUsed += n;
          return { at, cost: n };
        }
      } else {
        // Not enough before the end: skip the tail, which stays taken until this piece is done.
        const skipped = RING_BYTES - this.ringHead;
        if (this.ringUsed + skipped + n <= RING_BYTES) {
          this.ringHead = n;
          this.ringUsed += skipped + n;
          return { at: 0, cost: skipped + n };
        }
      }
      this.busy(true);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Everything put is written; the SHA-1 of all of it (lower-case hex) when hashing, else null. */
  finish(): Promise<string | null> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.finishWaiter = { resolve, reject };
      this.worker.postMessage({ seq: ++this.seq, finish: true });
      this.busy(true);
    });
  }

  /** Stops the worker; resolves once it no longer runs (and so no longer writes: the file may then be closed). */
  async close(): Promise<void> {
    if (!this.error) this.fail(new Error('the transfer ended'));
    this.stopped ??= this.worker.terminate();
    await this.stopped.catch(() => undefined);
  }

  private onAck(seq: number, finished: boolean, digest: string | null): void {
    while (this.posted.length > 0 && this.posted[0]!.seq <= seq) {
      const p = this.posted.shift()!;
      this.backlog -= p.len;
      this.ringUsed -= p.ring;
      p.done?.();
    }
    this.wake();
    if (finished && this.finishWaiter) {
      this.finishWaiter.resolve(digest);
      this.finishWaiter = null;
    }
    if (this.posted.length === 0 && !this.finishWaiter) this.busy(false);
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    this.finishWaiter?.reject(e);
    this.finishWaiter = null;
    this.wake();
    this.busy(false);
  }

  private busy(on: boolean): void {
    if (on === this.refed) return;
    this.refed = on;
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
