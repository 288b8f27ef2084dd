// Two real blink-tui processes (headless, serverless on 127.0.0.1) and the files they keep about each other:
// trusted_peers edited by hand under a running encrypted chat, and one identity per peer whichever side calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { findFreePort } from '../../src/sip/free-port.js';

const groups = (f: string) => f.match(/.{8}/g)!.join(' ');

async function client(user: string, configDir: string) {
  const port = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const c = await HeadlessClient.start({
    args: ['--user', user, '--port', String(port), '--transport', 'tcp'],
    configDir,
  });
  return { c, port };
}

/** `from` calls `to`, `to` accepts; resolves once both sides are encrypted, with both session ids and otr events. */
async function encryptedChat(from: HeadlessClient, to: HeadlessClient, target: string) {
  const sinceFrom = from.events.length;
  const sinceTo = to.events.length;
  from.send({ cmd: 'chat', to: target });
  const inc = await to.waitFor((e) => e.ev === 'incoming', 15000, sinceTo);
  const st = String(inc.session);
  to.send({ cmd: 'accept', session: st });
  const act = await from.waitFor((e) => e.ev === 'session' && e.state === 'active', 15000, sinceFrom);
  const sf = String(act.session);
  const otrFrom = await from.waitFor(
    (e) => e.ev === 'otr' && e.session === sf && e.state === 'encrypted',
    15000,
    sinceFrom,
  );
  const otrTo = await to.waitFor((e) => e.ev === 'otr' && e.session === st && e.state === 'encrypted', 15000, sinceTo);
  return { sf, st, otrFrom, otrTo, inc };
}

async function hangup(a: HeadlessClient, sa: string, b: HeadlessClient, sb: string) {
  a.send({ cmd: 'hangup', session: sa });
  await a.waitFor((e) => e.ev === 'session' && e.session === sa && e.state === 'ended');
  await b.waitFor((e) => e.ev === 'session' && e.session === sb && e.state === 'ended');
}

