// Known-answer tests from /work/shared/reference/otr3-test-vectors.json (values copied here so the suite does not
// depend on files outside the repository).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OtrProtocolError } from '../../src/otr/errors.js';
import {
  aesCtr,
  deriveAkeKeys,
  deriveSessionKeys,
  hmacSha1,
  secbytesOf,
  sessionKeysFromSecret,
} from '../../src/otr/keys.js';
import { openCommitment, verifyEncryptedSignature } from '../../src/otr/ake.js';
import { DataKeys } from '../../src/otr/data.js';
import { decodeMessage, encodeDataAuthenticated, encodeDataTail } from '../../src/otr/messages.js';
import { decodePlaintext } from '../../src/otr/tlv.js';
import { frameEncoded, unframeEncoded } from '../../src/otr/wire.js';
import { encodeMpi } from '../../src/bytes/bytes.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = (s: string) => BigInt('0x' + s);
const code = (c: string) => (e: unknown) => e instanceof OtrProtocolError && e.code === c;

export const V = {
  x: 'bbcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd',
  y: 'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd',
  gx: '75dfab5a1eab059052d0ad881c4938d52669630d61833a367155d67d03a457f619683d0fa829781e974fd24f6865e8128a9312a167b77326a87dea032fc31784d05b18b9cbafebe162ae9b5369f8b0c5911cf1be757f45f2a674be5126a714a6366c28086b3c7088911dcc4e5fb1481ad70a5237b8e4a6aff4954c2ca6df338b9f08691e4c0defe12689b37d4df30ddef2687f789fcf623c5d0cf6f09b7e5e69f481d5fd1b24a77636fb676e6d733d129eb93e81189340233044766a36eb07d',
  gy: '2cdacabb00e63d8949aa85f7e6a095b1ee81a60779e58f8938ff1a7ed1e651d954bd739162e699cc73b820728af53aae60a46d529620792ddf839c5d03d2d4e92137a535b27500e3b3d34d59d0cd460d1f386b5eb46a7404b15c1ef84840697d2d3d2405dcdda351014d24a8717f7b9c51f6c84de365fea634737ae18ba22253a8e15249d9beb2dded640c6c0d74e4f7e19161cf828ce3ffa9d425fb68c0fddcaa7cbe81a7a5c2c595cce69a255059d9e5c04b49fb15901c087e225da850ff27',
  s: 'b15e9eb80f16f4beabcf7ac44c06f0b69b9f890a86a11b6cc2fd29e0f7cd15d9af7c052c4c55dfce929783e339ef094eedcfcaeb9edf896b7e201d46f16ba42dbec0a9738daa37c47a598849735b8b9ac8c98578431f8c7a6a54944ec6d830cb0ffcdf31d39cb8414bd3ddae0c483daf4e80a5990f7618edf648e68935126639d1752f49b2b8a83b170f39dd7d2a2c4ab99cb28684df2c6ee1feff9d171c25059eb6920bdf4cdab2fc0aed4aafeb66a51e938db8ca80881ad219413ecf7e0257',
  r: 'abcdabcdabcdabcdabcdabcdabcdabcd',
  hashedGx: 'a3f2c4b9e3a7d1f565157ae7b0e71c721d59d3c79d39e5e4e8d08cb8464ff857',
  encryptedGx:
    '5dd6a5999be73a99b80bdb78194a125f3067bd79e69c648b76a068117a8c4d0f36f275305423a933541937145d85ab4618094cbafbe4db0c0081614c1ff0f516c3dc4f352e9c92f88e4883166f12324d82240a8f32874c3d6bc35acedb8d501aa0111937a4859f33aa9b43ec342d78c3a45a5939c1e58e6b4f02725c1922f3df8754d1e1ab7648f558e9043ad118e63603b3ba2d8cbfea99a481835e42e73e6cd6019840f4470b606e168b1cd4a1f401c3dc52525d79fa6b959a80d4e11f1ec3a7984cf9',
  ssid: '9cee5d2c7edbc86d',
  c: '5745340b350364a02a0ac1467a318dcc',
  cp: 'd942cc80b66503414c05e3752d9ba5c4',
  m1: 'd3251498fb9d977d07392a96eafb8c048d6bc67064bd7da72aa38f20f87a2e3d',
  m2: '79c101a78a6c5819547a36b4813c84a8ac553d27a5d4b58be45dd0f3a67d3ca6',
  m1p: 'b6254b8eab0ad98152949454d23c8c9b08e4e9cf423b27edc09b1975a76eb59c',
  m2p: '954be27015eeb0455250144d906e83e7d329c49581aea634c4189a3c981184f5',
  sendAes: '42e258bebf031acf442f52d6ef52d6f1',
  sendMac: 'a45e2b122f58bbe2042f73f092329ad9b5dfe23e',
  recvAes: 'c778c71cb63161e8e06d245e77ff6430',
  recvMac: '03f8034b891b1e843db5bba9a41ec68a1f5f8bbf',
  extraKey: '0e1810c7c62c3bace6450dcbef16af8a271b5ac93030b83e9d0d80e0641e3c18',
};

