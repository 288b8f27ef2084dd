import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importIdentity } from '../../src/chat-storage/index.js';
import { decodePrivateKey } from '../../src/chat-storage/dsa-key.js';
import { KeyStore } from '../../src/chat-storage/key-store.js';
import { parseLibotrFingerprints, parseLibotrPrivateKeys } from '../../src/chat-storage/libotr.js';
import { chatPaths } from '../../src/chat-storage/paths.js';
import { TrustedPeers } from '../../src/chat-storage/trusted-peers.js';
import { fingerprintHex } from '../../src/keys/dsa-key.js';

// A small libotr program, compiled at test time: makes keys for two accounts with otrl_privkey_generate, records
// peers' fingerprints with the given trust via contexts, writes them with otrl_privkey_write_fingerprints, and
// prints libotr's own view of each account's fingerprint.
const C_SOURCE = String.raw`
#include <stdio.h>
#include <string.h>
#include <libotr/proto.h>
#include <libotr/userstate.h>
#include <libotr/privkey.h>
#include <libotr/context.h>

static void add(OtrlUserState us, const char *peer, const char *acct, const char *proto, unsigned char seed, const char *trust) {
  int added = 0;
  ConnContext *ctx = otrl_context_find(us, peer, acct, proto, OTRL_INSTAG_MASTER, 1, &added, NULL, NULL);
  unsigned char fp[20];
  for (int i = 0; i < 20; i++) fp[i] = (unsigned char)(seed * 17 + i * 29);
  Fingerprint *f = otrl_context_find_fingerprint(ctx, fp, 1, &added);
  otrl_context_set_trust(f, trust);
}

int main(int argc, char **argv) {
  if (argc != 3) return 1;
  OTRL_INIT;
  OtrlUserState us = otrl_userstate_create();
  if (otrl_privkey_generate(us, argv[1], "alice@example.org", "prpl-jabber")) return 2;
  if (otrl_privkey_generate(us, argv[1], "alice", "prpl-irc")) return 3;
  add(us, "bob@example.org", "alice@example.org", "prpl-jabber", 1, "verified");
  add(us, "carol@example.org/laptop", "alice@example.org", "prpl-jabber", 2, "smp");
  add(us, "dave@example.org", "alice@example.org", "prpl-jabber", 3, "");
  add(us, "bob@example.org", "alice@example.org", "prpl-jabber", 4, NULL);
  add(us, "erin", "alice", "prpl-irc", 5, "verified");
  if (otrl_privkey_write_fingerprints(us, argv[2])) return 4;
  char human[OTRL_PRIVKEY_FPRINT_HUMAN_LEN];
  if (!otrl_privkey_fingerprint(us, human, "alice@example.org", "prpl-jabber")) return 5;
  printf("%s\n", human);
  if (!otrl_privkey_fingerprint(us, human, "alice", "prpl-irc")) return 6;
  printf("%s\n", human);
  return 0;
}
`;

let work = '';
let libotrFps: string[] = [];
const rawFp = (seed: number) => {
  const b = Buffer.alloc(20);
  for (let i = 0; i < 20; i++) b[i] = (seed * 17 + i * 29) & 0xff;
  return b.toString('hex').toUpperCase();
};

