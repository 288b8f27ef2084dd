// Disk I/O of a file transfer off the main thread, in batches. The receiver's main thread parses MSRP, hashes and
// answers, so it must not wait for the disk: a synchronous write per chunk would stall it for the copy into the
// page cache, and a thread-pool round trip per chunk costs more in scheduling than the write itself. So chunks queue
// here and go out as one writev per batch: while the thread pool writes one batch, the main thread takes in the next. The
// sender's reads work the same way: 1 MiB blocks read ahead in the thread pool, cut into chunks without a copy.
import type { FileHandle } from 'node:fs/promises';

/** Bytes queued or being written before write() makes its caller wait (the socket then pauses: flow control). */
const WRITE_BEHIND = 4 * 1024 * 1024;

/** Writes contiguous pieces of a file in order, batched; errors come back from the next write() or from flush(). */
export class BatchedFileWriter {
  private pending: Uint8Array[] = [];
  /** Called once the matching bytes are on disk (the receiver gives a chunk's buffer back to the MSRP parser). */
  private pendingDone: (() => void)[] = [];
  private pendingPos = 0;
  private pendingBytes = 0;
  private flightBytes = 0;
  private inFlight: Promise<void> | null = null;
  private error: Error | null = null;

  constructor(private readonly fh: FileHandle) {}

  /** Queues `data` for `position`; waits only while more than WRITE_BEHIND bytes are not yet written. */
  async write(position: number, data: Uint8Array, written?: () => void): Promise<void> {
    if (this.error) throw this.error;
    if (data.length === 0) return;
    if (this.pending.length > 0 && position !== this.pendingPos + this.pendingBytes) await this.flush();
    if (this.pending.length === 0) this.pendingPos = position;
    this.pending.push(data);
    if (written) this.pendingDone.push(written);
    this.pendingBytes += data.length;
    this.kick();
    while (this.inFlight && this.pendingBytes + this.flightBytes > WRITE_BEHIND) await this.inFlight;
    if (this.error) throw this.error;
  }

  /** Everything queued is written (or the first error is thrown). */
  async flush(): Promise<void> {
    for (;;) {
      this.kick();
      if (!this.inFlight) break;
      await this.inFlight;
    }
    if (this.error) throw this.error;
  }

  /** Drops what is queued and waits for the write under way (before the file is closed or deleted). */
  async abandon(): Promise<void> {
    this.pending = [];
    this.pendingDone = [];
    this.pendingBytes = 0;
    while (this.inFlight) await this.inFlight;
  }

  private kick(): void {
    if (this.inFlight || this.pending.length === 0 || this.error) return;
    const batch = this.pending;
    const done = this.pendingDone;
    const pos = this.pendingPos;
    this.pendingDone = [];
    this.flightBytes = this.pendingBytes;
    this.pending = [];
    this.pendingPos += this.pendingBytes;
    this.pendingBytes = 0;
    this.inFlight = writevAll(this.fh, batch, pos).then(
      () => {
        this.inFlight = null;
        this.flightBytes = 0;
        for (const f of done) f();
        this.kick();
      },
      (e: Error) => {
        this.inFlight = null;
        this.flightBytes = 0;
        this.error = new Error(`cannot write the file: ${e.message}`);
      },
    );
  }
}

async function writevAll(fh: FileHandle, parts: Uint8Array[], position: number): Promise<void> {
  let pos = position;
  let rest = parts;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    // A short write (rare for a regular file): go on from where it stopped.
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const p of rest) {
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      next.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
    if (bytesWritten === 0 && next.length > 0) throw new Error('the disk took no bytes');
    rest = next;
  }
}

/**
 * Reads a file front to back in blocks of `block` bytes, one block ahead in the thread pool; read(pos, len) hands
 * out pieces of the current block (no copy) as long as a piece does not straddle two blocks (callers cut their
 * chunks so that `block` is a multiple of their chunk size).
 */
export class ReadAhead {
  private cur: { pos: number; data: Buffer } | null = null;
  private next: { pos: number; data: Promise<Buffer> } | null = null;

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly block: number,
  ) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    const start = Math.floor(position / this.block) * this.block;
    if (!this.cur || this.cur.pos !== start) {
      const data = this.next && this.next.pos === start ? await this.next.data : await this.load(start);
      this.cur = { pos: start, data };
      const after = start + this.block;
      this.next = after < this.size ? { pos: after, data: this.load(after) } : null;
      this.next?.data.catch(() => undefined);
    }
    const off = position - start;
    const piece = this.cur.data.subarray(off, Math.min(off + length, this.cur.data.length));
    if (piece.length < length && off + length > this.block) throw new RangeError('a read across two blocks');
    return piece;
  }

  private async load(pos: number): Promise<Buffer> {
    const len = Math.min(this.block, this.size - pos);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === len ? buf : buf.subarray(0, got);
  }
}
