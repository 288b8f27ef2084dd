import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OtrProtocolError } from '../../src/otr/errors.js';
import { MAX_REASSEMBLED, Reassembler, fragmentMessage, isFragment, parseFragment } from '../../src/otr/fragment.js';
import { decodeMessage } from '../../src/otr/messages.js';
import { unframeEncoded } from '../../src/otr/wire.js';

// The v3 example from the spec (otr3-test-vectors.json spec_fragment_example_v3).
const SPEC_FRAGMENTS = [
  '?OTR|5a73a599|27e31597,00001,00003,?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgCyn9hbrL3KAbGDdzE2ZkMyTKl7XfkSxh8YJnudstiB74i4BzT0W2haClg6dMary/jo9sMudwmUdlnKpIGEKXWdvJKT+hQ26h9nzMgEditLB8v,',
  '?OTR|5a73a599|27e31597,00002,00003,jPEWAJ6gBXvZrY6ZQrx3gb4v0UaSMOMiR5sB7Eaulb2Yc6RmRnnlxgUUC2alosg4WIeFN951PLjScajVba6dqlDi+q1H5tPvI5SWMN7PCBWIJ41+WvF+5IAZzQZYgNaVLbAAAAAAAAAAEAAAAHwNiIi5Ms+4PsY/L2i,',
  '?OTR|5a73a599|27e31597,00003,00003,pkTtquknfx6HodLvk3RAAAAAA==.,',
];
const SPEC_REASSEMBLED =
  '?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgCyn9hbrL3KAbGDdzE2ZkMyTKl7XfkSxh8YJnudstiB74i4BzT0W2haClg6dMary/jo9sMudwmUdlnKpIGEKXWdvJKT+hQ26h9nzMgEditLB8vjPEWAJ6gBXvZrY6ZQrx3gb4v0UaSMOMiR5sB7Eaulb2Yc6RmRnnlxgUUC2alosg4WIeFN951PLjScajVba6dqlDi+q1H5tPvI5SWMN7PCBWIJ41+WvF+5IAZzQZYgNaVLbAAAAAAAAAAEAAAAHwNiIi5Ms+4PsY/L2ipkTtquknfx6HodLvk3RAAAAAA==.';

const bad = (e: unknown) => e instanceof OtrProtocolError && e.code === 'bad-fragment';

test('the spec example reassembles to its Data Message, whose header decodes as documented', () => {
  const r = new Reassembler();
  const f = SPEC_FRAGMENTS.map((s) => parseFragment(s)!);
  assert.deepEqual(
    { ...f[0], piece: '' },
    { version: 3, senderTag: 0x5a73a599, receiverTag: 0x27e31597, k: 1, n: 3, piece: '' },
  );
  assert.equal(r.add(f[0]!), null);
  assert.equal(r.add(f[1]!), null);
  const whole = r.add(f[2]!);
  assert.equal(whole, SPEC_REASSEMBLED);
  const m = decodeMessage(unframeEncoded(whole!));
  assert.equal(m.kind, 'data');
  if (m.kind === 'data') {
    assert.equal(m.header.version, 3);
    assert.equal(m.header.senderTag, 0x27e31599);
    assert.equal(m.header.receiverTag, 0x27e31597);
    assert.equal(m.flags, 0);
    assert.equal(m.senderKeyid, 1);
    assert.equal(m.recipientKeyid, 2);
  }
});

test('v2 fragment syntax', () => {
  const f = parseFragment('?OTR,1,3,?OTR:AAED,');
  assert.deepEqual(f, { version: 2, senderTag: 0, receiverTag: 0, k: 1, n: 3, piece: '?OTR:AAED' });
  assert.ok(isFragment('?OTR,1,3,x,'));
  assert.ok(!isFragment('?OTR:AAMC.'));
});

test('illegal fragments are discarded: k=0, n=0, k>n, numbers past 65535', () => {
  for (const s of [
    '?OTR,0,3,x,',
    '?OTR,1,0,x,',
    '?OTR,4,3,x,',
    '?OTR,1,65536,x,',
    '?OTR|00000100|00000000,00000,00003,x,',
  ]) {
    assert.throws(() => parseFragment(s), bad, s);
  }
  // Leading zeros are legal.
  assert.equal(parseFragment('?OTR,00001,00001,x,')!.n, 1);
});

test('text without the fragment syntax is not a fragment (it is handled as an ordinary message)', () => {
  for (const s of [
    '?OTR,1,3,,',
    '?OTR,1,3,x',
    '?OTR|zz|01,1,1,x,',
    '?OTR|123456789|100,1,1,x,',
    '?OTR,-1,3,x,',
    '?OTR,1,3,a,b,',
    '?OTR,1,99999999999,x,',
    'what is ?OTR, anyway',
  ]) {
    assert.equal(parseFragment(s), null, s);
  }
});

