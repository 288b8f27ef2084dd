import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSecretStore } from '../../src/secrets/index.js';
import { EnvSecretStore, envNameFor } from '../../src/secrets/env.js';
import { FileSecretStore } from '../../src/secrets/file.js';
import { KeyringSecretStore, loadNapiKeyring, type KeyringModule } from '../../src/secrets/keyring.js';
import { MemorySecretStore } from '../../src/secrets/memory.js';
import { SecretFileError, SecretStoreReadOnlyError, type SecretStore } from '../../src/secrets/types.js';

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-sec-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function roundTrip(s: SecretStore): Promise<void> {
  assert.equal(await s.get('sip', 'alice@example.org'), null);
  await s.set('sip', 'alice@example.org', 'pässwörd');
  await s.set('sip', 'bob@example.org', 'other');
  await s.set('msrp-relay', 'alice@example.org', 'relay');
  assert.equal(await s.get('sip', 'alice@example.org'), 'pässwörd');
  await s.set('sip', 'alice@example.org', 'changed');
  assert.equal(await s.get('sip', 'alice@example.org'), 'changed');
  assert.equal(await s.get('msrp-relay', 'alice@example.org'), 'relay');
  assert.equal(await s.delete('sip', 'alice@example.org'), true);
  assert.equal(await s.delete('sip', 'alice@example.org'), false);
  assert.equal(await s.get('sip', 'alice@example.org'), null);
  assert.equal(await s.get('sip', 'bob@example.org'), 'other');
}

test('memory store round trip', async () => {
  await roundTrip(new MemorySecretStore());
});

test(
  'plain file store: round trip, 0600, survives a new instance',
  withDir(async (dir) => {
    const file = join(dir, 'secrets');
    const s = new FileSecretStore(file);
    await roundTrip(s);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(await new FileSecretStore(file).get('sip', 'bob@example.org'), 'other');
    // A widened mode is narrowed again on the next write: secrets stay 0600.
    chmodSync(file, 0o644);
    await s.set('sip', 'x', 'y');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  }),
);

test(
  'encrypted file store: round trip, nothing readable on disk, wrong or missing passphrase refused',
  withDir(async (dir) => {
    const file = join(dir, 'secrets');
    const s = new FileSecretStore(file, 'correct horse');
    await roundTrip(s);
    const raw = readFileSync(file, 'utf8');
    assert.ok(!raw.includes('other') && !raw.includes('bob@example.org') && !raw.includes('relay'));
    assert.equal(await new FileSecretStore(file, 'correct horse').get('sip', 'bob@example.org'), 'other');
    await assert.rejects(
      new FileSecretStore(file, 'wrong').get('sip', 'bob@example.org'),
      (e: Error) => e instanceof SecretFileError && /wrong passphrase/.test(e.message),
    );
    await assert.rejects(
      new FileSecretStore(file).get('sip', 'bob@example.org'),
      /is encrypted: a passphrase is needed/,
    );
    // Tampering with the ciphertext is detected.
    const o = JSON.parse(raw);
    const data = Buffer.from(o.data, 'base64');
    data[0] = data[0]! ^ 1;
    o.data = data.toString('base64');
    writeFileSync(file, JSON.stringify(o));
    await assert.rejects(
      new FileSecretStore(file, 'correct horse').get('sip', 'bob@example.org'),
      /wrong passphrase, or the file is damaged/,
    );
    // Hostile parameters never reach scrypt.
    writeFileSync(file, JSON.stringify({ ...o, kdf: { ...o.kdf, N: 2 ** 40 } }));
    await assert.rejects(new FileSecretStore(file, 'x').get('a', 'b'), /unsafe key derivation/);
    writeFileSync(file, 'garbage');
    await assert.rejects(new FileSecretStore(file).get('a', 'b'), /not valid JSON/);
    assert.equal(readFileSync(file, 'utf8'), 'garbage', 'a damaged file is left alone');
  }),
);

