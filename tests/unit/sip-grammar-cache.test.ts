// The Grammar.parse cache must give exactly what sip.js's own PEG parser gives (same values, same prototypes,
// same key order), for inputs seen before, for new dialogs of a known shape, and for anything it does not know.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Grammar, URI } from 'sip.js';
import {
  cloneParsed,
  grammarCacheStats,
  installGrammarCache,
  uninstallGrammarCache,
} from '../../src/sip/grammar-cache.js';

type Parse = (input: string, rule: string) => unknown;
const g = Grammar as unknown as { parse: Parse };
let reference: Parse;

before(() => {
  uninstallGrammarCache();
  reference = g.parse;
  installGrammarCache({ maxEntries: 64 });
});
after(() => uninstallGrammarCache());

/** Same value, prototypes and key order as the reference parser, and a copy the caller owns. */
function same(input: string, rule: string): void {
  const want = reference(input, rule);
  for (let i = 0; i < 3; i++) {
    const got = g.parse(input, rule);
    assert.deepEqual(got, want, `${rule}: ${input}`);
    assert.equal(JSON.stringify(keysDeep(got)), JSON.stringify(keysDeep(want)), `${rule} key order: ${input}`);
    if (typeof got === 'object' && got !== null) assert.notEqual(got, want);
  }
}

function keysDeep(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(keysDeep);
  return Object.keys(v).map((k) => [k, keysDeep((v as Record<string, unknown>)[k])]);
}

const token = (): string => randomBytes(6).toString('hex') + "-._!%*+`'~".charAt(Math.floor(Math.random() * 10));

test('per-dialog values: new tags, branches, CSeq numbers and Call-IDs reuse a shape and still match sip.js', () => {
  for (let i = 0; i < 40; i++) {
    same(`<sip:bob@127.0.0.1:36375;transport=tcp>;tag=${token()}`, 'To');
    same(`"Alice A." <sip:alice@127.0.0.1>;tag=${token()}`, 'From');
    same(`Bob <sip:bob@example.org;user=phone>;x=1;tag=${token()}`, 'From');
    same(`SIP/2.0/TCP 127.0.0.1:41071;branch=z9hG4bK${token()};rport=42493`, 'Via');
    same(`SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bK${token()}`, 'Via');
    same(`SIP/2.0/TLS [::1]:5061;received=10.0.0.1;branch=${token()};foo=bar;x`, 'Via');
    same(`${Math.floor(Math.random() * 1e9)} INVITE`, 'CSeq');
    same(`${i} ACK`, 'CSeq');
    same(`${token()}${i % 2 ? '@127.0.0.1' : ''}`, 'Call_ID');
    same(String(Math.floor(Math.random() * 1e6)), 'Content_Length');
    same(String(i), 'Max_Forwards');
  }
});

const octet = (): number => Math.floor(Math.random() * 256);
const ip = (): string => `${octet()}.${octet()}.${octet()}.${octet()}`;
const port = (): number => 1 + Math.floor(Math.random() * 65535);
const user = (): string => `u${randomBytes(3).toString('hex')}${"-_.!~*'()".charAt(Math.floor(Math.random() * 9))}`;

