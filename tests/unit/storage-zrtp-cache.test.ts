// The file-backed ZRTP cache: our ZID made once and kept, one 0600 file per peer ZID written atomically, records
// read back exactly, and a damaged file read as "no record" (never a crash). Then two engines on two stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openZrtpCache, zrtpCachePaths } from '../../src/chat-storage/index.js';
import { makeEngine, runLink, secureOf } from '../helpers/zrtp-link.js';

function tmp() {
  const dir = mkdtempSync(join(tmpdir(), 'zrtp-cache-'));
  return { chat: join(dir, 'chat'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('our ZID is created once, 0600, and read back on the next open', () => {
  const t = tmp();
  try {
    const a = openZrtpCache(t.chat);
    assert.equal(a.zid.length, 12);
    const b = openZrtpCache(t.chat);
    assert.deepEqual(b.zid, a.zid);
    assert.equal(statSync(zrtpCachePaths(t.chat).zidFile).mode & 0o777, 0o600);
    writeFileSync(zrtpCachePaths(t.chat).zidFile, 'garbage');
    assert.notDeepEqual(openZrtpCache(t.chat).zid, a.zid);
  } finally {
    t.done();
  }
});

test('records round-trip, one 0600 file per ZID, no temp files left; damaged files read as absent', () => {
  const t = tmp();
  try {
    const s = openZrtpCache(t.chat);
    const peer = new Uint8Array(12).fill(0xab);
    assert.equal(s.load(peer), undefined);
    const rec = {
      rs1: new Uint8Array(32).fill(1),
      rs2: new Uint8Array(32).fill(2),
      verified: true,
      lastSeen: 42,
      peerIdentity: 'bob@example.com',
    };
    s.save(peer, rec);
    assert.deepEqual(s.load(peer), rec);
    const { dir } = zrtpCachePaths(t.chat);
    assert.deepEqual(readdirSync(dir), ['abababababababababababab']);
    assert.equal(statSync(join(dir, 'abababababababababababab')).mode & 0o777, 0o600);
    s.save(peer, { verified: false, lastSeen: 43 });
    assert.deepEqual(s.load(peer), { verified: false, lastSeen: 43 });
    assert.equal(s.list().length, 1);
    writeFileSync(join(dir, 'abababababababababababab'), '{"rs1": 5');
    assert.equal(s.load(peer), undefined);
    writeFileSync(join(dir, 'abababababababababababab'), '{"rs1": "zz", "verified": "yes"}');
    assert.deepEqual(s.load(peer), { verified: false, lastSeen: 0 });
  } finally {
    t.done();
  }
});

test('two engines on two file stores: the second call matches the retained secret', () => {
  const ta = tmp();
  const tb = tmp();
  try {
    const run = (n: number) => {
      const ca = openZrtpCache(ta.chat);
      const cb = openZrtpCache(tb.chat);
      return runLink(
        makeEngine('a', { cache: ca, zid: ca.zid }, `f${n}`),
        makeEngine('b', { cache: cb, zid: cb.zid }, `f${n}`),
      );
    };
    assert.equal(secureOf(run(1).a)?.cache, 'new');
    const second = run(2);
    assert.equal(secureOf(second.a)?.cache, 'match');
    assert.equal(secureOf(second.b)?.cache, 'match');
  } finally {
    ta.done();
    tb.done();
  }
});
