// RFC 5547 attributes as Blink writes and reads them (STACK.md): raw UTF-8 names in quotes, `hash:sha-1:` with
// upper-case colon hex, a=x-file-offset, a=file-transfer-id; and the FILE_OFFSET method on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  buildFileSelector,
  formatSha1,
  isFileOffer,
  parseFileAttributes,
  parseFileSelector,
} from '../../src/msrp/file-selector.js';
import { MsrpSdpError } from '../../src/msrp/errors.js';
import { MsrpParser } from '../../src/msrp/parser.js';
import { serializeRequest } from '../../src/msrp/serializer.js';
import { buildMsrpSdp } from '../../src/msrp/sdp.js';

const digest = createHash('sha1').update('hello').digest();

test('file-selector is built in Blink form: quoted raw UTF-8 name, type, size, upper-case colon sha-1', () => {
  const v = buildFileSelector({ name: 'Grüße 日本.txt', type: 'text/plain', size: 5, sha1: digest });
  const hex = digest.toString('hex').toUpperCase().match(/../g)!.join(':');
  assert.equal(v, `name:"Grüße 日本.txt" type:text/plain size:5 hash:sha-1:${hex}`);
  assert.equal(formatSha1(digest), hex);
  assert.match(hex, /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
});

test('file-selector round trip, including a quote and a percent in the name', () => {
  const sel = { name: 'a "quoted" 100% name.bin', type: 'application/octet-stream', size: 123456789, sha1: digest };
  const back = parseFileSelector(buildFileSelector(sel));
  assert.equal(back.name, sel.name);
  assert.equal(back.type, sel.type);
  assert.equal(back.size, sel.size);
  assert.deepEqual(Buffer.from(back.sha1!), digest);
});

test("Blink's own offer line parses (raw UTF-8, lower-case hex accepted, unknown selectors skipped)", () => {
  const line =
    'name:"x-1 файл.bin" type:application/octet-stream size:3 hash:sha-1:' +
    digest.toString('hex').match(/../g)!.join(':') +
    ' future:thing';
  const s = parseFileSelector(line);
  assert.equal(s.name, 'x-1 файл.bin');
  assert.equal(s.size, 3);
  assert.deepEqual(Buffer.from(s.sha1!), digest);
  // A name that really contains %41 keeps it: Blink does not %-encode names.
  assert.equal(parseFileSelector('name:"100%41"').name, '100%41');
});

test('hostile file-selectors throw MsrpSdpError only', () => {
  const bad = [
    'name:"unterminated',
    'name:unquoted',
    'size:-1',
    'size:99999999999999999999',
    'hash:sha-1:ZZ',
    'hash:sha-1:42',
    '::::',
    'name:"a"type:x',
    'x'.repeat(10000),
    `name:"${'é'.repeat(2000)}"`,
  ];
  for (const b of bad) assert.throws(() => parseFileSelector(b), MsrpSdpError, b.slice(0, 30));
  // An unknown hash algorithm is ignored (we could not check it), not an error.
  assert.equal(parseFileSelector('hash:md5:00 size:1').sha1, undefined);
});

test('an offer SDP: direction, transfer id, x-file-offset, formats; a chat SDP is not a file offer', () => {
  const sdp = buildMsrpSdp({
    path: ['msrp://127.0.0.1:2855/abcd;tcp'],
    setup: 'actpass',
    acceptTypes: ['*'],
    acceptWrappedTypes: [],
    extraAttributes: [
      'sendonly',
      `file-selector:${buildFileSelector({ name: 'f.bin', type: 'application/octet-stream', size: 1, sha1: digest })}`,
      'x-file-offset',
      'file-transfer-id:1234-abcd',
      'x-blink-tui-otr-file:v1 AAAA',
    ],
  });
  assert.match(sdp, /^m=message 2855 TCP\/MSRP \*\r$/m);
  assert.doesNotMatch(sdp, /accept-wrapped-types/);
  const a = parseFileAttributes(sdp);
  assert.equal(a.direction, 'sendonly');
  assert.equal(a.transferId, '1234-abcd');
  assert.equal(a.fileOffset, true);
  assert.equal(a.formats, '*');
  assert.equal(a.selector?.name, 'f.bin');
  assert.equal(a.other.get('x-blink-tui-otr-file'), 'v1 AAAA');
  assert.equal(isFileOffer(sdp), true);
  const chat = buildMsrpSdp({ path: ['msrp://127.0.0.1:2855/abcd;tcp'], setup: 'actpass' });
  assert.equal(isFileOffer(chat), false);
  // A malformed file-selector still marks a file offer (refused by the file layer, not taken for a chat).
  assert.equal(isFileOffer(chat + 'a=file-selector:name:"x\r\n'), true);
});

test('FILE_OFFSET (underscore outside RFC 4975 grammar) is parsed and serialized', () => {
  const { bytes } = serializeRequest({
    method: 'FILE_OFFSET',
    transactionId: 'tx12345',
    toPath: ['msrp://127.0.0.1:1/a;tcp'],
    fromPath: ['msrp://127.0.0.1:2/b;tcp'],
  });
  const frames = new MsrpParser().feed(bytes);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.kind, 'request');
  assert.equal(frames[0]!.kind === 'request' && frames[0]!.method, 'FILE_OFFSET');
  assert.throws(() => new MsrpParser().feed(Buffer.from('MSRP tx12345 _BAD\r\nTo-Path: x\r\n-------tx12345$\r\n')));
});
