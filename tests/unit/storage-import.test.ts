import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importIdentity } from '../../src/chat-storage/index.js';
import { KeyStore } from '../../src/chat-storage/key-store.js';
import { parseLibotrFingerprints, parseLibotrPrivateKeys } from '../../src/chat-storage/libotr.js';
import { chatPaths } from '../../src/chat-storage/paths.js';
import { parseSexp } from '../../src/chat-storage/sexp.js';
import { TrustedPeers } from '../../src/chat-storage/trusted-peers.js';
import { fingerprintHex } from '../../src/keys/dsa-key.js';
import { parsePkcs8DsaDer, readDer } from '../../src/keys/pkcs8.js';

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-imp-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'importIdentity: a PKCS#8 PEM key (current Blink otr.key)',
  withDir((dir) => {
    const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const expected = parsePkcs8DsaDer(Uint8Array.from(privateKey.export({ type: 'pkcs8', format: 'der' })));
    const pemFile = join(dir, 'otr.key');
    writeFileSync(pemFile, pem);
    const cfg = join(dir, 'cfg');
    const s = importIdentity(cfg, { pemKey: pemFile });
    assert.equal(s.key?.action, 'installed');
    assert.equal(s.key?.fingerprint, fingerprintHex(expected));
    assert.deepEqual(new KeyStore(chatPaths(cfg).privateKey).load(), expected);
    assert.equal(s.fingerprints, null);
    assert.match(s.messages[0]!, /^imported the private key [0-9A-F]{8}( [0-9A-F]{8}){4} from .*otr\.key$/);
    // Traditional OpenSSL form of the same key gives the same identity.
    // Traditional OpenSSL form ("DSA PRIVATE KEY", made by the openssl tool) of the same key: the same identity.
    const trad = spawnSync('openssl', ['pkey', '-traditional'], { input: pem, encoding: 'utf8' });
    assert.equal(trad.status, 0, trad.stderr);
    assert.match(trad.stdout, /BEGIN DSA PRIVATE KEY/);
    writeFileSync(pemFile, trad.stdout);
    assert.equal(importIdentity(cfg, { pemKey: pemFile }).key?.action, 'unchanged');
    // Not a DSA key / not a key at all.
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    writeFileSync(pemFile, ec);
    assert.throws(() => importIdentity(cfg, { pemKey: pemFile }), /is not DSA/);
    writeFileSync(pemFile, 'hello');
    assert.throws(() => importIdentity(cfg, { pemKey: pemFile }), /holds no PEM block/);
    writeFileSync(pemFile, '-----BEGIN PRIVATE KEY-----\nMIIB!!!\n-----END PRIVATE KEY-----\n');
    assert.throws(() => importIdentity(cfg, { pemKey: pemFile }), /not valid base64/);
    writeFileSync(
      pemFile,
      '-----BEGIN PRIVATE KEY-----\nMIIBSwIBADCCASsGByqGSM44BAEwggEeAoGBAP\n-----END PRIVATE KEY-----\n',
    );
    assert.throws(
      () => importIdentity(cfg, { pemKey: pemFile }),
      (e: Error) => e.name === 'ImportError' && /claims|truncated|missing/.test(e.message),
    );
    assert.throws(() => importIdentity(cfg, {}), /nothing to import/);
  }),
);

test('DER reader: hostile lengths are refused before anything is sliced', () => {
  assert.throws(() => readDer(Uint8Array.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), /claims/);
  assert.throws(() => readDer(Uint8Array.from([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9])), /unsupported length/);
  assert.throws(() => readDer(Uint8Array.from([0x30])), /truncated/);
  for (let i = 0; i < 300; i++) {
    const junk = Uint8Array.from({ length: 1 + Math.floor(Math.random() * 60) }, () => Math.floor(Math.random() * 256));
    junk[0] = 0x30;
    try {
      parsePkcs8DsaDer(junk);
    } catch (e) {
      // The DER parser lives in src/keys now: its one error type, with the DER code (import wraps it).
      assert.equal((e as Error).name, 'EncodingError');
      assert.equal((e as { code?: string }).code, 'bad-der');
    }
  }
});

test('s-expression parser: every atom form gcrypt writes, and hostile input', () => {
  const e = parseSexp('(a "q\\"uo\\x41\\101" #00ff# |AQI=| 3:x y tok-en.1)');
  assert.equal(e.length, 1);
  const l = e[0] as Uint8Array[];
  assert.deepEqual(
    l.map((x) => Buffer.from(x).toString('latin1')),
    ['a', 'q"uoAA', '\u0000\u00ff', '\u0001\u0002', 'x y', 'tok-en.1'],
  );
  for (const bad of [
    '(a',
    ')',
    '(#0#)',
    '("abc',
    '(5:ab)',
    '(|@@|)',
    '(a \u0001)',
    '('.repeat(100) + ')'.repeat(100),
  ]) {
    assert.throws(
      () => parseSexp(bad),
      (err: Error) => err.name === 'FormatError',
      bad,
    );
  }
  assert.throws(() => parseLibotrPrivateKeys('(foo)'), /no \(privkeys/);
  assert.throws(
    () => parseLibotrPrivateKeys('(privkeys (account (name "a") (protocol p) (private-key (dsa (p #01#)))))'),
    /parameter q is missing/,
  );
  assert.deepEqual(parseLibotrPrivateKeys('(privkeys)'), []);
});

test('libotr fingerprints parser: skips bad lines with reasons, keeps going', () => {
  const fp = 'ab'.repeat(20);
  const r = parseLibotrFingerprints(
    `bob@x\talice@y\tprpl-jabber\t${fp}\tverified\r\nshort\tline\n\ncarol@x\talice@y\tprpl-jabber\tnothex\t\ndave@x\talice@y\tprpl-jabber\t${fp}\n`,
  );
  assert.equal(r.entries.length, 2);
  assert.equal(r.entries[0]!.trust, 'verified');
  assert.equal(r.entries[1]!.trust, '');
  assert.equal(r.entries[1]!.line, 5);
  assert.deepEqual(
    r.skipped.map((s) => s.line),
    [2, 4],
  );
});

test(
  'importIdentity: fingerprints into an existing hand-edited trusted_peers, without downgrades',
  withDir((dir) => {
    const cfg = join(dir, 'cfg');
    const paths = chatPaths(cfg);
    const A = 'AA'.repeat(20);
    const B = 'BB'.repeat(20);
    const original = '# mine\nbob@example.org\t' + A + '\tsmp\n';
    const tp0 = new TrustedPeers(paths.trustedPeers);
    tp0.learn('x@example.org', B);
    writeFileSync(paths.trustedPeers, original);
    const fpf = join(dir, 'otr.fingerprints');
    writeFileSync(
      fpf,
      `bob@example.org\talice@example.org\tprpl-jabber\t${A.toLowerCase()}\t\nbob@example.org\talice@example.org\tprpl-jabber\t${B.toLowerCase()}\tverified\n`,
    );
    const s = importIdentity(cfg, { libotrFingerprints: fpf });
    assert.equal(s.key, null);
    assert.deepEqual([s.fingerprints?.added, s.fingerprints?.unchanged], [1, 1]);
    const tp = new TrustedPeers(paths.trustedPeers);
    assert.equal(tp.trustOf('bob@example.org', A), 'smp');
    assert.equal(tp.trustOf('bob@example.org', B), 'verified');
    assert.ok(readFileSync(paths.trustedPeers, 'utf8').startsWith(original));
    assert.ok(readdirSync(paths.chatDir).every((n) => !n.includes('.tmp-')));
  }),
);
