// SRTP/SRTCP (RFC 3711) against the appendix B vectors, then protect/unprotect, rollover, replay and tampering.
// SDES a=crypto (RFC 4568) parse and build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpError } from '../../src/rtp/errors.js';
import { parseRtp, serializeRtp } from '../../src/rtp/packet.js';
import { compound, parseRtcp } from '../../src/rtp/rtcp.js';
import { AesCtr, aesCm, deriveSessionKey, SrtpContext } from '../../src/rtp/srtp.js';
import { buildCryptoAttribute, newMasterKey, parseCryptoAttribute } from '../../src/rtp/sdes.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

test('RFC 3711 B.2: AES-CM keystream', () => {
  const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000'); // session salt * 2^16, SSRC 0, index 0
  const ks = aesCm(key, iv, new Uint8Array(0xff02 * 16));
  const block = (i: number) => toHex(ks.subarray(i * 16, i * 16 + 16));
  assert.equal(block(0), 'E03EAD0935C95E80E166B16DD92B4EB4');
  assert.equal(block(1), 'D23513162B02D0F72A43A2FE4A5F97AB');
  assert.equal(block(2), '41E95B3BB0A2E8DD477901E4FCA894C0');
  assert.equal(block(0xfeff), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
  assert.equal(block(0xff00), '362B7C3C6773516318A077D7FC5073AE');
  assert.equal(block(0xff01), '6A2CC3787889374FBEB4C81B17BA6C44');
});

test('RFC 3711 B.3: key derivation', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(toHex(deriveSessionKey(mk, ms, 0, 16)), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(toHex(deriveSessionKey(mk, ms, 2, 14)), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(toHex(deriveSessionKey(mk, ms, 1, 20)), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
});

const rtp = (seq: number, payload = new Uint8Array(160).fill(0x55)) =>
  serializeRtp({ payloadType: 0, marker: false, sequence: seq, timestamp: seq * 160, ssrc: 0xcafebabe, payload });

test('SRTP: protect/unprotect round trip across the sequence rollover; the payload is encrypted', () => {
  const k = newMasterKey();
  const tx = SrtpContext.fromKeys(k);
  const rx = SrtpContext.fromKeys(k);
  // sent in order, received reordered around the wrap (the network may do that)
  const sent = new Map<number, Uint8Array>();
  for (const seq of [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3]) {
    const plain = rtp(seq);
    const prot = tx.protectRtp(plain);
    assert.equal(prot.length, plain.length + 10);
    assert.deepEqual(prot.subarray(0, 12), plain.subarray(0, 12), 'the header stays in the clear');
    assert.notDeepEqual(prot.subarray(12, plain.length), plain.subarray(12));
    sent.set(seq, prot);
  }
  for (const seq of [65530, 65531, 65533, 65532, 65535, 0, 1, 65534, 3, 2]) {
    assert.deepEqual(rx.unprotectRtp(sent.get(seq)!), rtp(seq));
  }
});

test('SRTP: the index after a rollover feeds the keystream (same seq, next ROC, different ciphertext)', () => {
  const k = newMasterKey();
  const tx = SrtpContext.fromKeys(k);
  const first = tx.protectRtp(rtp(10));
  for (let s = 11; s < 65536 + 10; s += 1000) tx.protectRtp(rtp(s & 0xffff));
  const again = tx.protectRtp(rtp(10));
  assert.notDeepEqual(first.subarray(12), again.subarray(12));
});

test('SRTP: replayed, too old, tampered and short packets are refused with SrtpError', () => {
  const k = newMasterKey();
  const tx = SrtpContext.fromKeys(k);
  const rx = SrtpContext.fromKeys(k);
  const packets = Array.from({ length: 100 }, (_, i) => tx.protectRtp(rtp(1000 + i)));
  rx.unprotectRtp(packets[99]!);
  const code = (f: () => unknown) => {
    try {
      f();
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof SrtpError, String(e));
      return e.code;
    }
  };
  assert.equal(
    code(() => rx.unprotectRtp(packets[99]!)),
    'replay',
  );
  assert.equal(
    code(() => rx.unprotectRtp(packets[10]!)),
    'too-old',
  );
  assert.equal(
    code(() => rx.unprotectRtp(packets[50]!)),
    'accepted',
    'late but inside the 64-packet window',
  );
  assert.equal(
    code(() => rx.unprotectRtp(packets[50]!)),
    'replay',
  );
  const tampered = Uint8Array.from(packets[60]!);
  tampered[20]! ^= 1;
  assert.equal(
    code(() => rx.unprotectRtp(tampered)),
    'auth',
  );
  const badTag = Uint8Array.from(packets[61]!);
  badTag[badTag.length - 1]! ^= 0x80;
  assert.equal(
    code(() => rx.unprotectRtp(badTag)),
    'auth',
  );
  assert.equal(
    code(() => rx.unprotectRtp(packets[61]!)),
    'accepted',
    'a failed attempt does not burn the index',
  );
  assert.equal(
    code(() => rx.unprotectRtp(new Uint8Array(15))),
    'too-short',
  );
  const other = SrtpContext.fromKeys(newMasterKey());
  assert.equal(
    code(() => other.unprotectRtp(packets[62]!)),
    'auth',
  );
});

test('SRTCP: encrypted with the E flag and a growing index, authenticated, replay refused', () => {
  const k = newMasterKey();
  const tx = SrtpContext.fromKeys(k);
  const rx = SrtpContext.fromKeys(k);
  const plain = compound([
    { type: 'rr', ssrc: 77, reports: [] },
    { type: 'sdes', chunks: [{ ssrc: 77, cname: 'x@y' }] },
  ]);
  const p1 = tx.protectRtcp(plain);
  const p2 = tx.protectRtcp(plain);
  assert.equal(p1.length, plain.length + 14);
  const ei = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(plain.length);
  assert.equal(ei(p1), 0x80000000);
  assert.equal(ei(p2), 0x80000001);
  assert.notDeepEqual(p1.subarray(8, plain.length), plain.subarray(8));
  assert.deepEqual(rx.unprotectRtcp(p2), plain);
  assert.deepEqual(parseRtcp(rx.unprotectRtcp(p1))[0], { type: 'rr', ssrc: 77, reports: [] });
  assert.throws(
    () => rx.unprotectRtcp(p1),
    (e: unknown) => e instanceof SrtpError && e.code === 'replay',
  );
  const t = Uint8Array.from(tx.protectRtcp(plain));
  t[9]! ^= 1;
  assert.throws(
    () => rx.unprotectRtcp(t),
    (e: unknown) => e instanceof SrtpError && e.code === 'auth',
  );
});

test('SRTP contexts take keys from outside (as ZRTP will) and refuse wrong sizes', () => {
  const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');
  const a = SrtpContext.fromKeys({ masterKey, masterSalt });
  const b = SrtpContext.fromKeys({ masterKey, masterSalt });
  assert.deepEqual(parseRtp(b.unprotectRtp(a.protectRtp(rtp(5)))).sequence, 5);
  assert.throws(() => SrtpContext.fromKeys({ masterKey: new Uint8Array(15), masterSalt }), SrtpError);
});

test('SDES a=crypto: build, parse, lifetimes, foreign suites, MKI and bad keys', () => {
  const k = newMasterKey();
  const line = buildCryptoAttribute(1, k);
  assert.match(line, /^1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
  const p = parseCryptoAttribute(line)!;
  assert.equal(p.tag, 1);
  assert.deepEqual(p.key, k);
  const b64 = line.split('inline:')[1]!;
  assert.deepEqual(parseCryptoAttribute(`3 AES_CM_128_HMAC_SHA1_80 inline:${b64}|2^31`)!.key, k);
  assert.equal(
    parseCryptoAttribute(`3 AES_CM_128_HMAC_SHA1_80 inline:${b64}|2^31|1:4`)!.key,
    null,
    'MKI not supported',
  );
  assert.equal(parseCryptoAttribute(`2 AES_CM_128_HMAC_SHA1_32 inline:${b64}`)!.key, null);
  assert.equal(parseCryptoAttribute(`2 AES_CM_128_HMAC_SHA1_32 inline:${b64}`)!.suite, 'AES_CM_128_HMAC_SHA1_32');
  assert.equal(parseCryptoAttribute('1 AES_CM_128_HMAC_SHA1_80 inline:AAAA')!.key, null, 'too short');
  assert.equal(parseCryptoAttribute('garbage'), null);
});

// libSRTP's srtp_validate() reference packets (the default AES_CM_128_HMAC_SHA1_80 policy, the RFC 3711 B.3
// master key, SSRC 0xcafebabe): whole packets, so the IV layout, the tag over header + payload + ROC and the
// SRTCP E flag/index trailer are all checked against an independent implementation.
const LIBSRTP_KEY = {
  masterKey: hex('E1F97A0D3E018BE0D64FA32C06DE4139'),
  masterSalt: hex('0EC675AD498AFEEBB6960B3AABE6'),
};
const LIBSRTP_RTP = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
const LIBSRTP_SRTP = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');
const LIBSRTP_RTCP = hex('81c8000bcafebabe' + 'ab'.repeat(16));
const LIBSRTP_SRTCP = hex('81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798');

test("libSRTP's reference SRTP packet: we produce it and read it", () => {
  assert.equal(toHex(SrtpContext.fromKeys(LIBSRTP_KEY).protectRtp(LIBSRTP_RTP)), toHex(LIBSRTP_SRTP));
  assert.deepEqual(SrtpContext.fromKeys(LIBSRTP_KEY).unprotectRtp(LIBSRTP_SRTP), LIBSRTP_RTP);
});

test("libSRTP's reference SRTCP packet (index 1): our second packet is it, and we read it", () => {
  const tx = SrtpContext.fromKeys(LIBSRTP_KEY);
  tx.protectRtcp(LIBSRTP_RTCP); // index 0 (RFC 3711 starts at zero; libSRTP's first is 1)
  assert.equal(toHex(tx.protectRtcp(LIBSRTP_RTCP)), toHex(LIBSRTP_SRTCP));
  assert.deepEqual(SrtpContext.fromKeys(LIBSRTP_KEY).unprotectRtcp(LIBSRTP_SRTCP), LIBSRTP_RTCP);
});

test('AesCtr (one reused AES-ECB object) gives the keystream of a fresh AES-CTR cipher, block by block and across calls', () => {
  const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const ctr = new AesCtr(key);
  // lengths around block edges, a 20 ms G.711 payload and an Opus-sized one, in one object one after the other
  for (const [len, seed] of [
    [0, 1],
    [1, 2],
    [15, 3],
    [16, 4],
    [17, 5],
    [160, 6],
    [333, 7],
    [31, 8],
  ] as const) {
    const iv = new Uint8Array(16).map((_, i) => (i < 14 ? (seed * 37 + i * 11) & 0xff : 0));
    const data = new Uint8Array(len).map((_, i) => (i * 7 + seed) & 0xff);
    const out = new Uint8Array(len + 3);
    ctr.xorInto(iv, data, out, 3);
    assert.equal(toHex(out.subarray(3)), toHex(aesCm(key, iv, data)), `length ${len}`);
  }
});

test('SRTP replay window: each index once, in any order within 64, refused once it falls behind', () => {
  const key = newMasterKey();
  const tx = SrtpContext.fromKeys(key);
  const rx = SrtpContext.fromKeys(key);
  const pkts = Array.from({ length: 200 }, (_, i) =>
    tx.protectRtp(
      serializeRtp({
        payloadType: 0,
        marker: false,
        sequence: i,
        timestamp: i * 160,
        ssrc: 7,
        payload: new Uint8Array(4),
      }),
    ),
  );
  // every other packet first, then the ones skipped (all within the window), then replays of both
  for (let i = 0; i < 100; i += 2) rx.unprotectRtp(pkts[i]!);
  for (let i = 41; i < 100; i += 2) rx.unprotectRtp(pkts[i]!);
  for (const i of [98, 97, 60, 41]) {
    assert.throws(
      () => rx.unprotectRtp(pkts[i]!),
      (e: unknown) => e instanceof SrtpError && e.code === 'replay',
    );
  }
  // index 33 was never accepted but is 66 behind the top (99): too old; 37 is 62 behind and unseen: accepted
  assert.throws(
    () => rx.unprotectRtp(pkts[33]!),
    (e: unknown) => e instanceof SrtpError && e.code === 'too-old',
  );
  rx.unprotectRtp(pkts[37]!);
  // far ahead, then a slot reused by an index 64 later is not taken for the old one
  rx.unprotectRtp(pkts[190]!);
  rx.unprotectRtp(pkts[189]!);
  assert.throws(
    () => rx.unprotectRtp(pkts[125]!),
    (e: unknown) => e instanceof SrtpError && e.code === 'too-old',
  );
  rx.unprotectRtp(pkts[127]!);
  assert.throws(
    () => rx.unprotectRtp(pkts[127]!),
    (e: unknown) => e instanceof SrtpError && e.code === 'replay',
  );
});
