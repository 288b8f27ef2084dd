import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atomicWriteFile, type AtomicWriteStage } from '../../src/chat-storage/atomic.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'blink-atomic-'));

test('fault injected at every stage of the write path: the file is wholly old or wholly new', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'data');
    const OLD = Buffer.alloc(50000, 'o');
    const NEW = Buffer.alloc(70000, 'n');
    const stages: AtomicWriteStage[] = ['opened', 'partial', 'written', 'synced', 'renamed'];
    for (const stage of stages) {
      writeFileSync(file, OLD);
      chmodSync(file, 0o640);
      assert.throws(
        () =>
          atomicWriteFile(file, NEW, {
            fault: (s) => {
              if (s === stage) throw new Error('crash at ' + s);
            },
          }),
        /crash at/,
      );
      const now = readFileSync(file);
      if (stage === 'renamed') assert.ok(now.equals(NEW), stage);
      else assert.ok(now.equals(OLD), stage);
      assert.equal(statSync(file).mode & 0o777, 0o640, 'mode kept at ' + stage);
      // The temp file is cleaned up when the failure is an exception.
      assert.deepEqual(readdirSync(dir), ['data'], stage);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('new files get the requested mode; forceMode narrows an existing one (secrets)', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'secret');
    const old = process.umask(0o077);
    try {
      atomicWriteFile(f, 'x', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(f).mode & 0o777, 0o644);
    atomicWriteFile(f, 'y', { mode: 0o600, forceMode: true });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.equal(readFileSync(f, 'utf8'), 'y');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a child process killed at random points mid-write never leaves a mixed file', { timeout: 60000 }, async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'data');
    const size = 2_000_000;
    const a = Buffer.alloc(size, 'a');
    const b = Buffer.alloc(size, 'b');
    writeFileSync(file, a);
    const atomicModule = fileURLToPath(new URL('../../src/chat-storage/atomic.ts', import.meta.url));
    // The child rewrites the file forever, alternating two contents, until it is killed.
    const script = `
      import { atomicWriteFile } from ${JSON.stringify(atomicModule)};
      const size = ${size};
      const bufs = [Buffer.alloc(size, 'a'), Buffer.alloc(size, 'b')];
      let i = 1;
      process.stdout.write('ready\\n');
      for (;;) { atomicWriteFile(${JSON.stringify(file)}, bufs[i & 1]); i++; }
    `;
    let sawA = 0;
    let sawB = 0;
    for (let round = 0; round < 25; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error('child exited early: ' + c)));
      });
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const now = readFileSync(file);
      assert.equal(now.length, size, `round ${round}: length`);
      if (now.equals(a)) sawA++;
      else if (now.equals(b)) sawB++;
      else assert.fail(`round ${round}: the file is a mix of old and new`);
      // Temp files of a killed writer may remain; they never shadow the real file and carry the marker.
      for (const n of readdirSync(dir)) assert.ok(n === 'data' || n.startsWith('.data.tmp-'), n);
    }
    assert.ok(sawA + sawB === 25);
    // Both contents must have been seen, or the kills did not land while writes were going on.
    assert.ok(sawA > 0 && sawB > 0, `a=${sawA} b=${sawB}`);
    assert.ok(existsSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('temp files of dead writers are swept; live ones and other files are not', async () => {
  const { removeStaleTemps } = await import('../../src/chat-storage/atomic.js');
  const dir = tmp();
  try {
    const dead = spawnSyncPid();
    writeFileSync(join(dir, `.trusted_peers.tmp-${dead}-0123abcd`), 'half');
    writeFileSync(join(dir, `.trusted_peers.tmp-${process.pid}-0123abcd`), 'mine');
    writeFileSync(join(dir, 'trusted_peers'), 'real');
    writeFileSync(join(dir, '.hidden.tmp-notapid'), 'user file');
    assert.deepEqual(removeStaleTemps(dir), [join(dir, `.trusted_peers.tmp-${dead}-0123abcd`)]);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [`.hidden.tmp-notapid`, `.trusted_peers.tmp-${process.pid}-0123abcd`, 'trusted_peers'].sort(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function spawnSyncPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}
