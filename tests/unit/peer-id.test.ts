import { test } from 'node:test';
import assert from 'node:assert/strict';
import { legacyPeerId, peerId } from '../../src/peer-id/peer-id.js';
import { aorOf } from '../../src/chat/core.js';
import { normalizeUid } from '../../src/chat-storage/uid.js';

test('peerId: user part keeps its case, host does not (RFC 3261 19.1.4)', () => {
  assert.equal(peerId('Alice@127.0.0.1'), 'Alice@127.0.0.1');
  assert.equal(peerId('Alice@Example.ORG'), 'Alice@example.org');
  assert.notEqual(peerId('Alice@example.org'), peerId('alice@example.org'));
});

test('peerId: scheme, port, parameters, headers, display name and password make no second identity', () => {
  const one = 'Alice@example.org';
  for (const v of [
    'sip:Alice@example.org',
    'SIP:Alice@EXAMPLE.org',
    'sips:Alice@example.org',
    'sip:Alice@example.org:5060',
    'sips:Alice@example.org:5061',
    'Alice@example.org:5070',
    'sip:Alice@example.org;transport=tcp',
    'sip:Alice@example.org:5070;transport=TLS?subject=hi',
    '"Alice Liddell" <sip:Alice@example.org:5060>;tag=abc',
    '<sip:Alice@example.org>',
    'sip:Alice:secret@example.org',
    '  Alice@example.org  ',
    'sip:%41lice@example.org', // escaped unreserved character
  ]) {
    assert.equal(peerId(v), one, v);
  }
  // Reserved characters stay escaped (and the hex is upper-cased so both spellings meet).
  assert.equal(peerId('sip:a%40b@example.org'), 'a%40b@example.org');
  assert.equal(peerId('sip:a%2fb@example.org'), 'a%2Fb@example.org');
});

test('peerId: hosts without users, IPv6 literals, NFC, idempotence', () => {
  assert.equal(peerId('sip:Conference.Example.org:5060'), 'conference.example.org');
  assert.equal(peerId('sip:Bob@[0:0:0:0:0:0:0:1]:5070'), 'Bob@[::1]');
  assert.equal(peerId('Bob@[2001:DB8::1]'), 'Bob@[2001:db8::1]');
  assert.equal(peerId('Zoe\u0308@example.org'), 'Zo\u00eb@example.org');
  for (const v of ['sip:Alice@Example.org:5070', 'sip:Bob@[0::1]', 'host.example', 'Zoe\u0308@x']) {
    assert.equal(peerId(peerId(v)), peerId(v), v);
  }
});

test('one function behind the orchestrator (aorOf) and storage (normalizeUid)', () => {
  for (const v of ['sip:Alice@127.0.0.1:5070', 'Alice@127.0.0.1', 'sips:BOB@Host.example;transport=tls']) {
    assert.equal(aorOf(v), peerId(v));
    assert.equal(normalizeUid(v), peerId(v));
  }
});

test('legacyPeerId: the lower-cased key older versions wrote, only when it differs', () => {
  assert.equal(legacyPeerId('Alice@127.0.0.1'), 'alice@127.0.0.1');
  assert.equal(legacyPeerId('alice@127.0.0.1'), null);
});
