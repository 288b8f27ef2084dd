// A file transfer cut by killing the sender (SIGKILL, mid-transfer): the receiver marks it failed and shows no
// complete-looking file (only a hidden partial one, named by the file's hash); a new sender process offering the
// same file resumes it (FILE_OFFSET, as Blink does) and the result is byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { findFreePort } from '../../src/sip/free-port.js';

const isEnd = (e: Ev) => e.ev === 'file' && ['done', 'failed', 'cancelled'].includes(String(e.state));

async function start(user: string, configDir: string, downloads: string): Promise<HeadlessClient> {
  const port = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  return HeadlessClient.start({
    args: ['--user', user, '--port', String(port), '--transport', 'tcp', '--download-dir', downloads, '--no-otr'],
    configDir,
  });
}

test(
  'sender killed mid-transfer: receiver marks it failed, keeps no complete-looking file; a new offer resumes',
  { timeout: 180000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-resume-'));
    const dl = join(work, 'dl');
    const bob = await start('bob', join(work, 'bob'), dl);
    const bobUri = bob.uri.includes('transport=') ? bob.uri : `${bob.uri};transport=tcp`;
    let alice = await start('alice', join(work, 'alice'), join(work, 'dl-alice'));
    try {
      const data = randomBytes(192 * 1024 * 1024);
      const src = join(work, 'big.bin');
      writeFileSync(src, data);
      const sinceBob = bob.events.length;
      alice.send({ cmd: 'send_file', to: bobUri, path: src });
      const offer = await bob.waitFor((e) => e.ev === 'file' && e.state === 'offered', 30000, sinceBob);
      bob.send({ cmd: 'accept_file', transfer: offer.transfer });
      await bob.waitFor(
        (e) => e.ev === 'file' && e.transfer === offer.transfer && e.state === 'progress' && Number(e.bytes) > 0,
        30000,
        sinceBob,
      );
      alice.kill();
      const end = await bob.waitFor((e) => isEnd(e) && e.transfer === offer.transfer, 30000, sinceBob);
      assert.equal(end.state, 'failed', JSON.stringify(end));
      assert.equal(end.path, undefined);
      const left = readdirSync(dl);
      assert.ok(!left.includes('big.bin'), `no complete-looking file: ${left.join(', ')}`);
      assert.ok(
        left.every((n) => n.startsWith('.') && n.endsWith('.part')),
        left.join(', '),
      );
      const partial = statSync(join(dl, left[0]!)).size;
      assert.ok(partial > 0 && partial < data.length, `partial ${partial} of ${data.length}`);

      // The same file from a new process: the receiver answers FILE_OFFSET with what it has; data resumes there.
      const killed = alice.proc;
      if (killed.exitCode === null && killed.signalCode === null) await new Promise((r) => killed.once('exit', r));
      alice = await start('alice', join(work, 'alice'), join(work, 'dl-alice'));
      const since2 = bob.events.length;
      const sinceA = alice.events.length;
      alice.send({ cmd: 'send_file', to: bobUri, path: src });
      const offer2 = await bob.waitFor((e) => e.ev === 'file' && e.state === 'offered', 30000, since2);
      bob.send({ cmd: 'accept_file', transfer: offer2.transfer });
      const [done, sent] = await Promise.all([
        bob.waitFor((e) => isEnd(e) && e.transfer === offer2.transfer, 60000, since2),
        alice.waitFor((e) => isEnd(e) && e.direction === 'out', 60000, sinceA),
      ]);
      assert.equal(done.state, 'done', JSON.stringify(done));
      assert.equal(sent.state, 'done', JSON.stringify(sent));
      const firstProgress = alice.events.slice(sinceA).find((e) => e.ev === 'file' && e.state === 'progress');
      assert.ok(Number(firstProgress?.bytes) >= partial, `resumed at ${String(firstProgress?.bytes)}, had ${partial}`);
      const got = readFileSync(String(done.path));
      assert.equal(createHash('sha1').update(got).digest('hex'), createHash('sha1').update(data).digest('hex'));
      assert.deepEqual(readdirSync(dl).sort(), ['big.bin']);
    } finally {
      alice.kill();
      await bob.quit();
      rmSync(work, { recursive: true, force: true });
    }
  },
);
