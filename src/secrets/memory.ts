import { checkKey, type SecretStore } from './types.js';

/** For tests and for a session whose password was typed at a prompt and must not be kept. */
export class MemorySecretStore implements SecretStore {
  readonly backend = 'memory' as const;
  readonly description = 'in memory (forgotten on exit)';
  private readonly map = new Map<string, string>();

  async get(service: string, account: string): Promise<string | null> {
    checkKey(service, account);
    return this.map.get(key(service, account)) ?? null;
  }

  async set(service: string, account: string, secret: string): Promise<void> {
    checkKey(service, account);
    this.map.set(key(service, account), secret);
  }

  async delete(service: string, account: string): Promise<boolean> {
    checkKey(service, account);
    return this.map.delete(key(service, account));
  }
}

function key(service: string, account: string): string {
  return JSON.stringify([service, account]);
}
