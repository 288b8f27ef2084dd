import { join } from 'node:path';
import { EnvSecretStore, LayeredSecretStore } from './env.js';
import { FileSecretStore } from './file.js';
import { KeyringSecretStore, loadNapiKeyring, type KeyringLoader } from './keyring.js';
import type { SecretBackendName, SecretStore } from './types.js';

export const ENV_SECRETS_PASSPHRASE = 'BLINK_TUI_SECRETS_PASSPHRASE';

export interface OpenSecretStoreOptions {
  env?: NodeJS.ProcessEnv;
  /** Encrypt the fallback file with this passphrase (default: $BLINK_TUI_SECRETS_PASSPHRASE, else unencrypted). */
  passphrase?: string;
  /** 'off' skips the OS keychain (e.g. `--no-keyring`); default 'auto'. */
  keyring?: 'auto' | 'off';
  /** How to load @napi-rs/keyring (tests pass their own). */
  loadKeyring?: KeyringLoader;
}

export interface OpenedSecretStore {
  store: SecretStore;
  /** The store writes go to. */
  backend: Exclude<SecretBackendName, 'layered' | 'env' | 'memory'>;
  /** BLINK_TUI_PASSWORD(_<ACCOUNT>) is set and is read before the backend. */
  envOverride: boolean;
  /** Why the choice fell where it did, one line each (e.g. "OS keychain not usable: AccessDenied"). */
  notes: string[];
}

/** Probes and picks: OS keychain if it passes a write/read/delete probe, else `<configDir>/secrets` (0600). */
export async function openSecretStore(
  configDir: string,
  opts: OpenSecretStoreOptions = {},
): Promise<OpenedSecretStore> {
  const env = opts.env ?? process.env;
  const notes: string[] = [];
  let primary: KeyringSecretStore | FileSecretStore | null = null;
  if (opts.keyring !== 'off') {
    try {
      primary = await KeyringSecretStore.probe(opts.loadKeyring ?? loadNapiKeyring);
      notes.push('using the OS keychain');
    } catch (e) {
      notes.push(`${(e as Error).message}; falling back to a file`);
    }
  } else notes.push('OS keychain disabled');
  if (!primary) {
    const file = join(configDir, 'secrets');
    const pass = opts.passphrase ?? (env[ENV_SECRETS_PASSPHRASE] || undefined);
    const onDisk = FileSecretStore.isEncrypted(file);
    if (onDisk === true && pass === undefined)
      notes.push(`${file} is encrypted: reading it needs a passphrase (${ENV_SECRETS_PASSPHRASE})`);
    primary = new FileSecretStore(file, pass);
    notes.push(`using ${primary.description}`);
  }
  const envStore = new EnvSecretStore(env);
  const envOverride = envStore.hasAny();
  if (envOverride) notes.push('BLINK_TUI_PASSWORD is set and takes precedence for reading');
  return {
    store: envOverride ? new LayeredSecretStore(envStore, primary) : primary,
    backend: primary.backend,
    envOverride,
    notes,
  };
}
