// Two real blink-tui processes (headless, serverless on 127.0.0.1) send each other files over RFC 5547 sessions:
// 0 bytes, 1 byte, 10 MiB of random bytes, a non-ASCII name; both ways; byte-identical at the receiver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { findFreePort } from '../../src/sip/free-port.js';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

async function client(user: string, downloads: string) {
  const port = await findFreePort('tcp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const c = await HeadlessClient.start({
    args: ['--user', user, '--port', String(port), '--transport', 'tcp', '--download-dir', downloads],
  });
  return { c, uri: `sip:${user}@127.0.0.1:${port};transport=tcp` };
}

/** `from` sends `path` to `to` (plainly, confirmed); `to` accepts; resolves with both final events. */
export async function transfer(from: HeadlessClient, to: HeadlessClient, target: string, path: string) {
  const sinceFrom = from.events.length;
  const sinceTo = to.events.length;
  from.send({ cmd: 'send_file', to: target, path, plain: true });
  const offer = await to.waitFor(
    (e) => e.ev === 'file' && e.state === 'offered' && e.direction === 'in',
    20000,
    sinceTo,
  );
  to.send({ cmd: 'accept_file', transfer: offer.transfer });
  const isEnd = (e: Ev) => e.ev === 'file' && ['done', 'failed', 'cancelled'].includes(String(e.state));
  const [inEnd, outEnd] = await Promise.all([
    to.waitFor((e) => isEnd(e) && e.transfer === offer.transfer, 60000, sinceTo),
    from.waitFor((e) => isEnd(e) && e.direction === 'out', 60000, sinceFrom),
  ]);
  const outStates = from.events
    .slice(sinceFrom)
    .filter((e) => e.ev === 'file' && e.direction === 'out')
    .map((e) => ({ state: String(e.state), bytes: Number(e.bytes) }));
  return { offer, inEnd, outEnd, outStates };
}

test(
  'files both ways between two blink-tui: 0 B, 1 B, 10 MiB random, non-ASCII name; hashes equal',
  { timeout: 180000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-'));
    const dlA = join(work, 'dl-a');
    const dlB = join(work, 'dl-b');
    const a = await client('alice', dlA);
    const b = await client('bob', dlB);
    try {
      const files: { name: string; data: Buffer }[] = [
        { name: 'empty.bin', data: Buffer.alloc(0) },
        { name: 'one.bin', data: randomBytes(1) },
        { name: 'random-10MiB.bin', data: randomBytes(10 * 1024 * 1024) },
        { name: 'Grüße — 日本語 файл.txt', data: Buffer.from('non-ASCII name, ASCII body\n') },
      ];
      for (const [from, to, target, dl] of [
        [a.c, b.c, b.uri, dlB],
        [b.c, a.c, a.uri, dlA],
      ] as const) {
        for (const f of files) {
          const src = join(work, `src-${f.name}`);
          writeFileSync(src, f.data);
          const { offer, inEnd, outEnd, outStates } = await transfer(from, to, target, src);
          // The sender says at once that it is hashing the file (a `preparing` event at 0 bytes), then offers it;
          // `preparing` never goes past the file's size nor backwards, and never follows the offer.
          assert.deepEqual(outStates[0], { state: 'preparing', bytes: 0 }, JSON.stringify(outStates.slice(0, 3)));
          const offeredAt = outStates.findIndex((s) => s.state === 'offered');
          assert.ok(offeredAt > 0, JSON.stringify(outStates.slice(0, 5)));
          const prep = outStates.filter((s) => s.state === 'preparing').map((s) => s.bytes);
          assert.ok(outStates.slice(offeredAt).every((s) => s.state !== 'preparing'));
          assert.ok(
            prep.every((b, i) => b <= f.data.length && (i === 0 || b >= prep[i - 1]!)),
            String(prep),
          );
          assert.equal(offer.size, f.data.length);
          assert.equal(offer.name, `src-${f.name}`);
          assert.equal(offer.encrypted, false);
          assert.equal(inEnd.state, 'done', `receiver: ${JSON.stringify(inEnd)}`);
          assert.equal(outEnd.state, 'done', `sender: ${JSON.stringify(outEnd)}`);
          const got = readFileSync(String(inEnd.path));
          assert.equal(got.length, f.data.length);
          assert.equal(sha1(got), sha1(f.data), `${f.name}: content differs`);
          assert.ok(String(inEnd.path).startsWith(dl));
        }
        // Nothing partial is left behind once every transfer is done.
        assert.deepEqual(
          readdirSync(dl).filter((n) => n.endsWith('.part')),
          [],
        );
      }
      // History: one record per transfer on each side, with direction, size, hash and result.
      const hist = readFileSync(join(a.c.configDir, 'chat', 'history', 'transfers.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(hist.length, files.length * 2, JSON.stringify(hist));
      assert.deepEqual(
        hist.map((r) => [r.direction, r.result, r.encryption]),
        [...files.map(() => ['out', 'done', 'none']), ...files.map(() => ['in', 'done', 'none'])],
      );
      assert.equal(
        hist[2]!.hash,
        createHash('sha1').update(files[2]!.data).digest('hex').toUpperCase().match(/../g)!.join(':'),
      );
    } finally {
      await a.c.quit();
      await b.c.quit();
      rmSync(work, { recursive: true, force: true });
    }
  },
);
