// The SHA-1 a plain file's receiver checks against the offer, computed beside the MSRP parsing instead of on the
// main thread. On the main thread it cost ~0.65 s per GiB between two socket reads, during which nothing was read;
// in a worker thread it runs while the main thread takes in the next chunks and the thread pool writes the last
// ones. Chunk bodies from the MSRP parser lie in shared memory (its pooled buffers): the worker hashes them where
// they lie, and each piece's callback runs once the worker is past it (the parser may then fill that memory again).
// Any other piece is copied to the worker. Small files are hashed here, inline: a worker costs ~10 MB and tens of ms.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Files from this size on are hashed in a worker. */
export const WORKER_HASH_MIN_BYTES = 64 * 1024 * 1024;
/** Bytes handed to the worker and not yet hashed before update() makes its caller wait. */
const BACKLOG_BYTES = 8 * 1024 * 1024;
/** The worker says how far it got every this many bytes (and when asked for the digest). */
const ACK_BYTES = 1024 * 1024;

// CommonJS, run by `new Worker(..., { eval: true })`: no file to find next to the bundle.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const h = createHash('sha1');
const shared = new Map();
let since = 0;
parentPort.on('message', (m) => {
  if (m.digest) {
    parentPort.postMessage({ seq: m.seq, digest: h.digest('hex') });
    return;
  }
  if (m.forget !== undefined) {
    shared.delete(m.forget);
    return;
  }
  if (m.id !== undefined && m.buf !== undefined) shared.set(m.id, m.buf);
  h.update(new Uint8Array(m.id !== undefined ? shared.get(m.id) : m.buf, m.off, m.len));
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
}

/** A running SHA-1 fed in order; digest() once, after the last update(). */
export class StreamHash {
  private readonly inline: Hash | null;
  private readonly worker: Worker | null;
  private seq = 0;
  private readonly posted: Posted[] = [];
  private backlog = 0;
  private waiters: (() => void)[] = [];
  private digestWaiter: { resolve(hex: string): void; reject(e: Error): void } | null = null;
  private error: Error | null = null;
  /**
   * Shared buffers the worker holds, by id. Each goes over once: a SharedArrayBuffer in a message stays alive as
   * long as the worker's copy of the object, and the worker, which allocates next to nothing, would seldom collect
   * it (a 1 GiB file grew the RSS by 170 MB). The worker forgets a buffer once this thread has collected it.
   */
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 0;
  private readonly registry = new FinalizationRegistry<number>((id) => this.worker?.postMessage({ forget: id }));

  constructor(size: number) {
    if (size < WORKER_HASH_MIN_BYTES) {
      this.inline = createHash('sha1');
      this.worker = null;
      return;
    }
    this.inline = null;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    this.worker = w;
    w.on('message', (m: { seq: number; digest?: string }) => this.onAck(m.seq, m.digest));
    w.on('error', (e) => this.fail(new Error(`the hashing thread failed: ${e.message}`)));
    w.on('exit', () => this.fail(new Error('the hashing thread ended')));
    // An idle worker does not keep the process alive (the client may quit mid-transfer); a busy one does.
    w.unref();
  }

  /**
   * Feeds `data` (the next bytes of the file). `done` runs once nothing reads `data` any more. Resolves at once
   * unless the worker is BACKLOG_BYTES behind.
   */
  async update(data: Uint8Array, done?: () => void): Promise<void> {
    if (this.error) throw this.error;
    if (this.inline) {
      this.inline.update(data);
      done?.();
      return;
    }
    const seq = ++this.seq;
    if (data.buffer instanceof SharedArrayBuffer) {
      let id = this.ids.get(data.buffer);
      const first = id === undefined;
      if (id === undefined) {
        id = ++this.nextId;
        this.ids.set(data.buffer, id);
        this.registry.register(data.buffer, id);
      }
      this.worker!.postMessage({
        seq,
        id,
        ...(first ? { buf: data.buffer } : {}),
        off: data.byteOffset,
        len: data.length,
      });
      this.posted.push({ seq, len: data.length, done });
    } else {
      // Not shared: the worker gets a copy, and the caller may reuse `data` now.
      const copy = new Uint8Array(data);
      this.worker!.postMessage({ seq, buf: copy.buffer, off: 0, len: copy.length }, [copy.buffer]);
      this.posted.push({ seq, len: data.length, done: undefined });
      done?.();
    }
    this.backlog += data.length;
    this.busy(true);
    while (this.backlog > BACKLOG_BYTES && !this.error) await new Promise<void>((r) => this.waiters.push(r));
    if (this.error) throw this.error;
  }

  /** The SHA-1 of everything fed, lower-case hex. */
  digest(): Promise<string> {
    if (this.error) return Promise.reject(this.error);
    if (this.inline) return Promise.resolve(this.inline.digest('hex'));
    return new Promise((resolve, reject) => {
      this.digestWaiter = { resolve, reject };
      this.worker!.postMessage({ seq: ++this.seq, digest: true });
      this.busy(true);
    });
  }

  /** Stops the worker (after digest(), or when the transfer ends otherwise). */
  close(): void {
    this.error ??= new Error('the hash was closed');
    void this.worker?.terminate();
    this.wake();
  }

  private onAck(seq: number, digest: string | undefined): void {
    while (this.posted.length > 0 && this.posted[0]!.seq <= seq) {
      const p = this.posted.shift()!;
      this.backlog -= p.len;
      p.done?.();
    }
    this.wake();
    if (digest !== undefined && this.digestWaiter) {
      this.digestWaiter.resolve(digest);
      this.digestWaiter = null;
    }
    if (this.posted.length === 0 && !this.digestWaiter) this.busy(false);
  }

  private refed = false;

  private busy(on: boolean): void {
    if (!this.worker || on === this.refed) return;
    this.refed = on;
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    this.digestWaiter?.reject(e);
    this.digestWaiter = null;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
