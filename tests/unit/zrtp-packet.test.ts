// The packet layer alone: every message type built and parsed back, the framing, and random input that must only
// ever produce ZrtpError (never another exception, never a read past the buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildConfirmBody,
  buildMessage,
  framePacket,
  looksLikeZrtp,
  parseConfirmBody,
  parseMessage,
  parsePacket,
  type Message,
} from '../../src/zrtp/packet.js';
import { crc32c } from '../../src/zrtp/crc32c.js';
import { ZrtpError } from '../../src/zrtp/errors.js';
import { seededRandom, unit } from '../helpers/zrtp-link.js';

const b = (n: number, v: number) => new Uint8Array(n).fill(v);

const samples: Message[] = [
  {
    type: 'Hello',
    version: '1.10',
    clientId: 'blink-tui       ',
    h3: b(32, 3),
    zid: b(12, 9),
    signature: false,
    mitm: true,
    passive: true,
    hash: ['S256', 'S384'],
    cipher: ['AES1'],
    authTag: ['HS32', 'HS80'],
    keyAgreement: ['EC25', 'DH3k', 'Mult'],
    sas: ['B32', 'B256'],
    mac: b(8, 0),
  },
  { type: 'HelloACK' },
  {
    type: 'Commit',
    h2: b(32, 2),
    zid: b(12, 9),
    hash: 'S384',
    cipher: 'AES3',
    authTag: 'HS80',
    keyAgreement: 'DH3k',
    sas: 'B256',
    hvi: b(32, 7),
    mac: b(8, 0),
  },
  {
    type: 'Commit',
    h2: b(32, 2),
    zid: b(12, 9),
    hash: 'S256',
    cipher: 'AES1',
    authTag: 'HS32',
    keyAgreement: 'Mult',
    sas: 'B32',
    nonce: b(16, 5),
    mac: b(8, 0),
  },
  {
    type: 'DHPart1',
    h1: b(32, 1),
    rs1Id: b(8, 1),
    rs2Id: b(8, 2),
    auxId: b(8, 3),
    pbxId: b(8, 4),
    pv: b(64, 0x44),
    mac: b(8, 0),
  },
  {
    type: 'DHPart2',
    h1: b(32, 1),
    rs1Id: b(8, 1),
    rs2Id: b(8, 2),
    auxId: b(8, 3),
    pbxId: b(8, 4),
    pv: b(384, 0x55),
    mac: b(8, 0),
  },
  { type: 'Confirm1', confirmMac: b(8, 1), iv: b(16, 2), encrypted: b(40, 3) },
  { type: 'Confirm2', confirmMac: b(8, 1), iv: b(16, 2), encrypted: b(40, 3) },
  { type: 'Conf2ACK' },
  { type: 'Error', code: 0x62 },
  { type: 'ErrorACK' },
  { type: 'GoClear', clearMac: b(8, 6) },
  { type: 'ClearACK' },
  { type: 'RelayACK' },
  { type: 'Ping', version: '1.10', endpointHash: b(8, 8) },
  { type: 'PingACK', version: '1.10', senderHash: b(8, 1), receivedHash: b(8, 2), ssrc: 0xdeadbeef },
];

test('every message type round-trips through build and parse, inside a framed packet', () => {
  for (const m of samples) {
    const raw = buildMessage(m, () => b(8, 0xee));
    assert.equal(raw.length % 4, 0);
    assert.equal(new DataView(raw.buffer).getUint16(2) * 4, raw.length, `${m.type} length field`);
    const p = framePacket(raw, 0x1234, 0xcafebabe);
    assert.ok(looksLikeZrtp(p));
    const back = parsePacket(p);
    assert.equal(back.sequence, 0x1234);
    assert.equal(back.ssrc, 0xcafebabe);
    assert.deepEqual(back.raw, raw);
    const expect = { ...m } as Record<string, unknown>;
    if ('mac' in expect) expect['mac'] = b(8, 0xee);
    if (m.type === 'Hello') expect['clientId'] = 'blink-tui       ';
    assert.deepEqual(back.message, expect, m.type);
  }
  // Fixed sizes of §5: Hello 22 words + algorithms, Commit (DH) 29, DHPart 21 + pv, Confirm 19, ACKs 3, Error 4.
  const words = (m: Message) => buildMessage(m).length / 4;
  assert.equal(words(samples[0]!), 22 + 10);
  assert.equal(words(samples[2]!), 29);
  assert.equal(words(samples[3]!), 25);
  assert.equal(words(samples[4]!), 21 + 16);
  assert.equal(words(samples[5]!), 21 + 96);
  assert.equal(words(samples[6]!), 19);
  assert.equal(words(samples[1]!), 3);
  assert.equal(words(samples[9]!), 4);
});