const V3_BINARY =
  '0003035a73a59927e31597000000000100000001000000c00' +
  V.gx +
  '00000000000000010000001896a3503fd32b3cf0db9d3721e4f1d8e5da242675df77a1a74fe2b629fbbd4ab72a784258020f4dff978db7d50000001403f8034b891b1e843db5bba9a41ec68a1f5f8bbf';
const V3_ENCODED =
  '?OTR:AAMDWnOlmSfjFZcAAAAAAQAAAAEAAADAB136taHqsFkFLQrYgcSTjVJmljDWGDOjZxVdZ9A6RX9hloPQ+oKXgel0/ST2hl6BKKkxKhZ7dzJqh96gMvwxeE0FsYucuv6+FirptTafiwxZEc8b51f0XypnS+USanFKY2bCgIazxwiJEdzE5fsUga1wpSN7jkpq/0lUwspt8zi58IaR5MDe/hJomzfU3zDd7yaH94n89iPF0M9vCbfl5p9IHV/Rskp3Y2+2dubXM9Ep65PoEYk0AjMER2ajbrB9AAAAAAAAAAEAAAAYlqNQP9MrPPDbnTch5PHY5dokJnXfd6GnT+K2Kfu9SrcqeEJYAg9N/5eNt9UAAAAUA/gDS4kbHoQ9tbuppB7Gih9fi78=.';
const V2_BINARY =
  '000203000000000100000001000000c00' +
  V.gx +
  '00000000000000010000001096a3503fd32b3cf0db9d3721e4f1d8e4c702dabb20dc48ad187d458e60d49e849dcb2b8900000000';
const V2_ENCODED =
  '?OTR:AAIDAAAAAAEAAAABAAAAwAdd+rWh6rBZBS0K2IHEk41SZpYw1hgzo2cVXWfQOkV/YZaD0PqCl4HpdP0k9oZegSipMSoWe3cyaofeoDL8MXhNBbGLnLr+vhYq6bU2n4sMWRHPG+dX9F8qZ0vlEmpxSmNmwoCGs8cIiRHcxOX7FIGtcKUje45Kav9JVMLKbfM4ufCGkeTA3v4SaJs31N8w3e8mh/eJ/PYjxdDPbwm35eafSB1f0bJKd2Nvtnbm1zPRKeuT6BGJNAIzBEdmo26wfQAAAAAAAAABAAAAEJajUD/TKzzw2503IeTx2OTHAtq7INxIrRh9RY5g1J6EncsriQAAAAA=.';

test("AKE key derivation: ssid, c, c', m1, m2, m1', m2' (vector ake)", () => {
  assert.equal(toHex(secbytesOf(big(V.s))), '000000c0' + V.s);
  const k = deriveAkeKeys(big(V.s));
  assert.equal(toHex(k.ssid), V.ssid);
  assert.equal(toHex(k.c), V.c);
  assert.equal(toHex(k.cp), V.cp);
  assert.equal(toHex(k.m1), V.m1);
  assert.equal(toHex(k.m2), V.m2);
  assert.equal(toHex(k.m1p), V.m1p);
  assert.equal(toHex(k.m2p), V.m2p);
});

test('data session keys from the D-H exchange, low end and high end (vector data_session_keys)', () => {
  const low = deriveSessionKeys(big(V.gx), big(V.x), big(V.gy));
  assert.equal(toHex(low.sendAes), V.sendAes);
  assert.equal(toHex(low.sendMac), V.sendMac);
  assert.equal(toHex(low.recvAes), V.recvAes);
  assert.equal(toHex(low.recvMac), V.recvMac);
  assert.equal(toHex(low.extraKey), V.extraKey);
  // The other side (the numerically larger public key) gets the mirror image.
  const high = sessionKeysFromSecret(big(V.gy), big(V.gx), big(V.s));
  assert.equal(toHex(high.sendAes), V.recvAes);
  assert.equal(toHex(high.recvAes), V.sendAes);
  assert.equal(toHex(high.recvMac), V.sendMac);
});

