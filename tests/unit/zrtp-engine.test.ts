// Two ZRTP engines in one process over an in-memory link on a fake clock (tests/helpers/zrtp-link.ts): contention,
// loss, reordering, duplication, the retained-secret cache across runs, and hostile packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, runLink, secureOf, seededRandom, unit, type Side } from '../helpers/zrtp-link.js';
import { MemoryZidCache, ZrtpEngine, parsePacket, type ZrtpEvent } from '../../src/zrtp/index.js';
import { crc32c } from '../../src/zrtp/crc32c.js';
import { DEFAULT_ALGORITHMS } from '../../src/zrtp/algorithms.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const types = (s: Side) => s.events.map((e) => (e.type === 'send' ? e.message : e.type));
const failedOf = (s: Side) => s.events.find((e): e is Extract<ZrtpEvent, { type: 'failed' }> => e.type === 'failed');
const sentTypes = (s: Side) => s.events.flatMap((e) => (e.type === 'send' ? [e.message] : []));

/** Re-frames a packet after `edit` changed its message bytes, with a valid CRC (what an active attacker sends). */
function edit(packet: Uint8Array, f: (message: Uint8Array) => void): Uint8Array {
  const p = packet.slice();
  f(p.subarray(12, p.length - 4));
  new DataView(p.buffer).setUint32(p.length - 4, crc32c(p.subarray(0, p.length - 4)), true);
  return p;
}
const typeOf = (packet: Uint8Array) => Buffer.from(packet.subarray(16, 24)).toString().trim();

function assertPairSecure(r: ReturnType<typeof runLink>) {
  const a = secureOf(r.a);
  const b = secureOf(r.b);
  assert.ok(a && b, `both secure (a: ${types(r.a).join(',')}; b: ${types(r.b).join(',')})`);
  assert.equal(a.sas, b.sas);
  assert.match(a.sas, /^[ybndrfg8ejkmcpqxot1uwisza345h769]{4}$/);
  assert.equal(hex(a.srtp.local.masterKey), hex(b.srtp.remote.masterKey));
  assert.equal(hex(a.srtp.local.masterSalt), hex(b.srtp.remote.masterSalt));
  assert.equal(hex(a.srtp.remote.masterKey), hex(b.srtp.local.masterKey));
  assert.notEqual(hex(a.srtp.local.masterKey), hex(a.srtp.remote.masterKey));
  assert.equal(a.srtp.local.masterSalt.length, 14);
  assert.deepEqual([a.role, b.role].sort(), ['initiator', 'responder']);
  assert.equal(a.cipher, b.cipher);
  assert.equal(a.srtpProfile, b.srtpProfile);
  return { a, b };
}

test('two engines: equal SAS, SRTP keys crosswise, EC25/S256/AES1 by default', () => {
  const r = runLink(makeEngine('a'), makeEngine('b'));
  const { a } = assertPairSecure(r);
  assert.equal(a.keyAgreement, 'EC25');
  assert.equal(a.hash, 'S256');
  assert.equal(a.srtp.local.masterKey.length, 16);
  assert.equal(a.cache, 'new');
  assert.equal(a.verified, false);
});

test('the same seeds give the same transcript (injected randomness and clock)', () => {
  const one = runLink(makeEngine('a', {}, 's1'), makeEngine('b', {}, 's1'));
  const two = runLink(makeEngine('a', {}, 's1'), makeEngine('b', {}, 's1'));
  assert.deepEqual(one.a.sent.map(hex), two.a.sent.map(hex));
  assert.equal(secureOf(one.a)!.sas, secureOf(two.a)!.sas);
});