test('reassembly follows the spec: out-of-order pieces and changed counts reset the buffer', () => {
  const r = new Reassembler();
  const fr = (k: number, n: number, p: string) => parseFragment(`?OTR,${k},${n},${p},`)!;
  // Out of order: 1, 3 -> reset; then 2 alone does nothing.
  assert.equal(r.add(fr(1, 3, 'a')), null);
  assert.equal(r.add(fr(3, 3, 'c')), null);
  assert.equal(r.pending, false);
  assert.equal(r.add(fr(2, 3, 'b')), null);
  // Duplicate piece resets.
  r.add(fr(1, 2, 'a'));
  assert.equal(r.add(fr(1 + 0, 2, 'a')), null);
  assert.equal(r.add(fr(2, 2, 'b')), 'ab');
  // n changes midway: reset.
  r.add(fr(1, 3, 'a'));
  assert.equal(r.add(fr(2, 4, 'b')), null);
  assert.equal(r.pending, false);
  // A new k=1 restarts.
  r.add(fr(1, 3, 'a'));
  r.add(fr(1, 2, 'x'));
  assert.equal(r.add(fr(2, 2, 'y')), 'xy');
  // Single-fragment message.
  assert.equal(r.add(fr(1, 1, 'z')), 'z');
  // A fragment claiming 65535 pieces only buffers what actually arrives.
  assert.equal(r.add(fr(1, 65535, 'a')), null);
  assert.equal(r.pending, true);
  r.reset();
  assert.equal(r.pending, false);
});

test('reassembly memory is bounded', () => {
  const r = new Reassembler();
  const piece = 'x'.repeat(1 << 16);
  let k = 1;
  while (k * piece.length <= MAX_REASSEMBLED)
    (assert.equal(r.add({ version: 2, senderTag: 0, receiverTag: 0, k, n: 65535, piece }), null), k++);
  assert.equal(r.add({ version: 2, senderTag: 0, receiverTag: 0, k, n: 65535, piece }), null);
  assert.equal(r.pending, false, 'buffer dropped once it passed the limit');
});

test('fragments from a different sender instance do not continue a buffer', () => {
  const r = new Reassembler();
  r.add(parseFragment('?OTR|00000100|00000200,1,2,a,')!);
  assert.equal(r.add(parseFragment('?OTR|00000101|00000200,2,2,b,')!), null);
});

test('fragmenting outgoing messages: sizes, format, round trip (v2 and v3)', () => {
  const msg = SPEC_REASSEMBLED;
  for (const version of [2, 3] as const) {
    for (const size of [60, 100, 199, 300]) {
      const frags = fragmentMessage(msg, size, version, 0x5a73a599, 0x27e31597);
      assert.ok(frags.length > 1);
      const r = new Reassembler();
      let out: string | null = null;
      frags.forEach((f, i) => {
        assert.ok(f.length <= size, `fragment ${i} is ${f.length} > ${size}`);
        const p = parseFragment(f)!;
        assert.equal(p.k, i + 1);
        assert.equal(p.n, frags.length);
        if (version === 3) {
          assert.equal(p.senderTag, 0x5a73a599);
          assert.equal(p.receiverTag, 0x27e31597);
        }
        out = r.add(p);
      });
      assert.equal(out, msg);
    }
  }
  assert.deepEqual(fragmentMessage('?OTR:AAMC.', 100, 3, 0x100, 0), ['?OTR:AAMC.']);
  assert.deepEqual(fragmentMessage(msg, 0, 3, 0x100, 0), [msg]);
  assert.match(fragmentMessage(msg, 100, 3, 0x100, 0)[0]!, /^\?OTR\|00000100\|00000000,00001,00006,/);
  assert.throws(() => fragmentMessage(msg, 30, 3, 0x100, 0), RangeError);
});

test('v3 fragment headers with leading zeroes (the spec allows them) parse; the same message reassembles', () => {
  const long = SPEC_FRAGMENTS.map((f) => f.replace('?OTR|5a73a599|27e31597,', '?OTR|005a73a599|000027e31597,'));
  const r = new Reassembler();
  let out: string | null = null;
  for (const f of long) {
    const p = parseFragment(f);
    assert.ok(p, `not parsed: ${f.slice(0, 40)}`);
    assert.equal(p.senderTag, 0x5a73a599);
    assert.equal(p.receiverTag, 0x27e31597);
    out = r.add(p);
  }
  assert.ok(out && out.startsWith('?OTR:AAMD'));
  // Short forms without any padding parse too; nine significant digits do not.
  assert.equal(parseFragment('?OTR|100|0,1,1,?OTR:AAMC.,')?.senderTag, 0x100);
  assert.equal(parseFragment('?OTR|1000000000|0,1,1,piece,'), null);
});
