// The fault tests' MSRP detour rewrites paths in a TCP stream cut anywhere; it must neither miss a match split
// across chunks nor hold back bytes that cannot start one (a frame's end-line would then never arrive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamRewriter } from '../helpers/tcp-proxy.js';

test('StreamRewriter: matches split at every point are replaced; other bytes pass at once', () => {
  const from = 'msrp://127.0.0.1:40000/';
  const to = 'msrp://127.0.0.1:5/';
  const text = `To-Path: ${from}abc;tcp\r\nFrom-Path: x\r\n-------id$\r\n${from}`;
  for (let cut = 0; cut <= text.length; cut++) {
    const rw = new StreamRewriter(Buffer.from(from), Buffer.from(to));
    const out = Buffer.concat([
      rw.push(Buffer.from(text.slice(0, cut))),
      rw.push(Buffer.from(text.slice(cut))),
    ]).toString();
    assert.equal(out, text.replaceAll(from, to), `cut at ${cut}`);
  }
  const rw = new StreamRewriter(Buffer.from(from), Buffer.from(to));
  assert.equal(rw.push(Buffer.from('-------id$\r\n')).toString(), '-------id$\r\n', 'an end-line is not held back');
  assert.equal(rw.push(Buffer.from('xx msrp://127')).toString(), 'xx ', 'a possible start is held back');
});
