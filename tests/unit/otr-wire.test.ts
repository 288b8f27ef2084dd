import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OtrProtocolError } from '../../src/otr/errors.js';
import {
  B64_RE,
  Reader,
  Writer,
  base64Decode,
  base64Encode,
  frameEncoded,
  unframeEncoded,
} from '../../src/otr/wire.js';
import { bigintToBytes as bigintToMinimalBytes, encodeMpi } from '../../src/bytes/bytes.js';
import { generateDsaKey, publicKeyOf, serializePublicKey as serializePubkey } from '../../src/keys/dsa-key.js';
import { decodeMessage, encodeDhCommit, encodeDhKey, encodeRevealSig, encodeSig } from '../../src/otr/messages.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const code = (c: string) => (e: unknown) => e instanceof OtrProtocolError && e.code === c;

test('BYTE/SHORT/INT/DATA/MPI round trip and big-endian layout', () => {
  const w = new Writer().byte(0xab).short(0x1234).int(0xdeadbeef).data(hex('0102')).mpi(0x0100n).mpi(0n);
  const b = w.finish();
  assert.equal(toHex(b), 'ab' + '1234' + 'deadbeef' + '000000020102' + '000000020100' + '00000000');
  const r = new Reader(b);
  assert.equal(r.byte(), 0xab);
  assert.equal(r.short(), 0x1234);
  assert.equal(r.int(), 0xdeadbeef);
  assert.equal(toHex(r.data()), '0102');
  assert.equal(r.mpi(), 0x100n);
  assert.equal(r.mpi(), 0n);
  r.end('test');
});

test('MPI uses the minimum-length encoding (spec vector gxmpi)', () => {
  const gx = BigInt(
    '0x75dfab5a1eab059052d0ad881c4938d52669630d61833a367155d67d03a457f619683d0fa829781e974fd24f6865e8128a9312a167b77326a87dea032fc31784d05b18b9cbafebe162ae9b5369f8b0c5911cf1be757f45f2a674be5126a714a6366c28086b3c7088911dcc4e5fb1481ad70a5237b8e4a6aff4954c2ca6df338b9f08691e4c0defe12689b37d4df30ddef2687f789fcf623c5d0cf6f09b7e5e69f481d5fd1b24a77636fb676e6d733d129eb93e81189340233044766a36eb07d',
  );
  const m = encodeMpi(gx);
  assert.equal(toHex(m.subarray(0, 5)), '000000c007');
  assert.equal(m.length, 196);
  assert.equal(bigintToMinimalBytes(0n).length, 0);
  assert.equal(toHex(bigintToMinimalBytes(0x80n)), '80');
});

test('readers refuse truncated fields', () => {
  assert.throws(() => new Reader(hex('01')).short(), code('truncated'));
  assert.throws(() => new Reader(hex('010203')).int(), code('truncated'));
  assert.throws(() => new Reader(hex('0000')).data(), code('truncated'));
  assert.throws(() => new Reader(hex('00000001')).ctr(), code('truncated'));
  assert.throws(() => new Reader(new Uint8Array(19)).mac(), code('truncated'));
});

test('a length field claiming more than the buffer holds is refused before any allocation', () => {
  // 0xffffffff bytes claimed, 2 present: must fail fast with 'oversized', not try to allocate 4 GiB.
  assert.throws(() => new Reader(hex('ffffffff0102')).data(), code('oversized'));
  assert.throws(() => new Reader(hex('7fffffff0102')).mpi(), code('oversized'));
  assert.throws(() => new Reader(hex('00000005010203')).data(), code('oversized'));
  // Limits below the buffer size apply too.
  assert.throws(() => new Reader(new Uint8Array([0, 0, 0, 10, ...new Array(10).fill(1)])).data(4), code('oversized'));
});

test('non-minimal MPIs are refused', () => {
  assert.throws(() => new Reader(hex('000000020001')).mpi(), code('bad-mpi'));
});

