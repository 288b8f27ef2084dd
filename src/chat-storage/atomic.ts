import {
  chmodSync,
  closeSync,
  constants,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  mkdirSync,
  readdirSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Points on the write path where tests inject faults to prove the target is always wholly old or wholly new. */
export type AtomicWriteStage = 'opened' | 'partial' | 'written' | 'synced' | 'renamed';

export interface AtomicWriteOptions {
  /** Mode for a file that does not exist yet (an existing file keeps its own mode unless `forceMode`). */
  mode?: number;
  /** Always use `mode` (secrets are 0600 whatever the old file had). */
  forceMode?: boolean;
  /** Test hook: called at each stage; throwing there simulates a crash at that point. */
  fault?: (stage: AtomicWriteStage) => void;
}

export const TEMP_MARKER = '.tmp-';

/** Temp files live next to the target so rename(2) stays on one file system and is atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function ensureDir(dir: string, mode = 0o700): void {
  mkdirSync(dir, { recursive: true, mode });
}

/**
 * Replaces `target` with `data` so that a crash at any instant leaves either the old or the new file:
 * temp file in the same folder, write, fsync, rename over the target, fsync the folder (so the rename itself is durable).
 */
export function atomicWriteFile(target: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let mode = opts.mode ?? 0o644;
  if (!opts.forceMode) {
    try {
      mode = statSync(target).mode & 0o7777;
    } catch {
      // New file: the requested mode stands.
    }
  }
  const tmp = tempPathFor(target);
  const fault = opts.fault ?? (() => {});
  let fd: number | null = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    fault('opened');
    let off = 0;
    // Written in two halves only so a fault can be injected with half the bytes on disk.
    const half = bytes.length >> 1;
    while (off < half) off += writeSync(fd, bytes, off, half - off);
    fault('partial');
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fault('written');
    fsyncSync(fd);
    fault('synced');
    closeSync(fd);
    fd = null;
    // The umask may have narrowed the mode given to open(2); the old file's mode must survive exactly.
    chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw e;
  }
  fault('renamed');
  fsyncDir(dirname(target));
}

export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    closeSync(fd);
  }
}

/** Appends one record and makes it durable; used by the history log (never rewrites). */
export function durableAppend(path: string, data: Uint8Array | string, mode = 0o600): void {
  appendRecord(path, data, mode, true);
}

/**
 * Appends one record in a single write (O_APPEND), fsyncing only when asked. A crash can lose the newest
 * records or tear the last one, never earlier ones: readers skip a torn tail.
 */
export function appendRecord(path: string, data: Uint8Array | string, mode = 0o600, sync = false): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a file by name (the batched half of appendRecord(..., sync = false)). */
export function fsyncFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Deletes temp files left by writers that died mid-write (their pid is gone). Such a file never holds the only copy
 * of anything: the target was either not yet replaced or already replaced. Returns what was removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const m = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      unlinkSync(join(dir, n));
      removed.push(join(dir, n));
    } catch {
      /* gone already */
    }
  }
  return removed;
}

/** Whether a process with this pid exists (the lock's owner, a temp file's writer). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
