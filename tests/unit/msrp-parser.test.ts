import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MsrpParser, releaseBody } from '../../src/msrp/parser.js';
import { MsrpParseError } from '../../src/msrp/errors.js';
import { getHeader, parseByteRange, type MsrpFrame } from '../../src/msrp/frame.js';
import { serializeRequest, serializeResponse, serializeSend, serializeReport } from '../../src/msrp/serializer.js';

const A = 'msrp://127.0.0.1:40001/aliceSess1;tcp';
const B = 'msrp://127.0.0.1:40002/bobSess22;tcp';

// A conversation as it appears on one direction of a TCP connection, in Blink's style: the bind SEND, a CPIM
// message whose Byte-Range counts characters (212 declared, 216 bytes sent), a chunked message, responses, a REPORT.
const cpimBody =
  'From: <sip:alice@example.org>\r\nTo: <sip:bob@example.org>\r\nDateTime: 2026-11-24T23:10:01.123456+00:00\r\n\r\n' +
  'Content-Type: text/plain;charset="utf8"\nContent-Transfer-Encoding: \n\nhéllo wörld ünïcödé, this is a test message';
const cpimBytes = Buffer.from(cpimBody, 'utf8');
const cpimChars = [...cpimBody].length;
const recorded = Buffer.concat([
  Buffer.from(
    `MSRP a786hjs2 SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: 87652491\r\nByte-Range: 1-0/0\r\n-------a786hjs2$\r\n` +
      `MSRP d93kswow 200 OK\r\nTo-Path: ${A}\r\nFrom-Path: ${B}\r\n-------d93kswow$\r\n` +
      `MSRP dkei38sd SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: 456s9wlk3\r\nSuccess-Report: yes\r\n` +
      `Byte-Range: 1-${cpimChars}/${cpimChars}\r\nContent-Type: message/cpim\r\n\r\n`,
  ),
  cpimBytes,
  Buffer.from(
    `\r\n-------dkei38sd$\r\n` +
      `MSRP ch1nk0001 SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: chunkedmsg\r\nByte-Range: 1-10/20\r\nContent-Type: text/plain\r\n\r\n` +
      `0123456789\r\n-------ch1nk0001+\r\n` +
      `MSRP ch1nk0002 SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: chunkedmsg\r\nByte-Range: 11-20/20\r\nContent-Type: text/plain\r\n\r\n` +
      `abc\r\n-------defghi\r\n-------ch1nk0002$\r\n` +
      `MSRP rep0rt001 REPORT\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: 12339sdqwer\r\nByte-Range: 1-106/106\r\nStatus: 000 200 OK\r\n-------rep0rt001$\r\n` +
      `MSRP x9x9x9x9 413 Message Too Large\r\nTo-Path: ${A}\r\nFrom-Path: ${B}\r\n-------x9x9x9x9$\r\n` +
      `MSRP ab0rtabc SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: gone\r\nByte-Range: 1-*/*\r\nContent-Type: text/plain\r\n\r\npart\r\n-------ab0rtabc#\r\n`,
  ),
]);

function summarize(frames: MsrpFrame[]) {
  return frames.map((f) => ({
    kind: f.kind,
    tid: f.transactionId,
    what: f.kind === 'request' ? f.method : `${f.status} ${f.comment}`,
    headers: f.headers.map(([n, v]) => `${n}=${v}`).join('|'),
    body: Buffer.from(f.body).toString('hex'),
    flag: f.endFlag,
  }));
}

const whole = new MsrpParser().feed(recorded);

