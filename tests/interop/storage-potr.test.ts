import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePrivateKey } from '../../src/chat-storage/dsa-key.js';
import { KeyStore } from '../../src/chat-storage/key-store.js';
import {
  fingerprintHex,
  fingerprintHuman as formatFingerprint,
  generateDsaKey as generateDsaKeyWithNodeCrypto,
} from '../../src/keys/dsa-key.js';

// python-potr's own key serialization (PK.serializePrivateKey / PK.parsePrivateKey) and fingerprint (cfingerprint).
// Only key generation is replaced: potr's generate() calls a PyCrypto API that Debian's pycryptodome lacks.
const PY = String.raw`
import sys
from potr.compatcrypto import DSAKey
from potr.crypt import PK
mode, path = sys.argv[1], sys.argv[2]
if mode == 'write':
    from Cryptodome.PublicKey import DSA
    k = DSA.generate(1024)
    key = DSAKey((k.y, k.g, k.p, k.q, k.x), private=True)
    with open(path, 'wb') as f:
        f.write(key.serializePrivateKey())
    print(key.cfingerprint())
    print(str(key))
else:
    with open(path, 'rb') as f:
        data = f.read()
    key, rest = PK.parsePrivateKey(data)
    assert rest == b'', 'trailing bytes: %r' % rest
    # Construction ran pycryptodome's consistency checks (y = g^x mod p, subgroup); re-serializing must be identical.
    assert key.serializePrivateKey() == data, 'potr re-serializes differently'
    print(key.cfingerprint())
    print(str(key))
`;

let work = '';
const py = (...args: string[]) => {
  const r = spawnSync('/usr/bin/python3', ['-c', PY, ...args], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, 'python-potr failed: ' + r.stderr);
  return r.stdout.trim().split('\n');
};

before(() => {
  work = mkdtempSync(join(tmpdir(), 'blink-potr-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a key written by python-potr loads here with the same fingerprint', () => {
  for (let i = 0; i < 3; i++) {
    const file = join(work, `potr-${i}.dsa`);
    const [fpHex, human] = py('write', file);
    const key = new KeyStore(file).load();
    assert.ok(key);
    assert.equal(fingerprintHex(key), fpHex!.toUpperCase());
    assert.equal(formatFingerprint(fingerprintHex(key)), human);
    // Our encoding of that key is byte for byte what potr wrote.
    assert.deepEqual(Buffer.from(encodePrivateKey(key)), readFileSync(file));
  }
});

test('a key written here loads in python-potr with the same fingerprint', async () => {
  for (let i = 0; i < 3; i++) {
    const file = join(work, `ours-${i}`, 'private_key.dsa');
    const store = new KeyStore(file);
    const { fingerprint } = await store.loadOrCreate(generateDsaKeyWithNodeCrypto);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const [fpHex, human] = py('read', file);
    assert.equal(fpHex!.toUpperCase(), fingerprint);
    assert.equal(human, formatFingerprint(fingerprint));
  }
});

test('python-potr rejects what we reject: a key whose y does not match x', () => {
  const key = generateDsaKeyWithNodeCrypto();
  const file = join(work, 'bad.dsa');
  writeFileSync(file, encodePrivateKey({ ...key, y: (key.y * key.g) % key.p }));
  assert.throws(() => new KeyStore(file).load(), /y does not match x/);
  const r = spawnSync('/usr/bin/python3', ['-c', PY, 'read', file], { encoding: 'utf8', timeout: 60000 });
  assert.notEqual(r.status, 0);
});
