// AES_256_CM SRTP (RFC 6188) and the 32-bit tag profiles: RFC 6188 section 7 vectors (7.1 keystream, 7.2 key
// derivation), libSRTP's AES-256 reference packet, node:crypto's aes-256-ctr at block edges, round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { SrtpError } from '../../src/rtp/errors.js';
import { serializeRtp } from '../../src/rtp/packet.js';
import { compound, parseRtcp } from '../../src/rtp/rtcp.js';
import { AesCtr, aesCm, deriveSessionKey, SrtpContext, srtpIv, type SrtpProfile } from '../../src/rtp/srtp.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('RFC 6188 7.1: AES-256-CM keystream, first and last three blocks of 0xff02', () => {
  const key = hex('57f82fe3613fd170a85ec93c40b1f0922ec4cb0dc025b58272147cc438944a98');
  const iv = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfd0000');
  const ks = aesCm(key, iv, new Uint8Array(0xff02 * 16));
  assert.equal(
    toHex(ks.subarray(0, 48)),
    '92bdd28a93c3f52511c677d08b5515a49da71b2378a854f67050756ded165bac63c4868b7096d88421b563b8c94c9a31',
  );
  assert.equal(
    toHex(ks.subarray(ks.length - 48)),
    'cea518c90fd91ced9cbb18c078a547113dbc4814f4da5f00a08772b63c6a046d6eb246913062a16891433e97dd01a57f',
  );
  // the per-session counter (one ECB object) gives the same keystream
  const out = new Uint8Array(48);
  new AesCtr(key).xorInto(iv, new Uint8Array(48), out, 0);
  assert.equal(toHex(out), toHex(ks.subarray(0, 48)));
});

test('RFC 6188 7.2: AES_256_CM_PRF key derivation', () => {
  const mk = hex('f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6');
  const ms = hex('3b04803de51ee7c96423ab5b78d2');
  assert.equal(
    toHex(deriveSessionKey(mk, ms, 0, 32)),
    '5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4',
  );
  assert.equal(toHex(deriveSessionKey(mk, ms, 2, 14)), 'fa31791685ca444a9e07c6c64e93');
  assert.equal(toHex(deriveSessionKey(mk, ms, 1, 20)), 'fd9c32d39ed5fbb5a9dc96b30818454d1313dc05');
});

test("AES_256_CM_HMAC_SHA1_80: libSRTP's reference packet (RFC 6188 7.2's master key), both ways", () => {
  const k = {
    masterKey: hex('f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6'),
    masterSalt: hex('3b04803de51ee7c96423ab5b78d2'),
  };
  const plain = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
  const wire = hex('800f1234decafbadcafebabe' + 'f1d9de17ff251ff1aa007774b0b4b40d' + 'a08d9d9a5b3a55d8873b');
  assert.equal(toHex(SrtpContext.fromKeys(k, 'AES_256_CM_HMAC_SHA1_80').protectRtp(plain)), toHex(wire));
  assert.equal(toHex(SrtpContext.fromKeys(k, 'AES_256_CM_HMAC_SHA1_80').unprotectRtp(wire)), toHex(plain));
  // the same key under the 128-bit profile is refused (it is not the key of that profile)
  assert.throws(() => SrtpContext.fromKeys(k), SrtpError);
});

test('AES-256 counter mode equals node:crypto aes-256-ctr at block edges (payload sizes 0..49, 159-161, 1024)', () => {
  const key = new Uint8Array(randomBytes(32));
  const ctr = new AesCtr(key);
  const salt = new Uint8Array(randomBytes(14));
  for (const n of [...Array.from({ length: 50 }, (_, i) => i), 159, 160, 161, 1024]) {
    const iv = srtpIv(salt, 0x12345678, 70000 + n);
    const data = new Uint8Array(randomBytes(n));
    const out = new Uint8Array(n);
    ctr.xorInto(iv, data, out, 0);
    const ref = createCipheriv('aes-256-ctr', key, iv).update(data);
    assert.equal(toHex(out), toHex(ref), `${n} bytes`);
  }
});

const rtp = (seq: number) =>
  serializeRtp({
    payloadType: 0,
    marker: false,
    sequence: seq,
    timestamp: seq * 160,
    ssrc: 0xcafebabe,
    payload: new Uint8Array(160).fill(seq & 0xff),
  });

const key = (len: number) => ({
  masterKey: new Uint8Array(randomBytes(len)),
  masterSalt: new Uint8Array(randomBytes(14)),
});

for (const [profile, keyLen, tagLen] of [
  ['AES_256_CM_HMAC_SHA1_80', 32, 10],
  ['AES_256_CM_HMAC_SHA1_32', 32, 4],
  ['AES_CM_128_HMAC_SHA1_32', 16, 4],
] as [SrtpProfile, number, number][]) {
  test(`${profile}: round trip across the rollover, tag of ${tagLen} bytes, tampering and replay refused`, () => {
    const k = key(keyLen);
    const tx = SrtpContext.fromKeys(k, profile);
    const rx = SrtpContext.fromKeys(k, profile);
    for (const seq of [65534, 65535, 0, 1]) {
      const plain = rtp(seq);
      const prot = tx.protectRtp(plain);
      assert.equal(prot.length, plain.length + tagLen);
      assert.notDeepEqual(prot.subarray(12, plain.length), plain.subarray(12));
      assert.deepEqual(rx.unprotectRtp(prot), plain);
      assert.throws(
        () => rx.unprotectRtp(prot),
        (e: unknown) => e instanceof SrtpError && e.code === 'replay',
      );
      const bad = prot.slice();
      bad[20]! ^= 1;
      assert.throws(
        () => SrtpContext.fromKeys(k, profile).unprotectRtp(bad),
        (e: unknown) => e instanceof SrtpError,
      );
    }
    // another profile with the same key length does not read it (tag length or key differ)
    const other = SrtpContext.fromKeys(
      k,
      tagLen === 4
        ? keyLen === 32
          ? 'AES_256_CM_HMAC_SHA1_80'
          : 'AES_CM_128_HMAC_SHA1_80'
        : 'AES_256_CM_HMAC_SHA1_32',
    );
    assert.throws(() => other.unprotectRtp(SrtpContext.fromKeys(k, profile).protectRtp(rtp(5))), SrtpError);
  });

  test(`${profile}: SRTCP sent with the 80-bit tag; a 32-bit SRTCP tag accepted with a _32 profile`, () => {
    const k = key(keyLen);
    const tx = SrtpContext.fromKeys(k, profile);
    const rx = SrtpContext.fromKeys(k, profile);
    const rr = compound([{ type: 'rr', ssrc: 0x11223344, reports: [] }]);
    const prot = tx.protectRtcp(rr);
    assert.equal(prot.length, rr.length + 4 + 10);
    assert.deepEqual(rx.unprotectRtcp(prot), rr);
    assert.deepEqual(parseRtcp(rx.unprotectRtcp(tx.protectRtcp(rr)))[0]?.type, 'rr');
    // a peer that tags SRTCP with the SRTP tag length (ZRTPCPP): drop 6 of the 10 bytes, the HMAC's first 4 stay
    const short = tx.protectRtcp(rr).subarray(0, rr.length + 4 + 4);
    if (tagLen === 4) assert.deepEqual(rx.unprotectRtcp(short), rr);
    else assert.throws(() => rx.unprotectRtcp(short), SrtpError);
  });
}