test('PUBKEY and SIG readers', () => {
  const k = { p: 0xfffffffbn, q: 0xf1n, g: 2n, y: 0x1234n };
  const toy = serializePubkey(k);
  assert.equal(toHex(toy), '0000' + '00000004fffffffb' + '00000001f1' + '0000000102' + '000000021234');
  // The reader is the strict parser of src/keys: a toy key (32-bit p, 8-bit q) is refused, a real one is read.
  assert.throws(() => new Reader(toy).pubkey(), code('bad-pubkey'));
  const real = publicKeyOf(generateDsaKey());
  const raw = Uint8Array.from([...serializePubkey(real), 7]);
  const r = new Reader(raw);
  const { key, raw: used } = r.pubkey();
  assert.deepEqual(key, real);
  assert.equal(used.length, raw.length - 1);
  assert.equal(r.byte(), 7);
  const typed = Uint8Array.from(raw);
  typed[1] = 1;
  assert.throws(() => new Reader(typed).pubkey(), code('bad-pubkey'));
  const q = (1n << 159n) + 7n;
  const sig = new Writer().sig(q, { r: 5n, s: 6n }).finish();
  assert.equal(sig.length, 40);
  assert.deepEqual(new Reader(sig).sig(q), { r: 5n, s: 6n });
  assert.throws(() => new Reader(sig.subarray(0, 39)).sig(q), code('truncated'));
});

test('strict base64', () => {
  assert.equal(toHex(base64Decode('AAEC')), '000102');
  assert.equal(toHex(base64Decode('AAE=')), '0001');
  assert.equal(base64Encode(hex('0001')), 'AAE=');
  for (const bad of ['AAE', 'AA=E', 'A$EC', 'AAEC=', 'AA EC', 'AAE==', '=AAA', 'AAECA===']) {
    assert.throws(() => base64Decode(bad), code('bad-base64'), bad);
  }
});

test('strict base64: the fast path accepts exactly what the grammar accepts', () => {
  // Padding whose unused bits are not zero is not canonical but is valid base64: still accepted.
  assert.equal(toHex(base64Decode('QR==')), '41');
  assert.equal(toHex(base64Decode('QUJ=')), '4142');
  // Characters Buffer's decoder would take or skip silently.
  for (const bad of ['AA-_', 'AA_A', 'AAÉC', 'AA\u0141C', 'AA\nC', 'AAAA\0AAA', 'AA==AAAA', 'A===']) {
    assert.throws(() => base64Decode(bad), code('bad-base64'), JSON.stringify(bad));
  }
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 7919) & 0xff);
  const text = base64Encode(big);
  assert.deepEqual(base64Decode(text), big);
  assert.throws(() => base64Decode(text.slice(0, 1000) + '*' + text.slice(1001)), code('bad-base64'));
});

test('strict base64: the length-based check agrees with the grammar on random near-base64 text', () => {
  // Mostly alphabet characters, sometimes junk Buffer would skip or accept ('-', '_', '=', spaces, non-ASCII).
  const common = 'QUJDabc019+/';
  const junk = 'ABCabc019+/=-_ *\n.\u00e9\u0141\0';
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let i = 0; i < 200_000; i++) {
    const len = [0, 4, 8, 12, 16][i % 5]! + (i % 7 === 0 ? i % 3 : 0);
    let s = '';
    for (let j = 0; j < len; j++)
      s += rnd() < 0.85 ? common[Math.floor(rnd() * common.length)] : junk[Math.floor(rnd() * junk.length)];
    if (rnd() < 0.3 && s.length >= 2) s = s.slice(0, -2) + (rnd() < 0.5 ? '==' : 'A=');
    let ok = true;
    try {
      base64Decode(s);
    } catch {
      ok = false;
    }
    assert.equal(ok, B64_RE.test(s), JSON.stringify(s));
  }
});

