import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AG_PROJECTS_CPIM_NS,
  cpimText,
  decodeCpim,
  encodeCpim,
  getCpimHeader,
  isSylkStatusMessage,
  parseDateTime,
  formatDateTime,
} from '../../src/msrp/cpim.js';
import { MsrpCpimError } from '../../src/msrp/errors.js';
import { buildIsComposing, parseIsComposing, IsComposingError } from '../../src/msrp/iscomposing.js';

const b = (s: string) => Buffer.from(s, 'utf8');

test('CPIM round trip with standard CRLF, charset=utf-8 always on text', () => {
  const when = new Date('2026-11-24T23:10:01.123Z');
  const bytes = encodeCpim({
    from: { displayName: 'Alice Liddell', uri: 'sip:alice@example.org' },
    to: ['sip:bob@example.org'],
    dateTime: when,
    subject: 'tab\there \\ back',
    namespaces: { agp: AG_PROJECTS_CPIM_NS },
    headers: [['agp.Message-Type', 'normal']],
    contentType: 'text/plain',
    body: 'héllo ✓',
  });
  const text = Buffer.from(bytes).toString('utf8');
  assert.equal(
    text,
    'From: Alice Liddell <sip:alice@example.org>\r\nTo: <sip:bob@example.org>\r\nDateTime: 2026-11-24T23:10:01.123000+00:00\r\n' +
      'Subject: tab\\there \\\\ back\r\nNS: agp <urn:ag-projects:xml:ns:cpim>\r\nagp.Message-Type: normal\r\n\r\n' +
      'Content-Type: text/plain;charset=utf-8\r\n\r\nhéllo ✓',
  );
  const m = decodeCpim(bytes);
  assert.deepEqual(m.from, { displayName: 'Alice Liddell', uri: 'sip:alice@example.org' });
  assert.deepEqual(m.to, [{ displayName: null, uri: 'sip:bob@example.org' }]);
  assert.equal(m.dateTime?.getTime(), when.getTime());
  assert.equal(m.subject, 'tab\there \\ back');
  assert.equal(m.contentType, 'text/plain');
  assert.equal(m.charset, 'utf-8');
  assert.equal(cpimText(m), 'héllo ✓');
  assert.equal(getCpimHeader(m, AG_PROJECTS_CPIM_NS, 'message-type'), 'normal');
  assert.equal(isSylkStatusMessage(m), false);
});

test('an OTR string body always carries a charset, even for a non-text type', () => {
  const m = decodeCpim(encodeCpim({ contentType: 'application/im-iscomposing+xml', body: '?OTR:AAMD...' }));
  assert.equal(m.charset, 'utf-8');
  assert.equal(m.dateTime !== null, true);
  const bin = decodeCpim(
    encodeCpim({ contentType: 'image/png', body: Uint8Array.of(0x89, 0x50, 0x0d, 0x0a, 0x0d, 0x0a, 0) }),
  );
  assert.equal(bin.charset, null);
  assert.deepEqual([...bin.body], [0x89, 0x50, 0x0d, 0x0a, 0x0d, 0x0a, 0]);
});

test('decodes a Blink-style body: bare LF inner headers, charset="utf8", empty CTE, microseconds', () => {
  const raw =
    'From: Bob <sip:bob@example.org>\r\nTo: <sip:alice@example.org>\r\nDateTime: 2026-11-24T23:10:01.654321+00:00\r\n\r\n' +
    'Content-Type: text/plain; charset="utf8"\nContent-Transfer-Encoding: \nMIME-Version: 1.0\n\n¿qué tal? 👋\nsecond line\r\n';
  const m = decodeCpim(b(raw));
  assert.equal(m.charset, 'utf-8');
  assert.equal(m.contentType, 'text/plain');
  assert.deepEqual(m.contentHeaders, [
    ['Content-Type', 'text/plain; charset="utf8"'],
    ['Content-Transfer-Encoding', ''],
    ['MIME-Version', '1.0'],
  ]);
  assert.equal(cpimText(m), '¿qué tal? 👋\nsecond line\r\n');
  assert.equal(m.dateTime?.toISOString(), '2026-11-24T23:10:01.654Z');
  assert.equal(m.dateTimeText, '2026-11-24T23:10:01.654321+00:00');
  assert.equal(m.from?.displayName, 'Bob');
});

