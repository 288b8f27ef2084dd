import {
  closeSync,
  constants,
  statSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
  fsyncSync,
} from 'node:fs';
import { ConfigLockedError, StorageError } from './errors.js';
import { ensureDir, pidAlive } from './atomic.js';
import { dirname } from 'node:path';

/**
 * One blink-tui per config folder. The lock file holds the owner's pid; a lock whose pid is gone is stale and taken
 * over (crash recovery). Read-only tools (history search) do not need it: appends and atomic renames are safe anyway.
 */
export class ConfigLock {
  private held = false;
  private constructor(readonly file: string) {}

  static acquire(file: string): ConfigLock {
    ensureDir(dirname(file));
    for (let attempt = 0; attempt < 50; attempt++) {
      let fd: number;
      try {
        fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const owner = readOwner(file);
        if (owner !== null && owner !== process.pid && pidAlive(owner) && mayBeBlinkTui(owner))
          throw new ConfigLockedError(file, owner);
        if (owner === null && isFresh(file)) {
          // Another process may have created it a moment ago and not yet written its pid.
          sleepMs(50);
          continue;
        }
        // Stale (or unreadable, e.g. torn by a crash while being written): move it aside. Only one contender's
        // rename can succeed, so two processes recovering at once cannot both believe they own the lock.
        const aside = `${file}.stale-${process.pid}`;
        try {
          renameSync(file, aside);
          unlinkSync(aside);
        } catch {
          /* someone else took it over; loop and look again */
        }
        continue;
      }
      try {
        const b = Buffer.from(`${process.pid}\n`);
        writeSync(fd, b);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const lock = new ConfigLock(file);
      lock.held = true;
      return lock;
    }
    throw new StorageError(`could not take the lock ${file}: it keeps changing hands`);
  }

  get isHeld(): boolean {
    return this.held;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    // Only remove it if it is still ours (a stale takeover by someone else must not be undone).
    if (readOwner(this.file) === process.pid) {
      try {
        unlinkSync(this.file);
      } catch {
        /* already gone */
      }
    }
  }
}

function readOwner(file: string): number | null {
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (!/^\d{1,10}$/.test(t)) return null;
    const pid = Number(t);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isFresh(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < 1000;
  } catch {
    return false;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * After a crash and a reboot the pid in a stale lock may belong to an unrelated program. Where /proc tells us the
 * command line, only a node (or blink-tui) process counts as the owner; elsewhere any live pid does.
 */
function mayBeBlinkTui(pid: number): boolean {
  let cmd: string;
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return true;
  }
  return /node|blink-tui|tsx/i.test(cmd);
}