test('?OTR:...  framing', () => {
  const f = frameEncoded(hex('000302'));
  assert.equal(f, '?OTR:AAMC.');
  assert.equal(toHex(unframeEncoded(f)), '000302');
  assert.equal(toHex(unframeEncoded('junk before ?OTR:AAMC. after')), '000302');
  assert.throws(() => unframeEncoded('?OTR:AAMC'), code('bad-framing'));
  assert.throws(() => unframeEncoded('?OTR:AA*C.'), code('bad-base64'));
  assert.throws(() => unframeEncoded('hello'), code('bad-framing'));
});

test('AKE messages encode and decode (v3 and v2 headers)', () => {
  const h3 = { version: 3 as const, type: 0, senderTag: 0x1234, receiverTag: 0x5678 };
  const c = decodeMessage(encodeDhCommit(h3, hex('aabb'), new Uint8Array(32).fill(7)));
  assert.equal(c.kind, 'dh-commit');
  assert.deepEqual(c.header, { ...h3, type: 2 });
  const k = decodeMessage(encodeDhKey({ version: 2, type: 0, senderTag: 0, receiverTag: 0 }, 12345n));
  assert.equal(k.kind, 'dh-key');
  if (k.kind === 'dh-key') assert.equal(k.gy, 12345n);
  assert.equal(
    toHex(encodeDhKey({ version: 2, type: 0, senderTag: 0, receiverTag: 0 }, 0x3039n)),
    '00020a000000023039',
  );
  const rs = decodeMessage(encodeRevealSig(h3, new Uint8Array(16), hex('0102'), new Uint8Array(20)));
  assert.equal(rs.kind, 'reveal-sig');
  if (rs.kind === 'reveal-sig') assert.equal(toHex(rs.encSigField), '000000020102');
  const s = decodeMessage(encodeSig(h3, hex('0102'), new Uint8Array(20)));
  assert.equal(s.kind, 'sig');
});

test('hostile binary messages: bad version, bad type, truncation, trailing bytes, wrong sizes', () => {
  const h3 = { version: 3 as const, type: 0, senderTag: 0x1234, receiverTag: 0x5678 };
  const good = encodeDhCommit(h3, hex('aabb'), new Uint8Array(32));
  assert.throws(() => decodeMessage(Uint8Array.from([0, 1, 2, ...good.subarray(3)])), code('bad-version'));
  assert.throws(() => decodeMessage(Uint8Array.from([0, 3, 0x77, ...good.subarray(3)])), code('bad-type'));
  for (let n = 0; n < good.length; n++) {
    assert.throws(
      () => decodeMessage(good.subarray(0, n)),
      (e: unknown) => e instanceof OtrProtocolError,
      `truncated at ${n}`,
    );
  }
  assert.throws(() => decodeMessage(Uint8Array.from([...good, 0])), code('trailing'));
  assert.throws(() => decodeMessage(encodeDhCommit(h3, hex('aabb'), new Uint8Array(31))), code('bad-hash'));
  assert.throws(
    () => decodeMessage(encodeRevealSig(h3, new Uint8Array(15), hex('01'), new Uint8Array(20))),
    code('bad-mac'),
  );
});

test('MPIs follow src/bytes: one rule for the limit, the buffer and minimal encoding', () => {
  assert.throws(() => new Reader(hex('00000001')).mpi(), code('truncated')); // claims a byte that is not there
  assert.throws(() => new Reader(hex('000005')).mpi(), code('truncated')); // not even a length
  assert.throws(() => new Reader(hex('0000000200ff')).mpi(), code('bad-mpi'));
  assert.throws(() => new Reader(hex('00000003010203')).mpi(2), code('oversized'));
  const r = new Reader(hex('000000020102' + '00000000'));
  assert.equal(r.mpi(), 0x0102n);
  assert.equal(r.mpi(), 0n);
  assert.equal(r.remaining, 0);
});
