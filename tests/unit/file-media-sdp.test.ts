// The SDP of a file transfer in Blink's form (STACK.md, "File transfer as Blink does it"): our offer is what Blink
// takes (format list exactly "*", upper-case colon SHA-1, x-file-offset), and our answer to Blink's offer is what
// Blink's own answer looks like (recvonly, setup passive, the selector echoed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BIG_CHUNK_ATTRIBUTE, BIG_CHUNK_SIZE, FileMedia, sendChunkSize } from '../../src/chat/file-media.js';
import { parseFileAttributes } from '../../src/msrp/index.js';

const sha1 = createHash('sha1').update('x').digest();
const hex = sha1.toString('hex').toUpperCase().match(/../g)!.join(':');

test('our file offer: sendonly, accept-types *, actpass, the selector Blink takes, x-file-offset, transfer id', async () => {
  const m = new FileMedia(
    '127.0.0.1',
    {
      offer: {
        selector: { name: 'Grüße.bin', type: 'application/octet-stream', size: 1, sha1 },
        transferId: 'abc-123',
      },
    },
    () => undefined,
  );
  try {
    const sdp = await m.createOffer();
    const media = sdp.slice(sdp.indexOf('m=message'));
    assert.match(media, /^m=message \d+ TCP\/MSRP \*\r\n/);
    const attrs = media.split('\r\n').filter((l) => l.startsWith('a='));
    for (const a of [
      'a=sendonly',
      'a=accept-types:*',
      'a=setup:actpass',
      `a=file-selector:name:"Grüße.bin" type:application/octet-stream size:1 hash:sha-1:${hex}`,
      'a=x-file-offset',
      'a=file-transfer-id:abc-123',
    ])
      assert.ok(attrs.includes(a), `${a} in\n${media}`);
    assert.ok(!attrs.some((a) => a.startsWith('a=accept-wrapped-types')), 'nothing wrapped in a file session');
    assert.ok(!attrs.some((a) => a.startsWith('a=file-disposition')), 'no file-disposition, as Blink');
  } finally {
    m.close();
  }
});

test("our answer to Blink's offer: recvonly, setup passive, its selector echoed, x-file-offset kept", async () => {
  const blinkOffer = [
    'v=0',
    'o=- 3916000000 3916000000 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=message 40001 TCP/MSRP *',
    'a=path:msrp://127.0.0.1:40001/blinksession;tcp',
    'a=sendonly',
    'a=accept-types:*',
    'a=setup:actpass',
    `a=file-selector:name:"x.bin" type:application/octet-stream size:3 hash:sha-1:${hex}`,
    'a=x-file-offset',
    'a=file-transfer-id:7f1c2a',
    '',
  ].join('\r\n');
  const m = new FileMedia(
    '127.0.0.1',
    {
      answer: {
        selector: { name: 'x.bin', type: 'application/octet-stream', size: 3, sha1 },
        fileOffset: true,
        transferId: '7f1c2a',
      },
    },
    () => undefined,
  );
  try {
    const sdp = await m.createAnswer(blinkOffer);
    const attrs = sdp.split('\r\n').filter((l) => l.startsWith('a='));
    for (const a of [
      'a=recvonly',
      'a=setup:passive',
      `a=file-selector:name:"x.bin" type:application/octet-stream size:3 hash:sha-1:${hex}`,
      'a=x-file-offset',
      'a=file-transfer-id:7f1c2a',
    ])
      assert.ok(attrs.includes(a), `${a} in\n${sdp}`);
    assert.equal(m.remoteFile?.selector?.size, 3);
  } finally {
    m.close();
  }
});

test('chunk size: 1 MiB to a blink-tui receiver (its answer says so), 64 KiB to Blink and to anything odd', async () => {
  const m = new FileMedia(
    '127.0.0.1',
    { answer: { selector: { name: 'x.bin', size: 3, sha1 }, fileOffset: true, transferId: 't1' } },
    () => undefined,
  );
  try {
    const offer = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=message 40001 TCP/MSRP *',
      'a=path:msrp://127.0.0.1:40001/s1;tcp',
      'a=sendonly',
      'a=accept-types:*',
      `a=file-selector:name:"x.bin" size:3 hash:sha-1:${hex}`,
      '',
    ].join('\r\n');
    const ours = parseFileAttributes(await m.createAnswer(offer));
    assert.equal(ours.other.get(BIG_CHUNK_ATTRIBUTE), String(BIG_CHUNK_SIZE));
    assert.equal(sendChunkSize(ours), 1024 * 1024);
  } finally {
    m.close();
  }
  const answer = (extra: string[]) =>
    parseFileAttributes(
      ['m=message 40002 TCP/MSRP *', 'a=path:msrp://127.0.0.1:40002/s2;tcp', 'a=recvonly', ...extra, ''].join('\r\n'),
    );
  // Blink's answer has no such attribute: Blink's own 64 KiB.
  assert.equal(sendChunkSize(answer([`a=file-selector:name:"x.bin" size:3 hash:sha-1:${hex}`])), 64 * 1024);
  assert.equal(sendChunkSize(null), 64 * 1024);
  for (const [v, want] of [
    ['262144', 256 * 1024],
    ['100000', 64 * 1024], // rounded down to whole 64 KiB (private records)
    ['1000', 64 * 1024], // never below Blink's size
    ['4294967295', 1024 * 1024], // never above ours
    ['-5', 64 * 1024],
    ['lots', 64 * 1024],
  ] as const)
    assert.equal(sendChunkSize(answer([`a=${BIG_CHUNK_ATTRIBUTE}:${v}`])), want, v);
});