test('Commit contention (§4.2): both commit at once, exactly one yields, every time, DH3k and EC25 preferences mixed', () => {
  let contention = 0;
  for (let i = 0; i < 40; i++) {
    const rand = seededRandom(`contention/${i}`);
    const prefs = [
      DEFAULT_ALGORITHMS,
      { ...DEFAULT_ALGORITHMS, keyAgreement: ['DH3k', 'EC25'] as const },
      { ...DEFAULT_ALGORITHMS, keyAgreement: ['DH3k'] as const, cipher: ['AES3', 'AES1'] as const },
      { ...DEFAULT_ALGORITHMS, hash: ['S384', 'S256'] as const, authTag: ['HS80'] as const },
    ];
    const pa = prefs[Math.floor(unit(rand) * prefs.length)]!;
    const pb = prefs[Math.floor(unit(rand) * prefs.length)]!;
    const a = makeEngine('a', { algorithms: pa as never }, `c${i}`);
    const b = makeEngine('b', { algorithms: pb as never }, `c${i}`);
    const r = runLink(a, b, { delay: 1 + unit(rand) * 3, seed: `c${i}` });
    const { a: sa } = assertPairSecure(r);
    const commits = sentTypes(r.a).includes('Commit') && sentTypes(r.b).includes('Commit');
    if (commits) {
      contention++;
      // The yielding side stopped sending Commit and answered with DHPart1; the other never sent DHPart1.
      const yielded = [r.a, r.b].filter((s) => sentTypes(s).includes('DHPart1'));
      assert.equal(yielded.length, 1);
    }
    if (pa.keyAgreement[0] === 'DH3k' && pa.keyAgreement.length === 1) assert.equal(sa.keyAgreement, 'DH3k');
  }
  assert.ok(contention >= 30, `contention happened in ${contention} of 40 runs`);
});

test('one-sided: a passive peer never commits, the other becomes initiator', () => {
  const r = runLink(makeEngine('a'), makeEngine('b', { passive: true }));
  const { a } = assertPairSecure(r);
  assert.equal(a.role, 'initiator');
  assert.ok(!sentTypes(r.b).includes('Commit'));
});

test('loss, duplication and reordering: retransmission timers on the fake clock bring both sides to the same SAS', () => {
  for (let i = 0; i < 30; i++) {
    const r = runLink(makeEngine('a', {}, `l${i}`), makeEngine('b', {}, `l${i}`), {
      loss: 0.25,
      duplicate: 0.2,
      jitter: 40,
      seed: `lossy/${i}`,
    });
    assertPairSecure(r);
  }
});

test('every packet we send, retransmissions and repeated answers included, has a higher sequence number', () => {
  // bzrtp drops a packet whose sequence number is not above the last one it accepted.
  let repeats = 0;
  for (let i = 0; i < 10; i++) {
    const r = runLink(makeEngine('a', {}, `q${i}`), makeEngine('b', {}, `q${i}`), {
      loss: 0.3,
      duplicate: 0.3,
      jitter: 30,
      seed: `seq/${i}`,
    });
    assertPairSecure(r);
    for (const side of [r.a, r.b]) {
      const seqs = side.sent.map((p) => parsePacket(p).sequence);
      assert.ok(seqs.length >= 5, `only ${seqs.length} packets sent`);
      for (let k = 1; k < seqs.length; k++) assert.equal(seqs[k], seqs[k - 1]! + 1);
      const types = side.sent.map(typeOf);
      repeats += types.length - new Set(types).size;
    }
  }
  // Messages did go out more than once (retransmissions, repeated answers), each time numbered anew.
  assert.ok(repeats > 20, `${repeats} repeated sends`);
});

test('every packet duplicated (replays of each message): answered from the kept reply, same result', () => {
  const r = runLink(makeEngine('a', {}, 'd'), makeEngine('b', {}, 'd'), { duplicate: 1 });
  assertPairSecure(r);
  assert.ok(r.a.events.concat(r.b.events).some((e) => e.type === 'ignored'));
});

test('a silent peer: Hello is sent 1 + 20 times on T1 (50 ms doubling to 200 ms), then a timeout', () => {
  const a = makeEngine('a');
  const out = [...a.start(0)];
  let t = 0;
  const gaps: number[] = [];
  for (let n = 0; n < 100 && a.nextTimeout() !== undefined; n++) {
    const due = a.nextTimeout()!;
    gaps.push(due - t);
    t = due;
    out.push(...a.tick(t));
  }
  assert.equal(out.filter((e) => e.type === 'send').length, 21);
  assert.deepEqual(gaps.slice(0, 4), [50, 100, 200, 200]);
  const f = out.find((e) => e.type === 'failed');
  assert.ok(f && f.type === 'failed' && f.code === 0xb0 && f.by === 'timeout');
});

