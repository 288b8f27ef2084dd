// The receiving side of one file on disk: a hidden temp file in the download folder (a plain file whose offer
// names a hash keeps it under that hash, so a later offer of the same file resumes it), the running SHA-1 of a
// plain file, the decryptor of a private one, the final check and the rename to a visible name. The SIP call, the
// MSRP stream and the user-facing events stay in file-transfer.ts.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { open as openFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { releaseBody, type FileSink } from '../msrp/index.js';
import { RECORD_CIPHERTEXT, RECORD_PLAINTEXT, StreamDecryptor } from './file-crypto.js';
import { BatchedFileWriter, forEachPiece } from './file-io.js';
import { FileSinkThread, SinkRefusedError, sinkThreadMinBytes } from './file-sink-thread.js';

/** What the final check answers the sender (its failure REPORT's status and comment when not ok). */
export type ReceiveCheck = { ok: true } | { ok: false; code: number; comment: string };

/** A private file's record failed to authenticate: the sender hears why. */
export class TamperError extends Error {
  override name = 'TamperError';
}

/** What the receiver needs of the transfer: the offer's sizes and hash, and whether it is ending meanwhile. */
export interface IncomingOffer {
  readonly id: string;
  readonly name: string;
  /** Plaintext size. */
  readonly size: number;
  /** Bytes on the wire (ciphertext size when private). */
  readonly wireSize: number;
  readonly encrypted: boolean;
  readonly key?: Uint8Array;
  /** The offer's SHA-1 (none for a private offer). */
  readonly sha1?: Uint8Array;
  /** The transfer is ending (cancelled or failed) while bytes still arrive. */
  readonly ending?: boolean;
  readonly cancelled: boolean;
}

export class IncomingFile {
  /**
   * A large file is written (and, plain, hashed) by a worker thread of its own; a small one by the thread pool
   * (`writer`), hashed here (`hasher`). The hash is the offer's: a plain offer's; a private one names none (its
   * records are authenticated), except from older blink-tui senders, whose hash of the ciphertext is checked here.
   */
  private readonly thread: FileSinkThread | null;
  private readonly hasher: ReturnType<typeof createHash> | null;
  private readonly writer: BatchedFileWriter | null;
  /** A private file's decryptor when this thread decrypts (small files; a large one's worker decrypts). */
  private readonly decryptor: StreamDecryptor | null;
  private readonly encrypted: boolean;
  private plainPos = 0;
  /** Ciphertext bytes handed to the worker (its progress, in plaintext, is reckoned from them). */
  private wirePos = 0;
  private closed = false;
  /** The bytes did not match the offer's hash: a resume must not build on them. */
  private badData = false;

  private constructor(
    private readonly folder: string,
    private readonly temp: string,
    private readonly fh: FileHandle,
    private readonly hashHex: string | null,
    readonly resumable: boolean,
    /** Bytes already on disk from an earlier transfer of the same file (FILE_OFFSET). */
    readonly offset: number,
    key: Uint8Array | undefined,
    size: number,
    wireSize: number,
  ) {
    this.encrypted = key !== undefined;
    this.thread =
      wireSize >= sinkThreadMinBytes()
        ? new FileSinkThread({ hash: hashHex !== null, fd: fh.fd, ...(key ? { decrypt: { key, size } } : {}) })
        : null;
    this.hasher = hashHex !== null && !this.thread ? createHash('sha1') : null;
    this.writer = this.thread ? null : new BatchedFileWriter(fh);
    this.decryptor = key && !this.thread ? new StreamDecryptor(key, size) : null;
  }

  /** The temp file for `offer` in `folder`: resumed (its bytes fed to the hash) or new. */
  static async open(folder: string, offer: IncomingOffer): Promise<IncomingFile> {
    mkdirSync(folder, { recursive: true });
    const hashHex = offer.sha1 ? Buffer.from(offer.sha1).toString('hex') : null;
    const resumable = !offer.encrypted && hashHex !== null;
    const temp = join(folder, resumable ? `.blink-tui-${hashHex}.part` : `.blink-tui-${offer.id}-${process.pid}.part`);
    let offset = 0;
    if (resumable && existsSync(temp)) {
      const have = (await stat(temp)).size;
      if (have > 0 && have < offer.wireSize) offset = have;
    }
    const fh = await openFile(temp, offset > 0 ? 'r+' : 'w', 0o600);
    const file = new IncomingFile(folder, temp, fh, hashHex, resumable, offset, offer.key, offer.size, offer.wireSize);
    try {
      if (offset > 0) await file.hashKeptBytes();
      else if (resumable) await fh.truncate(0);
    } catch (e) {
      await file.close();
      throw e;
    }
    return file;
  }

