import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMsrpUri, msrpUriEquals, parseMsrpUri, sessionIdOf } from '../../src/msrp/uri.js';
import { MsrpUriError } from '../../src/msrp/errors.js';

test('parses and formats MSRP URIs', () => {
  const u = parseMsrpUri('msrp://bob.example.com:8493/asfd34;tcp');
  assert.deepEqual(u, { scheme: 'msrp', user: null, host: 'bob.example.com', port: 8493, sessionId: 'asfd34', transport: 'tcp', params: [] });
  assert.equal(formatMsrpUri(u), 'msrp://bob.example.com:8493/asfd34;tcp');
  const s = parseMsrpUri('MSRPS://alice@[2001:db8::1]:2855/a+b=c/d;TCP;foo=bar;baz');
  assert.equal(s.scheme, 'msrps');
  assert.equal(s.user, 'alice');
  assert.equal(s.host, '2001:db8::1');
  assert.equal(s.sessionId, 'a+b=c/d');
  assert.deepEqual(s.params, [['foo', 'bar'], ['baz', null]]);
  assert.equal(formatMsrpUri(s), 'msrps://alice@[2001:db8::1]:2855/a+b=c/d;TCP;foo=bar;baz');
  const relay = parseMsrpUri('msrps://relay.example.net:2855;tcp');
  assert.equal(relay.sessionId, null);
  assert.equal(sessionIdOf('msrp://h:1/xyz;tcp'), 'xyz');
  assert.equal(sessionIdOf('garbage'), null);
});

test('rejects malformed URIs', () => {
  for (const bad of ['http://x:1/a;tcp', 'msrp://x:1/a', 'msrp://:1/a;tcp', 'msrp://x:99999/a;tcp', 'msrp://x:1/a b;tcp', 'msrp://x:1/a;', 'msrp://[::1/a;tcp', 'msrp://x:1/a;tcp;=x']) {
    assert.throws(() => parseMsrpUri(bad), MsrpUriError, bad);
  }
});

test('RFC 4975 6.1 comparison rules', () => {
  assert.ok(msrpUriEquals('msrp://Host.Example:1/abc;tcp', 'MSRP://host.example:1/abc;TCP'));
  assert.ok(msrpUriEquals('msrp://user@host:1/abc;tcp', 'msrp://host:1/abc;tcp'), 'userinfo ignored');
  assert.ok(msrpUriEquals('msrp://h%6Fst:1/abc;tcp', 'msrp://host:1/abc;tcp'), 'percent-decoding of the authority');
  assert.ok(!msrpUriEquals('msrp://host:1/abc;tcp', 'msrp://host:1/ABC;tcp'), 'session-id is case-sensitive');
  assert.ok(!msrpUriEquals('msrp://host:1/abc;tcp', 'msrps://host:1/abc;tcp'), 'scheme');
  assert.ok(!msrpUriEquals('msrp://host:1/abc;tcp', 'msrp://host/abc;tcp'), 'explicit port vs none');
  assert.ok(!msrpUriEquals('msrp://host:1/abc;tcp', 'msrp://host:1;tcp'), 'with vs without session-id');
  assert.ok(!msrpUriEquals('msrp://host:1/abc;tcp', 'msrp://host:1/abc;sctp'), 'transport');
});