test('retained secrets: the second run matches, confirmed SAS makes the third run verified on both sides', () => {
  const ca = new MemoryZidCache();
  const cb = new MemoryZidCache();
  const zidA = seededRandom('zid/a')(12);
  const zidB = seededRandom('zid/b')(12);
  const run = (n: number) => {
    const a = makeEngine('a', { cache: ca, zid: zidA }, `run${n}`);
    const b = makeEngine('b', { cache: cb, zid: zidB, peerIdentity: 'sip:alice@example.com' }, `run${n}`);
    return { a, b, r: runLink(a, b) };
  };
  const first = run(1);
  const s1 = assertPairSecure(first.r);
  assert.equal(s1.a.cache, 'new');
  assert.ok(cb.load(zidA)?.rs1);
  assert.equal(cb.load(zidA)?.peerIdentity, 'sip:alice@example.com');
  assert.equal(cb.load(zidA)?.lastSeen, 1_700_000_000_000);
  const second = run(2);
  const s2 = assertPairSecure(second.r);
  assert.deepEqual([s2.a.cache, s2.b.cache], ['match', 'match']);
  assert.equal(s2.a.verified, false);
  // rs2 is the previous rs1 (§4.6.1).
  assert.ok(ca.load(zidB)?.rs2);
  second.a.setVerified(true);
  second.b.setVerified(true);
  const third = run(3);
  const s3 = assertPairSecure(third.r);
  assert.deepEqual([s3.a.verified, s3.b.verified], [true, true]);
  // Only one side confirmed: neither shows verified (V must come from both, §7.1).
  third.b.setVerified(false);
  const fourth = run(4);
  const s4 = assertPairSecure(fourth.r);
  assert.deepEqual([s4.a.verified, s4.b.verified], [false, false]);
});

test('a changed cache on one side raises the mismatch on both; a lost cache only on the side that kept its secret', () => {
  const ca = new MemoryZidCache();
  const cb = new MemoryZidCache();
  const zidA = seededRandom('zid/a')(12);
  const zidB = seededRandom('zid/b')(12);
  const run = (n: string) => {
    const a = makeEngine('a', { cache: ca, zid: zidA }, n);
    const b = makeEngine('b', { cache: cb, zid: zidB }, n);
    return { a, b, r: runLink(a, b) };
  };
  run('m1');
  const first = run('m2');
  first.a.setVerified(true);
  first.b.setVerified(true);
  // A's secrets for B replaced (a MiTM in the first call, or a restored backup).
  const rec = ca.load(zidB)!;
  ca.save(zidB, { ...rec, rs1: seededRandom('other')(32), rs2: undefined });
  const m = run('m3');
  const s = assertPairSecure(m.r);
  assert.deepEqual([s.a.cache, s.b.cache], ['mismatch', 'mismatch']);
  assert.deepEqual([s.a.verified, s.b.verified], [false, false]);
  // The verified flag fell and the secrets wait for the user's confirmation (§4.6.1.1).
  assert.equal(ca.load(zidB)?.verified, false);
  const kept = hex(cb.load(zidA)!.rs1!);
  m.b.setVerified(true);
  assert.notEqual(hex(cb.load(zidA)!.rs1!), kept, 'confirming lets the new secret in');
  m.a.setVerified(true);
  const after = run('m4');
  assert.deepEqual([secureOf(after.r.a)!.cache, secureOf(after.r.b)!.cache], ['match', 'match']);
  // A forgets B entirely: A sees a new peer, B (which still has a secret) raises the alarm.
  ca.save(zidB, { verified: false, lastSeen: 0 });
  const lost = run('m5');
  assert.deepEqual([secureOf(lost.r.a)!.cache, secureOf(lost.r.b)!.cache], ['new', 'mismatch']);
});

test('a=zrtp-hash: the peer Hello must match the SDP hash (§8.1)', () => {
  const a = makeEngine('a', {}, 'h');
  const b = makeEngine('b', {}, 'h');
  a.setPeerHelloHash(b.helloHash());
  b.setPeerHelloHash(a.helloHash());
  assert.match(a.helloHash(), /^1\.10 [0-9a-f]{64}$/);
  assertPairSecure(runLink(a, b));
  const c = makeEngine('a', {}, 'h2');
  const d = makeEngine('b', {}, 'h2');
  c.setPeerHelloHash(`1.10 ${'00'.repeat(32)}`);
  const r = runLink(c, d, { until: 30_000 });
  assert.ok(!secureOf(r.a));
  assert.ok(r.a.events.some((e) => e.type === 'ignored' && /zrtp-hash/.test(e.reason)));
});

