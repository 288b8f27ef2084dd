import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParseProblem } from '../../src/chat-storage/index.js';
import { TrustedPeers } from '../../src/chat-storage/trusted-peers.js';

const FP_A = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';
const FP_B = '0123456789ABCDEF0123456789ABCDEF01234567';
const FP_C = 'FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF';
const groups = (f: string) => f.match(/.{8}/g)!.join(' ');

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-tp-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

// Comments, odd spacing, lower-case and ungrouped fingerprints, CRLF, a malformed line, non-ASCII uids,
// and no final newline.
const ORIGINAL =
  '# my peers\n' +
  '\n' +
  `bob@example.org\t${groups(FP_A).toLowerCase()}\tverified\n` +
  `   jörg@bücher.example   \t  ${FP_B.toLowerCase()}   \n` +
  'this line is garbage\n' +
  `  # indented comment\r\n` +
  `zoë@exämple.org\t${FP_C}\tsmp\r\n` +
  `carol@example.org  ${groups(FP_B)}  smp`;

test(
  'trusted_peers: load + modify + save keeps every unrelated byte',
  withDir((dir) => {
    const file = join(dir, 'trusted_peers');
    writeFileSync(file, ORIGINAL);
    const problems: ParseProblem[] = [];
    const tp = new TrustedPeers(file, { onProblem: (p) => problems.push(p) });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 5);
    assert.equal(problems[0]!.text, 'this line is garbage');

    assert.equal(tp.trustOf('bob@example.org', FP_A), 'verified');
    assert.equal(tp.trustOf('sip:jörg@BÜCHER.example', FP_B), '');
    assert.equal(tp.trustOf('zoë@exämple.org', FP_C), 'smp');
    assert.equal(tp.trustOf('carol@example.org', FP_B), 'smp');
    assert.deepEqual(tp.fingerprints('bob@example.org'), [FP_A]);

    // Modify one entry: only its line is re-rendered.
    tp.setTrust('jörg@bücher.example', FP_B, 'smp');
    const expected1 = ORIGINAL.replace(
      `   jörg@bücher.example   \t  ${FP_B.toLowerCase()}   \n`,
      `jörg@bücher.example\t${groups(FP_B)}\tsmp\n`,
    );
    assert.equal(readFileSync(file, 'utf8'), expected1);

    // Learn a new fingerprint for bob: appended; the missing final newline is supplied, nothing else changes.
    const r = tp.learn('bob@example.org', FP_C.toLowerCase());
    assert.deepEqual(r, { isNew: true, changed: true });
    const expected2 = expected1 + `\nbob@example.org\t${groups(FP_C)}\t\n`;
    assert.equal(readFileSync(file, 'utf8'), expected2);
    assert.deepEqual(tp.learn('bob@example.org', groups(FP_C)), { isNew: false, changed: false });
    assert.deepEqual(tp.learn('dave@example.org', FP_A), { isNew: true, changed: false });
    assert.deepEqual(tp.fingerprints('bob@example.org'), [FP_A, FP_C]);

    // A fresh reader sees the same, and the malformed line is still there, at its place.
    const again = new TrustedPeers(file);
    assert.equal(again.problems()[0]!.line, 5);
    assert.equal(readFileSync(file, 'utf8').split('\n')[4], 'this line is garbage');
    assert.equal(again.trustOf('jörg@bücher.example', FP_B), 'smp');
    // Setting the same trust again does not rewrite the file.
    const before = statSync(file).ino;
    again.setTrust('bob@example.org', FP_A, 'verified');
    assert.equal(statSync(file).ino, before);
    // The malformed line was reported once, not on every re-read.
    assert.equal(problems.length, 1);
  }),
);

test(
  'trusted_peers: hand edits while running are picked up; file mode kept',
  withDir((dir) => {
    const file = join(dir, 'trusted_peers');
    writeFileSync(file, `bob@example.org\t${groups(FP_A)}\t\n`);
    chmodSync(file, 0o640);
    const problems: ParseProblem[] = [];
    const tp = new TrustedPeers(file, { onProblem: (p) => problems.push(p) });
    assert.equal(tp.trustOf('bob@example.org', FP_A), '');
    // An editor that writes a new file and renames it over the old one.
    writeFileSync(join(dir, 'x'), `bob@example.org\t${groups(FP_A)}\tverified\nbroken\n`);
    renameSync(join(dir, 'x'), file);
    assert.equal(tp.trustOf('bob@example.org', FP_A), 'verified');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 2);
    // An in-place edit (same inode).
    writeFileSync(file, `bob@example.org\t${groups(FP_A)}\tsmp\nbroken\n# added later\n`);
    assert.equal(tp.trustOf('bob@example.org', FP_A), 'smp');
    assert.equal(problems.length, 1, 'the same bad line is not reported twice');
    chmodSync(file, 0o640);
    tp.setTrust('bob@example.org', FP_A, '');
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.equal(readFileSync(file, 'utf8'), `bob@example.org\t${groups(FP_A)}\t\nbroken\n# added later\n`);
  }),
);

