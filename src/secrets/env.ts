import { checkKey, SecretStoreReadOnlyError, type SecretStore } from './types.js';

export const ENV_PASSWORD = 'BLINK_TUI_PASSWORD';

/** `BLINK_TUI_PASSWORD_<ACCOUNT>` (account upper-cased, anything not A-Z0-9 as `_`), e.g. BLINK_TUI_PASSWORD_ALICE_EXAMPLE_ORG. */
export function envNameFor(account: string): string {
  return `${ENV_PASSWORD}_${account.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Read-only secrets from the environment, for scripts and CI: the per-account variable first, then the general
 * BLINK_TUI_PASSWORD. The service name is not part of the lookup: there is one password per account.
 */
export class EnvSecretStore implements SecretStore {
  readonly backend = 'env' as const;
  readonly description: string;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    this.description = `environment (${ENV_PASSWORD}, ${ENV_PASSWORD}_<ACCOUNT>)`;
  }

  /** True when any variable this store reads is set. */
  hasAny(): boolean {
    return Object.keys(this.env).some((k) => k === ENV_PASSWORD || k.startsWith(ENV_PASSWORD + '_'));
  }

  async get(service: string, account: string): Promise<string | null> {
    checkKey(service, account);
    const specific = this.env[envNameFor(account)];
    if (specific !== undefined && specific !== '') return specific;
    const general = this.env[ENV_PASSWORD];
    return general !== undefined && general !== '' ? general : null;
  }

  async set(): Promise<void> {
    throw new SecretStoreReadOnlyError(
      'environment variables cannot be written from here; unset them or store the secret elsewhere',
    );
  }

  async delete(): Promise<boolean> {
    throw new SecretStoreReadOnlyError('environment variables cannot be deleted from here');
  }
}

/** Environment first for reads (so a script can override), writes go to the real store. */
export class LayeredSecretStore implements SecretStore {
  readonly backend = 'layered' as const;
  readonly description: string;

  constructor(
    readonly override: SecretStore,
    readonly primary: SecretStore,
  ) {
    this.description = `${override.description}, then ${primary.description}`;
  }

  async get(service: string, account: string): Promise<string | null> {
    return (await this.override.get(service, account)) ?? this.primary.get(service, account);
  }

  set(service: string, account: string, secret: string): Promise<void> {
    return this.primary.set(service, account, secret);
  }

  delete(service: string, account: string): Promise<boolean> {
    return this.primary.delete(service, account);
  }
}
