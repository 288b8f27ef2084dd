import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WS_BASE,
  WS_V1,
  WS_V2,
  WS_V3,
  buildErrorMessage,
  buildQuery,
  buildWhitespaceTag,
  findWhitespaceTag,
  parseErrorMessage,
  parseQuery,
} from '../../src/otr/query.js';

const bytes = (s: string) => Buffer.from(s, 'latin1').toString('hex');

test('query message version lists (spec examples and otr3-test-vectors query_message_cases)', () => {
  const cases: Array<[string, number[] | null]> = [
    ['?OTR?', [1]],
    ['?OTRv2?', [2]],
    ['?OTRv23?', [2, 3]],
    ['?OTR?v2?', [1, 2]],
    ['?OTRv24x?', [2, 4]],
    ['?OTR?v24x?', [1, 2, 4]],
    ['?OTR?v?', [1]],
    ['?OTRv?', []],
    ['?OTRv2? I like number 3', [2]],
    [
      '?OTRv3?  I would like to start an Off-the-Record private conversation, but you do not seem to support that.',
      [3],
    ],
    ['hello ?OTRv32? there', [3, 2]],
    ['hello world', null],
    ['?OTR:AAMC.', null],
    ['?OTR Error: x', null],
    ['?OTR|1|2,1,1,x,', null],
  ];
  for (const [msg, want] of cases) assert.deepEqual(parseQuery(msg), want, msg);
});

test('query messages we build follow the policy', () => {
  assert.equal(buildQuery(true, true, 'hi'), '?OTRv23? hi');
  assert.equal(buildQuery(false, true, ''), '?OTRv3?');
  assert.equal(buildQuery(true, false, 'x'), '?OTRv2? x');
});

test('whitespace tag bytes match the spec (otr3-test-vectors whitespace_tag)', () => {
  assert.equal(bytes(WS_BASE), '20092020090909092009200920092020');
  assert.equal(bytes(WS_V1), '2009200920200920');
  assert.equal(bytes(WS_V2), '2020090920200920');
  assert.equal(bytes(WS_V3), '2020090920200909');
  assert.equal(buildWhitespaceTag(true, true), WS_BASE + WS_V2 + WS_V3);
});

test('whitespace tags are found anywhere, their versions parsed, and stripped from the text', () => {
  const r = findWhitespaceTag('hello' + WS_BASE + WS_V2 + WS_V3 + ' world');
  assert.deepEqual(r, { versions: [2, 3], stripped: 'hello world' });
  assert.deepEqual(findWhitespaceTag(WS_BASE + WS_V1 + WS_V3), { versions: [1, 3], stripped: '' });
  assert.equal(findWhitespaceTag('hello world'), null);
  // A base tag with no version tag is not a tag.
  assert.equal(findWhitespaceTag('x' + WS_BASE + 'y'), null);
});

test('error messages', () => {
  assert.equal(parseErrorMessage('?OTR Error: You sent garbage'), 'You sent garbage');
  assert.equal(parseErrorMessage('prefix ?OTR Error:x'), 'x');
  assert.equal(parseErrorMessage('?OTR:AAMC.'), null);
  assert.equal(buildErrorMessage('oops'), '?OTR Error: oops');
});