test('hostile: damaged, truncated, unknown, foreign-SSRC packets are ignored; malformed with a good CRC gets Error 0x10', () => {
  const a = makeEngine('a', {}, 'x1');
  const b = makeEngine('b', {}, 'x1');
  const helloB = b.start(0)[0]!;
  a.start(0);
  assert.ok(helloB.type === 'send');
  const good = helloB.packet;
  const bad = good.slice();
  bad[30]! ^= 1;
  const ev = (x: ZrtpEvent[]) => x.map((e) => (e.type === 'ignored' ? `ignored:${e.reason.split(':')[0]}` : e.type));
  assert.deepEqual(ev(a.receive(bad, 1)), ['ignored:bad-crc']);
  for (let n = 0; n < good.length; n++)
    assert.equal(ev(a.receive(good.subarray(0, n), 1))[0]!.startsWith('ignored'), true);
  const unknown = edit(good, (m) => m.set(Buffer.from('Bogus   '), 4));
  assert.deepEqual(ev(a.receive(unknown, 1)), ['ignored:bad-type']);
  // Take B's Hello, then a packet from another SSRC.
  assert.deepEqual(ev(a.receive(good, 1)), ['send']);
  const other = good.slice();
  new DataView(other.buffer).setUint32(8, 12345);
  new DataView(other.buffer).setUint32(other.length - 4, crc32c(other.subarray(0, other.length - 4)), true);
  assert.deepEqual(ev(a.receive(other, 2)), ['ignored:wrong SSRC 12345']);
  // A Hello claiming 9 algorithms of one kind: CRC good, structure wrong.
  const c = makeEngine('c', {}, 'x1');
  c.start(0);
  const malformed = edit(good, (m) => (m[66 + 12 - 1]! |= 0x0f));
  const out = c.receive(malformed, 1);
  assert.equal(out.find((e) => e.type === 'failed' && e.code === 0x10) !== undefined, true);
  const err = out.find((e) => e.type === 'send');
  assert.ok(err && err.type === 'send' && err.message === 'Error');
  const parsed = parsePacket(err.packet).message;
  assert.ok(parsed.type === 'Error' && parsed.code === 0x10);
});

test('hostile: a Hello with a bad MAC is caught when the Commit reveals H2; a Commit with a wrong H2 is ignored', () => {
  const tamperHello = runLink(makeEngine('a', {}, 'x2'), makeEngine('b', { passive: true }, 'x2'), {
    until: 20_000,
    tamper: (from, p) => (from === 'a' && typeOf(p) === 'Hello' ? edit(p, (m) => (m[m.length - 1]! ^= 1)) : p),
  });
  assert.ok(!secureOf(tamperHello.b));
  assert.ok(tamperHello.b.events.some((e) => e.type === 'ignored' && e.reason === 'Hello: bad MAC'));
  assert.equal(failedOf(tamperHello.a)?.by, 'timeout');
  const wrongH2 = runLink(makeEngine('a', {}, 'x3'), makeEngine('b', { passive: true }, 'x3'), {
    until: 20_000,
    tamper: (from, p) => (from === 'a' && typeOf(p) === 'Commit' ? edit(p, (m) => (m[12]! ^= 1)) : p),
  });
  assert.ok(wrongH2.b.events.some((e) => e.type === 'ignored' && /H2 is not H3/.test(e.reason)));
  assert.ok(!secureOf(wrongH2.b));
});

test('hostile: a swapped DH public value fails hvi (Error 0x62); a forged Confirm MAC gets Error 0x70', () => {
  const r = runLink(makeEngine('a', {}, 'x4'), makeEngine('b', { passive: true }, 'x4'), {
    tamper: (from, p) => (from === 'a' && typeOf(p) === 'DHPart2' ? edit(p, (m) => (m[80]! ^= 1)) : p),
  });
  assert.equal(failedOf(r.b)?.code, 0x62);
  assert.equal(failedOf(r.a)?.code, 0x62);
  assert.equal(failedOf(r.a)?.by, 'peer');
  assert.ok(sentTypes(r.a).includes('ErrorACK'));
  const c = runLink(makeEngine('a', {}, 'x5'), makeEngine('b', { passive: true }, 'x5'), {
    tamper: (from, p) => (from === 'b' && typeOf(p) === 'Confirm1' ? edit(p, (m) => (m[12]! ^= 1)) : p),
  });
  assert.equal(failedOf(c.a)?.code, 0x70);
  assert.ok(!secureOf(c.a) && !secureOf(c.b));
});