test('parses the recorded stream in one read', () => {
  assert.equal(whole.length, 8);
  assert.deepEqual(
    whole.map((f) => [f.kind, f.transactionId, f.endFlag]),
    [
      ['request', 'a786hjs2', '$'],
      ['response', 'd93kswow', '$'],
      ['request', 'dkei38sd', '$'],
      ['request', 'ch1nk0001', '+'],
      ['request', 'ch1nk0002', '$'],
      ['request', 'rep0rt001', '$'],
      ['response', 'x9x9x9x9', '$'],
      ['request', 'ab0rtabc', '#'],
    ],
  );
  const bind = whole[0]!;
  assert.equal(bind.kind === 'request' && bind.method, 'SEND');
  assert.equal(bind.body.length, 0);
  assert.equal(getHeader(bind.headers, 'byte-range'), '1-0/0');
  // Blink's miscounted range: body is taken up to the end-line, all 216-ish bytes of it.
  const cpim = whole[2]!;
  assert.ok(cpimBytes.length > cpimChars, 'the fixture must contain multi-byte characters');
  assert.deepEqual(Buffer.from(cpim.body), cpimBytes);
  assert.equal(getHeader(cpim.headers, 'Content-Type'), 'message/cpim');
  // A body line that looks like an end-line of another transaction is data.
  assert.equal(Buffer.from(whole[4]!.body).toString(), 'abc\r\n-------defghi');
  const resp = whole[6]!;
  assert.ok(resp.kind === 'response' && resp.status === 413 && resp.comment === 'Message Too Large');
  assert.equal(getHeader(whole[5]!.headers, 'Status'), '000 200 OK');
  assert.equal(Buffer.from(whole[7]!.body).toString(), 'part');
});

test('every two-way split point of the recorded stream yields the same frames', () => {
  const expected = summarize(whole);
  for (let i = 0; i <= recorded.length; i++) {
    const p = new MsrpParser();
    const frames = [...p.feed(recorded.subarray(0, i)), ...p.feed(recorded.subarray(i))];
    assert.deepEqual(summarize(frames), expected, `split at ${i}`);
    assert.ok(p.idle);
  }
});

test('three-way splits and byte-at-a-time feeding yield the same frames', () => {
  const expected = summarize(whole);
  for (let i = 0; i <= recorded.length; i += 7) {
    for (let j = i; j <= recorded.length; j += 13) {
      const p = new MsrpParser();
      const frames = [
        ...p.feed(recorded.subarray(0, i)),
        ...p.feed(recorded.subarray(i, j)),
        ...p.feed(recorded.subarray(j)),
      ];
      assert.deepEqual(summarize(frames), expected, `split at ${i},${j}`);
    }
  }
  const p = new MsrpParser();
  const frames: MsrpFrame[] = [];
  for (const b of recorded) frames.push(...p.feed(Uint8Array.of(b)));
  assert.deepEqual(summarize(frames), expected);
});

test('serializer output parses back to the same frame', () => {
  const body = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
  const { bytes, transactionId } = serializeSend({
    toPath: [B],
    fromPath: [A],
    messageId: 'mid12345',
    range: { start: 1, end: 5000, total: 10000 },
    contentType: 'application/octet-stream',
    body,
    endFlag: '+',
    successReport: true,
    failureReport: 'partial',
  });
  const [f, ...rest] = new MsrpParser().feed(bytes);
  assert.equal(rest.length, 0);
  assert.ok(f && f.kind === 'request');
  assert.equal(f.transactionId, transactionId);
  assert.equal(f.endFlag, '+');
  assert.deepEqual(f.body, body);
  assert.deepEqual(
    f.headers.map(([n]) => n),
    ['To-Path', 'From-Path', 'Message-ID', 'Success-Report', 'Failure-Report', 'Byte-Range', 'Content-Type'],
  );
  const r = new MsrpParser().feed(
    serializeResponse({ transactionId: 'abcd1234', status: 200, toPath: [A], fromPath: [B] }),
  );
  assert.ok(r[0]?.kind === 'response' && r[0].status === 200 && r[0].comment === 'OK');
  const rep = new MsrpParser().feed(
    serializeReport({
      toPath: [A],
      fromPath: [B],
      messageId: 'm1234',
      range: { start: 1, end: 3, total: 3 },
      status: 413,
    }).bytes,
  );
  assert.equal(getHeader(rep[0]!.headers, 'Status'), '000 413 Message Too Large');
});