test('AES-128-CTR with the top half of the counter (vector aes_ctr_data_plaintext)', () => {
  const pt = hex('77652061726520617765736f6d6500000000ed' + '00'.repeat(237));
  const key = hex('42e258bebf031acf442f52d6ef52d6f1');
  const c0 = aesCtr(key, pt, hex('0000000000000000'));
  assert.equal(
    toHex(c0),
    '4f0de18011633ed0264ccc1840d64f4cf8f0c91ef78890ab82edef36cb38210bb80760585ff43d736a9ff3e4bb05fc088fa34c2f21012988d539ebc839e9bc97633f4c42de15ea5c3c55a2b9940ca35015ded14205b9df78f936cb1521aedbea98df7dc03c116570ba8d034abc8e2d23185d2ce225845f38c08cb2aae192d66d601c1bc86149c98e8874705ae365b31cda76d274429de5e07b93f0ff29152716980a63c31b7bda150b222ba1d373f786d5f59f580d4f690a71d7fc620e0a3b05d692221ddeebac98d6ed16272e7c4596de27fb104ad747aa9a3ad9d3bc4f988af0beb21760df06047e267af0109baceb0f363bcaff7b205f2c42b3cb67a942f2',
  );
  const c1 = aesCtr(key, pt, hex('0001020304050607'));
  assert.equal(
    toHex(c1),
    '2dccced4937a337e01bc2ed969b4f60d3ab0a4844aef0a02ebc5c6f09f71a7819687cdbcf2a912be1e8ceda086d188ce3e0bbfecaa77a050a5ed9f98f0c6590579e4d1fb9f753102955dcfc5535af3906ff7d62490362e6e89e28c3b41081f2ce3e8c2ea154a582ff7a1449e7ad8abf295b5e3f8fb80e9b6482fc3bae869ccdb9144f0242604ddee924f388c308c6ce123b5ae22a93ac7c315b13019d474134dd9fd15334fade1b6737b11f79a3cfeed8dd18d72739436ebb560ecdca71a9a67c7b97c2526119a4b1323a6de7c70dffaf7229d798aaea4a692410a139249305d3059685b6ecd0760323ea16db9e02497f5657d1a5d82e09df0088e572b5d0bd7',
  );
  assert.deepEqual(aesCtr(key, c1, hex('0001020304050607')), pt);
  // AKE encryption of g^x with key r and counter 0.
  assert.equal(toHex(aesCtr(hex(V.r), encodeMpi(big(V.gx)))), V.encryptedGx);
});

test('a full v3 Data Message, built byte for byte (vector data_message_v3, identical to libotr otr_remac)', () => {
  const header = { version: 3 as const, type: 0, senderTag: 0x5a73a599, receiverTag: 0x27e31597 };
  const plaintext = hex('48656c6c6f2066726f6d204f545276330000000003616263');
  const enc = aesCtr(hex(V.sendAes), plaintext, hex('0000000000000001'));
  assert.equal(toHex(enc), '96a3503fd32b3cf0db9d3721e4f1d8e5da242675df77a1a7');
  const auth = encodeDataAuthenticated(header, 0, 1, 1, big(V.gx), hex('0000000000000001'), enc);
  const mac = hmacSha1(hex(V.sendMac), auth);
  assert.equal(toHex(mac), '4fe2b629fbbd4ab72a784258020f4dff978db7d5');
  const bin = encodeDataTail(auth, mac, hex(V.recvMac));
  assert.equal(toHex(bin), V3_BINARY);
  assert.equal(frameEncoded(bin), V3_ENCODED);
});

test('a full v2 Data Message, built byte for byte (vector data_message_v2)', () => {
  const header = { version: 2 as const, type: 0, senderTag: 0, receiverTag: 0 };
  const enc = aesCtr(hex(V.sendAes), hex('48656c6c6f2066726f6d204f54527632'), hex('0000000000000001'));
  const auth = encodeDataAuthenticated(header, 0, 1, 1, big(V.gx), hex('0000000000000001'), enc);
  const bin = encodeDataTail(auth, hmacSha1(hex(V.sendMac), auth), new Uint8Array(0));
  assert.equal(toHex(bin), V2_BINARY);
  assert.equal(frameEncoded(bin), V2_ENCODED);
});

