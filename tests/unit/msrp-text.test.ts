import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUtf8, encodeUtf8, encodeUtf8Into, utf8Length } from '../../src/msrp/text.js';
import { cpimText, decodeCpim, encodeCpim } from '../../src/msrp/cpim.js';

const td = new TextDecoder();
const te = new TextEncoder();

test('decodeUtf8 gives what TextDecoder gives, for ASCII and everything else', () => {
  const cases: Uint8Array[] = [
    te.encode('short'),
    te.encode('?OTR:' + 'QUJD'.repeat(100_000) + '.'),
    te.encode('x'.repeat(1000) + 'é€😀' + 'y'.repeat(1000)),
    new Uint8Array([0xef, 0xbb, 0xbf, ...te.encode('z'.repeat(500))]), // BOM first: dropped by both
    new Uint8Array([...te.encode('a'.repeat(300)), 0xff, 0xc3, 0x28, 0x80]), // malformed: U+FFFD
    new Uint8Array(0),
  ];
  for (const c of cases) assert.equal(decodeUtf8(c), td.decode(c));
  // A view into a larger buffer decodes only its own bytes.
  const big = te.encode('<' + 'm'.repeat(1000) + '>');
  assert.equal(decodeUtf8(big.subarray(1, 1001)), 'm'.repeat(1000));
});

test('encodeUtf8 gives what TextEncoder gives, lone surrogates included', () => {
  const cases = [
    '',
    'ascii',
    'A'.repeat(5000),
    'é€😀'.repeat(300),
    'a'.repeat(400) + '\ud800' + 'b\udc00'.repeat(100),
    '\u0000\u007f\u0080'.repeat(200),
  ];
  for (const s of cases) {
    assert.deepEqual(encodeUtf8(s), te.encode(s));
    assert.equal(utf8Length(s), te.encode(s).length);
  }
  const out = new Uint8Array(10);
  assert.equal(encodeUtf8Into('é!', out, 4, 3), 7);
  assert.deepEqual([...out.subarray(4, 7)], [0xc3, 0xa9, 0x21]);
});

test('CPIM with a large text body: one buffer out, the body read back unchanged', () => {
  for (const text of ['?OTR:' + 'QUJD'.repeat(300_000) + '.', 'ünïcödé '.repeat(50_000)]) {
    const bytes = encodeCpim({
      from: 'sip:a@example.com',
      to: ['sip:b@example.com'],
      contentType: 'text/plain',
      body: text,
      dateTime: null,
    });
    const m = decodeCpim(bytes);
    assert.equal(m.contentType, 'text/plain');
    assert.equal(m.charset, 'utf-8');
    assert.equal(cpimText(m), text);
    // The content is a view of the message bytes, not a second copy of them.
    assert.equal(m.body.buffer, bytes.buffer);
  }
});
