import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildMsrpSdp,
  buildMsrpMedia,
  negotiateSetup,
  parseMsrpSdp,
  peerAccepts,
  shouldUseCpim,
  typeAccepted,
} from '../../src/msrp/sdp.js';
import { MsrpSdpError } from '../../src/msrp/errors.js';
import { buildDigestAuthorization, digestResponse, parseDigestChallenge } from '../../src/msrp/digest.js';
import { MsrpAuthError } from '../../src/msrp/errors.js';

test('builds an offer the way the spec and Blink lay it out', () => {
  const sdp = buildMsrpSdp({
    path: ['msrp://127.0.0.1:40000/abcdef123;tcp'],
    setup: 'actpass',
    blinkFeatures: ['history-control'],
    sessionId: '1234',
    originUser: 'alice',
  });
  assert.equal(
    sdp,
    'v=0\r\no=alice 1234 1 IN IP4 127.0.0.1\r\ns=blink-tui\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
      'm=message 40000 TCP/MSRP *\r\na=path:msrp://127.0.0.1:40000/abcdef123;tcp\r\n' +
      'a=accept-types:message/cpim text/plain application/im-iscomposing+xml\r\n' +
      'a=accept-wrapped-types:text/plain application/im-iscomposing+xml\r\na=setup:actpass\r\na=blink-features:history-control\r\n',
  );
  const tls = buildMsrpMedia({
    path: ['msrps://10.0.0.1:2855/r1;tcp', 'msrps://10.0.0.2:5000/me;tcp'],
    setup: 'active',
    acceptTypes: ['message/cpim'],
    acceptWrappedTypes: [],
  });
  assert.match(tls, /^m=message 2855 TCP\/TLS\/MSRP \*\r\nc=IN IP4 10\.0\.0\.2\r\n/);
  assert.ok(!tls.includes('accept-wrapped-types'));
  assert.throws(() => buildMsrpSdp({ path: [], setup: 'active' }));
  assert.throws(
    () => buildMsrpMedia({ path: ['msrp://h:1/x;tcp'], setup: 'active', acceptTypes: ['text/plain\r\na=evil'] }),
    MsrpSdpError,
  );
});

const blinkOffer = [
  'v=0',
  'o=- 3960000000 3960000000 IN IP4 192.0.2.10',
  's=Blink 5.5.0 (Linux)',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 50000 RTP/AVP 0',
  'a=path:msrp://wrong.example/this-is-audio;tcp',
  'm=message 2855 TCP/TLS/MSRP *',
  'c=IN IP4 192.0.2.11',
  'a=path:msrps://192.0.2.11:2855/k3jd9sd02;tcp',
  'a=accept-types:message/cpim text/* image/* application/im-iscomposing+xml',
  'a=accept-wrapped-types:text/* image/* application/im-iscomposing+xml',
  'a=setup:actpass',
  'a=blink-features:history-control icon',
  'a=max-size:1048576',
  'a=sendrecv',
  '',
].join('\r\n');

test('parses a Blink offer (media-level c=, TLS, wildcards, features)', () => {
  const m = parseMsrpSdp(blinkOffer);
  assert.deepEqual(m, {
    host: '192.0.2.11',
    port: 2855,
    protocol: 'TCP/TLS/MSRP',
    secure: true,
    path: ['msrps://192.0.2.11:2855/k3jd9sd02;tcp'],
    acceptTypes: ['message/cpim', 'text/*', 'image/*', 'application/im-iscomposing+xml'],
    acceptWrappedTypes: ['text/*', 'image/*', 'application/im-iscomposing+xml'],
    setup: 'actpass',
    fingerprint: null, // Blink names no certificate: its TLS peers cannot check it (we let it through)
    features: ['history-control', 'icon'],
    maxSize: 1048576,
    direction: 'sendrecv',
  });
  assert.ok(peerAccepts(m, 'text/plain;charset=utf-8'));
  assert.ok(peerAccepts(m, 'image/png'));
  assert.ok(!peerAccepts(m, 'application/pdf'));
  assert.ok(peerAccepts(m, 'text/html', true));
  assert.ok(shouldUseCpim(['message/cpim', 'text/plain'], m));
  assert.ok(!shouldUseCpim(['text/plain'], m));
  assert.ok(typeAccepted(['*'], 'anything/else'));
  // A SylkServer answer: only message/cpim, passive. Plain text must be wrapped.
  const sylk = parseMsrpSdp(
    'v=0\r\nc=IN IP4 198.51.100.5\r\nm=message 2855 TCP/MSRP *\r\na=path:msrp://198.51.100.5:2855/xx;tcp\r\na=accept-types:message/cpim\r\na=setup:passive\r\n',
  );
  assert.ok(!peerAccepts(sylk, 'text/plain'));
  assert.ok(peerAccepts(sylk, 'text/plain', true), 'no accept-wrapped-types: CPIM carries anything (SylkServer)');
  assert.ok(!peerAccepts({ acceptTypes: ['message/cpim'], acceptWrappedTypes: ['text/plain'] }, 'image/png', true));
  assert.ok(
    !peerAccepts({ acceptTypes: ['text/plain'], acceptWrappedTypes: ['text/plain'] }, 'text/plain', true),
    'no CPIM, no wrapping',
  );
});

test('rejects SDP without MSRP media or path', () => {
  assert.throws(() => parseMsrpSdp('v=0\r\nm=audio 1 RTP/AVP 0\r\n'), MsrpSdpError);
  assert.throws(() => parseMsrpSdp('v=0\r\nm=message 1 TCP/MSRP *\r\na=accept-types:text/plain\r\n'), MsrpSdpError);
  assert.throws(() => parseMsrpSdp('v=0\r\nm=message 1 TCP/MSRP *\r\na=path:http://x/y\r\n'), MsrpSdpError);
  const hold = parseMsrpSdp('m=message 1 TCP/MSRP *\r\na=path:msrp://h:1/x;tcp\r\na=setup:holdconn\r\n');
  assert.equal(hold.setup, null);
});

