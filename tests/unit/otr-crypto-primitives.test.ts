import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha1, sha256, hmacSha1, hmacSha256, aes128Ctr } from '../../src/otr/crypto/primitives.js';

// Known answers: FIPS 180 / RFC 2202 / RFC 4231, and shared/reference/otr3-test-vectors.json ("ake",
// "data_session_keys", "aes_ctr_data_plaintext", "data_message_v3"), inlined.
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const AKE = {
  r: 'abcdabcdabcdabcdabcdabcdabcdabcd',
  gxmpi:
    '000000c0075dfab5a1eab059052d0ad881c4938d52669630d61833a367155d67d03a457f619683d0fa829781e974fd24f6865e8128a9312a167b77326a87dea032fc31784d05b18b9cbafebe162ae9b5369f8b0c5911cf1be757f45f2a674be5126a714a6366c28086b3c7088911dcc4e5fb1481ad70a5237b8e4a6aff4954c2ca6df338b9f08691e4c0defe12689b37d4df30ddef2687f789fcf623c5d0cf6f09b7e5e69f481d5fd1b24a77636fb676e6d733d129eb93e81189340233044766a36eb07d',
  hashedGx: 'a3f2c4b9e3a7d1f565157ae7b0e71c721d59d3c79d39e5e4e8d08cb8464ff857',
  encryptedGx:
    '5dd6a5999be73a99b80bdb78194a125f3067bd79e69c648b76a068117a8c4d0f36f275305423a933541937145d85ab4618094cbafbe4db0c0081614c1ff0f516c3dc4f352e9c92f88e4883166f12324d82240a8f32874c3d6bc35acedb8d501aa0111937a4859f33aa9b43ec342d78c3a45a5939c1e58e6b4f02725c1922f3df8754d1e1ab7648f558e9043ad118e63603b3ba2d8cbfea99a481835e42e73e6cd6019840f4470b606e168b1cd4a1f401c3dc52525d79fa6b959a80d4e11f1ec3a7984cf9',
};
const CTR = {
  key: '42e258bebf031acf442f52d6ef52d6f1',
  plaintext:
    '77652061726520617765736f6d6500000000ed000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  cases: [
    [
      '0000000000000000',
      '4f0de18011633ed0264ccc1840d64f4cf8f0c91ef78890ab82edef36cb38210bb80760585ff43d736a9ff3e4bb05fc088fa34c2f21012988d539ebc839e9bc97633f4c42de15ea5c3c55a2b9940ca35015ded14205b9df78f936cb1521aedbea98df7dc03c116570ba8d034abc8e2d23185d2ce225845f38c08cb2aae192d66d601c1bc86149c98e8874705ae365b31cda76d274429de5e07b93f0ff29152716980a63c31b7bda150b222ba1d373f786d5f59f580d4f690a71d7fc620e0a3b05d692221ddeebac98d6ed16272e7c4596de27fb104ad747aa9a3ad9d3bc4f988af0beb21760df06047e267af0109baceb0f363bcaff7b205f2c42b3cb67a942f2',
    ],
    [
      '0001020304050607',
      '2dccced4937a337e01bc2ed969b4f60d3ab0a4844aef0a02ebc5c6f09f71a7819687cdbcf2a912be1e8ceda086d188ce3e0bbfecaa77a050a5ed9f98f0c6590579e4d1fb9f753102955dcfc5535af3906ff7d62490362e6e89e28c3b41081f2ce3e8c2ea154a582ff7a1449e7ad8abf295b5e3f8fb80e9b6482fc3bae869ccdb9144f0242604ddee924f388c308c6ce123b5ae22a93ac7c315b13019d474134dd9fd15334fade1b6737b11f79a3cfeed8dd18d72739436ebb560ecdca71a9a67c7b97c2526119a4b1323a6de7c70dffaf7229d798aaea4a692410a139249305d3059685b6ecd0760323ea16db9e02497f5657d1a5d82e09df0088e572b5d0bd7',
    ],
  ],
};
const DATA_V3 = {
  macKey: 'a45e2b122f58bbe2042f73f092329ad9b5dfe23e',
  macd: '0003035a73a59927e31597000000000100000001000000c0075dfab5a1eab059052d0ad881c4938d52669630d61833a367155d67d03a457f619683d0fa829781e974fd24f6865e8128a9312a167b77326a87dea032fc31784d05b18b9cbafebe162ae9b5369f8b0c5911cf1be757f45f2a674be5126a714a6366c28086b3c7088911dcc4e5fb1481ad70a5237b8e4a6aff4954c2ca6df338b9f08691e4c0defe12689b37d4df30ddef2687f789fcf623c5d0cf6f09b7e5e69f481d5fd1b24a77636fb676e6d733d129eb93e81189340233044766a36eb07d00000000000000010000001896a3503fd32b3cf0db9d3721e4f1d8e5da242675df77a1a7',
  authenticator: '4fe2b629fbbd4ab72a784258020f4dff978db7d5',
  aesKey: '42e258bebf031acf442f52d6ef52d6f1',
  topHalf: '0000000000000001',
  plaintext: '48656c6c6f2066726f6d204f545276330000000003616263',
  encrypted: '96a3503fd32b3cf0db9d3721e4f1d8e5da242675df77a1a7',
  sendingMac: 'a45e2b122f58bbe2042f73f092329ad9b5dfe23e',
};

