// What the user decides about a file, between two real blink-tui processes: a file that cannot go privately is not
// sent without the user's confirmation ("plain": true), never to an always-OTR contact; an offer can be declined;
// a transfer can be cancelled midway by the receiver, which then keeps nothing of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { findFreePort } from '../../src/sip/free-port.js';

const isEnd = (e: Ev) => e.ev === 'file' && ['done', 'failed', 'cancelled'].includes(String(e.state));

async function client(user: string, downloads: string) {
  const port = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const c = await HeadlessClient.start({
    args: ['--user', user, '--port', String(port), '--transport', 'tcp', '--download-dir', downloads],
  });
  return { c, uri: `sip:${user}@127.0.0.1:${port};transport=tcp` };
}

test(
  'consent: unconfirmed plain refused, declined offer, receiver cancels midway, always-OTR gets nothing',
  { timeout: 120000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-consent-'));
    const dl = join(work, 'dl-b');
    const a = await client('alice', join(work, 'dl-a'));
    const b = await client('bob', dl);
    try {
      const small = join(work, 'small.txt');
      writeFileSync(small, 'hello\n');
      // OTR is on (the default) and no private conversation is open: the file would go in the clear.
      let since = a.c.events.length;
      a.c.send({ cmd: 'send_file', to: b.uri, path: small });
      const err = await a.c.waitFor((e) => e.ev === 'error', 10000, since);
      assert.match(String(err.message), /UNENCRYPTED/);
      assert.match(String(err.message), /plain/);
      assert.equal(a.c.events.slice(since).filter((e) => e.ev === 'file').length, 0, 'nothing was offered');

      // Declined: the sender is told, the receiver records it.
      since = a.c.events.length;
      let sinceB = b.c.events.length;
      a.c.send({ cmd: 'send_file', to: b.uri, path: small, plain: true });
      let offer = await b.c.waitFor((e) => e.ev === 'file' && e.state === 'offered', 15000, sinceB);
      assert.equal(offer.encrypted, false);
      b.c.send({ cmd: 'reject_file', transfer: offer.transfer });
      const declined = await a.c.waitFor((e) => isEnd(e) && e.direction === 'out', 15000, since);
      assert.equal(declined.state, 'failed');
      assert.equal(declined.reason, 'declined');
      assert.equal((await b.c.waitFor((e) => isEnd(e), 15000, sinceB)).state, 'cancelled');

      // Cancelled by the receiver midway: both sides end, nothing is left in the download folder.
      const big = join(work, 'big.bin');
      writeFileSync(big, randomBytes(160 * 1024 * 1024));
      since = a.c.events.length;
      sinceB = b.c.events.length;
      a.c.send({ cmd: 'send_file', to: b.uri, path: big, plain: true });
      offer = await b.c.waitFor((e) => e.ev === 'file' && e.state === 'offered', 30000, sinceB);
      b.c.send({ cmd: 'accept_file', transfer: offer.transfer });
      await b.c.waitFor((e) => e.ev === 'file' && e.state === 'progress' && Number(e.bytes) > 0, 30000, sinceB);
      b.c.send({ cmd: 'cancel_file', transfer: offer.transfer });
      const [inEnd, outEnd] = await Promise.all([
        b.c.waitFor((e) => isEnd(e) && e.transfer === offer.transfer, 30000, sinceB),
        a.c.waitFor((e) => isEnd(e) && e.direction === 'out', 30000, since),
      ]);
      assert.equal(inEnd.state, 'cancelled', JSON.stringify(inEnd));
      assert.notEqual(outEnd.state, 'done', JSON.stringify(outEnd));
      assert.deepEqual(readdirSync(dl), [], 'a cancelled file leaves nothing behind');

      // Always OTR (global policy): even a confirmed plain file is not sent.
      a.c.send({ cmd: 'policy', value: 'always' });
      await a.c.waitFor((e) => e.ev === 'system' && /required/.test(String(e.text)), 10000);
      since = a.c.events.length;
      a.c.send({ cmd: 'send_file', to: b.uri, path: small, plain: true });
      const refused = await a.c.waitFor((e) => e.ev === 'error', 10000, since);
      assert.match(String(refused.message), /not sent: OTR is always used/);
    } finally {
      await a.c.quit();
      await b.c.quit();
      rmSync(work, { recursive: true, force: true });
    }
  },
);