test("a new peer's URIs (user, IPv4 host, port) and Via (sent-by, rport, received) reuse a shape and match sip.js", () => {
  for (let i = 0; i < 40; i++) {
    const [u, h, p] = [user(), ip(), port()];
    same(`INVITE sip:${u}@${h}:${p};transport=tcp SIP/2.0`, 'Request_Response');
    same(`ACK sip:${u}@${h}:${p};transport=tcp SIP/2.0`, 'Request_Response');
    same(`OPTIONS sip:${h} SIP/2.0`, 'Request_Response');
    same(`<sip:${u}@${h}:${p};transport=tcp>`, 'To');
    same(`<sip:${u}@${h}:${p};transport=tcp>;tag=${token()}`, 'To');
    same(`<sip:${u}@${h}>;tag=${token()}`, 'From');
    same(`"Alice A." <sips:${u}@${h}>;tag=${token()}`, 'From');
    same(`<sip:${u}@${h}:${p};transport=tcp;ob>`, 'Contact');
    same(`<sip:${u}@${h}:${p}>;expires=600;+sip.instance="<urn:uuid:${token()}>"`, 'Contact');
    same(`sip:${u}@${h}:${p};transport=tcp`, 'SIP_URI');
    same(`sip:${h}:${p}`, 'SIP_URI');
    same(`SIP/2.0/TCP ${h}:${p};branch=z9hG4bK${token()};rport=${port()}`, 'Via');
    same(`SIP/2.0/TCP ${h};branch=z9hG4bK${token()};rport=${port()};received=${ip()}`, 'Via');
    same(`SIP/2.0/UDP ${h}:${p};rport;branch=z9hG4bK${token()}`, 'Via');
  }
  const before = grammarCacheStats();
  for (let i = 0; i < 20; i++) g.parse(`<sip:${user()}@${ip()}:${port()};transport=tcp>;tag=${token()}`, 'To');
  assert.ok(grammarCacheStats().hits >= before.hits + 19, 'one shape serves every new peer');
});

test('URI and Via lookalikes keep their exact keys and give what sip.js gives', () => {
  const cases: [string, string][] = [
    ['To', '<sip:bob@1.2.3.4:70000>;tag=abc'],
    ['To', '<sip:bob@1.2.3.4:05060>;tag=abc'],
    ['To', '<sip:bob@256.1.1.1>;tag=abc'],
    ['To', '<sip:bob@01.2.3.4>;tag=abc'],
    ['To', '<sip:bob@1.2.3.4.example.org>;tag=abc'],
    ['To', '<sip:bob:secret@1.2.3.4>;tag=abc'],
    ['To', '<sip:1.2.3.4:5060@example.org>;tag=abc'],
    ['To', '<sip:%62ob@1.2.3.4>;tag=abc'],
    ['To', '<SIP:bob@1.2.3.4>;tag=abc'],
    ['From', '"sip:x@1.2.3.4" <sip:bob@1.2.3.4>;tag=abc'],
    ['Contact', '<sip:a@1.2.3.4:5060>, <sip:b@1.2.3.5:5060>'],
    ['Contact', '<sip:a@1.2.3.4:5060>;q=0.5 , <sip:b@1.2.3.5>'],
    ['SIP_URI', 'sip:bob@1.2.3.4:5060:6'],
    ['SIP_URI', 'sip:bob@1.2.3.4-x'],
    ['Request_Response', 'INVITE sip:bob@1.2.3.4:99999 SIP/2.0'],
    ['Via', 'SIP/2.0/TCP 1.2.3.4:70000;branch=abc'],
    ['Via', 'SIP/2.0/TCP 1.2.3.4;rport=1;rport=2;branch=abc'],
    ['Via', 'SIP/2.0/TCP 1.2.3.4;received=1.2.3.4;received=5.6.7.8;branch=abc'],
    ['Via', 'SIP/2.0/TCP 1.2.3.4;received=1.2.3.999;branch=abc'],
    ['Via', 'SIP/2.0/TCP 1.2.3.4.example.org;branch=abc'],
    ['Via', 'SIP/2.0/TCP 1.2.3.4 ;branch=abc'],
  ];
  // Twice each, with a new value in between of the same shape where there is one, so a shape would be used.
  for (const [rule, input] of cases) {
    same(input, rule);
    same(input.replace('1.2.3.4', '9.8.7.6'), rule);
    same(input, rule);
  }
});