test('sha1 / sha256: FIPS 180 "abc" and empty-string vectors', () => {
  assert.equal(toHex(sha1(ascii('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(toHex(sha1(new Uint8Array(0))), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  assert.equal(toHex(sha256(ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('hmacSha1: RFC 2202 cases 1 and 2', () => {
  assert.equal(
    toHex(hmacSha1(new Uint8Array(20).fill(0x0b), ascii('Hi There'))),
    'b617318655057264e28bc0b6fb378c8ef146be00',
  );
  assert.equal(
    toHex(hmacSha1(ascii('Jefe'), ascii('what do ya want for nothing?'))),
    'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
  );
});

test('hmacSha256: RFC 4231 cases 1 and 2', () => {
  assert.equal(
    toHex(hmacSha256(new Uint8Array(20).fill(0x0b), ascii('Hi There'))),
    'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  );
  assert.equal(
    toHex(hmacSha256(ascii('Jefe'), ascii('what do ya want for nothing?'))),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test('OTR vectors: hashed and encrypted g^x of the AKE (AES128-CTR, counter 0)', () => {
  assert.equal(toHex(sha256(hex(AKE.gxmpi))), AKE.hashedGx);
  assert.equal(toHex(aes128Ctr(hex(AKE.r), new Uint8Array(8), hex(AKE.gxmpi))), AKE.encryptedGx);
  assert.equal(toHex(aes128Ctr(hex(AKE.r), new Uint8Array(8), hex(AKE.encryptedGx))), AKE.gxmpi);
});

test('OTR vectors: data-message AES128-CTR with the counter top half', () => {
  for (const [top, ct] of CTR.cases as [string, string][]) {
    assert.equal(toHex(aes128Ctr(hex(CTR.key), hex(top), hex(CTR.plaintext))), ct);
    assert.equal(toHex(aes128Ctr(hex(CTR.key), hex(top), hex(ct))), CTR.plaintext);
  }
  assert.equal(toHex(aes128Ctr(hex(DATA_V3.aesKey), hex(DATA_V3.topHalf), hex(DATA_V3.plaintext))), DATA_V3.encrypted);
  assert.equal(toHex(sha1(hex(DATA_V3.aesKey))), DATA_V3.sendingMac);
});

test('OTR vectors: v3 data message authenticator = HMAC-SHA1 over version..encrypted DATA', () => {
  assert.equal(toHex(hmacSha1(hex(DATA_V3.macKey), hex(DATA_V3.macd))), DATA_V3.authenticator);
});

test('aes128Ctr: argument checks; counter carries across the 8-byte halves', () => {
  assert.throws(() => aes128Ctr(new Uint8Array(15), new Uint8Array(8), new Uint8Array(1)), RangeError);
  assert.throws(() => aes128Ctr(new Uint8Array(16), new Uint8Array(16), new Uint8Array(1)), RangeError);
  assert.equal(aes128Ctr(new Uint8Array(16), new Uint8Array(8), new Uint8Array(0)).length, 0);
  // 33 bytes span three counter blocks; encrypting the pieces with the right counters gives the same stream.
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const whole = aes128Ctr(key, hex('0000000000000001'), new Uint8Array(48));
  assert.equal(whole.length, 48);
  assert.notDeepEqual(whole.subarray(0, 16), whole.subarray(16, 32));
});

test('OpenSSL and @noble primitives give the same bytes (random keys, lengths 0..4096, counter wrap)', async () => {
  const { noble, openssl } = await import('../../src/otr/crypto/primitives.js');
  const { randomBytes } = await import('node:crypto');
  for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 4096]) {
    const key = randomBytes(16);
    const data = randomBytes(len);
    const iv = new Uint8Array(16);
    iv.set(randomBytes(8), 0);
    assert.deepEqual(openssl.aes128Ctr(key, iv, data), noble.aes128Ctr(key, iv, data));
    assert.deepEqual(openssl.sha1(data), noble.sha1(data));
    assert.deepEqual(openssl.sha256(data), noble.sha256(data));
    const mk = randomBytes(len % 70);
    assert.deepEqual(openssl.hmacSha1(mk, data), noble.hmacSha1(mk, data));
    assert.deepEqual(openssl.hmacSha256(mk, data), noble.hmacSha256(mk, data));
  }
  // The low counter half runs over from 0xff..ff into the top half the same way in both.
  const key = randomBytes(16);
  const iv = new Uint8Array(16).fill(0xff);
  const data = randomBytes(100);
  assert.deepEqual(openssl.aes128Ctr(key, iv, data), noble.aes128Ctr(key, iv, data));
});

test('keyed AES-CTR and HMAC-SHA1 (the data-message path) give the one-shot bytes, in both implementations', async () => {
  const { keyedImpls } = await import('../../src/otr/crypto/primitives.js');
  const { randomBytes, createHmac } = await import('node:crypto');
  for (const kind of ['openssl', 'noble'] as const) {
    const key = randomBytes(16);
    const c = keyedImpls[kind].ctr(key);
    // Lengths around block and 64 KiB chunk edges; > 64 KiB runs several ECB calls with other block indices,
    // and the next short message must start again at block 0.
    for (const len of [0, 1, 15, 16, 17, 1000, 1024, 65535, 65536, 65537, 200_000, 5, 70_000, 33]) {
      const top = randomBytes(8);
      const data = randomBytes(len);
      const want = aes128Ctr(key, top, data);
      const out = new Uint8Array(len + 3);
      c.apply(top, data, out, 3); // an unaligned destination takes the byte-wise XOR
      assert.deepEqual(out.subarray(3), want, `${kind} ctr len ${len}`);
      const inPlace = new Uint8Array(data);
      c.apply(top, inPlace, inPlace);
      assert.deepEqual(inPlace, want, `${kind} ctr in place len ${len}`);
    }
    assert.throws(() => c.apply(new Uint8Array(7), new Uint8Array(1), new Uint8Array(1)), RangeError);
    assert.throws(() => c.apply(new Uint8Array(8), new Uint8Array(4), new Uint8Array(4), 1), RangeError);
    for (const klen of [0, 1, 20, 63, 64, 65, 100]) {
      const mk = randomBytes(klen);
      const m = keyedImpls[kind].hmacSha1(mk);
      for (const len of [0, 1, 55, 56, 64, 1300, 65536, 65537, 100_000]) {
        const data = randomBytes(len);
        assert.deepEqual(
          Buffer.from(m.mac(data)),
          createHmac('sha1', mk).update(data).digest(),
          `${kind} hmac key ${klen} len ${len}`,
        );
      }
    }
  }
  assert.throws(() => keyedImpls.openssl.ctr(new Uint8Array(15)));
});