/** Like an editor that saves through a temp file and a rename (vim, most GUI editors). */
function editorSave(file: string, text: string) {
  const tmp = join(file, '..', `.trusted_peers.swp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

test(
  'trusted_peers edited by hand under a running encrypted chat: the chat says what changed and why',
  { timeout: 90000 },
  async () => {
    const dirA = mkdtempSync(join(tmpdir(), 'blink-tp-edit-a-'));
    const { c: a } = await client('alice', dirA);
    const { c: b, port: pb } = await client('bob', mkdtempSync(join(tmpdir(), 'blink-tp-edit-b-')));
    const file = join(dirA, 'chat', 'trusted_peers');
    try {
      const { sf: sa, otrFrom } = await encryptedChat(a, b, `sip:bob@127.0.0.1:${pb};transport=tcp`);
      assert.equal(otrFrom.trust, 'unverified');
      // The start of the private conversation has its own system line, which may follow the otr event: let it pass
      // before the edits, so that the next system line is the one an edit causes.
      await a.waitFor(
        (e) => e.ev === 'system' && e.session === sa && String(e.text).startsWith('private conversation started'),
      );
      const fp = String(otrFrom.fingerprint);
      const line = (trust: string) => `bob@127.0.0.1\t${groups(fp)}\t${trust}\n`;
      const header = '# edited by hand\n';
      // A new fingerprint is written just after the lock turns (src/chat/core.ts, makeChat): wait for the write.
      const text = (): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
      for (let i = 0; i < 100 && text() !== line(''); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(readFileSync(file, 'utf8'), line(''));

      const step = async (write: () => void, text: string, trust: string) => {
        const since = a.events.length;
        write();
        const sys = await a.waitFor((e) => e.ev === 'system' && e.session === sa, 15000, since);
        assert.equal(sys.text, text);
        const otr = await a.waitFor((e) => e.ev === 'otr' && e.session === sa, 15000, since);
        assert.equal(otr.trust, trust);
        assert.equal(otr.fingerprint, fp);
      };
      // Through a temp file and a rename, then written in place, then a line removed, then a line broken.
      await step(
        () => editorSave(file, header + line('verified')),
        "bob@127.0.0.1's fingerprint is now verified: trusted_peers was edited",
        'verified',
      );
      await step(
        () => writeFileSync(file, header + line('')),
        "bob@127.0.0.1's fingerprint is no longer verified: trusted_peers was edited",
        'unverified',
      );
      await step(
        () => editorSave(file, header + line('smp')),
        "bob@127.0.0.1's fingerprint is now verified: trusted_peers was edited",
        'verified',
      );
      await step(
        () => editorSave(file, header),
        "bob@127.0.0.1's fingerprint is no longer verified: its line was removed from trusted_peers",
        'unverified',
      );
      await step(
        () => writeFileSync(file, header + line('verified')),
        "bob@127.0.0.1's fingerprint is now verified: trusted_peers was edited",
        'verified',
      );
      await step(
        () => writeFileSync(file, header + `bob@127.0.0.1\t${groups(fp).slice(0, 20)}\tverified\n`),
        "bob@127.0.0.1's fingerprint is no longer verified: its line in trusted_peers (line 2) cannot be read",
        'unverified',
      );
      // Messages still flow, marked with the lock in force.
      a.send({ cmd: 'send', session: sa, text: 'still here' });
      const got = await b.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'still here');
      assert.equal(got.encryption, 'unverified');
    } finally {
      await Promise.all([a.quit(), b.quit()]);
      rmSync(dirA, { recursive: true, force: true });
    }
  },
);

test(
  'one identity per peer: Alice@127.0.0.1 called and calling lands on one trusted_peers key and history folder',
  { timeout: 120000 },
  async () => {
    const dirB = mkdtempSync(join(tmpdir(), 'blink-id-b-'));
    const { c: alice, port: pa } = await client('Alice', mkdtempSync(join(tmpdir(), 'blink-id-a-')));
    const { c: bob, port: pb } = await client('bob', dirB);
    const tpFile = join(dirB, 'chat', 'trusted_peers');
    try {
      // 1. Bob calls Alice@127.0.0.1:PORT (outgoing), verifies her by hand, says hello.
      const out = await encryptedChat(bob, alice, `Alice@127.0.0.1:${pa};transport=tcp`);
      const fpAlice = String(out.otrFrom.fingerprint);
      bob.send({ cmd: 'trust', session: out.sf });
      await bob.waitFor((e) => e.ev === 'otr' && e.session === out.sf && e.trust === 'verified');
      bob.send({ cmd: 'send', session: out.sf, text: 'outgoing hello' });
      await alice.waitFor((e) => e.ev === 'message' && e.text === 'outgoing hello');
      await hangup(bob, out.sf, alice, out.st);

      // 2. Alice calls Bob (incoming for Bob, From sip:Alice@127.0.0.1): the same identity, already verified.
      const inc = await encryptedChat(alice, bob, `sip:bob@127.0.0.1:${pb};transport=tcp`);
      assert.equal(inc.otrTo.fingerprint, fpAlice);
      assert.equal(inc.otrTo.trust, 'verified', 'the trust given in the outgoing chat holds for the incoming one');
      alice.send({ cmd: 'send', session: inc.sf, text: 'incoming hello' });
      await bob.waitFor((e: Ev) => e.ev === 'message' && e.text === 'incoming hello');
      await hangup(alice, inc.sf, bob, inc.st);
      assert.equal(readFileSync(tpFile, 'utf8'), `Alice@127.0.0.1\t${groups(fpAlice)}\tverified\n`);

      // 3. A trusted_peers from before (Alice verified under the lower-cased uid an older version wrote):
      //    still verified, and the line moves to Alice's uid.
      writeFileSync(tpFile, `alice@127.0.0.1\t${groups(fpAlice)}\tsmp\n`);
      const again = await encryptedChat(bob, alice, `sip:Alice@127.0.0.1:${pa};transport=tcp`);
      assert.equal(again.otrFrom.trust, 'verified');
      await hangup(bob, again.sf, alice, again.st);
      assert.equal(readFileSync(tpFile, 'utf8'), `Alice@127.0.0.1\t${groups(fpAlice)}\tsmp\n`);
    } finally {
      await Promise.all([alice.quit(), bob.quit()]);
    }
    try {
      const folders = readdirSync(join(dirB, 'chat', 'history'));
      assert.deepEqual(folders, ['Alice@127.0.0.1']);
      const text = readdirSync(join(dirB, 'chat', 'history', 'Alice@127.0.0.1'))
        .map((f) => readFileSync(join(dirB, 'chat', 'history', 'Alice@127.0.0.1', f), 'utf8'))
        .join('');
      assert.match(text, /outgoing hello/);
      assert.match(text, /incoming hello/);
      assert.ok(!existsSync(join(dirB, 'chat', 'history', 'alice@127.0.0.1')));
    } finally {
      rmSync(dirB, { recursive: true, force: true });
    }
  },
);
