// The receiving side of one file on disk: a hidden temp file in the download folder (a plain file whose offer
// names a hash keeps it under that hash, so a later offer of the same file resumes it), the running SHA-1 of a
// plain file, the decryptor of a private one, the final check and the rename to a visible name. The SIP call, the
// MSRP stream and the user-facing events stay in file-transfer.ts.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync } from 'node:fs';
import { open as openFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { releaseBody, type FileSink } from '../msrp/index.js';
import { StreamDecryptor } from './file-crypto.js';
import { BatchedFileWriter } from './file-io.js';

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
  private readonly hasher = createHash('sha1');
  private readonly writer: BatchedFileWriter;
  private readonly decryptor: StreamDecryptor | null;
  private plainPos = 0;
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
  ) {
    this.writer = new BatchedFileWriter(fh);
    this.decryptor = key ? new StreamDecryptor(key, size) : null;
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
    const file = new IncomingFile(folder, temp, fh, hashHex, resumable, offset, offer.key, offer.size);
    if (offset > 0) await file.hashKeptBytes();
    else if (resumable) await fh.truncate(0);
    return file;
  }

  /** Feeds the kept bytes of a resumed file to the running hash (streamed, not read whole). */
  private hashKeptBytes(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const rs = createReadStream(this.temp, { start: 0, end: this.offset - 1, highWaterMark: 1024 * 1024 });
      rs.on('data', (d) => this.hasher.update(d as Buffer));
      rs.on('end', () => resolve());
      rs.on('error', reject);
    });
  }

  /** Plaintext bytes written so far (a private file's progress counts these, not ciphertext). */
  get decrypted(): number {
    return this.plainPos;
  }

  get isPrivate(): boolean {
    return this.decryptor !== null;
  }

  /** Where the MSRP stream writes; `finish` is the transfer's own (it runs the check once, whoever asks first). */
  sink(finish: () => Promise<ReceiveCheck>): FileSink {
    return {
      write: async (pos, data) => {
        // A private offer names no hash (its records are authenticated); a plain one's is checked as it comes.
        if (this.hashHex !== null) this.hasher.update(data);
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
            await this.writer.write(this.plainPos, p);
            this.plainPos += p.length;
          }
        } else {
          // Hashed above, on disk once written: the MSRP parser may then fill this chunk's buffer again.
          await this.writer.write(pos, data, () => releaseBody(data));
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
    const got = this.hashHex === null ? null : this.hasher.digest('hex');
    if (got !== null && got !== this.hashHex) {
      this.badData = true;
      return { ok: false, code: 400, comment: 'refused: the file does not match the hash of the offer' };
    }
    if (offer.encrypted && this.plainPos !== offer.size)
      return { ok: false, code: 400, comment: `refused: ${this.plainPos} of ${offer.size} bytes decrypted` };
    try {
      await this.writer.flush();
    } catch (e) {
      return { ok: false, code: 500, comment: (e as Error).message };
    }
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
    await this.writer.abandon();
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