test('RFC 6135 setup decisions', () => {
  assert.deepEqual(negotiateSetup('offerer', 'active'), { local: 'passive', answer: null });
  assert.deepEqual(negotiateSetup('offerer', 'passive'), { local: 'active', answer: null });
  assert.deepEqual(negotiateSetup('offerer', null), { local: 'active', answer: null });
  assert.deepEqual(negotiateSetup('answerer', 'actpass'), { local: 'active', answer: 'active' });
  assert.deepEqual(negotiateSetup('answerer', 'actpass', 'passive'), { local: 'passive', answer: 'passive' });
  assert.deepEqual(negotiateSetup('answerer', 'active'), { local: 'passive', answer: 'passive' });
  assert.deepEqual(negotiateSetup('answerer', 'passive'), { local: 'active', answer: 'active' });
  assert.deepEqual(negotiateSetup('answerer', null), { local: 'passive', answer: 'passive' });
});

test('digest: RFC 2617 section 3.5 vector, challenge parsing with and without opaque', () => {
  assert.equal(
    digestResponse({
      username: 'Mufasa',
      password: 'Circle Of Life',
      realm: 'testrealm@host.com',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    }),
    '6629fae49393a05397450978507c4ef1',
  );
  const ch = parseDigestChallenge(
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  assert.equal(ch.opaque, '5ccc069c403ebaf9f0171e9517f40e41');
  assert.deepEqual(ch.qop, ['auth', 'auth-int']);
  const auth = buildDigestAuthorization(
    ch,
    { username: 'Mufasa', password: 'Circle Of Life' },
    'GET',
    '/dir/index.html',
    { cnonce: '0a4f113b' },
  );
  assert.match(auth, /response="6629fae49393a05397450978507c4ef1"/);
  assert.match(auth, /opaque="5ccc069c403ebaf9f0171e9517f40e41"/);
  assert.match(auth, /nc=00000001/);
  const noOpaque = parseDigestChallenge('Digest realm=myrealm, nonce="abc"');
  assert.equal(noOpaque.opaque, null);
  assert.ok(
    !buildDigestAuthorization(noOpaque, { username: 'u', password: 'p' }, 'AUTH', 'msrp://r:1;tcp').includes('opaque'),
  );
  assert.ok(
    !buildDigestAuthorization(noOpaque, { username: 'u', password: 'p' }, 'AUTH', 'msrp://r:1;tcp').includes('qop'),
  );
  assert.throws(() => parseDigestChallenge('Basic realm="x"'), MsrpAuthError);
  assert.throws(() => parseDigestChallenge('Digest realm="x"'), MsrpAuthError);
  assert.throws(() => parseDigestChallenge('Digest realm="x", nonce="y", algorithm=SHA-512-256'), MsrpAuthError);
});

test('a=fingerprint (RFC 4975 14.4): written for TLS sessions, read at media or session level, checked against a certificate', async () => {
  const { X509Certificate } = await import('node:crypto');
  const { makeSelfSignedCert } = await import('../helpers/tls-cert.js');
  const { certificateFingerprint, fingerprintMatches } = await import('../../src/msrp/sdp.js');
  const der = new X509Certificate(makeSelfSignedCert().cert).raw;
  const other = new X509Certificate(makeSelfSignedCert().cert).raw;
  const fp = certificateFingerprint(der);
  assert.match(fp, /^SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const sdp = buildMsrpSdp({ path: ['msrps://127.0.0.1:2855/abc;tcp'], setup: 'actpass', fingerprint: fp });
  assert.match(sdp, /\r\na=fingerprint:SHA-256 [0-9A-F:]+\r\n/);
  const parsed = parseMsrpSdp(sdp);
  assert.equal(parsed.secure, true);
  assert.deepEqual(parsed.fingerprint, { hash: 'SHA-256', value: fp.slice(8) });
  assert.equal(fingerprintMatches(parsed.fingerprint!, der), true);
  assert.equal(fingerprintMatches(parsed.fingerprint!, other), false);
  // Lower case and other hash functions from RFC 4572; an unknown one never matches.
  const sha1 = (await import('node:crypto')).createHash('sha1').update(der).digest('hex').match(/../g)!.join(':');
  assert.equal(fingerprintMatches({ hash: 'sha-1', value: sha1 }, der), true);
  assert.equal(fingerprintMatches({ hash: 'md5', value: sha1 }, der), false);
  // Session level, as RFC 4572 also allows; the media level wins when both are there.
  const noMedia = buildMsrpSdp({ path: ['msrps://127.0.0.1:2855/abc;tcp'], setup: 'actpass' });
  assert.equal(parseMsrpSdp(noMedia).fingerprint, null);
  const sessionLevel = noMedia.replace('t=0 0\r\n', `t=0 0\r\na=fingerprint:${fp}\r\n`);
  assert.deepEqual(parseMsrpSdp(sessionLevel).fingerprint, parsed.fingerprint);
  const both = sdp.replace('t=0 0\r\n', `t=0 0\r\na=fingerprint:SHA-1 ${sha1}\r\n`);
  assert.equal(parseMsrpSdp(both).fingerprint!.hash, 'SHA-256');
  // Malformed values are ignored (no fingerprint), not thrown at.
  assert.equal(
    parseMsrpSdp(noMedia.replace('t=0 0\r\n', 't=0 0\r\na=fingerprint:SHA-256 zz:yy\r\n')).fingerprint,
    null,
  );
});