test('hostile: a DH3k public value of 1, or an EC25 point off the curve, is refused with Error 0x61', () => {
  const alg = { ...DEFAULT_ALGORITHMS, keyAgreement: ['DH3k'] as const };
  const r = runLink(makeEngine('a', { algorithms: alg as never }, 'x6'), makeEngine('b', { passive: true }, 'x6'), {
    tamper: (from, p) =>
      from === 'b' && typeOf(p) === 'DHPart1'
        ? edit(p, (m) => {
            m.fill(0, 76, 76 + 384);
            m[76 + 383] = 1;
          })
        : p,
  });
  assert.equal(failedOf(r.a)?.code, 0x61);
  // EC25: a point that is not on P-256 (one coordinate byte changed).
  const e = runLink(makeEngine('a', {}, 'x6e'), makeEngine('b', { passive: true }, 'x6e'), {
    tamper: (from, p) => (from === 'b' && typeOf(p) === 'DHPart1' ? edit(p, (m) => (m[76 + 40]! ^= 0x10)) : p),
  });
  assert.equal(failedOf(e.a)?.code, 0x61);
  assert.equal(failedOf(e.b)?.by, 'peer');
});

test('secure state: GoClear is refused (Error 0x100) and the call stays secure; Ping is answered', () => {
  const a = makeEngine('a', {}, 'x7');
  const b = makeEngine('b', {}, 'x7');
  const r = runLink(a, b);
  assertPairSecure(r);
  const ssrc = parsePacket(r.b.sent[0]!).ssrc;
  const frame = (msg: Uint8Array) => {
    const p = new Uint8Array(12 + msg.length + 4);
    const dv = new DataView(p.buffer);
    p[0] = 0x10;
    dv.setUint32(4, 0x5a525450);
    dv.setUint32(8, ssrc);
    p.set(msg, 12);
    dv.setUint32(p.length - 4, crc32c(p.subarray(0, p.length - 4)), true);
    return p;
  };
  const goClear = new Uint8Array(20);
  goClear.set([0x50, 0x5a, 0, 5], 0);
  goClear.set(Buffer.from('GoClear '), 4);
  const out = a.receive(frame(goClear), 100_000);
  const sent = out.find((e) => e.type === 'send');
  assert.ok(sent && sent.type === 'send');
  const m = parsePacket(sent.packet).message;
  assert.ok(m.type === 'Error' && m.code === 0x100);
  assert.equal(a.state, 'secure');
  const ping = new Uint8Array(24);
  ping.set([0x50, 0x5a, 0, 6], 0);
  ping.set(Buffer.from('Ping    1.10'), 4);
  ping.set([1, 2, 3, 4, 5, 6, 7, 8], 16);
  const pong = a.receive(frame(ping), 100_001).find((e) => e.type === 'send');
  assert.ok(pong && pong.type === 'send');
  const pm = parsePacket(pong.packet).message;
  assert.ok(pm.type === 'PingACK' && hex(pm.receivedHash) === '0102030405060708' && pm.ssrc === ssrc);
});

test('fuzz: random bit flips with a recomputed CRC, in every phase, never throw and never desynchronise the SAS', () => {
  for (let i = 0; i < 40; i++) {
    const rand = seededRandom(`fuzz/${i}`);
    let r: ReturnType<typeof runLink>;
    assert.doesNotThrow(() => {
      r = runLink(makeEngine('a', {}, `f${i}`), makeEngine('b', {}, `f${i}`), {
        until: 30_000,
        tamper: (_from, p) => {
          if (unit(rand) > 0.15) return p;
          const pos = Math.floor(unit(rand) * (p.length - 16));
          return edit(p, (m) => (m[Math.min(pos, m.length - 1)]! ^= 1 << Math.floor(unit(rand) * 8)));
        },
      });
    });
    const a = secureOf(r!.a);
    const b = secureOf(r!.b);
    if (a && b) assert.equal(a.sas, b.sas);
  }
});

