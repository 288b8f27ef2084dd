// Disk I/O of a file transfer off the main thread, in batches. The receiver's main thread parses MSRP, hashes and
// answers, so it must not wait for the disk: a synchronous write per chunk would stall it for the copy into the
// page cache, and a thread-pool round trip per chunk costs more in scheduling than the write itself. So chunks queue
// here and go out a batch at a time (in writes of 128 KiB, see writeAll): while the thread pool writes one batch, the
// main thread takes in the next. The
// sender's reads work the same way: 1 MiB blocks read ahead in the thread pool, cut into chunks without a copy.
import { createHash } from 'node:crypto';
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
    this.inFlight = writeAll(this.fh, batch, pos).then(
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

/**
 * Writes `parts` from `position` on as writes of at most WRITE_PIECE bytes, one after another (never a later piece
 * on disk before an earlier one: a partial file kept for a resume has no hole). On this kernel (6.18,
 * ext4, large page-cache folios) the size of one write call decides how dear the new pages are: 1 GiB written into a
 * new file took 0.2-0.3 s of system time in calls of 64 or 128 KiB, 0.6 s in calls of 256 KiB, and 1.0-1.5 s in
 * 1 MiB calls or 4 MiB writevs (each measured a few seconds after the last large file was deleted, as in a transfer).
 */
async function writeAll(fh: FileHandle, parts: Uint8Array[], position: number): Promise<void> {
  // Calls of at most WRITE_PIECE bytes: a large part is cut, small ones (a private file's 64 KiB records) go
  // together in one writev.
  const calls: { data: Uint8Array[]; bytes: number; pos: number }[] = [];
  let pos = position;
  let cur: { data: Uint8Array[]; bytes: number; pos: number } | null = null;
  for (const p of parts) {
    for (let off = 0; off < p.length;) {
      if (!cur || cur.bytes === WRITE_PIECE) {
        cur = { data: [], bytes: 0, pos };
        calls.push(cur);
      }
      const n = Math.min(WRITE_PIECE - cur.bytes, p.length - off);
      cur.data.push(off === 0 && n === p.length ? p : p.subarray(off, off + n));
      cur.bytes += n;
      off += n;
      pos += n;
    }
  }
  for (const c of calls) {
    let rest = c.data;
    let at = c.pos;
    while (rest.length > 0) {
      const { bytesWritten } = await fh.writev(rest, at);
      // A short write (rare for a regular file): go on from where it stopped.
      if (bytesWritten === 0) throw new Error('the disk took no bytes');
      at += bytesWritten;
      rest = skipBytes(rest, bytesWritten);
    }
  }
}

/** `parts` without their first `n` bytes. */
function skipBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}

/** The largest single write call (see writeAll). */
export const WRITE_PIECE = 128 * 1024;

/**
 * Reads a file front to back in blocks of `block` bytes, up to `ahead` blocks ahead in the thread pool, into a few
 * buffers used again and again: read(pos, len) hands out pieces of a block (no copy) as long as a piece does not
 * straddle two blocks (callers cut their chunks so that `block` is a multiple of their chunk size), and release()
 * gives a piece back once it is with the kernel. A fresh buffer per block cost page faults on every page (the
 * launcher has glibc mmap anything over 128 KiB) and garbage collections: a CPU profile of a 1 GiB send spent more
 * time in the collector than in its socket writes. A block whose pieces are not all released is never reused: its
 * buffer is simply left to the collector and a new one made.
 */