test('the vector Data Messages decrypt on the receiving side with the key manager', () => {
  // The receiver holds y (their gy) as our_dh[1] and the sender's gx as their key 1.
  for (const [encoded, text, tlvCount] of [
    [V3_ENCODED, 'Hello from OTRv3', 1],
    [V2_ENCODED, 'Hello from OTRv2', 0],
  ] as const) {
    const keys = new DataKeys({ priv: big(V.y), pub: big(V.gy) }, 1, big(V.gx), 1);
    const m = decodeMessage(unframeEncoded(encoded));
    assert.equal(m.kind, 'data');
    if (m.kind !== 'data') continue;
    const d = keys.decrypt(m);
    const p = decodePlaintext(d.plaintext);
    assert.equal(p.text, text);
    assert.equal(p.tlvs.length, tlvCount);
    if (tlvCount) assert.deepEqual(p.tlvs[0], { type: 0, value: Uint8Array.from(Buffer.from('abc')) });
    assert.equal(toHex(d.extraKey), V.extraKey);
    // Replaying the same message is refused by the counter check.
    assert.throws(
      () => keys.decrypt(m),
      (e: unknown) => e instanceof OtrProtocolError,
    );
  }
});

test('opening the D-H commitment (vector ake r / encrypted_gx / hashed_gx)', () => {
  assert.equal(openCommitment(hex(V.r), hex(V.encryptedGx), hex(V.hashedGx)), big(V.gx));
  const wrongHash = hex(V.hashedGx);
  wrongHash[0]! ^= 1;
  assert.throws(() => openCommitment(hex(V.r), hex(V.encryptedGx), wrongHash), code('bad-hash'));
  const wrongR = hex(V.r);
  wrongR[15]! ^= 1;
  assert.throws(() => openCommitment(wrongR, hex(V.encryptedGx), hex(V.hashedGx)), code('bad-hash'));
});

test("Bob's Reveal Signature verifies with c, m1, m2 (vector reveal_signature_B) and tampering is caught", () => {
  const field = hex(
    '000001d2dda2d4ef365711c172dad92804b201fcd2fdd6444568ebf0844019fb65ca4f5f57031936f9a339e08bfd4410905ab86c5d6f73e6c94de6a207f373beff3f7676faee7b1d3be21e630fe42e95db9d4ac559252bff530481301b590e2163b99bde8aa1b07448bf7252588e317b0ba2fc52f85a72a921ba757785b949e5e682341d98800aa180aa0bd01f51180d48260e4358ffae72a97f652f02eb6ae3bc6a25a317d0ca5ed0164a992240baac8e043f848332d22c10a46d12c745dc7b1b0ee37fd14614d4b69d500b8ce562040e3a4bfdd1074e2312d3e3e4c68bd15d70166855d8141f695b21c98c6055a5edb9a233925cf492218342450b806e58b3a821e5d1d2b9c6b9cbcba263908d7190a3428ace92572c064a328f86fa5b8ad2a9c76d5b9dcaeae5327f545b973795f7c655248141c2f82db0a2045e95c1936b726d6474f50283289e92ab5c7297081a54b9e70fce87603506dedd6734bab3c1567ee483cd4bcb0e669d9d97866ca274f178841dafc2acfdcd10cb0e2d07db244ff4b1d23afe253831f142083d912a7164a3425f82c95675298cf3c5eb3e096bbc95e44ecffafbb585738723c0adbe11f16c311a6cddde630b9c304717ce5b09247d482f32709ea71ced16ba930a554f9949c1acbecf',
  );
  const mac = hex('8e6e5ef63a4e8d6aa2cfb1c5fe1831498862f69d');
  const k = deriveAkeKeys(big(V.s));
  const res = verifyEncryptedSignature(k.c, k.m1, k.m2, field, field.subarray(4), mac, big(V.gx), big(V.gy));
  assert.equal(res.keyid, 1);
  assert.equal(res.key.y.toString(16).slice(0, 8), '65af8625');
  // Wrong MAC.
  const badMac = Uint8Array.from(mac);
  badMac[19]! ^= 1;
  assert.throws(
    () => verifyEncryptedSignature(k.c, k.m1, k.m2, field, field.subarray(4), badMac, big(V.gx), big(V.gy)),
    code('bad-mac'),
  );
  // Swapped D-H values change M_B: the signature must fail.
  assert.throws(
    () => verifyEncryptedSignature(k.c, k.m1, k.m2, field, field.subarray(4), mac, big(V.gy), big(V.gx)),
    code('bad-signature'),
  );
  // Using the Signature-message keys (c', m1', m2') fails on the MAC.
  assert.throws(
    () => verifyEncryptedSignature(k.cp, k.m1p, k.m2p, field, field.subarray(4), mac, big(V.gx), big(V.gy)),
    code('bad-mac'),
  );
});
