// What a private file's sender puts on the wire: the plaintext read in records, each encrypted as it is read, so
// the ciphertext never exists whole on disk or in memory (file-crypto.ts is the format).
import type { FileSource } from '../msrp/index.js';
import { RECORD_CIPHERTEXT, RECORD_PLAINTEXT, encryptRecord, recordCount } from './file-crypto.js';

/**
 * A FileSource over the ciphertext of a `size`-byte file read through `readPlain`. A chunk is one record (64 KiB,
 * Blink's size) or several (a blink-tui receiver takes larger chunks); a resume starts at a record boundary only.
 */
export function encryptingSource(
  key: Uint8Array,
  size: number,
  readPlain: (pos: number, len: number) => Promise<Uint8Array>,
): FileSource {
  const records = recordCount(size);
  return {
    read: async (pos, len) => {
      if (pos % RECORD_CIPHERTEXT !== 0) throw new Error('private transfers resume only at a record boundary');
      const out: Buffer[] = [];
      let have = 0;
      for (let i = pos / RECORD_CIPHERTEXT + 1; have < len && i <= records; i++) {
        const start = (i - 1) * RECORD_PLAINTEXT;
        const plainLen = i < records ? RECORD_PLAINTEXT : size - start;
        const plain = await readPlain(start, plainLen);
        if (plain.length !== plainLen) throw new Error('the file changed while it was being sent');
        const rec = encryptRecord(key, size, i, plain);
        out.push(rec);
        have += rec.length;
      }
      const all = out.length === 1 ? out[0]! : Buffer.concat(out, have);
      return all.length <= len ? all : all.subarray(0, len);
    },
  };
}