test('exact inputs: request and status lines, Contact lists, URIs, name-addrs', () => {
  const cases: [string, string][] = [
    ['Request_Response', 'INVITE sip:bob@127.0.0.1:36375;transport=tcp SIP/2.0'],
    ['Request_Response', 'ACK sip:bob@127.0.0.1:36375;transport=tcp SIP/2.0'],
    ['Request_Response', 'SIP/2.0 180 Ringing'],
    ['Request_Response', 'SIP/2.0 200 OK'],
    ['Contact', '<sip:alice@127.0.0.1:41071;transport=tcp;ob>;expires=600, "X" <sip:x@h;lr>;q=0.5'],
    ['Contact', '*'],
    ['Contact', '<sip:room@conference.example.org>;isfocus'],
    ['SIP_URI', 'sip:bob@127.0.0.1:36375;transport=tcp'],
    ['SIP_URI', 'sips:%61lice@EXAMPLE.org;maddr=1.2.3.4?subject=hi&x=y'],
    ['Name_Addr_Header', '"Bob B" <sip:bob@example.org>;foo'],
    ['Content_Type', 'application/sdp'],
    ['Content_Type', 'message/cpim; charset=utf-8'],
    ['Record_Route', '<sip:p1.example.org;lr>, <sip:p2.example.org;lr>'],
    ['uuid', '3f1b3a4e-4b7d-4f0a-9c1e-1234567890ab'],
  ];
  for (const [rule, input] of cases) same(input, rule);
});

test('lookalikes and garbage go to sip.js and give what it gives (including -1)', () => {
  const cases: [string, string][] = [
    ['To', '<sip:bob@h>;TAG=abc'],
    ['To', '<sip:bob@h>;tag=abc;tag=def'],
    ['To', 'sip:bob@h;tag=abc'],
    ['To', '<sip:bob@h>;x=">";tag=abc'],
    ['To', '<sip:bob@h>;tag="abc"'],
    ['From', '<sip:bob@h'],
    ['From', ''],
    ['Via', 'SIP/2.0/TCP host;branch=a;branch=b'],
    ['Via', 'SIP/2.0/TCP branch.example.org;branch=abc'],
    ['Via', 'SIP/2.0/TCP h;x="y;branch=z";branch=abc'],
    ['Via', 'SIP/2.0/TCP h;branch=abc def'],
    ['Via', 'not a via'],
    ['CSeq', '1  INVITE'],
    ['CSeq', '12345678901 INVITE'],
    ['CSeq', 'x INVITE'],
    ['Call_ID', 'a b'],
    ['Call_ID', 'abc@def@ghi'],
    ['Call_ID', ''],
    ['Content_Length', '0012'],
    ['Content_Length', '-1'],
    ['Content_Length', '12345678901'],
    ['Max_Forwards', 'seventy'],
    ['Request_Response', 'GARBAGE'],
    ['SIP_URI', 'http://example.org/'],
  ];
  for (const [rule, input] of cases) same(input, rule);
});

test('a shape never stands in for an exact input that looks like it', () => {
  same('<sip:bob@collide.example>;tag=abc', 'To');
  same('<sip:bob@collide.example>', 'To');
  same('<sip:bob@collide.example>;tag=def', 'To');
  same('7 INVITE', 'CSeq');
  same('INVITE', 'CSeq');
  same('SIP/2.0/TCP collide.example;branch=abc', 'Via');
  same('SIP/2.0/TCP collide.example;branch=\u0001', 'Via');
  same('SIP/2.0/TCP collide.example', 'Via');
});

test('what a caller does to its result never reaches the next caller', () => {
  const input = '<sip:bob@127.0.0.1:5060;transport=tcp>;tag=aaa';
  const first = g.parse(input, 'To') as { setParam(k: string, v: string): void; uri: URI };
  first.setParam('tag', 'changed');
  first.uri.setParam('transport', 'udp');
  same(input, 'To');
  same('<sip:bob@127.0.0.1:5060;transport=tcp>;tag=bbb', 'To');
});

test('the cache stays within its bound and is used', () => {
  const before = grammarCacheStats();
  for (let i = 0; i < 200; i++) g.parse(`sip:user${i}@example.org`, 'SIP_URI');
  const s = grammarCacheStats();
  assert.ok(s.entries <= 64, `entries ${s.entries}`);
  for (let i = 0; i < 5; i++) g.parse('sip:again@example.org', 'SIP_URI');
  assert.ok(grammarCacheStats().hits >= before.hits + 4);
});

test('cloneParsed keeps prototypes and owns its nested objects', () => {
  const uri = reference('sip:a@b;lr', 'SIP_URI') as URI;
  const copy = cloneParsed(uri);
  assert.ok(copy instanceof URI);
  assert.deepEqual(copy, uri);
  copy.setParam('lr', 'x');
  assert.notDeepEqual(copy, uri);
});