test('serializer refuses header injection and avoids end-lines inside bodies', () => {
  assert.throws(
    () => serializeRequest({ method: 'SEND', toPath: [B], fromPath: [A], headers: [['X-Evil', 'a\r\nTo-Path: x']] }),
    TypeError,
  );
  const tid = 'fixedtid1';
  assert.throws(() =>
    serializeRequest({
      method: 'SEND',
      transactionId: tid,
      toPath: [B],
      fromPath: [A],
      contentType: 'text/plain',
      body: Buffer.from(`x\r\n-------${tid}$\r\n`),
    }),
  );
  const { bytes, transactionId } = serializeRequest({
    method: 'SEND',
    toPath: [B],
    fromPath: [A],
    contentType: 'text/plain',
    body: Buffer.from('-------'),
  });
  const [f] = new MsrpParser().feed(bytes);
  assert.equal(f!.transactionId, transactionId);
  assert.equal(Buffer.from(f!.body).toString(), '-------');
});

function expectError(
  input: string | Uint8Array,
  reason: MsrpParseError['reason'],
  limits?: ConstructorParameters<typeof MsrpParser>[0],
) {
  const p = new MsrpParser(limits);
  assert.throws(
    () => p.feed(typeof input === 'string' ? Buffer.from(input) : input),
    (e: unknown) => e instanceof MsrpParseError && e.reason === reason,
    `expected ${reason}`,
  );
  // The parser stays failed.
  assert.throws(() => p.feed(Buffer.from('MSRP ')), MsrpParseError);
}

test('hostile frames are answered by their specific error', () => {
  expectError('GET / HTTP/1.1\r\n\r\n', 'garbage-start-line');
  expectError('\x00\x01\x02garbage', 'garbage-start-line');
  expectError('MSRP abcd1234 send\r\n', 'garbage-start-line');
  expectError('MSRP a/b SEND\r\n', 'bad-transaction-id');
  expectError(`MSRP abcd1234 SEND\r\nTo-Path ${B}\r\n`, 'bad-header');
  expectError(
    `MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\n-------zzzz9999$\r\n`,
    'transaction-id-mismatch',
  );
  expectError(`MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 5-1/10\r\n-------abcd1234$\r\n`, 'bad-byte-range');
  expectError(
    `MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: one-two\r\n\r\nx\r\n-------abcd1234$\r\n`,
    'bad-byte-range',
  );
  expectError(`MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-99999999999999999/*\r\n\r\n`, 'bad-byte-range');
  expectError(`MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-20/10\r\n\r\n`, 'bad-byte-range');
  // Huge declared size: refused at the end of the headers, before any body byte is buffered.
  expectError(
    `MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-9000000000/9000000000\r\nContent-Type: text/plain\r\n\r\n`,
    'chunk-too-large',
  );
  expectError(`MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-2000/2000\r\n\r\n`, 'chunk-too-large', {
    maxChunkBody: 1000,
  });
  // Header block too large, with or without a line end in sight.
  expectError(`MSRP abcd1234 SEND\r\nX-Pad: ${'a'.repeat(20000)}\r\n`, 'header-too-large');
  expectError(`MSRP abcd1234 SEND\r\nX-Pad: ${'a'.repeat(20000)}`, 'header-too-large');
  expectError(`MSRP abcd1234 SEND\r\n${'X-A: b\r\n'.repeat(3000)}`, 'header-too-large');
  expectError(`MSRP ${'a'.repeat(20000)}`, 'header-too-large');
  // Body without its end-line: caught once it runs well past its declared size, or past the chunk limit.
  expectError(
    `MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-10/10\r\n\r\n${'x'.repeat(200)}`,
    'missing-end-line',
  );
  expectError(
    `MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-*/*\r\n\r\n${'x'.repeat(3000)}`,
    'chunk-too-large',
    { maxChunkBody: 1000 },
  );
  expectError(
    `MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-10/10\r\n\r\n0123456789\r\n-------wrongtid$\r\n${'y'.repeat(100)}`,
    'missing-end-line',
  );
});

