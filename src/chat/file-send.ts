// What a private file's sender puts on the wire: the plaintext read in records, each encrypted as it is read, so
// the ciphertext never exists whole on disk or in memory (file-crypto.ts is the format).
import type { FileSource } from '../msrp/index.js';
import { RECORD_CIPHERTEXT, RECORD_PLAINTEXT, encryptRecordInto, recordCount } from './file-crypto.js';

/** Where the plaintext comes from: pieces read at a position, handed back once done with (ReadAhead). */
export interface PlainReader {
  read(pos: number, len: number): Promise<Uint8Array>;
  release?(piece: Uint8Array): void;
}

/**
 * A FileSource over the ciphertext of a `size`-byte file read through `plain`. A chunk is one record (64 KiB,
 * Blink's size) or several (a blink-tui receiver takes larger chunks); a resume starts at a record boundary only.
 * Chunks are encrypted into a few buffers used again once the socket has taken them (release): a new buffer for
 * each record and each chunk would mean two copies of the file in fresh memory, which costs more than AES-GCM.
 */
export function encryptingSource(key: Uint8Array, size: number, plain: PlainReader): FileSource {
  const records = recordCount(size);
  const spare: Buffer[] = [];
  const chunkOf = new Map<ArrayBufferLike, Buffer>();
  return {
    read: async (pos, len) => {
      if (pos % RECORD_CIPHERTEXT !== 0) throw new Error('private transfers resume only at a record boundary');
      const room = Math.max(1, Math.ceil(len / RECORD_CIPHERTEXT)) * RECORD_CIPHERTEXT;
      let out = spare.pop();
      if (!out || out.length < room) out = Buffer.allocUnsafeSlow(room);
      let have = 0;
      for (let i = pos / RECORD_CIPHERTEXT + 1; have < len && i <= records; i++) {
        const start = (i - 1) * RECORD_PLAINTEXT;
        const plainLen = i < records ? RECORD_PLAINTEXT : size - start;
        const piece = await plain.read(start, plainLen);
        if (piece.length !== plainLen) throw new Error('the file changed while it was being sent');
        have += encryptRecordInto(key, size, i, piece, out, have);
        // The record is in `out`: the plaintext's block may be read into again.
        plain.release?.(piece);
      }
      chunkOf.set(out.buffer, out);
      return out.subarray(0, Math.min(have, len));
    },
    release: (piece) => {
      const out = chunkOf.get(piece.buffer);
      if (!out) return;
      chunkOf.delete(piece.buffer);
      if (spare.length < 8) spare.push(out);
    },
  };
}