export class ReadAhead {
  /** Blocks loaded or loading, in file order, from the current one on. */
  private blocks: Block[] = [];
  /** Every block not yet recycled (current, ahead, or moved past with pieces still out), by its buffer. */
  private readonly live = new Map<ArrayBufferLike, Block>();
  private readonly free: Buffer[] = [];
  private nextPos = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly block: number,
    private readonly ahead = 3,
  ) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    const start = Math.floor(position / this.block) * this.block;
    if (this.blocks[0]?.pos !== start) {
      // Moving on (or seeking, for a resume): the blocks before `start` are done with.
      while (this.blocks.length > 0 && this.blocks[0]!.pos !== start) this.retire(this.blocks.shift()!);
      if (this.blocks.length === 0) this.nextPos = start;
    }
    while (this.blocks.length < 1 + this.ahead && this.nextPos < this.size) {
      this.blocks.push(this.load(this.nextPos));
      this.nextPos += this.block;
    }
    const cur = this.blocks[0];
    if (!cur) return new Uint8Array(0);
    const data = await cur.data;
    const off = position - start;
    const piece = data.subarray(off, Math.min(off + length, data.length));
    if (piece.length < length && off + length > this.block) throw new RangeError('a read across two blocks');
    cur.handed++;
    return piece;
  }

  /** A piece from read() is no longer needed (written to the socket, or encrypted into a new buffer). */
  release(piece: Uint8Array): void {
    const b = this.live.get(piece.buffer);
    if (!b || b.handed === 0) return;
    b.handed--;
    if (b.handed === 0 && b.retired) this.recycle(b);
  }

  private retire(b: Block): void {
    b.retired = true;
    // A block skipped before its read finished (a seek) is recycled only once the thread pool is done with it.
    void b.data.then(
      () => b.handed === 0 && this.recycle(b),
      () => this.live.delete(b.buf.buffer),
    );
  }

  private recycle(b: Block): void {
    if (this.live.get(b.buf.buffer) !== b) return;
    this.live.delete(b.buf.buffer);
    if (this.free.length < FREE_BLOCKS) this.free.push(b.buf);
  }

  private load(pos: number): Block {
    const len = Math.min(this.block, this.size - pos);
    // allocUnsafeSlow: a buffer of its own (a small one from allocUnsafe shares Node's pool, and blocks are told
    // apart by their ArrayBuffer).
    const buf = this.free.pop() ?? Buffer.allocUnsafeSlow(this.block);
    const b: Block = { pos, buf, handed: 0, retired: false, data: readFully(this.fh, buf, len, pos) };
    this.live.set(buf.buffer, b);
    // An error surfaces when the block is read; a block never read (the transfer ended) must not be unhandled.
    b.data.catch(() => undefined);
    return b;
  }
}

/** Spare blocks kept: enough for the blocks ahead plus those whose pieces wait in the socket's queue. */
const FREE_BLOCKS = 8;

interface Block {
  readonly pos: number;
  readonly buf: Buffer;
  readonly data: Promise<Buffer>;
  /** Pieces handed out and not yet released. */
  handed: number;
  /** The reader has moved past it: its buffer is reused once no piece is out. */
  retired: boolean;
}

/** `len` bytes at `pos` into `buf` (fewer at the end of the file); the bytes read, as a view of `buf`. */
async function readFully(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<Buffer> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * Hands a file's first `size` bytes to `fn` piece by piece, through two buffers used in turn: the thread pool reads
 * the next piece while `fn` takes the current one (which it must be done with when its promise settles). A stream
 * made a new 1 MiB buffer per piece: hashing 1 GiB that way took ~1.5 s here, most of it page faults and garbage
 * collection, against ~0.65 s for the SHA-1 itself. A `stop()` that says true ends it with an error.
 */
export async function forEachPiece(
  fh: FileHandle,
  size: number,
  fn: (piece: Buffer, doneBytes: number) => void | Promise<void>,
  stop?: () => boolean,
): Promise<void> {
  const piece = Math.min(FILE_PIECE, Math.max(1, size));
  const bufs = [Buffer.allocUnsafeSlow(piece), Buffer.allocUnsafeSlow(piece)];
  let pos = 0;
  let pending: Promise<Buffer> | null = size > 0 ? readFully(fh, bufs[0]!, Math.min(piece, size), 0) : null;
  for (let i = 0; pending; i++) {
    const data = await pending;
    if (data.length === 0) throw new Error('the file got shorter while it was being read');
    const next = pos + data.length;
    pending = next < size ? readFully(fh, bufs[(i + 1) % 2]!, Math.min(piece, size - next), next) : null;
    if (stop?.()) {
      await pending?.catch(() => undefined);
      throw new Error('cancelled');
    }
    pos = next;
    await fn(data, pos);
  }
}

/** SHA-1 of a file's first `size` bytes (forEachPiece); `onBytes` after each piece. */
export async function hashFileHandle(
  fh: FileHandle,
  size: number,
  onBytes?: (done: number) => void,
  stop?: () => boolean,
): Promise<Uint8Array> {
  const h = createHash('sha1');
  await forEachPiece(
    fh,
    size,
    (data, done) => {
      h.update(data);
      onBytes?.(done);
    },
    stop,
  );
  return new Uint8Array(h.digest());
}

const FILE_PIECE = 2 * 1024 * 1024;