test('a body still waiting for its end-line is not an error until it overruns', () => {
  const p = new MsrpParser();
  assert.deepEqual(
    p.feed(Buffer.from(`MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-10/10\r\n\r\n0123456789`)),
    [],
  );
  assert.throws(
    () => p.end(),
    (e: unknown) => e instanceof MsrpParseError && e.reason === 'truncated',
  );
  const q = new MsrpParser();
  q.feed(Buffer.from(`MSRP abcd1234 SEND\r\nTo-Path: ${B}\r\nByte-Range: 1-10/10\r\n\r\n0123456789`));
  const [f] = q.feed(Buffer.from('\r\n-------abcd1234$\r\n'));
  assert.equal(Buffer.from(f!.body).toString(), '0123456789');
  q.end();
});

test('Blink-style miscounted Byte-Range with four-byte characters is accepted', () => {
  const text = '😀'.repeat(50); // 50 characters, 200 bytes
  const bytes = Buffer.from(
    `MSRP blinktid1 SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: m1234\r\nByte-Range: 1-50/50\r\nContent-Type: text/plain\r\n\r\n${text}\r\n-------blinktid1$\r\n`,
  );
  const [f] = new MsrpParser().feed(bytes);
  assert.equal(Buffer.from(f!.body).toString('utf8'), text);
});

test('Byte-Range parser edge cases', () => {
  assert.deepEqual(parseByteRange('1-0/0'), { start: 1, end: 0, total: 0 });
  assert.deepEqual(parseByteRange('1-*/*'), { start: 1, end: null, total: null });
  assert.deepEqual(parseByteRange('2049-4096/100000'), { start: 2049, end: 4096, total: 100000 });
  for (const bad of ['0-1/1', '3-1/5', '1-5/4', '-1-2/3', '1-2', '1-2/3/4', 'a-b/c', '1 - 2/3']) {
    assert.throws(() => parseByteRange(bad), MsrpParseError, bad);
  }
});

test('a large chunk fed in small reads is parsed in linear time', () => {
  const body = new Uint8Array(8 * 1024 * 1024).fill(0x61);
  const { bytes } = serializeRequest({
    method: 'SEND',
    toPath: [B],
    fromPath: [A],
    headers: [['Byte-Range', `1-${body.length}/${body.length}`]],
    contentType: 'text/plain',
    body,
  });
  const p = new MsrpParser();
  const t0 = performance.now();
  const frames: MsrpFrame[] = [];
  for (let i = 0; i < bytes.length; i += 1460) frames.push(...p.feed(bytes.subarray(i, i + 1460)));
  const ms = performance.now() - t0;
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.body.length, body.length);
  assert.ok(ms < 3000, `took ${ms} ms`);
});

test('frames of mixed sizes in any split: every body whole, and a large body handed out stays intact', () => {
  const bodies = [2048, 2048, 40000, 100, 70000, 2048, 1024 * 1024 + 5, 16 * 1024].map((n) => randomBytes(n));
  const wire = Buffer.concat(
    bodies.map((body) =>
      Buffer.from(
        serializeSend({
          toPath: ['msrp://a.example:1/x;tcp'],
          fromPath: ['msrp://b.example:2/y;tcp'],
          messageId: 'm1',
          range: { start: 1, end: body.length, total: body.length },
          body,
          endFlag: '$',
        }).bytes,
      ),
    ),
  );
  for (const split of [1, 7, 100, 2048, 4096, 65536, 300_000, wire.length]) {
    const p = new MsrpParser();
    const got: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += split) for (const f of p.feed(wire.subarray(i, i + split))) got.push(f.body);
    // Compared only at the end: a body handed out without a copy must not have been overwritten by later bytes.
    assert.equal(got.length, bodies.length, `split ${split}`);
    got.forEach((b, i) => assert.ok(Buffer.from(b).equals(bodies[i]!), `split ${split}, body ${i}`));
  }
});