test('Confirm body: flags and cache expiration round-trip; a signature length that does not fit is refused', () => {
  const body = {
    h0: b(32, 1),
    enrollment: false,
    verified: true,
    allowClear: false,
    disclosure: true,
    cacheExpiration: 0xffffffff,
  };
  assert.deepEqual(parseConfirmBody(buildConfirmBody(body)), body);
  const bad = buildConfirmBody(body);
  bad[34] = 1; // claims a signature of 4 words
  assert.throws(
    () => parseConfirmBody(bad),
    (e: unknown) => e instanceof ZrtpError && e.code === 'bad-length',
  );
  assert.throws(
    () => parseConfirmBody(b(39, 0)),
    (e: unknown) => e instanceof ZrtpError && e.code === 'truncated',
  );
});

test('message-level refusals: preamble, length field, algorithm counts, wrong fixed lengths', () => {
  const hello = buildMessage(samples[0]!);
  const code = (f: () => unknown) => {
    try {
      f();
      return 'parsed';
    } catch (e) {
      assert.ok(e instanceof ZrtpError, String(e));
      return e.code;
    }
  };
  const edit = (m: Uint8Array, f: (x: Uint8Array) => void) => {
    const c = m.slice();
    f(c);
    return c;
  };
  assert.equal(
    code(() => parseMessage(edit(hello, (x) => (x[0] = 0)))),
    'bad-header',
  );
  assert.equal(
    code(() => parseMessage(edit(hello, (x) => (x[3] = x[3]! + 1)))),
    'oversized',
  );
  assert.equal(
    code(() => parseMessage(edit(hello, (x) => (x[3] = x[3]! - 1)))),
    'bad-length',
  );
  assert.equal(
    code(() => parseMessage(edit(hello, (x) => (x[79] = 0x88)))),
    'bad-value',
  );
  assert.equal(
    code(() => parseMessage(hello.subarray(0, 11))),
    'truncated',
  );
  const ack = buildMessage({ type: 'HelloACK' });
  const longAck = new Uint8Array(16);
  longAck.set(ack);
  longAck[3] = 4;
  assert.equal(
    code(() => parseMessage(longAck)),
    'bad-length',
  );
  assert.equal(
    code(() => parseMessage(edit(ack, (x) => x.set(Buffer.from('Hallo   '), 4)))),
    'bad-type',
  );
});

test('random input: 20000 framed packets with valid CRCs and random bodies only ever give ZrtpError', () => {
  const rand = seededRandom('packet-fuzz');
  const types = [
    'Hello   ',
    'Commit  ',
    'DHPart1 ',
    'Confirm1',
    'Error   ',
    'Ping    ',
    'PingACK ',
    'GoClear ',
    'SASrelay',
  ];
  let parsed = 0;
  for (let i = 0; i < 20000; i++) {
    const words = 3 + Math.floor(unit(rand) * 60);
    const msg = rand(words * 4);
    msg[0] = 0x50;
    msg[1] = 0x5a;
    // Mostly honest length fields, sometimes not.
    const lie = unit(rand) < 0.2;
    new DataView(msg.buffer).setUint16(2, lie ? Math.floor(unit(rand) * 0xffff) : words);
    if (unit(rand) < 0.9) msg.set(Buffer.from(types[Math.floor(unit(rand) * types.length)]!), 4);
    const p = framePacket(msg, i, 1);
    try {
      parsePacket(p);
      parsed++;
    } catch (e) {
      assert.ok(e instanceof ZrtpError, `${e}`);
    }
    // And raw random bytes that are not even framed.
    const junk = rand(Math.floor(unit(rand) * 80));
    try {
      parsePacket(junk);
    } catch (e) {
      assert.ok(e instanceof ZrtpError, `${e}`);
    }
  }
  assert.ok(parsed > 100, `${parsed} random packets happened to be well-formed`);
  // A fragment (bzrtp's 0x11 first byte) is not read, even with a valid CRC: dropped as foreign.
  const frag = framePacket(buildMessage({ type: 'HelloACK' }), 1, 1);
  frag[0] = 0x11;
  new DataView(frag.buffer).setUint32(frag.length - 4, crc32c(frag.subarray(0, frag.length - 4)), true);
  assert.ok(looksLikeZrtp(frag));
  assert.throws(
    () => parsePacket(frag),
    (e: unknown) => e instanceof ZrtpError && e.code === 'bad-header',
  );
  // The CRC covers the header too: a changed sequence number is caught.
  const p = framePacket(buildMessage({ type: 'HelloACK' }), 1, 1);
  p[3] = 2;
  assert.throws(
    () => parsePacket(p),
    (e: unknown) => e instanceof ZrtpError && e.code === 'bad-crc',
  );
  assert.equal(crc32c(new Uint8Array(0)), 0);
});
