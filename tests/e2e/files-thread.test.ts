// Files through the receiver's writing thread (src/chat/file-sink-thread.ts) between two real blink-tui processes on
// 127.0.0.1: a plain file arrives byte-identical and checked against the offer's SHA-1; one whose bytes change after
// the offer was made (same size) is refused by that check and leaves nothing behind; a private one (OTR chat,
// AES-256-GCM records, plaintext through the thread's ring) arrives byte-identical. The clients take files of 1 MiB
// or more to the thread (BLINK_TUI_FILE_THREAD_MIN; 64 MiB otherwise): 80 MiB transfers here made the packet capture
// of files-private.test.ts, running alongside, drop packets. 12 MiB is still more than the thread's 8 MiB ring and
// backlog, so both fill and wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';

const SIZE = 12 * 1024 * 1024;
const env = { BLINK_TUI_FILE_THREAD_MIN: String(1024 * 1024) };
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');
const isEnd = (e: Ev) => e.ev === 'file' && ['done', 'failed', 'cancelled'].includes(String(e.state));

async function pair(work: string, otr: boolean) {
  const opts = otr ? [] : ['--no-otr'];
  const a = await HeadlessClient.start({
    args: ['--user', 'alice', '--port', '0', '--transport', 'tcp', '--download-dir', join(work, 'dl-a'), ...opts],
    env,
  });
  const b = await HeadlessClient.start({
    args: ['--user', 'bob', '--port', '0', '--transport', 'tcp', '--download-dir', join(work, 'dl-b'), ...opts],
    env,
  });
  return { a, b, target: `${b.uri.split(';')[0]};transport=tcp`, dl: join(work, 'dl-b') };
}

/** Sends, lets `beforeAccept` run once the offer is in, accepts; both final events. */
async function send(
  a: HeadlessClient,
  b: HeadlessClient,
  cmd: Record<string, unknown>,
  beforeAccept: () => void = () => undefined,
) {
  const sinceA = a.events.length;
  const sinceB = b.events.length;
  a.send(cmd);
  const offer = await b.waitFor((e) => e.ev === 'file' && e.state === 'offered', 60000, sinceB);
  beforeAccept();
  b.send({ cmd: 'accept_file', transfer: offer.transfer });
  return Promise.all([
    b.waitFor((e) => isEnd(e) && e.transfer === offer.transfer, 120000, sinceB),
    a.waitFor((e) => isEnd(e) && e.direction === 'out', 120000, sinceA),
  ]);
}

test(
  '12 MiB plain through the thread: byte-identical; changed after its offer: refused by the hash check',
  { timeout: 300000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-large-'));
    const { a, b, target, dl } = await pair(work, false);
    try {
      const data = randomBytes(SIZE);
      const src = join(work, 'big.bin');
      writeFileSync(src, data);
      const [inEnd, outEnd] = await send(a, b, { cmd: 'send_file', to: target, path: src });
      assert.equal(inEnd.state, 'done', JSON.stringify(inEnd));
      assert.equal(outEnd.state, 'done', JSON.stringify(outEnd));
      assert.equal(sha1(readFileSync(String(inEnd.path))), sha1(data));
      rmSync(String(inEnd.path));

      // The offer carries the hash of the file as it was; one byte in the middle differs when it is sent.
      const [inBad, outBad] = await send(a, b, { cmd: 'send_file', to: target, path: src }, () => {
        const fd = openSync(src, 'r+');
        writeSync(fd, Buffer.from([data[SIZE / 2]! ^ 0xff]), 0, 1, SIZE / 2);
        closeSync(fd);
      });
      assert.equal(inBad.state, 'failed', JSON.stringify(inBad));
      assert.match(String(inBad.reason), /does not match the hash of the offer/);
      assert.equal(outBad.state, 'failed', JSON.stringify(outBad));
      assert.deepEqual(readdirSync(dl), [], 'nothing is kept of a file that failed its check');
    } finally {
      await a.quit();
      await b.quit();
      rmSync(work, { recursive: true, force: true });
    }
  },
);

test('12 MiB private through the thread: byte-identical', { timeout: 300000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'blink-files-large-'));
  const { a, b, target } = await pair(work, true);
  try {
    a.send({ cmd: 'chat', to: target });
    const inc = await b.waitFor((e) => e.ev === 'incoming', 15000);
    b.send({ cmd: 'accept', session: inc.session });
    const enc = await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 20000);
    await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 20000);
    const data = randomBytes(SIZE + 12345);
    const src = join(work, 'secret.bin');
    writeFileSync(src, data);
    const [inEnd, outEnd] = await send(a, b, { cmd: 'send_file', session: enc.session, path: src });
    assert.equal(inEnd.state, 'done', JSON.stringify(inEnd));
    assert.equal(outEnd.state, 'done', JSON.stringify(outEnd));
    assert.equal(inEnd.encrypted, true);
    assert.equal(sha1(readFileSync(String(inEnd.path))), sha1(data));
  } finally {
    await a.quit();
    await b.quit();
    rmSync(work, { recursive: true, force: true });
  }
});
