export type SecretBackendName = 'keyring' | 'file' | 'encrypted-file' | 'env' | 'memory' | 'layered';

/** Where SIP passwords (and similar) are kept, addressed by service + account. */
export interface SecretStore {
  readonly backend: SecretBackendName;
  /** One line for the user: which backend and where. */
  readonly description: string;
  get(service: string, account: string): Promise<string | null>;
  set(service: string, account: string, secret: string): Promise<void>;
  /** true when something was deleted. */
  delete(service: string, account: string): Promise<boolean>;
}

export class SecretStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** set/delete on a source that can only be read (environment variables). */
export class SecretStoreReadOnlyError extends SecretStoreError {}

/** The secrets file is damaged, encrypted without a passphrase given, or the passphrase is wrong. */
export class SecretFileError extends SecretStoreError {
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

export function checkKey(service: string, account: string): void {
  if (typeof service !== 'string' || service === '')
    throw new SecretStoreError('secret service name must be a non-empty string');
  if (typeof account !== 'string') throw new SecretStoreError('secret account name must be a string');
}
