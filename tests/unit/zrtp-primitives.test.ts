// Known answers for the ZRTP building blocks: CRC-32C (RFC 3720 B.4 and GNU ZRTP C++ packets), the KDF of §4.5.1
// (vectors GNU ZRTP C++ generated, as shipped in bzrtp's test suite), s0's composition, the SAS renderings, the
// hash chain and the message MACs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32c } from '../../src/zrtp/crc32c.js';
import { kdf } from '../../src/zrtp/crypto.js';
import { s0, deriveKeys, secretId } from '../../src/zrtp/keys.js';
import { renderB32, renderB256, renderSas, B32_ALPHABET } from '../../src/zrtp/sas.js';
import { hashChain, messageMac, checkMessageMac, chainsTo } from '../../src/zrtp/hash-chain.js';
import { choose, DEFAULT_ALGORITHMS } from '../../src/zrtp/algorithms.js';
import { parseZrtpHashAttribute } from '../../src/zrtp/sdp.js';
import { ZrtpError } from '../../src/zrtp/errors.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vectors = JSON.parse(readFileSync(new URL('./fixtures/zrtp-zrtpcpp-vectors.json', import.meta.url), 'utf8'));

test('CRC-32C: the RFC 3720 B.4 vectors', () => {
  const inc = new Uint8Array(32).map((_, i) => i);
  const dec = new Uint8Array(32).map((_, i) => 31 - i);
  // RFC 3720 lists the bytes as sent (least significant first): aa 36 91 8a and so on.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(dec), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('CRC-32C over ZRTP packets from GNU ZRTP C++', () => {
  assert.equal(vectors.crc.length, 3);
  // bzrtp keeps the value byte-swapped (its wire order read big-endian): swap it back to compare.
  const swap = (n: number) => (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
  for (const v of vectors.crc)
    assert.equal(
      swap(crc32c(hex(v.input)))
        .toString(16)
        .padStart(8, '0'),
      v.crc,
    );
});

test('KDF (§4.5.1) against the nine GNU ZRTP C++ vectors', () => {
  assert.equal(vectors.kdf.vectors.length, 9);
  for (const v of vectors.kdf.vectors) {
    const out = kdf('S256', hex(vectors.kdf.key), v.label, hex(v.context), v.bytes * 8);
    assert.equal(toHex(out), v.output, v.label);
  }
});

test('KDF is HMAC(KI, 00000001 || label || 00 || context || L) truncated, also for S384', () => {
  const ki = hex('11'.repeat(48));
  const ctx = hex('22'.repeat(72));
  const manual = createHmac('sha384', ki)
    .update(Buffer.concat([hex('00000001'), Buffer.from('SAS'), hex('00'), ctx, hex('00000100')]))
    .digest();
  assert.equal(toHex(kdf('S384', ki, 'SAS', ctx, 256)), manual.subarray(0, 32).toString('hex'));
  assert.throws(() => kdf('S256', ki, 'x', ctx, 260), ZrtpError);
  assert.throws(() => kdf('S256', ki, 'x', ctx, 512), ZrtpError);
});

test('s0 (§4.4.1.4): counter, DHResult, label, ZIDs, total_hash, then three length-prefixed secrets', () => {
  const dh = hex('aa'.repeat(32));
  const zidi = hex('01'.repeat(12));
  const zidr = hex('02'.repeat(12));
  const total = hex('03'.repeat(32));
  const rs1 = hex('04'.repeat(32));
  const manual = (s1: Buffer) =>
    createHash('sha256')
      .update(
        Buffer.concat([
          hex('00000001'),
          dh,
          Buffer.from('ZRTP-HMAC-KDF'),
          zidi,
          zidr,
          total,
          Buffer.from([0, 0, 0, s1.length]),
          s1,
          hex('00000000'),
          hex('00000000'),
        ]),
      )
      .digest('hex');
  assert.equal(toHex(s0('S256', dh, zidi, zidr, total)), manual(Buffer.alloc(0)));
  assert.equal(toHex(s0('S256', dh, zidi, zidr, total, rs1)), manual(Buffer.from(rs1)));
  assert.notEqual(toHex(s0('S256', dh, zidi, zidr, total)), toHex(s0('S256', dh, zidi, zidr, total, rs1)));
});

test('derived keys: labels and lengths of §4.5.3 for AES1 and AES3, KDF_Context = ZIDi || ZIDr || total_hash', () => {
  const s = hex('55'.repeat(32));
  const zidi = hex('01'.repeat(12));
  const zidr = hex('02'.repeat(12));
  const total = hex('03'.repeat(32));
  const ctx = Buffer.concat([zidi, zidr, total]);
  for (const cipher of ['AES1', 'AES3'] as const) {
    const k = deriveKeys(
      { hash: 'S256', cipher, authTag: 'HS80', keyAgreement: 'EC25', sas: 'B32' },
      s,
      zidi,
      zidr,
      total,
    );
    const n = cipher === 'AES1' ? 16 : 32;
    assert.equal(toHex(k.kdfContext), ctx.toString('hex'));
    assert.equal(k.srtpKeyI.length, n);
    assert.equal(k.srtpSaltI.length, 14);
    assert.equal(k.zrtpKeyR.length, n);
    assert.equal(k.macKeyI.length, 32);
    assert.equal(toHex(k.srtpKeyR), toHex(kdf('S256', s, 'Responder SRTP master key', ctx, n * 8)));
    assert.equal(toHex(k.srtpSaltI), toHex(kdf('S256', s, 'Initiator SRTP master salt', ctx, 112)));
    assert.equal(toHex(k.newRs1), toHex(kdf('S256', s, 'retained secret', ctx, 256)));
    assert.equal(toHex(k.sashash), toHex(kdf('S256', s, 'SAS', ctx, 256)));
    assert.notEqual(toHex(k.srtpKeyI), toHex(k.srtpKeyR));
  }
});

test('SAS B32: leftmost 20 bits, five at a time, in the z-base-32 alphabet', () => {
  assert.equal(B32_ALPHABET, 'ybndrfg8ejkmcpqxot1uwisza345h769');
  assert.equal(renderB32(0), 'yyyy');
  assert.equal(renderB32(0xffffffff), '9999');
  // 0b00001 00010 00011 00100 ... -> indices 1, 2, 3, 4
  const v = (1 << 27) | (2 << 22) | (3 << 17) | (4 << 12) | 0xfff;
  assert.equal(renderB32(v), 'bndr');
  // The low 12 bits never show.
  assert.equal(renderB32(v & ~0xfff), 'bndr');
  const sashash = hex('08864000' + '00'.repeat(28));
  assert.equal(renderSas(sashash, 'B32').sas, 'bndr');
});

test('SAS B256: the leftmost two bytes as an even then an odd PGP word', () => {
  assert.equal(renderB256(0x00000000), 'aardvark adroitness');
  assert.equal(renderB256(0xffff0000), 'Zulu Yucatan');
  assert.equal(renderB256(0xe58200ff), 'topmost Istanbul');
  const r = renderSas(hex('e582' + '00'.repeat(30)), 'B256');
  assert.equal(r.sas, 'topmost Istanbul');
  assert.equal(r.b32.length, 4);
});

test('hash chain H0..H3 and the MACs it keys (Hello with H2, Commit with H1, DHPart with H0)', () => {
  const h0 = hex('00'.repeat(32));
  const c = hashChain(h0);
  const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
  assert.equal(toHex(c.h1), toHex(sha(h0)));
  assert.equal(toHex(c.h3), toHex(sha(sha(sha(h0)))));
  assert.ok(chainsTo(c.h0, c.h3, 3));
  assert.ok(chainsTo(c.h2, c.h3, 1));
  assert.ok(!chainsTo(c.h1, c.h3, 1));
  const msg = new TextEncoder().encode('a message, preamble to just before the MAC');
  const mac = messageMac(c.h2, msg);
  assert.equal(toHex(mac), createHmac('sha256', c.h2).update(msg).digest('hex').slice(0, 16));
  const withMac = new Uint8Array([...msg, ...mac]);
  assert.ok(checkMessageMac(c.h2, withMac));
  assert.ok(!checkMessageMac(c.h1, withMac));
  withMac[3]! ^= 1;
  assert.ok(!checkMessageMac(c.h2, withMac));
});

test('shared secret IDs (§4.3.1): HMAC(rs, "Initiator"/"Responder"), 64 bits, negotiated hash', () => {
  const rs = hex('77'.repeat(32));
  assert.equal(
    toHex(secretId('S256', rs, 'Initiator')),
    createHmac('sha256', rs).update('Initiator').digest('hex').slice(0, 16),
  );
  assert.equal(
    toHex(secretId('S384', rs, 'Responder')),
    createHmac('sha384', rs).update('Responder').digest('hex').slice(0, 16),
  );
});

test('algorithm choice (§4.1.2) against the Hellos of linphonec (bzrtp) and Blink (ZRTPCPP)', () => {
  const bzrtp = {
    hash: ['S256'],
    cipher: ['AES1', 'AES3'],
    authTag: ['HS80', 'HS32'],
    keyAgreement: ['DH3k', 'Mult'],
    sas: ['B32'],
  };
  const zrtpcpp = {
    hash: ['S384', 'S256'],
    cipher: ['2FS3', 'AES3', '2FS1', 'AES1'],
    authTag: ['SK32', 'SK64', 'HS32', 'HS80'],
    keyAgreement: ['EC25', 'DH3k', 'EC38', 'DH2k', 'Mult'],
    sas: ['B32'],
  };
  const a = choose(DEFAULT_ALGORITHMS, bzrtp as never);
  assert.deepEqual('chosen' in a && a.chosen, {
    hash: 'S256',
    cipher: 'AES1',
    authTag: 'HS80',
    keyAgreement: 'DH3k',
    sas: 'B32',
  });
  const b = choose(DEFAULT_ALGORITHMS, zrtpcpp as never);
  assert.deepEqual('chosen' in b && b.chosen, {
    hash: 'S384',
    cipher: 'AES3',
    authTag: 'HS32',
    keyAgreement: 'EC25',
    sas: 'B32',
  });
  // First choices differ in key agreement: the faster one (EC25) for both sides, whoever computes it.
  const dhFirst = { ...DEFAULT_ALGORITHMS, keyAgreement: ['DH3k', 'EC25'] as const };
  const x = choose(DEFAULT_ALGORITHMS, dhFirst as never);
  const y = choose(dhFirst as never, DEFAULT_ALGORITHMS);
  assert.equal('chosen' in x && x.chosen.keyAgreement, 'EC25');
  assert.equal('chosen' in y && y.chosen.keyAgreement, 'EC25');
  // An empty list still meets the mandatory algorithms.
  const bare = choose(DEFAULT_ALGORITHMS, { hash: [], cipher: [], authTag: [], keyAgreement: [], sas: [] });
  assert.deepEqual('chosen' in bare && bare.chosen, {
    hash: 'S256',
    cipher: 'AES1',
    authTag: 'HS32',
    keyAgreement: 'DH3k',
    sas: 'B32',
  });
  // We offer no hash the peer could need beyond the mandatory one: nothing in common is reported.
  const none = choose({ ...DEFAULT_ALGORITHMS, hash: ['S384'] }, { ...bzrtp, hash: ['S256'] } as never);
  assert.deepEqual(none, { missing: 'hash' });
});

test('a=zrtp-hash parsing', () => {
  const h = 'ab'.repeat(32);
  assert.deepEqual(parseZrtpHashAttribute(`a=zrtp-hash:1.10 ${h.toUpperCase()}`), { version: '1.10', hash: h });
  assert.throws(() => parseZrtpHashAttribute('1.10 abc'), ZrtpError);
});
