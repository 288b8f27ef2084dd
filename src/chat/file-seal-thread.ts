// A large private file's sender side on a worker thread of its own: the worker reads the plaintext and encrypts its
// records (file-crypto.ts, the format) into shared chunk buffers that the main thread hands to the socket as they
// are. On the main thread AES-GCM took 1.1-1.7 s per GiB of the thread that feeds the socket (plus 0.6-0.8 s of
// V8's helpers collecting the cipher's outputs), against 0.4 s for a plain file. Small files keep encryptingSource
// (file-send.ts): a worker costs ~10 MB and tens of ms to start.
import { Worker } from 'node:worker_threads';
import type { FileSource } from '../msrp/index.js';
import { RECORD_CIPHERTEXT, RECORD_PLAINTEXT, recordCount } from './file-crypto.js';

const TAG = RECORD_CIPHERTEXT - RECORD_PLAINTEXT;
/** Chunks encrypted ahead of the one asked for. */
const AHEAD = 2;
/** Chunk buffers kept for use again. */
const SPARE = 8;

// CommonJS, run by `new Worker(..., { eval: true })`: no file to find next to the bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createCipheriv } = require('node:crypto');
const { fd, key, size } = workerData;
const records = Math.max(1, Math.ceil(size / ${RECORD_PLAINTEXT}));
const bufs = new Map();
let plain = Buffer.allocUnsafeSlow(16 * ${RECORD_PLAINTEXT});
const iv = Buffer.alloc(12);
const aad = Buffer.alloc(8);
aad.writeBigUInt64BE(BigInt(size));
parentPort.on('message', (m) => {
  if (m.forget !== undefined) {
    bufs.delete(m.forget);
    return;
  }
  if (m.buf !== undefined) bufs.set(m.id, Buffer.from(m.buf));
  const out = bufs.get(m.id);
  try {
    const first = m.pos / ${RECORD_CIPHERTEXT} + 1;
    const last = Math.min(records, first - 1 + Math.ceil(m.len / ${RECORD_CIPHERTEXT}));
    const start = (first - 1) * ${RECORD_PLAINTEXT};
    const end = Math.min(size, last * ${RECORD_PLAINTEXT});
    if (plain.length < end - start) plain = Buffer.allocUnsafeSlow(end - start);
    for (let off = 0; off < end - start; ) {
      const n = readSync(fd, plain, off, end - start - off, start + off);
      if (n === 0) throw new Error('the file changed while it was being sent');
      off += n;
    }
    let have = 0;
    for (let i = first; i <= last; i++) {
      const from = (i - first) * ${RECORD_PLAINTEXT};
      const to = Math.min(end - start, from + ${RECORD_PLAINTEXT});
      iv.writeUInt32BE(i === records ? 2 : 1, 0);
      iv.writeBigUInt64BE(BigInt(i), 4);
      const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: ${TAG} });
      c.setAAD(aad);
      have += c.update(plain.subarray(from, to)).copy(out, have);
      have += c.final().copy(out, have);
      have += c.getAuthTag().copy(out, have);
    }
    parentPort.postMessage({ seq: m.seq, have });
  } catch (e) {
    parentPort.postMessage({ seq: m.seq, error: e.message });
  }
});
`;

interface Slot {
  readonly id: number;
  readonly buf: Buffer;
}

/**
 * The ciphertext of a `size`-byte file open as `fd`, as a FileSource whose chunks are encrypted by a worker, AHEAD
 * chunks before they are asked for. A chunk is one record or several, from a record boundary. close() once done.
 */
export class SealingSource implements FileSource {
  private readonly worker: Worker;
  private readonly total: number;
  private seq = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve(have: number): void; reject(e: Error): void }>();
  private readonly spare: Slot[] = [];
  private readonly slotOf = new Map<ArrayBufferLike, Slot>();
  /** Chunks asked of the worker before read() wanted them, by `pos:len`. */
  private readonly ahead = new Map<string, Promise<Uint8Array>>();
  private error: Error | null = null;

  constructor(fd: number, key: Uint8Array, size: number) {
    this.total = size + TAG * recordCount(size);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd, key: new Uint8Array(key), size } });
    this.worker.on('message', (m: { seq: number; have?: number; error?: string }) => {
      const w = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.have ?? 0);
      // Not once closing: close() holds the worker until it has stopped.
      if (this.waiting.size === 0 && !this.error) this.worker.unref();
    });
    this.worker.on('error', (e) => this.fail(new Error(`the file's encrypting thread failed: ${e.message}`)));
    this.worker.on('exit', () => this.fail(new Error("the file's encrypting thread ended")));
    // An idle worker does not keep the process alive (the client may quit mid-transfer); a busy one does.
    this.worker.unref();
  }

  read(pos: number, len: number): Promise<Uint8Array> {
    if (pos % RECORD_CIPHERTEXT !== 0)
      return Promise.reject(new Error('private transfers resume only at a record boundary'));
    const key = `${pos}:${len}`;
    const p = this.ahead.get(key) ?? this.fill(pos, len);
    this.ahead.delete(key);
    // What was asked ahead for other positions (a seek) is dropped once done; its buffer comes back.
    for (const [k, q] of this.ahead)
      if (Number(k.split(':')[0]) < pos) {
        this.ahead.delete(k);
        void q.then(
          (c) => this.release(c),
          () => undefined,
        );
      }
    for (let next = pos + len, i = 0; i < AHEAD && next < this.total; i++) {
      const n = Math.min(len, this.total - next);
      const k = `${next}:${n}`;
      if (!this.ahead.has(k)) {
        const q = this.fill(next, n);
        q.catch(() => undefined);
        this.ahead.set(k, q);
      }
      next += n;
    }
    return p;
  }

  release(piece: Uint8Array): void {
    const slot = this.slotOf.get(piece.buffer);
    if (!slot) return;
    this.slotOf.delete(piece.buffer);
    if (this.spare.length < SPARE) this.spare.push(slot);
    else this.worker.postMessage({ forget: slot.id });
  }

  /** Stops the worker; resolves once it no longer runs (and so no longer reads the file: it may then be closed). */
  async close(): Promise<void> {
    this.fail(new Error('the transfer ended'));
    // Held until it has stopped (an unreferenced worker's termination keeps nothing waiting for it).
    this.worker.ref();
    await this.worker.terminate().catch(() => undefined);
  }

  private fill(pos: number, len: number): Promise<Uint8Array> {
    if (this.error) return Promise.reject(this.error);
    const room = Math.max(1, Math.ceil(len / RECORD_CIPHERTEXT)) * RECORD_CIPHERTEXT;
    let slot = this.spare.pop();
    let first = false;
    if (!slot || slot.buf.length < room) {
      if (slot) this.worker.postMessage({ forget: slot.id });
      slot = { id: ++this.nextId, buf: Buffer.from(new SharedArrayBuffer(room)) };
      first = true;
    }
    const s = slot;
    const seq = ++this.seq;
    this.worker.postMessage({ seq, id: s.id, ...(first ? { buf: s.buf.buffer } : {}), pos, len });
    this.worker.ref();
    return new Promise<number>((resolve, reject) => this.waiting.set(seq, { resolve, reject })).then((have) => {
      const chunk = s.buf.subarray(0, Math.min(have, len));
      this.slotOf.set(chunk.buffer, s);
      return chunk;
    });
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.worker.unref();
  }
}
