import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseHead,
  parseVia,
  parseSipUri,
  parseNameAddr,
  replaceTopVia,
  splitCommaList,
  topVia,
  firstHeader,
  parseCSeq,
} from '../../src/sip/wire.js';
import { SipParseError } from '../../src/sip/errors.js';
import { contactInfo } from '../../src/sip/call.js';
import { responseDestination } from '../../src/sip/transport.js';

const INVITE =
  'INVITE sip:bob@127.0.0.1:5071;transport=udp SIP/2.0\r\n' +
  'v: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKabc;rport, SIP/2.0/TCP 10.0.0.1:5080;branch=z9hG4bKold\r\n' +
  'Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK3\r\n' +
  'f: "Alice, A." <sip:alice@example.org>;tag=1\r\n' +
  't: <sip:bob@example.org>\r\n' +
  'i: call-1\r\n' +
  'CSeq: 7 INVITE\r\n' +
  'Subject: folded\r\n' +
  '  line\r\n' +
  'l: 4\r\n' +
  '\r\n' +
  'a=b\n';

test('parseHead: request line, compact names, folding', () => {
  const head = parseHead(INVITE);
  assert.deepEqual(head.start, { kind: 'request', method: 'INVITE', uri: 'sip:bob@127.0.0.1:5071;transport=udp' });
  assert.equal(firstHeader(head, 'call-id'), 'call-1');
  assert.equal(firstHeader(head, 'content-length'), '4');
  assert.equal(firstHeader(head, 'subject'), 'folded line');
  assert.deepEqual(parseCSeq(head), { seq: 7, method: 'INVITE' });
  const via = topVia(head);
  assert.equal(via.transport, 'UDP');
  assert.equal(via.host, '127.0.0.1');
  assert.equal(via.port, undefined);
  assert.equal(via.params.get('branch'), 'z9hG4bKabc');
  assert.equal(via.params.get('rport'), '');
});

test('parseHead: status line', () => {
  const head = parseHead('SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/TCP h:5060;branch=z9hG4bK1\r\n\r\n');
  assert.deepEqual(head.start, { kind: 'response', status: 486, reason: 'Busy Here' });
});

test('parseHead: malformed input gives SipParseError, never anything else', () => {
  const bad = [
    '',
    'HELLO',
    'INVITE sip:x SIP/3.0\r\n\r\n',
    'SIP/2.0 99x OK\r\n',
    'INVITE sip:x SIP/2.0\r\nNoColonHere\r\n\r\n',
    'INVITE sip:x SIP/2.0\r\n continuation-first\r\n\r\n',
    'INVITE sip:x SIP/2.0\r\nBad Name: v\r\n\r\n',
    '\u0000\u0001\u0002',
  ];
  for (const b of bad) assert.throws(() => parseHead(b), SipParseError, JSON.stringify(b));
});

test('parseVia: ports, IPv6, params, errors', () => {
  const v = parseVia('SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKx;received=192.0.2.1;rport=1234');
  assert.equal(v.host, '[2001:db8::1]');
  assert.equal(v.port, 5061);
  assert.equal(v.params.get('received'), '192.0.2.1');
  assert.throws(() => parseVia('SIP/2.0/UDP host:99999'), SipParseError);
  assert.throws(() => parseVia('garbage'), SipParseError);
});

test('replaceTopVia edits only the first Via value and leaves the body alone', () => {
  const out = replaceTopVia(INVITE, (v) => ({ ...v, port: 5070 }));
  assert.match(
    out,
    /\r\nv: SIP\/2\.0\/UDP 127\.0\.0\.1:5070;branch=z9hG4bKabc;rport, SIP\/2\.0\/TCP 10\.0\.0\.1:5080;branch=z9hG4bKold\r\n/,
  );
  assert.ok(out.endsWith('\r\n\r\na=b\n'));
  const head = parseHead(out);
  assert.equal(topVia(head).port, 5070);
  assert.throws(
    () => replaceTopVia('OPTIONS sip:x SIP/2.0\r\nTo: <sip:x>\r\n\r\nVia: in body', (v) => v),
    SipParseError,
  );
});

test('splitCommaList respects quotes and brackets', () => {
  assert.deepEqual(splitCommaList('"a, b" <sip:x@y;p=1,2>, <sip:z>'), ['"a, b" <sip:x@y;p=1,2>', '<sip:z>']);
});

test('parseSipUri and parseNameAddr', () => {
  const u = parseSipUri('sip:bob@Example.org:5070;transport=tcp;lr?Subject=x');
  assert.equal(u.user, 'bob');
  assert.equal(u.host, 'example.org');
  assert.equal(u.port, 5070);
  assert.equal(u.params.get('transport'), 'tcp');
  assert.equal(u.params.get('lr'), '');
  assert.equal(parseSipUri('sips:example.org').scheme, 'sips');
  assert.throws(() => parseSipUri('http://x'), SipParseError);
  assert.throws(() => parseSipUri('sip:host:70000'), SipParseError);
  const na = parseNameAddr('"Room \\"1\\"" <sip:room@conf.example.org;transport=tls>;isfocus;expires=3');
  assert.equal(na.displayName, 'Room "1"');
  assert.equal(na.uri, 'sip:room@conf.example.org;transport=tls');
  assert.equal(na.params.get('isfocus'), '');
  assert.equal(parseNameAddr('sip:a@b;tag=9').params.get('tag'), '9');
});

test('contactInfo finds isfocus only as a header parameter', () => {
  assert.deepEqual(contactInfo('<sip:sylkserver@10.0.0.1:5060>;isfocus'), {
    uri: 'sip:sylkserver@10.0.0.1:5060',
    isFocus: true,
  });
  assert.deepEqual(contactInfo('<sip:bob@10.0.0.1;transport=tcp>'), {
    uri: 'sip:bob@10.0.0.1;transport=tcp',
    isFocus: false,
  });
  assert.deepEqual(contactInfo('<sip:bob@h>;+sip.instance="<urn:uuid:1>"'), { uri: 'sip:bob@h', isFocus: false });
  assert.deepEqual(contactInfo(undefined), { uri: undefined, isFocus: false });
  assert.deepEqual(contactInfo('<sip:broken'), { uri: undefined, isFocus: false });
});

test('responseDestination: received and rport win over sent-by', () => {
  assert.deepEqual(
    responseDestination(parseVia('SIP/2.0/UDP a.example:5080;branch=z9hG4bK1;received=192.0.2.7;rport=4000'), 'udp'),
    {
      address: '192.0.2.7',
      port: 4000,
    },
  );
  assert.deepEqual(responseDestination(parseVia('SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK1;rport'), 'udp'), {
    address: '192.0.2.8',
    port: 5060,
  });
  assert.deepEqual(responseDestination(parseVia('SIP/2.0/TLS 192.0.2.8;branch=z9hG4bK1'), 'tls'), {
    address: '192.0.2.8',
    port: 5061,
  });
});