  /** Feeds the kept bytes of a resumed file to the running hash (piece by piece, not read whole). */
  private hashKeptBytes(): Promise<void> {
    return forEachPiece(this.fh, this.offset, (piece) =>
      this.thread ? this.thread.put(piece, null) : void this.hasher?.update(piece),
    );
  }

  /** Plaintext bytes written so far (a private file's progress counts these, not ciphertext). */
  get decrypted(): number {
    if (!this.thread || !this.encrypted) return this.plainPos;
    // Handed to the worker, less a tag per record begun: what the worker will have written once it is there.
    return Math.max(
      0,
      this.wirePos - (RECORD_CIPHERTEXT - RECORD_PLAINTEXT) * Math.ceil(this.wirePos / RECORD_CIPHERTEXT),
    );
  }

  get isPrivate(): boolean {
    return this.encrypted;
  }

  /** Where the MSRP stream writes; `finish` is the transfer's own (it runs the check once, whoever asks first). */
  sink(finish: () => Promise<ReceiveCheck>): FileSink {
    return {
      write: async (pos, data) => {
        this.hasher?.update(data);
        // Once on disk (and hashed), a plain chunk's buffer goes back to the MSRP parser.
        const written = () => releaseBody(data);
        if (this.decryptor) {
          let plain: Buffer[];
          try {
            plain = this.decryptor.push(data);
          } catch (e) {
            throw new TamperError(`refused: the file was altered on the way (${(e as Error).message})`);
          }
          // The plaintext is new memory: the chunk's buffer may go back to the parser unless part of a record waits.
          if (!this.decryptor.holding) releaseBody(data);
          for (const p of plain) {
            if (this.thread) await this.thread.put(p, this.plainPos);
            else await this.writer!.write(this.plainPos, p);
            this.plainPos += p.length;
          }
        } else if (this.thread) {
          this.wirePos += data.length;
          try {
            await this.thread.put(data, pos, written);
          } catch (e) {
            if (e instanceof SinkRefusedError)
              throw new TamperError(`refused: the file was altered on the way (${e.message})`);
            throw e;
          }
        } else {
          await this.writer!.write(pos, data, written);
        }
      },
      finish,
    };
  }

  /**
   * Every byte is in: the last record, the hash and the size are checked, the data synced and the file renamed to
   * a visible name it does not overwrite. Returns that path, or why the sender is refused.
   */
  async check(offer: IncomingOffer, uniqueName: (folder: string) => string): Promise<ReceiveCheck & { path?: string }> {
    // Cancelled (or failed) while the last bytes came: no success, and the partial file is not renamed.
    if (offer.ending)
      return { ok: false, code: 400, comment: offer.cancelled ? 'cancelled by the receiver' : 'refused' };
    if (this.decryptor) {
      try {
        this.decryptor.end();
      } catch (e) {
        return { ok: false, code: 400, comment: `refused: ${(e as Error).message}` };
      }
    }
    // Every byte written (the thread, or the thread pool), and the hash of them.
    let got: string | null = null;
    try {
      if (this.thread) got = await this.thread.finish();
      else await this.writer!.flush();
      got ??= this.hasher ? this.hasher.digest('hex') : null;
    } catch (e) {
      if (e instanceof SinkRefusedError)
        return { ok: false, code: 400, comment: `refused: the file was altered on the way (${e.message})` };
      return { ok: false, code: 500, comment: (e as Error).message };
    }
    if (this.thread && this.encrypted) {
      if (this.thread.missing !== null) return { ok: false, code: 400, comment: `refused: ${this.thread.missing}` };
      this.plainPos = this.thread.plainBytes;
    }
    if (this.hashHex !== null && got !== this.hashHex) {
      this.badData = true;
      return { ok: false, code: 400, comment: 'refused: the file does not match the hash of the offer' };
    }
    if (offer.encrypted && this.plainPos !== offer.size)
      return { ok: false, code: 400, comment: `refused: ${this.plainPos} of ${offer.size} bytes decrypted` };
    if (offer.ending) return { ok: false, code: 400, comment: 'cancelled by the receiver' };
    await this.fh.sync().catch(() => undefined);
    await this.close();
    const path = uniqueName(this.folder);
    await rename(this.temp, path);
    return { ok: true, path };
  }

  /** Stops writing and closes the file (idempotent); what was not yet written is dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The worker stops before the file closes: it never writes to a closed (or reused) descriptor.
    await this.thread?.close();
    await this.writer?.abandon();
    await this.fh.close().catch(() => undefined);
  }

  /**
   * The transfer did not complete: never a partial file that looks complete (the temp name is hidden), and only a
   * resumable one stays; not one the receiver cancelled, nor one whose check failed (a resume would only build on
   * the bad bytes).
   */
  async discard(cancelled: boolean): Promise<void> {
    await this.close();
    if (!this.resumable || cancelled || this.badData) await unlink(this.temp).catch(() => undefined);
  }
}
