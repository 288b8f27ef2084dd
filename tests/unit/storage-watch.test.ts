// watchFolderFiles sees a file replaced by an editor's temp file + rename and a write in place, over real
// fs.watch; the poll alone (fs.watch unavailable: a folder that does not exist yet) still calls back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchFolderFiles } from '../../src/chat-storage/index.js';

function nextCall(calls: { wait: (() => void) | null }, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no change reported')), ms);
    calls.wait = () => {
      clearTimeout(t);
      calls.wait = null;
      resolve();
    };
  });
}

test('a watched file replaced through a temp file and a rename, or written in place, is reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blink-watch-'));
  const file = join(dir, 'trusted_peers');
  writeFileSync(file, 'one\n');
  const calls: { wait: (() => void) | null } = { wait: null };
  // A poll far longer than the test: only fs.watch can report these in time.
  const w = watchFolderFiles(dir, ['trusted_peers'], () => calls.wait?.(), { pollMs: 3_600_000 });
  try {
    let seen = nextCall(calls);
    writeFileSync(join(dir, '.trusted_peers.swp'), 'two\n');
    renameSync(join(dir, '.trusted_peers.swp'), file);
    await seen;
    seen = nextCall(calls);
    writeFileSync(file, 'three\n');
    await seen;
  } finally {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a folder to watch the poll still calls back, and close() stops it', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'blink-watch-')), 'missing');
  let n = 0;
  const calls: { wait: (() => void) | null } = { wait: null };
  const w = watchFolderFiles(
    dir,
    ['trusted_peers'],
    () => {
      n++;
      calls.wait?.();
    },
    { pollMs: 20 },
  );
  await nextCall(calls);
  w.close();
  const after = n;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(n, after);
  rmSync(join(dir, '..'), { recursive: true, force: true });
});