test('a large body is reused only once released: a kept one stays intact, a released buffer carries the next', () => {
  const frame = (body: Uint8Array) =>
    Buffer.from(
      serializeSend({
        toPath: ['msrp://a.example:1/x;tcp'],
        fromPath: ['msrp://b.example:2/y;tcp'],
        messageId: 'm1',
        range: { start: 1, end: body.length, total: body.length },
        body,
        endFlag: '+',
      }).bytes,
    );
  const p = new MsrpParser();
  const feed = (wire: Buffer) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += 65536) for (const f of p.feed(wire.subarray(i, i + 65536))) out.push(f.body);
    return out;
  };
  const a = randomBytes(1024 * 1024);
  const kept = feed(frame(a))[0]!;
  const b = randomBytes(1024 * 1024);
  const second = feed(frame(b))[0]!;
  assert.ok(Buffer.from(kept).equals(a), 'a body never released is never written over');
  assert.ok(Buffer.from(second).equals(b));
  releaseBody(second);
  releaseBody(second); // a second release changes nothing
  const c = randomBytes(1024 * 1024);
  const third = feed(frame(c))[0]!;
  assert.ok(Buffer.from(third).equals(c));
  assert.ok(Buffer.from(kept).equals(a));
  // The released buffer was taken again for the next chunk (same memory), not a new one.
  assert.equal(third.buffer, second.buffer);
});

test('a large chunk is ended where its byte count says, and by a search when the count does not match', () => {
  const big = (tid: string, body: Buffer, declared: number) =>
    Buffer.concat([
      Buffer.from(
        `MSRP ${tid} SEND\r\nTo-Path: ${B}\r\nFrom-Path: ${A}\r\nMessage-ID: m${tid}\r\n` +
          `Byte-Range: 1-${declared}/${declared}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      body,
      Buffer.from(`\r\n-------${tid}$\r\n`),
    ]);
  const body = randomBytes(100_000);
  // Exact count (a blink-tui file chunk); a count short of the bytes (Blink counts characters); and a count beyond
  // the bytes, which only a peer breaking RFC 4975 sends: that chunk is found once the bytes after it arrive.
  const stream = Buffer.concat([
    big('exactcnt1', body, body.length),
    big('shortcnt1', body, body.length - 3000),
    big('longcnt01', body.subarray(0, 90_000), 95_000),
    big('tailframe', Buffer.alloc(10_000, 0x78), 10_000),
  ]);
  for (const step of [stream.length, 65_536, 1_000, 4_099]) {
    const p = new MsrpParser();
    const frames: MsrpFrame[] = [];
    for (let i = 0; i < stream.length; i += step) frames.push(...p.feed(stream.subarray(i, i + step)));
    assert.deepEqual(
      frames.map((f) => f.transactionId),
      ['exactcnt1', 'shortcnt1', 'longcnt01', 'tailframe'],
    );
    assert.ok(Buffer.from(frames[0]!.body).equals(body));
    assert.ok(Buffer.from(frames[1]!.body).equals(body));
    assert.ok(Buffer.from(frames[2]!.body).equals(body.subarray(0, 90_000)));
    assert.ok(Buffer.from(frames[3]!.body).equals(Buffer.alloc(10_000, 0x78)));
  }
  // The same over-counted chunk as the last thing sent (its peer now waits for the 200): it is ended at once, not
  // held until bytes arrive that never will.
  const last = big('longcnt02', body.subarray(0, 90_000), 95_000);
  for (const step of [last.length, 65_536, 1_000]) {
    const p = new MsrpParser();
    const frames: MsrpFrame[] = [];
    for (let i = 0; i < last.length; i += step) frames.push(...p.feed(last.subarray(i, i + step)));
    assert.deepEqual(
      frames.map((f) => f.transactionId),
      ['longcnt02'],
    );
    assert.ok(Buffer.from(frames[0]!.body).equals(body.subarray(0, 90_000)));
  }
});