test('a ZID equal to ours is refused with Error 0x90', () => {
  const zid = new Uint8Array(12).fill(7);
  const r = runLink(makeEngine('a', { zid }, 'z'), makeEngine('b', { zid }, 'z'));
  assert.equal(failedOf(r.a)?.code, 0x90);
});

test('the engine refuses a ZID of the wrong size', () => {
  assert.throws(() => new ZrtpEngine({ zid: new Uint8Array(11), ssrc: 1, cache: new MemoryZidCache() }));
});

test('a ZRTPCPP-like preference (S384, AES3 first) gets S384 and AES3: 32-byte SRTP keys, AES_256_CM profile', () => {
  const blinkLike = { ...DEFAULT_ALGORITHMS, hash: ['S384', 'S256'], cipher: ['AES3', 'AES1'] };
  for (const [x, y] of [
    [blinkLike, DEFAULT_ALGORITHMS],
    [DEFAULT_ALGORITHMS, blinkLike],
  ]) {
    const r = runLink(
      makeEngine('a', { algorithms: x as never }, 's384'),
      makeEngine('b', { algorithms: y as never }, 's384'),
    );
    const { a } = assertPairSecure(r);
    assert.equal(a.hash, 'S384');
    assert.equal(a.cipher, 'AES3');
    assert.equal(a.srtp.local.masterKey.length, 32);
    assert.equal(a.srtpProfile, 'AES_256_CM_HMAC_SHA1_32');
  }
  // Second run on S384: the retained secret IDs use the negotiated HMAC and still match.
  const ca = new MemoryZidCache();
  const cb = new MemoryZidCache();
  const za = seededRandom('z384a')(12);
  const zb = seededRandom('z384b')(12);
  let last;
  for (const n of [1, 2]) {
    last = runLink(
      makeEngine('a', { algorithms: blinkLike as never, cache: ca, zid: za }, `s384-${n}`),
      makeEngine('b', { cache: cb, zid: zb }, `s384-${n}`),
    );
  }
  assert.equal(secureOf(last!.a)?.cache, 'match');
  assert.equal(secureOf(last!.a)?.hash, 'S384');
});

test('an SRTP packet from the peer stands for a lost Conf2ACK (§5.8)', () => {
  const r = runLink(makeEngine('a', {}, 'c2'), makeEngine('b', { passive: true }, 'c2'), {
    tamper: (_from, p) => (typeOf(p) === 'Conf2ACK' ? null : p),
    until: 100,
  });
  const a = r.a.engine;
  assert.equal(a.state, 'initiator-confirm2');
  assert.ok(secureOf(r.b));
  const evs = a.srtpReceived();
  assert.equal(evs.find((e) => e.type === 'secure') !== undefined, true);
  assert.equal(a.state, 'secure');
});

test('Hello versions (§4.1.1): a lower one is refused with Error 0x30, a higher one is ignored', () => {
  const b = makeEngine('b', {}, 'v');
  const hello = b.start(0)[0]!;
  assert.ok(hello.type === 'send');
  const lower = makeEngine('a', {}, 'v');
  lower.start(0);
  const out = lower.receive(
    edit(hello.packet, (m) => m.set(Buffer.from('1.00'), 12)),
    1,
  );
  assert.equal(out.find((e) => e.type === 'failed')?.type === 'failed', true);
  assert.equal((out.find((e) => e.type === 'failed') as { code: number }).code, 0x30);
  const higher = makeEngine('a', {}, 'v2');
  higher.start(0);
  const out2 = higher.receive(
    edit(hello.packet, (m) => m.set(Buffer.from('2.00'), 12)),
    1,
  );
  assert.deepEqual(
    out2.map((e) => e.type),
    ['ignored'],
  );
  assert.equal(higher.state, 'discovery');
});

