import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePrivateKey, encodePrivateKey, type DsaKeyParams } from '../../src/chat-storage/dsa-key.js';
import { KeyFileError } from '../../src/chat-storage/errors.js';
import { parsePemDsaKey } from '../../src/chat-storage/import.js';
import { KeyStore } from '../../src/chat-storage/key-store.js';
import {
  fingerprintHex,
  fingerprintHuman as formatFingerprint,
  generateDsaKey as generateDsaKeyWithNodeCrypto,
  normalizeFingerprint,
  serializePublicKey as encodePublicKey,
} from '../../src/keys/dsa-key.js';
import { parsePkcs8DsaDer } from '../../src/keys/pkcs8.js';
import { sha1 } from '@noble/hashes/legacy.js';

const key = generateDsaKeyWithNodeCrypto();
const tmp = () => mkdtempSync(join(tmpdir(), 'blink-key-'));

test('private key serialization round-trips and is the documented layout', () => {
  const bytes = encodePrivateKey(key);
  assert.equal(bytes[0], 0);
  assert.equal(bytes[1], 0);
  // First MPI is p: 4-byte big-endian length, minimal bytes (no leading zero byte).
  const plen = new DataView(bytes.buffer).getUint32(2);
  assert.equal(plen, 128);
  assert.notEqual(bytes[6], 0);
  assert.deepEqual(decodePrivateKey(bytes), key);
});

test('fingerprint is SHA-1 over the public MPIs without the type bytes, shown in five groups', () => {
  const pub = encodePublicKey(key);
  const expected = Buffer.from(sha1(pub.subarray(2)))
    .toString('hex')
    .toUpperCase();
  assert.equal(fingerprintHex(key), expected);
  const shown = formatFingerprint(expected.toLowerCase());
  assert.match(shown, /^([0-9A-F]{8} ){4}[0-9A-F]{8}$/);
  assert.equal(normalizeFingerprint(shown), expected);
  assert.equal(normalizeFingerprint('xyz'), null);
});

test('the PKCS#8 parser reads OpenSSL keys: a signature made by OpenSSL verifies with our y', () => {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  const k = parsePkcs8DsaDer(Uint8Array.from(privateKey.export({ type: 'pkcs8', format: 'der' })));
  // Rebuild the public key from our numbers as JWK-less SPKI is awkward; check y against OpenSSL's own SPKI instead.
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const yHex = k.y.toString(16);
  assert.ok(
    Buffer.from(spki)
      .toString('hex')
      .includes(yHex.length % 2 ? '0' + yHex : yHex),
  );
  const sig = sign('sha1', Buffer.from('hello'), privateKey);
  assert.ok(verify('sha1', Buffer.from('hello'), createPublicKey(privateKey), sig));
  // PEM route (what current Blink writes as otr.key) gives the same numbers.
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.deepEqual(parsePemDsaKey(pem), k);
  // Encrypted PKCS#8 needs its passphrase.
  const enc = createPrivateKey(pem).export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase: 'pw',
  }) as string;
  assert.throws(() => parsePemDsaKey(enc, 'otr.key'), /encrypted/);
  assert.deepEqual(parsePemDsaKey(enc, 'otr.key', 'pw'), k);
});

test('hostile key bytes give a FormatError, never a crash or a huge allocation', () => {
  const good = encodePrivateKey(key);
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([0]),
    new Uint8Array([0, 1, 0, 0, 0, 0]),
    good.subarray(0, 50),
    Uint8Array.from([...good, 1]),
    Uint8Array.from([0, 0, 0xff, 0xff, 0xff, 0xff]),
  ];
  const wrongY = encodePrivateKey({ ...key, y: key.y ^ 2n });
  cases.push(wrongY);
  for (const c of cases)
    assert.throws(
      () => decodePrivateKey(c),
      (e: Error) => e.name === 'FormatError',
    );
  for (let i = 0; i < 200; i++) {
    const b = Uint8Array.from(good);
    const at = Math.floor(Math.random() * b.length);
    b[at] = b[at]! ^ (1 << Math.floor(Math.random() * 8));
    try {
      decodePrivateKey(b);
    } catch (e) {
      assert.equal((e as Error).name, 'FormatError');
    }
  }
});

test('KeyStore: created on first use with mode 0600, loaded afterwards, generator not called again', async () => {
  const dir = tmp();
  try {
    const store = new KeyStore(join(dir, 'chat', 'private_key.dsa'));
    let calls = 0;
    const gen = (): DsaKeyParams => {
      calls++;
      return key;
    };
    const a = await store.loadOrCreate(gen);
    assert.equal(a.created, true);
    assert.equal(statSync(store.file).mode & 0o777, 0o600);
    const b = await new KeyStore(store.file).loadOrCreate(gen);
    assert.equal(b.created, false);
    assert.equal(calls, 1);
    assert.equal(b.fingerprint, fingerprintHex(key));
    assert.deepEqual(readFileSync(store.file), Buffer.from(encodePrivateKey(key)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KeyStore: an unreadable key file is an error naming it, left untouched, no new identity made', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'private_key.dsa');
    const junk = Buffer.from('this is not a key');
    writeFileSync(file, junk, { mode: 0o600 });
    const store = new KeyStore(file);
    let calls = 0;
    await assert.rejects(
      store.loadOrCreate(() => {
        calls++;
        return key;
      }),
      (e: Error) => e instanceof KeyFileError && e.message.includes(file) && /not a usable OTR DSA key/.test(e.message),
    );
    assert.equal(calls, 0);
    assert.deepEqual(readFileSync(file), junk);
    assert.deepEqual(readdirSync(dir), ['private_key.dsa']);
    chmodSync(file, 0o000);
    if (process.getuid?.() !== 0) assert.throws(() => store.load(), /cannot be read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KeyStore: regeneration keeps the old key as a dated backup', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'private_key.dsa');
    const store = new KeyStore(file);
    await store.loadOrCreate(() => key);
    const other = generateDsaKeyWithNodeCrypto();
    const r = await store.regenerate(() => other, new Date('2026-11-24T10:20:30Z'));
    assert.equal(r.backupPath, file + '.20261124-102030.bak');
    assert.deepEqual(decodePrivateKey(readFileSync(r.backupPath!)), key);
    assert.deepEqual(store.load(), other);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const r2 = await store.regenerate(() => key, new Date('2026-11-24T10:20:30Z'));
    assert.equal(r2.backupPath, file + '.20261124-102030-1.bak');
    assert.ok(existsSync(r.backupPath!));
    await assert.rejects(
      store.regenerate(() => ({ ...key, x: key.x + 1n })),
      /bad DSA key/,
    );
    assert.deepEqual(store.load(), key);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
