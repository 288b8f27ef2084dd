import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipStreamFramer } from '../../src/sip/framer.js';
import type { FramerEvent } from '../../src/sip/framer.js';
import { SipFramingError } from '../../src/sip/errors.js';

const enc = new TextEncoder();
// The body holds multi-byte UTF-8, so Content-Length (bytes) differs from the character count.
const BODY = 'v=0\r\ns=caf\u00e9 \u263a\r\n';
const M1 = `INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\nl: ${enc.encode(BODY).length}\r\n\r\n${BODY}`;
const M2 =
  'BYE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK2\r\nContent-Length: 0\r\n\r\n';

function messages(events: FramerEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
}

test('every split of two coalesced messages yields exactly those two messages', () => {
  const bytes = enc.encode(M1 + M2);
  for (let i = 0; i <= bytes.length; i++) {
    const f = new SipStreamFramer();
    const got = [...messages(f.push(bytes.subarray(0, i))), ...messages(f.push(bytes.subarray(i)))];
    assert.deepEqual(got, [M1, M2], `split at ${i}`);
    assert.equal(f.buffered, 0);
  }
});

test('every pair of split points (three chunks) also works', () => {
  const bytes = enc.encode(M1 + M2);
  for (let i = 0; i <= bytes.length; i += 7) {
    for (let j = i; j <= bytes.length; j += 5) {
      const f = new SipStreamFramer();
      const got = [
        ...messages(f.push(bytes.subarray(0, i))),
        ...messages(f.push(bytes.subarray(i, j))),
        ...messages(f.push(bytes.subarray(j))),
      ];
      assert.deepEqual(got, [M1, M2], `split at ${i}/${j}`);
    }
  }
});

test('byte-at-a-time delivery', () => {
  const bytes = enc.encode(M2 + M1);
  const f = new SipStreamFramer();
  const got: string[] = [];
  for (const b of bytes) got.push(...messages(f.push(Uint8Array.of(b))));
  assert.deepEqual(got, [M2, M1]);
});

test('CRLF keep-alives: double CRLF is a ping, single CRLF a pong, neither is a message', () => {
  const f = new SipStreamFramer();
  const ev = f.push(enc.encode('\r\n\r\n' + M2 + '\r\n' + M2));
  assert.deepEqual(
    ev.map((e) => e.type),
    ['ping', 'message', 'pong', 'message'],
  );
  // a ping split in two still counts once
  const g = new SipStreamFramer();
  assert.deepEqual(g.push(enc.encode('\r\n')), []);
  assert.deepEqual(
    g.push(enc.encode('\r\n')).map((e) => e.type),
    ['ping'],
  );
});

test('missing Content-Length on a stream means no body', () => {
  const f = new SipStreamFramer();
  const m = 'OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n';
  assert.deepEqual(messages(f.push(enc.encode(m + m))), [m, m]);
});

test('limits and malformed lengths give SipFramingError and poison the stream', () => {
  const small = { maxHeaderBytes: 200, maxBodyBytes: 10 };
  const f = new SipStreamFramer(small);
  assert.throws(() => f.push(enc.encode('INVITE sip:x SIP/2.0\r\nX: ' + 'a'.repeat(300))), SipFramingError);
  assert.throws(() => f.push(enc.encode(M2)), SipFramingError, 'a failed stream stays failed');

  assert.throws(
    () => new SipStreamFramer(small).push(enc.encode('INVITE sip:x SIP/2.0\r\nContent-Length: 11\r\n\r\n')),
    /exceeds the limit/,
  );
  assert.throws(
    () => new SipStreamFramer().push(enc.encode('INVITE sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n')),
    SipFramingError,
  );
  assert.throws(
    () => new SipStreamFramer().push(enc.encode('INVITE sip:x SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n')),
    SipFramingError,
  );
  assert.throws(
    () => new SipStreamFramer().push(enc.encode('INVITE sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab')),
    /conflicting/,
  );
});

test('a body is never cut at a character count: bytes decide', () => {
  const f = new SipStreamFramer();
  const body = '\u00e9\u00e9';
  const m = `MESSAGE sip:x SIP/2.0\r\nContent-Length: 4\r\n\r\n${body}`;
  const bytes = enc.encode(m);
  assert.deepEqual(messages(f.push(bytes.subarray(0, bytes.length - 1))), []);
  assert.deepEqual(messages(f.push(bytes.subarray(bytes.length - 1))), [m]);
});

test('a pong that arrives alone counts at once while our ping waits for it, and only then', () => {
  const f = new SipStreamFramer();
  // no ping of ours outstanding: a lone CRLF may be the first half of the peer's ping, so it waits
  assert.deepEqual(f.push(enc.encode('\r\n')), []);
  assert.deepEqual(
    f.push(enc.encode('\r\n')).map((e) => e.type),
    ['ping'],
  );
  f.expectingPong = true;
  assert.deepEqual(
    f.push(enc.encode('\r\n')).map((e) => e.type),
    ['pong'],
  );
  assert.equal(f.expectingPong, false, 'one pong answers one ping');
  assert.deepEqual(
    f.push(enc.encode(M2)).map((e) => e.type),
    ['message'],
  );
});