test(
  'trusted_peers: new file, forget, and hostile input',
  withDir((dir) => {
    const file = join(dir, 'sub', 'trusted_peers');
    const tp = new TrustedPeers(file);
    assert.deepEqual(tp.entries(), []);
    assert.equal(tp.trustOf('bob@example.org', FP_A), null);
    tp.learn('sip:bob@Example.ORG', FP_A);
    assert.equal(readFileSync(file, 'utf8'), `bob@example.org\t${groups(FP_A)}\t\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.throws(() => tp.learn('bob@example.org', 'nothex'), RangeError);
    assert.equal(tp.forget('bob@example.org', FP_A), true);
    assert.equal(readFileSync(file, 'utf8'), '');
    // Binary junk and very long lines are reported, not fatal.
    writeFileSync(
      file,
      Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe, 10]), Buffer.alloc(100000, 0x41), Buffer.from('\n')]),
    );
    const t2 = new TrustedPeers(file);
    assert.equal(t2.problems().length, 2);
    assert.deepEqual(t2.entries(), []);
    // Invalid UTF-8 in an unrelated line survives a modification byte for byte.
    const junk = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9, 0xff]), Buffer.from('\n')]);
    const entry = Buffer.from(`bob@example.org\t${groups(FP_A)}\t\n`);
    writeFileSync(file, Buffer.concat([junk, entry]));
    t2.setTrust('bob@example.org', FP_A, 'verified');
    assert.deepEqual(
      readFileSync(file),
      Buffer.concat([junk, Buffer.from(`bob@example.org\t${groups(FP_A)}\tverified\n`)]),
    );
  }),
);

test(
  'trusted_peers from before one identity per peer: lower-cased uids still count and move on write',
  withDir((dir) => {
    const file = join(dir, 'trusted_peers');
    // An older version wrote outgoing chats wholly lower-cased: Alice's verified key sits under "alice".
    const before = `# mine\nalice@127.0.0.1\t${groups(FP_A)}\tsmp\ncarol@example.org\t${groups(FP_B)}\tverified\n`;
    writeFileSync(file, before);
    const tp = new TrustedPeers(file);
    assert.equal(tp.trustOf('Alice@127.0.0.1', FP_A), 'smp', 'verified trust survives the upgrade');
    assert.equal(tp.isVerified('sip:Alice@127.0.0.1:5070', FP_A), true);
    assert.deepEqual(tp.fingerprints('Alice@127.0.0.1'), [FP_A]);
    // A different key for Alice is a key change, not a first meeting.
    assert.deepEqual(tp.learn('Alice@127.0.0.1', FP_C), { isNew: true, changed: true });
    // Seeing the old key again moves its line to Alice's uid, in place, trust kept.
    assert.deepEqual(tp.learn('Alice@127.0.0.1', FP_A), { isNew: false, changed: false });
    assert.equal(
      readFileSync(file, 'utf8'),
      `# mine\nAlice@127.0.0.1\t${groups(FP_A)}\tsmp\ncarol@example.org\t${groups(FP_B)}\tverified\nAlice@127.0.0.1\t${groups(FP_C)}\t\n`,
    );
    assert.equal(new TrustedPeers(file).trustOf('Alice@127.0.0.1', FP_A), 'smp');
  }),
);

test(
  'trusted_peers: the two lines an older version left for one peer merge into one on write',
  withDir((dir) => {
    const file = join(dir, 'trusted_peers');
    writeFileSync(file, `Alice@127.0.0.1\t${groups(FP_A)}\t\nalice@127.0.0.1\t${groups(FP_A)}\tverified\n`);
    const tp = new TrustedPeers(file);
    assert.equal(tp.trustOf('Alice@127.0.0.1', FP_A), 'verified', 'the strongest of the two');
    tp.setTrust('Alice@127.0.0.1', FP_A, '');
    assert.equal(readFileSync(file, 'utf8'), `Alice@127.0.0.1\t${groups(FP_A)}\t\n`);
    assert.equal(tp.trustOf('Alice@127.0.0.1', FP_A), '');
    // A lower-case uid is its own identity: it never borrows from an upper-case one.
    writeFileSync(file, `Alice@127.0.0.1\t${groups(FP_B)}\tverified\n`);
    assert.equal(tp.trustOf('alice@127.0.0.1', FP_B), null);
  }),
);
