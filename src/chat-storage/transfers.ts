// The file transfer history: one JSON object per line in <chat>/history/transfers.jsonl, appended once per transfer
// when it ends (whatever the result), so a crash loses at most the transfer in flight.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface TransferRecord {
  /** ISO time the transfer ended. */
  readonly time: string;
  readonly peer: string;
  readonly direction: 'in' | 'out';
  readonly name: string;
  /** Plaintext size in bytes. */
  readonly size: number;
  /** SHA-1 of what travelled (upper-case colon hex), as the offer said; '' when it said none. */
  readonly hash: string;
  readonly result: 'done' | 'failed' | 'cancelled' | 'rejected';
  /** 'none', or the lock of the conversation whose OTR key protected it. */
  readonly encryption: 'none' | 'unverified' | 'verified' | 'changed';
  readonly path?: string;
  readonly reason?: string;
  readonly transferId: string;
}

export class TransferLog {
  readonly file: string;

  constructor(historyDir: string) {
    this.file = join(historyDir, 'transfers.jsonl');
  }

  append(r: TransferRecord): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, JSON.stringify(r) + '\n', { mode: 0o600 });
  }

  /** Every readable record, oldest first (a torn last line from a crash is skipped). */
  list(): TransferRecord[] {
    if (!existsSync(this.file)) return [];
    const out: TransferRecord[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as TransferRecord);
      } catch {
        /* torn line */
      }
    }
    return out;
  }
}