test('an Error after secure is acknowledged but does not tear the call down', () => {
  const r = runLink(makeEngine('a', {}, 'e'), makeEngine('b', {}, 'e'));
  assertPairSecure(r);
  const ssrc = parsePacket(r.b.sent[0]!).ssrc;
  const errMsg = new Uint8Array(16);
  errMsg.set([0x50, 0x5a, 0, 4], 0);
  errMsg.set(Buffer.from('Error   '), 4);
  errMsg[15] = 0x70;
  const p = new Uint8Array(12 + 16 + 4);
  const dv = new DataView(p.buffer);
  p[0] = 0x10;
  dv.setUint32(4, 0x5a525450);
  dv.setUint32(8, ssrc);
  p.set(errMsg, 12);
  dv.setUint32(p.length - 4, crc32c(p.subarray(0, p.length - 4)), true);
  const out = r.a.engine.receive(p, 50_000);
  assert.deepEqual(
    out.map((e) => (e.type === 'send' ? e.message : e.type)),
    ['ErrorACK', 'ignored'],
  );
  assert.equal(r.a.engine.state, 'secure');
});

test('a responder whose initiator vanishes fails after the silent wait; no timer is left once failed', () => {
  // B is passive; A stops sending after its Commit (everything from A after the Commit is lost).
  let commitSeen = false;
  const r = runLink(makeEngine('a', {}, 'w'), makeEngine('b', { passive: true }, 'w'), {
    tamper: (from, p) => {
      if (from !== 'a') return p;
      if (commitSeen) return null;
      if (typeOf(p) === 'Commit') commitSeen = true;
      return p;
    },
  });
  const f = failedOf(r.b);
  assert.equal(f?.code, 0xb0);
  assert.equal(f?.by, 'timeout');
  assert.equal(r.b.engine.nextTimeout(), undefined);
  // B answered the Commit, then waited: its failure comes ~10 s after its DHPart1, not after some resend schedule.
  assert.ok(sentTypes(r.b).includes('DHPart1'));
  assert.ok(r.time >= 10_000 && r.time < 20_000, `ended at ${r.time}`);
});

test('Hello keeps going longer once the peer Hello is here but no HelloACK comes (60 resends)', () => {
  const a = makeEngine('a', {}, 'ext');
  const b = makeEngine('b', {}, 'ext');
  const helloB = b.start(0)[0]!;
  assert.ok(helloB.type === 'send');
  const out = [...a.start(0), ...a.receive(helloB.packet, 1)];
  for (let n = 0; n < 500 && a.nextTimeout() !== undefined; n++) out.push(...a.tick(a.nextTimeout()!));
  const hellos = out.filter((e) => e.type === 'send' && e.message === 'Hello').length;
  assert.equal(hellos, 61);
  assert.equal(failedOf({ engine: a, events: out, sent: [] })?.code, 0xb0);
});

test('replayed packets of an earlier call reach a new call: every one is ignored or refused, the new call completes', () => {
  const old = runLink(makeEngine('a', {}, 'old'), makeEngine('b', {}, 'old'));
  assertPairSecure(old);
  const oldFromA = old.a.sent;
  // The new call: B's engine sees all of A's old packets (same SSRC is not required: an attacker would copy it)
  // interleaved with the new A's packets.
  const a = makeEngine('a', { ssrc: parsePacket(oldFromA[0]!).ssrc }, 'new');
  const b = makeEngine('b', {}, 'new');
  let injected = false;
  const r = runLink(a, b, {
    tamper: (from, p) => {
      if (from === 'a' && !injected && typeOf(p) === 'Commit') {
        injected = true;
        // Replay the old call's packets (other than Hello) into B just before the new Commit.
        for (const q of oldFromA.filter((x) => typeOf(x) !== 'Hello')) {
          const evs = b.receive(q, 0);
          assert.ok(
            // A HelloACK carries nothing to tell calls apart (§5.3): an old one may let B commit early, harmlessly.
            evs.every(
              (e) =>
                e.type === 'ignored' ||
                (e.type === 'send' &&
                  (e.message === 'HelloACK' || (e.message === 'Commit' && typeOf(q) === 'HelloACK'))),
            ),
            JSON.stringify([...evs.map((e) => (e.type === 'send' ? e.message : e.type)), typeOf(q)]),
          );
        }
      }
      return p;
    },
  });
  assert.ok(injected);
  assertPairSecure(r);
  assert.notEqual(hex(secureOf(r.a)!.srtp.local.masterKey), hex(secureOf(old.a)!.srtp.local.masterKey));
});
