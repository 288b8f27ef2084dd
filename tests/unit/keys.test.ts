// src/keys: one DSA key rule for the engine (AKE), storage (private_key.dsa, import) and generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncodingError, concatBytes, encodeMpi } from '../../src/bytes/bytes.js';
import {
  checkDsaKey,
  checkPublicKey,
  fingerprint,
  fingerprintGroups,
  fingerprintHex,
  fingerprintHuman,
  generateDsaKey,
  parsePublicKey,
  publicKeyOf,
  serializePublicKey,
  type DsaKeyParams,
} from '../../src/keys/dsa-key.js';
import { parsePkcs8DsaDer } from '../../src/keys/pkcs8.js';
import { parsePublicKey as enginePublicKey } from '../../src/otr/crypto/dsa.js';
import { verifyEncryptedSignature } from '../../src/otr/ake.js';
import { aesCtr, hmacSha256 } from '../../src/otr/keys.js';
import { OtrProtocolError } from '../../src/otr/errors.js';
import { Writer } from '../../src/otr/wire.js';
import { G, modPow, randomBytes, randomExponent } from '../../src/otr/crypto/group.js';
import { importIdentity } from '../../src/chat-storage/index.js';
import { decodePrivateKey, encodePrivateKey } from '../../src/chat-storage/dsa-key.js';
import { KeyFileError } from '../../src/chat-storage/errors.js';
import { KeyStore } from '../../src/chat-storage/key-store.js';

const good = generateDsaKey();

/** An OpenSSL DSA key with a q of `qBits` (a valid key, just not one OTR can use: SIG has 20-byte r and s). */
function opensslKey(qBits: number): { key: DsaKeyParams; pem: string } {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: qBits });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    key: parsePkcs8DsaDer(new Uint8Array(der)),
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** Public keys every layer must refuse, each with the rule it breaks. */
function badPublicKeys(): [string, DsaKeyParams][] {
  const k = good;
  return [
    ['q of 256 bits', opensslKey(256).key],
    ['p even', { ...k, p: k.p + 1n }],
    ['g = 1', { ...k, g: 1n }],
    ['y = p', { ...k, y: k.p }],
    ['q does not divide p-1', { ...k, q: k.q + 2n }],
  ];
}

test('the one sanity check: OTR keys pass, and q must be exactly 160 bits (not 128-512)', () => {
  checkDsaKey(good);
  checkPublicKey(publicKeyOf(good));
  assert.equal(good.q.toString(2).length, 160);
  for (const qBits of [224, 256]) {
    const { key } = opensslKey(qBits);
    assert.throws(
      () => checkDsaKey(key),
      (e) => e instanceof EncodingError && e.code === 'bad-key' && /160/.test(e.message),
    );
  }
});

test('engine and storage refuse the same public keys, each with its own error type', () => {
  for (const [why, k] of badPublicKeys()) {
    const pub = serializePublicKey(k);
    // A q longer than 20 bytes is refused by its length, before the number is read ('oversized').
    const codes = why.startsWith('q of') ? ['oversized'] : ['bad-pubkey'];
    assert.throws(
      () => parsePublicKey(pub, 0),
      (e) => e instanceof EncodingError && codes.includes(e.code),
      why,
    );
    assert.throws(
      () => enginePublicKey(pub, 0),
      (e) => e instanceof OtrProtocolError && codes.includes(e.code),
      why,
    );
    assert.throws(
      () => decodePrivateKey(encodePrivateKey(k)),
      (e: Error) => e.name === 'FormatError',
      why,
    );
  }
  // Storage reads private_key.dsa with the same PUBKEY parser: a non-minimal MPI is refused there too.
  const body = encodePrivateKey(good);
  const pLen = new DataView(body.buffer).getUint32(2);
  const nonMinimal = concatBytes(body.subarray(0, 6), Uint8Array.of(0), body.subarray(6));
  new DataView(nonMinimal.buffer).setUint32(2, pLen + 1);
  assert.throws(
    () => decodePrivateKey(nonMinimal),
    (e: Error) => e.name === 'FormatError' && /leading zero/.test(e.message),
  );
});

test('a key file or PEM import with a 256-bit q is refused (storage used to accept 128-512 bits)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-keys-'));
  try {
    const { key, pem } = opensslKey(256);
    const file = join(dir, 'private_key.dsa');
    writeFileSync(file, encodePrivateKey(key));
    assert.throws(
      () => new KeyStore(file).load(),
      (e) => e instanceof KeyFileError && /160/.test(e.message),
    );
    const pemFile = join(dir, 'otr.key');
    writeFileSync(pemFile, pem);
    assert.throws(() => importIdentity(join(dir, 'cfg'), { pemKey: pemFile }), /not a usable DSA key.*160/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the AKE parses the peer key strictly: refused as a key (not as a bad signature) before any signature check', () => {
  const [c, m1, m2] = [randomBytes(16), randomBytes(32), randomBytes(32)];
  const gx = modPow(G, randomExponent());
  const gy = modPow(G, randomExponent());
  for (const [why, peer] of badPublicKeys()) {
    // X = PUBKEY || keyid || SIG, as a Reveal Signature carries it (the signature itself is junk). The lenient
    // reader the AKE used before took every one of these keys and only the signature check refused them.
    const X = concatBytes(serializePublicKey(peer), new Writer().int(1).finish(), randomBytes(64));
    const encSig = aesCtr(c, X);
    const field = new Writer().data(encSig).finish();
    const mac = hmacSha256(m2, field).slice(0, 20);
    assert.throws(
      () => verifyEncryptedSignature(c, m1, m2, field, encSig, mac, gx, gy),
      (e) => e instanceof OtrProtocolError && (e.code === 'bad-pubkey' || e.code === 'oversized'),
      why,
    );
  }
  // The same message with a usable key gets as far as the signature.
  const X2 = concatBytes(serializePublicKey(good), new Writer().int(1).finish(), randomBytes(40));
  const enc2 = aesCtr(c, X2);
  const field2 = new Writer().data(enc2).finish();
  assert.throws(
    () => verifyEncryptedSignature(c, m1, m2, field2, enc2, hmacSha256(m2, field2).slice(0, 20), gx, gy),
    (e) => e instanceof OtrProtocolError && e.code === 'bad-signature',
  );
});

test('fingerprints: one display rule for bytes and text (five groups of eight)', () => {
  const fp = fingerprint(good);
  const hex = fingerprintHex(fp);
  assert.equal(fingerprintHex(good), hex);
  assert.equal(fingerprintHuman(fp), fingerprintHuman(hex.toLowerCase()));
  assert.equal(fingerprintHuman(fp), fingerprintGroups(hex).join(' '));
  assert.match(fingerprintHuman(fp), /^([0-9A-F]{8} ){4}[0-9A-F]{8}$/);
  assert.deepEqual(fingerprintGroups(' ab cd '), ['ABCD']);
  assert.throws(() => fingerprintHex(new Uint8Array(21)), RangeError);
});

test('MPI reader: codes, and lengths checked before use', () => {
  const code = (c: string) => (e: unknown) => e instanceof EncodingError && e.code === c;
  assert.throws(() => parsePublicKey(Uint8Array.of(0, 1), 0), code('bad-pubkey'));
  assert.throws(() => parsePublicKey(concatBytes(Uint8Array.of(0, 0), encodeMpi(0x1234n)), 0), code('truncated'));
  assert.throws(() => parsePublicKey(Uint8Array.of(0, 0, 0xff, 0xff, 0xff, 0xff), 0), code('oversized'));
  assert.throws(() => parsePublicKey(serializePublicKey(good).subarray(0, 100), 0), code('truncated'));
});