test('environment store: per-account variable, then the general one; read-only', async () => {
  const env = { BLINK_TUI_PASSWORD: 'general', [envNameFor('alice@example.org')]: 'alice-pw' };
  assert.equal(envNameFor('alice@example.org'), 'BLINK_TUI_PASSWORD_ALICE_EXAMPLE_ORG');
  const s = new EnvSecretStore(env);
  assert.equal(await s.get('sip', 'alice@example.org'), 'alice-pw');
  assert.equal(await s.get('sip', 'bob@example.org'), 'general');
  assert.equal(await new EnvSecretStore({}).get('sip', 'bob@example.org'), null);
  await assert.rejects(s.set(), SecretStoreReadOnlyError);
  await assert.rejects(s.delete(), SecretStoreReadOnlyError);
});

/** A stand-in for the keychain module's contract, used only to exercise the probe's decision both ways. */
function fakeKeyring(behaviour: 'works' | 'headless'): KeyringModule {
  const data = new Map<string, string>();
  return {
    Entry: class {
      constructor(
        private s: string,
        private a: string,
      ) {}
      getPassword() {
        return behaviour === 'works' ? (data.get(`${this.s}/${this.a}`) ?? null) : null;
      }
      setPassword(p: string) {
        if (behaviour === 'headless') throw new Error("Couldn't access platform storage: AccessDenied");
        data.set(`${this.s}/${this.a}`, p);
      }
      deletePassword() {
        if (behaviour === 'headless') throw new Error("Couldn't access platform storage: AccessDenied");
        return data.delete(`${this.s}/${this.a}`);
      }
    },
  };
}

test(
  'openSecretStore: keychain only after a write/read-back/delete probe; file fallback; env override',
  withDir(async (dir) => {
    const good = await openSecretStore(dir, { env: {}, loadKeyring: async () => fakeKeyring('works') });
    assert.equal(good.backend, 'keyring');
    await roundTrip(good.store);

    const headless = await openSecretStore(dir, { env: {}, loadKeyring: async () => fakeKeyring('headless') });
    assert.equal(headless.backend, 'file');
    assert.match(headless.notes.join('\n'), /OS keychain not usable: .*AccessDenied/);

    const missing = await openSecretStore(dir, {
      env: {},
      loadKeyring: async () => {
        throw new Error('Cannot find package');
      },
    });
    assert.equal(missing.backend, 'file');
    assert.match(missing.notes[0]!, /module not available/);

    const enc = await openSecretStore(dir, { env: { BLINK_TUI_SECRETS_PASSPHRASE: 'pp' }, keyring: 'off' });
    assert.equal(enc.backend, 'encrypted-file');
    await enc.store.set('sip', 'alice@example.org', 'stored');

    const layered = await openSecretStore(dir, {
      env: { BLINK_TUI_PASSWORD: 'from-env', BLINK_TUI_SECRETS_PASSPHRASE: 'pp' },
      keyring: 'off',
    });
    assert.equal(layered.envOverride, true);
    assert.equal(await layered.store.get('sip', 'alice@example.org'), 'from-env');
    await layered.store.set('sip', 'carol@example.org', 'c');
    assert.equal(await new FileSecretStore(join(dir, 'secrets'), 'pp').get('sip', 'carol@example.org'), 'c');

    const locked = await openSecretStore(dir, { env: {}, keyring: 'off' });
    assert.match(locked.notes.join('\n'), /is encrypted: reading it needs a passphrase/);
  }),
);

test('the real @napi-rs/keyring on this machine: the probe decides, and the choice is reported', async () => {
  let real: KeyringSecretStore | null = null;
  let why = '';
  try {
    real = await KeyringSecretStore.probe(loadNapiKeyring);
  } catch (e) {
    why = (e as Error).message;
  }
  const dir = mkdtempSync(join(tmpdir(), 'blink-sec-'));
  try {
    const opened = await openSecretStore(dir, { env: {} });
    if (real) {
      assert.equal(opened.backend, 'keyring');
      await roundTrip(opened.store);
      for (const a of ['alice@example.org', 'bob@example.org'])
        for (const s of ['sip', 'msrp-relay']) await opened.store.delete(s, a);
    } else {
      // Headless (no Secret Service): the probe must have refused, and the file is used.
      assert.match(why, /OS keychain (not usable|module not available)/);
      assert.equal(opened.backend, 'file');
      await roundTrip(opened.store);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
