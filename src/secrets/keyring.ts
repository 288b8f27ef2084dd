import { randomBytes } from 'node:crypto';
import { checkKey, SecretStoreError, type SecretStore } from './types.js';

/** The part of @napi-rs/keyring 2.x we use (its synchronous Entry). */
export interface KeyringEntry {
  getPassword(): string | null;
  setPassword(password: string): void;
  deletePassword(): boolean;
}

export interface KeyringModule {
  Entry: new (
    service: string,
    account: string,
    options?: { linux?: { store?: 'secret-service' | 'keyutils' } },
  ) => KeyringEntry;
}

/**
 * On Linux the library's default silently falls back to the kernel keyring (keyutils) after the Secret Service
 * fails once: that store forgets everything at reboot, which would lose a saved password without a word.
 * Pinning the Secret Service makes an unavailable keychain fail loudly, and the 0600 file is used instead.
 */
const ENTRY_OPTIONS = process.platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;

export type KeyringLoader = () => Promise<KeyringModule>;

/** The optional dependency, loaded only when asked for, so a machine without it still runs. */
export const loadNapiKeyring: KeyringLoader = async () => {
  const name = '@napi-rs/keyring';
  // A variable specifier keeps TypeScript from requiring the optional package at build time.
  const m = (await import(name)) as Partial<KeyringModule> & { default?: Partial<KeyringModule> };
  const Entry = m.Entry ?? m.default?.Entry;
  if (typeof Entry !== 'function') throw new SecretStoreError('@napi-rs/keyring has no Entry class');
  return { Entry };
};

/** The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager). */
export class KeyringSecretStore implements SecretStore {
  readonly backend = 'keyring' as const;
  readonly description = 'the OS keychain';

  private constructor(private readonly mod: KeyringModule) {}

  /**
   * Loads the module and proves the keychain works: write, read back, delete. Headless Linux answers reads with
   * null but refuses writes, so a read alone proves nothing. Resolves the store, or rejects saying why not.
   */
  static async probe(load: KeyringLoader = loadNapiKeyring): Promise<KeyringSecretStore> {
    let mod: KeyringModule;
    try {
      mod = await load();
    } catch (e) {
      throw new SecretStoreError(`OS keychain module not available: ${(e as Error).message}`, { cause: e });
    }
    const account = `probe-${process.pid}-${randomBytes(6).toString('hex')}`;
    const value = randomBytes(12).toString('hex');
    try {
      const entry = new mod.Entry('blink-tui-probe', account, ENTRY_OPTIONS);
      entry.setPassword(value);
      const back = entry.getPassword();
      entry.deletePassword();
      if (back !== value) throw new Error('a value written could not be read back');
    } catch (e) {
      throw new SecretStoreError(`OS keychain not usable: ${(e as Error).message}`, { cause: e });
    }
    return new KeyringSecretStore(mod);
  }

  async get(service: string, account: string): Promise<string | null> {
    checkKey(service, account);
    try {
      return new this.mod.Entry(service, account, ENTRY_OPTIONS).getPassword();
    } catch (e) {
      throw new SecretStoreError(`OS keychain read failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async set(service: string, account: string, secret: string): Promise<void> {
    checkKey(service, account);
    try {
      new this.mod.Entry(service, account, ENTRY_OPTIONS).setPassword(secret);
    } catch (e) {
      throw new SecretStoreError(`OS keychain write failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async delete(service: string, account: string): Promise<boolean> {
    checkKey(service, account);
    try {
      return new this.mod.Entry(service, account, ENTRY_OPTIONS).deletePassword();
    } catch (e) {
      // NoEntry comes back as an error from some platforms: nothing was there to delete.
      if (/no ?entry|not found/i.test((e as Error).message)) return false;
      throw new SecretStoreError(`OS keychain delete failed: ${(e as Error).message}`, { cause: e });
    }
  }
}