before(() => {
  work = mkdtempSync(join(tmpdir(), 'blink-libotr-'));
  writeFileSync(join(work, 'gen.c'), C_SOURCE);
  const cc = spawnSync('gcc', ['-std=c99', '-o', join(work, 'gen'), join(work, 'gen.c'), '-lotr'], {
    encoding: 'utf8',
  });
  assert.equal(cc.status, 0, 'gcc failed (is libotr5-dev installed?): ' + cc.stderr);
  const run = spawnSync(join(work, 'gen'), [join(work, 'otr.private_key'), join(work, 'otr.fingerprints')], {
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.equal(run.status, 0, 'libotr program failed: ' + run.stderr);
  libotrFps = run.stdout.trim().split('\n');
  assert.equal(libotrFps.length, 2);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("libotr otr.private_key parses, and our fingerprint of each key equals libotr's", () => {
  const accounts = parseLibotrPrivateKeys(readFileSync(join(work, 'otr.private_key')));
  assert.deepEqual(
    accounts.map((a) => `${a.account}/${a.protocol}`),
    ['alice@example.org/prpl-jabber', 'alice/prpl-irc'],
  );
  accounts.forEach((a, i) => assert.equal(fingerprintHex(a.key), libotrFps[i]!.replace(/ /g, '')));
});

test('libotr otr.fingerprints parses with the right fields', () => {
  const { entries, skipped } = parseLibotrFingerprints(readFileSync(join(work, 'otr.fingerprints'), 'utf8'));
  assert.deepEqual(skipped, []);
  const bob = entries.filter((e) => e.remote === 'bob@example.org');
  assert.equal(bob.length, 2);
  assert.ok(bob.every((e) => e.account === 'alice@example.org' && e.protocol === 'prpl-jabber'));
  assert.deepEqual(
    bob.map((e) => [e.fingerprint, e.trust]).sort(),
    [
      [rawFp(1), 'verified'],
      [rawFp(4), ''],
    ].sort(),
  );
});

test('importIdentity brings in the chosen libotr key and its fingerprints, and says what it did', () => {
  const cfg = join(work, 'cfg');
  assert.throws(
    () => importIdentity(cfg, { libotrPrivateKey: join(work, 'otr.private_key') }),
    /holds keys for several accounts .*alice@example\.org \(prpl-jabber\).*say which one/,
  );
  const summary = importIdentity(cfg, {
    libotrPrivateKey: join(work, 'otr.private_key'),
    libotrFingerprints: join(work, 'otr.fingerprints'),
    account: 'alice@example.org',
  });
  const expectedFp = libotrFps[0]!.replace(/ /g, '');
  assert.equal(summary.key?.action, 'installed');
  assert.equal(summary.key?.fingerprint, expectedFp);
  assert.deepEqual(summary.otherAccounts, ['alice (prpl-irc)']);
  assert.equal(summary.fingerprints?.added, 4);
  assert.equal(summary.fingerprints?.skipped.length, 1, "the IRC account's peer is not ours");
  assert.match(summary.messages.join('\n'), new RegExp(`imported the private key ${libotrFps[0]}`));
  assert.match(summary.messages.join('\n'), /4 added/);

  const paths = chatPaths(cfg);
  const stored = new KeyStore(paths.privateKey).load()!;
  assert.equal(fingerprintHex(stored), expectedFp);
  assert.deepEqual(decodePrivateKey(readFileSync(paths.privateKey)), stored);
  const tp = new TrustedPeers(paths.trustedPeers);
  assert.equal(tp.trustOf('bob@example.org', rawFp(1)), 'verified');
  assert.equal(tp.trustOf('bob@example.org', rawFp(4)), '');
  assert.equal(tp.trustOf('carol@example.org', rawFp(2)), 'smp');
  assert.equal(tp.trustOf('dave@example.org', rawFp(3)), '');
  assert.equal(tp.trustOf('erin', rawFp(5)), null);

  // Importing again changes nothing.
  const again = importIdentity(cfg, {
    libotrPrivateKey: join(work, 'otr.private_key'),
    libotrFingerprints: join(work, 'otr.fingerprints'),
    account: 'alice@example.org',
  });
  assert.equal(again.key?.action, 'unchanged');
  assert.equal(again.fingerprints?.added, 0);
  assert.equal(again.fingerprints?.unchanged, 4);

  // A different key is not installed over ours unless asked; then the old one is kept as a backup.
  const irc = importIdentity(cfg, { libotrPrivateKey: join(work, 'otr.private_key'), account: 'alice' });
  assert.equal(irc.key?.action, 'kept-existing');
  assert.equal(fingerprintHex(new KeyStore(paths.privateKey).load()!), expectedFp);
  const replaced = importIdentity(
    cfg,
    { libotrPrivateKey: join(work, 'otr.private_key'), account: 'alice' },
    { replaceKey: true },
  );
  assert.equal(replaced.key?.action, 'replaced');
  assert.equal(fingerprintHex(new KeyStore(paths.privateKey).load()!), libotrFps[1]!.replace(/ /g, ''));
  assert.equal(fingerprintHex(decodePrivateKey(readFileSync(replaced.key!.backupPath!))), expectedFp);
});

test('broken libotr files are reported naming the file', () => {
  const bad = join(work, 'bad.private_key');
  writeFileSync(bad, '(privkeys (account (name "x") (protocol p) (private-key (dsa (p #00#)');
  assert.throws(
    () => importIdentity(join(work, 'cfg2'), { libotrPrivateKey: bad }),
    (e: Error) => e.name === 'ImportError' && e.message.startsWith(bad),
  );
  const text = readFileSync(join(work, 'otr.private_key'), 'utf8');
  writeFileSync(bad, text.replace(/\(x #[0-9A-F]+#\)/g, '(x #0001#)'));
  assert.throws(
    () => importIdentity(join(work, 'cfg2'), { libotrPrivateKey: bad, account: 'alice' }),
    /not a usable DSA key/,
  );
  assert.throws(
    () => importIdentity(join(work, 'cfg2'), { libotrPrivateKey: join(work, 'missing') }),
    /cannot be read \(ENOENT\)/,
  );
});
