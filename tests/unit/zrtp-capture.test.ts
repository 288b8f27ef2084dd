// One real ZRTP exchange between two linphonec (bzrtp) instances, captured on loopback (fixture: see its `what`).
// Our parser must read every packet and its CRC, and the hash chain and message MACs must check the way our engine
// checks them: an independent implementation's bytes against our reading of RFC 6189.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePacket, type Commit, type DHPart, type Hello, type Packet } from '../../src/zrtp/packet.js';
import { chainsTo, checkMessageMac } from '../../src/zrtp/hash-chain.js';
import { hvi } from '../../src/zrtp/keys.js';
import { sha256 } from '../../src/zrtp/crypto.js';
import { choose, DEFAULT_ALGORITHMS } from '../../src/zrtp/algorithms.js';
import { ZrtpError } from '../../src/zrtp/errors.js';

const cap = JSON.parse(readFileSync(new URL('./fixtures/zrtp-linphonec-capture.json', import.meta.url), 'utf8'));
const packets: { from: number; p: Packet; bytes: Uint8Array }[] = cap.packets.map(
  (x: { from: number; hex: string }) => {
    const bytes = new Uint8Array(Buffer.from(x.hex, 'hex'));
    return { from: x.from, p: parsePacket(bytes), bytes };
  },
);
const of = <T>(from: number, type: string) => packets.find((x) => x.from === from && x.p.message.type === type);

test('every captured packet parses, CRC included, and one byte changed breaks the CRC', () => {
  assert.equal(packets.length, cap.packets.length);
  assert.deepEqual([...new Set(packets.map((x) => x.p.message.type))].sort(), [
    'Commit',
    'Conf2ACK',
    'Confirm1',
    'Confirm2',
    'DHPart1',
    'DHPart2',
    'Hello',
    'HelloACK',
  ]);
  for (const x of packets) {
    const bad = x.bytes.slice();
    bad[13]! ^= 0x40;
    assert.throws(
      () => parsePacket(bad),
      (e: unknown) => e instanceof ZrtpError && e.code === 'bad-crc',
    );
  }
});

test('hash chain and MACs of both sides check; hvi is hash(DHPart2 || responder Hello); the lower hvi yielded', () => {
  // Both sent Commit (contention); the one that sent DHPart1 yielded.
  const responder = of(cap.caller, 'DHPart1') ? cap.caller : cap.callee;
  const initiator = responder === cap.caller ? cap.callee : cap.caller;
  const helloI = of(initiator, 'Hello')!;
  const helloR = of(responder, 'Hello')!;
  const commitI = of(initiator, 'Commit')!;
  const commitR = of(responder, 'Commit')!;
  const dh1 = of(responder, 'DHPart1')!;
  const dh2 = of(initiator, 'DHPart2')!;
  const hI = helloI.p.message as Hello;
  const hR = helloR.p.message as Hello;
  const cI = commitI.p.message as Commit;
  const cR = commitR.p.message as Commit;
  const d1 = dh1.p.message as DHPart;
  const d2 = dh2.p.message as DHPart;
  // Initiator: H2 (Commit) -> H3 (Hello), Hello MAC keyed by H2; H1 (DHPart2) -> H2, Commit MAC keyed by H1.
  assert.ok(chainsTo(cI.h2, hI.h3, 1));
  assert.ok(checkMessageMac(cI.h2, helloI.p.raw));
  assert.ok(chainsTo(d2.h1, cI.h2, 1));
  assert.ok(checkMessageMac(d2.h1, commitI.p.raw));
  // Responder: its own Commit reveals H2 too; DHPart1's H1 -> H2 -> H3.
  assert.ok(chainsTo(d1.h1, hR.h3, 2));
  assert.ok(checkMessageMac(sha256(d1.h1), helloR.p.raw));
  assert.ok(checkMessageMac(d1.h1, commitR.p.raw));
  // A wrong key fails.
  assert.ok(!checkMessageMac(d1.h1, helloR.p.raw));
  // hvi of the winning Commit covers the DHPart2 that followed and the responder's Hello.
  assert.deepEqual(hvi('S256', dh2.p.raw, helloR.p.raw), cI.hvi);
  assert.ok(Buffer.compare(Buffer.from(cI.hvi!), Buffer.from(cR.hvi!)) > 0, 'the initiator had the higher hvi');
  // Both Hellos of one side are the same bytes (a retransmission), and SSRCs stay per side.
  for (const side of [initiator, responder]) {
    const hellos = packets.filter((x) => x.from === side && x.p.message.type === 'Hello');
    for (const h of hellos) assert.deepEqual(h.p.raw, hellos[0]!.p.raw);
    assert.equal(new Set(packets.filter((x) => x.from === side).map((x) => x.p.ssrc)).size, 1);
  }
  // What bzrtp chose is what our own choice rule gives against its Hello.
  const mine = choose(DEFAULT_ALGORITHMS, hR as never);
  assert.ok('chosen' in mine);
  assert.deepEqual([cI.hash, cI.cipher, cI.authTag, cI.keyAgreement, cI.sas], Object.values(mine.chosen));
});
