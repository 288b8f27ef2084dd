import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMsrpUri, msrpUriEquals, parseMsrpUri, sessionIdOf } from '../../src/msrp/uri.js';
import { MsrpUriError } from '../../src/msrp/errors.js';

test('parses and formats MSRP URIs', () => {
  const u = parseMsrpUri('msrp://bob.example.com:8493/asfd34;tcp');
  assert.deepEqual(u, {
    scheme: 'msrp',
    user: null,
    host: 'bob.example.com',
    port: 8493,
    sessionId: 'asfd34',
    transport: 'tcp',
    params: [],
  });
  assert.equal(formatMsrpUri(u), 'msrp://bob.example.com:8493/asfd34;tcp');
  const s = parseMsrpUri('MSRPS://alice@[2001:db8::1]:2855/a+b=c/d;TCP;foo=bar;baz');
  assert.equal(s.scheme, 'msrps');
  assert.equal(s.user, 'alice');
  assert.equal(s.host, '2001:db8::1');
  assert.equal(s.sessionId, 'a+b=c/d');
  assert.deepEqual(s.params, [
    ['foo', 'bar'],
    ['baz', null],
  ]);
  assert.equal(formatMsrpUri(s), 'msrps://alice@[2001:db8::1]:2855/a+b=c/d;TCP;foo=bar;baz');
  const relay = parseMsrpUri('msrps://relay.example.net:2855;tcp');
  assert.equal(relay.sessionId, null);
  assert.equal(sessionIdOf('msrp://h:1/xyz;tcp'), 'xyz');
  assert.equal(sessionIdOf('garbage'), null);
});

test('rejects malformed URIs', () => {
  for (const bad of [
    'http://x:1/a;tcp',
    'msrp://x:1/a',
    'msrp://:1/a;tcp',
    'msrp://x:99999/a;tcp',
    'msrp://x:1/a b;tcp',
    'msrp://x:1/a;',
    'msrp://[::1/a;tcp',
    'msrp://x:1/a;tcp;=x',
  ]) {
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

test('RFC 4975 6.1: host case, required port, transport, IPv6 by address', () => {
  const ours = 'msrp://bob.example.com:2855/s1d;tcp';
  assert.ok(msrpUriEquals(ours, 'msrp://BOB.Example.COM:2855/s1d;tcp'), 'host is case-insensitive');
  assert.ok(msrpUriEquals(ours, 'Msrp://bob.example.com:2855/s1d;Tcp'), 'scheme and transport are case-insensitive');
  assert.ok(!msrpUriEquals(ours, 'msrp://bob.example.com/s1d;tcp'), 'an explicit port never equals a missing one');
  assert.ok(!msrpUriEquals('msrp://bob.example.com/s1d;tcp', ours), 'either side');
  assert.ok(!msrpUriEquals(ours, 'msrp://bob.example.com:2856/s1d;tcp'), 'port must match exactly');
  assert.ok(!msrpUriEquals(ours, 'msrp://bob.example.com:2855/s1d;udp'), 'different transport');
  assert.ok(!msrpUriEquals(ours, 'msrp://bob.example.com:2855/S1D;tcp'), 'session-id case');
  assert.ok(!msrpUriEquals(ours, 'msrp://other.example.com:2855/s1d;tcp'), 'other host');
  assert.ok(!msrpUriEquals(ours, 'msrps://bob.example.com:2855/s1d;tcp'), 'other scheme');
  assert.ok(msrpUriEquals('msrp://[::1]:9/x;tcp', 'msrp://[0:0:0:0:0:0:0:1]:9/x;tcp'), 'IPv6 compared as addresses');
  assert.ok(msrpUriEquals('msrp://[2001:DB8::1]:9/x;tcp', 'msrp://[2001:db8:0:0::1]:9/x;tcp'));
  assert.ok(!msrpUriEquals('msrp://[::1]:9/x;tcp', 'msrp://[::2]:9/x;tcp'));
  assert.ok(msrpUriEquals(ours, 'msrp://bob.example.com:2855/s1d;tcp;foo=bar'), 'other parameters ignored');
  assert.ok(!msrpUriEquals(ours, 'not a uri'), 'unparseable never matches');
});
