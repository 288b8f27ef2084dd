import { existsSync, linkSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFile, ensureDir, fsyncDir } from './atomic.js';
import { checkDsaKey, fingerprintHex, type DsaKeyParams } from '../keys/dsa-key.js';
import { decodePrivateKey, encodePrivateKey } from './dsa-key.js';
import { FormatError, KeyFileError, StorageError } from './errors.js';

/** A key source (src/keys generateDsaKey in the client; a fixed key in tests), passed in by the caller. */
export type DsaKeyGenerator = () => DsaKeyParams | Promise<DsaKeyParams>;

export interface LoadedKey {
  key: DsaKeyParams;
  /** 40 upper-case hex digits. */
  fingerprint: string;
  /** True when this call made the key because none existed. */
  created: boolean;
}

export interface RegeneratedKey extends LoadedKey {
  /** Where the previous key now lives (null when there was none). */
  backupPath: string | null;
}

/** The long-term OTR identity in chat/private_key.dsa. Never replaced except by `regenerate`/`replace`. */
export class KeyStore {
  constructor(readonly file: string) {}

  exists(): boolean {
    return existsSync(this.file);
  }

  /** null when there is no key file; KeyFileError (file left untouched) when there is one that cannot be used. */
  load(): DsaKeyParams | null {
    let data: Uint8Array;
    try {
      data = readFileSync(this.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new KeyFileError(this.file, `cannot be read (${code ?? String(e)})`, { cause: e });
    }
    try {
      return decodePrivateKey(data);
    } catch (e) {
      if (e instanceof FormatError)
        throw new KeyFileError(this.file, `is not a usable OTR DSA key: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** First use makes a key; any existing file is used or, if broken, reported (never overwritten). */
  async loadOrCreate(generate: DsaKeyGenerator): Promise<LoadedKey> {
    const existing = this.load();
    if (existing) return { key: existing, fingerprint: fingerprintHex(existing), created: false };
    const key = await generate();
    checkGenerated(key);
    // Another process (or a slow generator racing a hand-copied key) may have put a key there meanwhile.
    const raced = this.load();
    if (raced) return { key: raced, fingerprint: fingerprintHex(raced), created: false };
    this.save(key);
    return { key, fingerprint: fingerprintHex(key), created: true };
  }

  /** The explicit `/otr genkey`: the old key (even an unreadable one) is kept as a dated backup first. */
  async regenerate(generate: DsaKeyGenerator, now: Date = new Date()): Promise<RegeneratedKey> {
    const key = await generate();
    checkGenerated(key);
    return this.replace(key, now);
  }

  /** Installs `key` (e.g. an imported one), keeping any old file as a dated backup. */
  replace(key: DsaKeyParams, now: Date = new Date()): RegeneratedKey {
    checkGenerated(key);
    const backupPath = this.backup(now);
    this.save(key);
    return { key, fingerprint: fingerprintHex(key), created: true, backupPath };
  }

  save(key: DsaKeyParams): void {
    ensureDir(dirname(this.file));
    atomicWriteFile(this.file, encodePrivateKey(key), { mode: 0o600, forceMode: true });
  }

  /** Hard-links the current file to `private_key.dsa.YYYYMMDD-HHMMSS.bak`; the link survives the rename that follows. */
  private backup(now: Date): string | null {
    if (!existsSync(this.file)) return null;
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    for (let n = 0; n < 1000; n++) {
      const candidate = `${this.file}.${stamp}${n ? '-' + n : ''}.bak`;
      if (existsSync(candidate)) continue;
      try {
        linkSync(this.file, candidate);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new StorageError(`could not back up ${this.file} to ${candidate}: ${(e as Error).message}`, { cause: e });
      }
      fsyncDir(dirname(this.file));
      return candidate;
    }
    throw new StorageError(`could not find a free backup name for ${this.file}`);
  }

  mode(): number | null {
    try {
      return statSync(this.file).mode & 0o777;
    } catch {
      return null;
    }
  }
}

function checkGenerated(key: DsaKeyParams): void {
  try {
    checkDsaKey(key);
  } catch (e) {
    throw new StorageError(`refusing to store a bad DSA key: ${(e as Error).message}`, { cause: e });
  }
}