test('SylkServer room traffic: original sender in From, status notices by namespace', () => {
  const chat = decodeCpim(
    b(
      'From: Carol <sip:carol@example.com>\r\nTo: <sip:room@conference.example.com>\r\nDateTime: 2026-11-24T23:00:00+00:00\r\n\r\nContent-Type: text/plain\r\n\r\nhi room',
    ),
  );
  assert.equal(chat.from?.uri, 'sip:carol@example.com');
  assert.equal(isSylkStatusMessage(chat), false);
  assert.equal(chat.charset, null);
  const notice = decodeCpim(
    b(
      'From: <sip:room@conference.example.com>\r\nTo: <sip:alice@example.org>\r\nNS: agp <urn:ag-projects:xml:ns:cpim>\r\n' +
        'agp.Message-Type: status\r\nDateTime: 2026-11-24T23:00:01.000001+00:00\r\n\r\nContent-Type: text/plain\r\n\r\nCarol has joined the room',
    ),
  );
  assert.equal(isSylkStatusMessage(notice), true);
  assert.equal(notice.namespaces.get('agp'), AG_PROJECTS_CPIM_NS);
  assert.equal(notice.headers.find((h) => h.prefix === 'agp')?.localName, 'Message-Type');
  // The same local name under another namespace is not SylkServer's.
  const other = decodeCpim(b('NS: x <urn:other>\r\nx.Message-Type: status\r\n\r\nContent-Type: text/plain\r\n\r\n.'));
  assert.equal(isSylkStatusMessage(other), false);
});

test('language parameters and odd layouts are tolerated; hostile ones are refused', () => {
  const m = decodeCpim(b('Subject:;lang=fr beau temps\r\n\r\n\r\nbody without MIME headers'));
  assert.equal(m.subject, 'beau temps');
  assert.deepEqual(m.headers[0]!.params, [['lang', 'fr']]);
  assert.equal(m.contentType, 'text/plain');
  assert.equal(cpimText(m), 'body without MIME headers');
  assert.throws(() => decodeCpim(b('From: <sip:a@b>\r\nno blank line at all')), MsrpCpimError);
  assert.throws(() => decodeCpim(b('Bad Header Name: x\r\n\r\nContent-Type: text/plain\r\n\r\nx')), MsrpCpimError);
  assert.throws(() => encodeCpim({ contentType: 'text/plain\r\nX: y', body: 'x' }), MsrpCpimError);
  assert.throws(
    () => encodeCpim({ headers: [['Bad Name', 'x']], contentType: 'text/plain', body: 'x' }),
    MsrpCpimError,
  );
});

test('DateTime parsing variants', () => {
  assert.equal(parseDateTime('2000-12-13T13:40:00-08:00')?.toISOString(), '2000-12-13T21:40:00.000Z');
  assert.equal(parseDateTime('2026-01-01T00:00:00Z')?.toISOString(), '2026-01-01T00:00:00.000Z');
  assert.equal(parseDateTime('yesterday'), null);
  assert.equal(formatDateTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))), '2026-01-02T03:04:05.006000+00:00');
});

test('is-composing build/parse round trip and hostile documents', () => {
  const doc = buildIsComposing({
    state: 'active',
    refresh: 120,
    contentType: 'text/plain',
    lastActive: new Date('2026-11-24T23:00:00Z'),
  });
  assert.deepEqual(parseIsComposing(doc), {
    state: 'active',
    refresh: 120,
    contentType: 'text/plain',
    lastActive: new Date('2026-11-24T23:00:00Z'),
  });
  assert.deepEqual(parseIsComposing(buildIsComposing({ state: 'idle' })), {
    state: 'idle',
    refresh: null,
    contentType: null,
    lastActive: null,
  });
  // The RFC 3994 example layout with a prefix.
  const prefixed =
    '<?xml version="1.0" encoding="UTF-8"?>\n<ic:isComposing xmlns:ic="urn:ietf:params:xml:ns:im-iscomposing">\n' +
    '<ic:state>idle</ic:state><ic:lastactive>2003-01-27T10:43:00Z</ic:lastactive><ic:contenttype>audio</ic:contenttype></ic:isComposing>';
  assert.equal(parseIsComposing(prefixed).state, 'idle');
  assert.equal(parseIsComposing(prefixed).contentType, 'audio');
  assert.throws(() => parseIsComposing('<isComposing><state>typing</state></isComposing>'), IsComposingError);
  assert.throws(() => parseIsComposing('<foo/>'), IsComposingError);
  assert.throws(
    () => parseIsComposing('<!DOCTYPE x [<!ENTITY a "b">]><isComposing><state>idle</state></isComposing>'),
    IsComposingError,
  );
  assert.throws(
    () => parseIsComposing('<isComposing><state>active</state><refresh>-1</refresh></isComposing>'),
    IsComposingError,
  );
  assert.throws(() => parseIsComposing('x'.repeat(20000)), IsComposingError);
});
