import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFile, ensureDir } from '../chat-storage/atomic.js';
import { checkKey, SecretFileError, type SecretStore } from './types.js';

const FORMAT = 'blink-tui-secrets';
const AAD = Buffer.from(`${FORMAT} v1`);
/** scrypt cost: about 0.1 s here, 32 MiB; stored in the file so it can be raised later without breaking old files. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;
const MAX_N = 1 << 20;

interface Entry {
  service: string;
  account: string;
  secret: string;
}

interface PlainFile {
  format: typeof FORMAT;
  version: 1;
  encrypted: false;
  entries: Entry[];
}

interface EncryptedFile {
  format: typeof FORMAT;
  version: 1;
  encrypted: true;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  iv: string;
  tag: string;
  data: string;
}

/**
 * A 0600 JSON file of secrets, the fallback when no OS keychain works. With a passphrase the entries are sealed
 * with AES-256-GCM under a scrypt-derived key (the whole entry list, so nothing leaks, not even account names).
 */
export class FileSecretStore implements SecretStore {
  readonly backend: 'file' | 'encrypted-file';
  readonly description: string;
  private derived: { salt: string; key: Buffer } | null = null;

  constructor(
    readonly file: string,
    private readonly passphrase?: string,
  ) {
    this.backend = passphrase === undefined ? 'file' : 'encrypted-file';
    this.description =
      passphrase === undefined
        ? `file ${file} (mode 0600, not encrypted)`
        : `file ${file} (mode 0600, encrypted with a passphrase)`;
  }

  /** Whether the file on disk is encrypted (null: no file yet). */
  static isEncrypted(file: string): boolean | null {
    try {
      const o = JSON.parse(readFileSync(file, 'utf8')) as { encrypted?: unknown };
      return o.encrypted === true;
    } catch {
      return null;
    }
  }

  async get(service: string, account: string): Promise<string | null> {
    checkKey(service, account);
    return this.read().find((e) => e.service === service && e.account === account)?.secret ?? null;
  }

  async set(service: string, account: string, secret: string): Promise<void> {
    checkKey(service, account);
    const entries = this.read().filter((e) => !(e.service === service && e.account === account));
    entries.push({ service, account, secret });
    this.write(entries);
  }

  async delete(service: string, account: string): Promise<boolean> {
    checkKey(service, account);
    const all = this.read();
    const rest = all.filter((e) => !(e.service === service && e.account === account));
    if (rest.length === all.length) return false;
    this.write(rest);
    return true;
  }

  private read(): Entry[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new SecretFileError(this.file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
        cause: e,
      });
    }
    let o: PlainFile | EncryptedFile;
    try {
      o = JSON.parse(text) as PlainFile | EncryptedFile;
    } catch (e) {
      throw new SecretFileError(this.file, 'is not valid JSON (damaged?); it was left as it is', { cause: e });
    }
    if (typeof o !== 'object' || o === null || o.format !== FORMAT || o.version !== 1)
      throw new SecretFileError(this.file, `is not a ${FORMAT} version 1 file`);
    if (!o.encrypted) {
      if (this.passphrase !== undefined)
        throw new SecretFileError(
          this.file,
          'is not encrypted, but a passphrase was given; remove the file or use it without a passphrase',
        );
      return checkEntries(this.file, o.entries);
    }
    if (this.passphrase === undefined)
      throw new SecretFileError(
        this.file,
        'is encrypted: a passphrase is needed (BLINK_TUI_SECRETS_PASSPHRASE or the prompt)',
      );
    const k = o.kdf;
    if (
      !k ||
      k.name !== 'scrypt' ||
      !isPow2(k.N) ||
      k.N > MAX_N ||
      !(k.r >= 1 && k.r <= 32) ||
      !(k.p >= 1 && k.p <= 16) ||
      typeof k.salt !== 'string' ||
      o.cipher !== 'aes-256-gcm'
    )
      throw new SecretFileError(this.file, 'has unknown or unsafe key derivation parameters');
    const key = this.keyFor(k.salt, k);
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(o.iv, 'base64'));
      d.setAAD(AAD);
      d.setAuthTag(Buffer.from(o.tag, 'base64'));
      const plain = Buffer.concat([d.update(Buffer.from(o.data, 'base64')), d.final()]);
      return checkEntries(this.file, JSON.parse(plain.toString('utf8')));
    } catch (e) {
      if (e instanceof SecretFileError) throw e;
      throw new SecretFileError(this.file, 'wrong passphrase, or the file is damaged', { cause: e });
    }
  }

  private write(entries: Entry[]): void {
    ensureDir(dirname(this.file));
    let body: PlainFile | EncryptedFile;
    if (this.passphrase === undefined) {
      body = { format: FORMAT, version: 1, encrypted: false, entries };
    } else {
      const salt = this.derived?.salt ?? randomBytes(16).toString('base64');
      const key = this.keyFor(salt, SCRYPT);
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(AAD);
      const data = Buffer.concat([c.update(JSON.stringify(entries), 'utf8'), c.final()]);
      body = {
        format: FORMAT,
        version: 1,
        encrypted: true,
        kdf: { name: 'scrypt', ...SCRYPT, salt },
        cipher: 'aes-256-gcm',
        iv: iv.toString('base64'),
        tag: c.getAuthTag().toString('base64'),
        data: data.toString('base64'),
      };
    }
    atomicWriteFile(this.file, JSON.stringify(body, null, 1) + '\n', { mode: 0o600, forceMode: true });
  }

  private keyFor(salt: string, k: { N: number; r: number; p: number }): Buffer {
    if (this.derived && this.derived.salt === salt) return this.derived.key;
    const key = scryptSync(this.passphrase!.normalize('NFC'), Buffer.from(salt, 'base64'), 32, {
      N: k.N,
      r: k.r,
      p: k.p,
      maxmem: 256 * k.N * k.r + (1 << 20),
    });
    this.derived = { salt, key };
    return key;
  }
}

function isPow2(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

function checkEntries(file: string, v: unknown): Entry[] {
  if (!Array.isArray(v)) throw new SecretFileError(file, 'has no entry list');
  for (const e of v) {
    const o = e as Record<string, unknown>;
    if (
      typeof o !== 'object' ||
      o === null ||
      typeof o['service'] !== 'string' ||
      typeof o['account'] !== 'string' ||
      typeof o['secret'] !== 'string'
    )
      throw new SecretFileError(file, 'has a malformed entry');
  }
  return v as Entry[];
}
