import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Smp,
  SmpStateError,
  smpSecret,
  smpHash,
  verifyLogProof,
  encodeSmpPayload,
  decodeSmpPayload,
  TLV_SMP1,
  TLV_SMP1Q,
  TLV_SMP2,
  TLV_SMP3,
  TLV_SMP4,
  TLV_SMP_ABORT,
  type Tlv,
  type SmpEvent,
} from '../../src/otr/smp.js';
import { G, P, Q, modPow } from '../../src/otr/crypto/group.js';
import { encodeMpi, concatBytes } from '../../src/bytes/bytes.js';
import { sha256 } from '../../src/otr/crypto/primitives.js';

// Known answers from shared/reference/otr3-test-vectors.json ("smp_secret", "smp_zk_proofs"), inlined.
const SMP_SECRET = {
  initiatorFp: '0102030405060708090a0b0c0d0e0f1011121314',
  responderFp: '3132333435363738393a3b3c3d3e3f4041424344',
  ssid: 'fff1d1e412345668',
  secret: 'this is something secret',
  x: 'd9b2e56321f9a9f8e364607c8c82decd8e8e6209e2cb952c7e649620f5286fe3',
};
const ZK: Record<
  string,
  { g2: string; c2: string; d2: string; v2: number; g3: string; c3: string; d3: string; v3: number }
> = {
  msg1_a: {
    g2: '8a88c345c63aa25dab9815f8c51f6b7b621a12d31c8220a0579381c1e2e85a2275e2407c79c8e6e1f72ae765804e6b4562ac1b2d634313c70d59752ac119c6da5cb95dde3eedd9c48595b37256f5b64c56fb938eb1131447c9af9054b42841c57d1f41fe5aa510e2bd2965434f46dd0473c60d6114da088c7047760b00bc10287a03afc4c4f30e1c7dd7c9dbd51bdbd049eb2b8921cbdc72b4f69309f61e559c2d6dec9c9ce6f38ccb4dfd07f4cf2cf6e76279b88b297848c473e13f091a0f77',
    c2: 'd3b6ef5528fa97e983395bec165fa4ced7657bdabf3742d60880965c369c880c',
    d2: '7fffffffffffffffe487ed5110b4611a62633145c06e0e68948127044533e63a0105df531d89cd9128a5043cc71a026ef7ca8cd9e69d218d98158536f92f8a1ba7f09ab6b6a8e122f242dabb312f3f637a262174d31bf6b585ffae5b7a035bf6f71c35fdad44cfd2d74f9208be258ff324943328f6722d9ee1003e5c50b1df82cc6d241b0e2ae9cd348b1fd47e9267af339d65211b4fcfa466656c89b4217f90102e4aa3ac176a41f6240f32689712b0391c1c659757f4bfb83e6ba66bf8b630',
    v2: 1,
    g3: 'd275468351fd48246e406ee74a8dc3db6ee335067bfa63300ce6a23867a1b2beddbdae9a8a36555fd4837f3ef8bad4f7fd5d7b4f346d7c7b7cb64bd7707eeb515902c66aa0c9323931364471ab93dd315f65c6624c956d74680863a9388cd5d89f1b5033b1cf232b8b6dcffaaea195de4e17cc1ba4c99497be18c011b2ad7742b43fa9ee3f95f7b6da02c8e894d054eb178a7822273655dc286ad15874687fe6671908d83662e7a529744ce4ea8dad49290d19dbe6caba202a825a20a27ee98a',
    c3: '57d8cfda442854ecb01b28e631aa9165d51d1192f7f464bf17ea7f6665c05030',
    d3: '7fffffffffffffffe487ed5110b4611a62633145c06e0e68948127044533e63a0105df531d89cd9128a5043cc71a026ef7ca8cd9e69d218d98158536f92f8a1ba7f09ab6b6a8e122f242dabb312f3f637a262174d31bf6b585ffae5b7a035bf6f71c35fdad44cfd2d74f9208be258ff324943328f6722d9ee1003e5c50b1df82cc6d241b0e2ae9cd348b1fd47e9267af8140bb2aa65628bcff455920bba95a1392f2fcb5c115f43a7a828b5bf0393c5c775a17a88506a7893ff509d674cd655c',
    v3: 2,
  },
  msg1_b: {
    g2: 'ff4fb16e465739dff9297312090c2a0271d0579e5871746311b4b4b1cecb4404512f21936268f9903bf7b9ec21f9f68151ece99c892c3adbbccf4511e6d3ddba25f11cf15d140f5db7a2a8b1e4c17d4681ac9466e84c3e518e80c3c1a16c109951e9a4adf2818e7a6ccd6df9d1759065c6a43bb34c0692081619865dec358dba5a2e17cb7f69d998259f26965c794d013b15606e8503968836b284be3929438e46b845b19c0c724e8aee2aff162bbbd95a8195f83f4245f3281ce3a1d7872c92',
    c2: '59546ed0c65131c7e22b189bc691de7244c5967541cf4010b661bae2c0b167bc',
    d2: '04e90a36d4c559b8fa132b314a1157448dda12d4fa2120b21155d29379101085fc91fca8cfa0aa583e475fb4dd7adf1c88dbfc6adc3dbb4174cabc60bbb2e4f100aa9c452c7f2768d9249234872f413a6d30937c24f7bd422fc4b7d04c5044439c4dfb65b0a2452dfbc13e536d0ab7f38f38d3cc713647c458dd83a7783b807c3f41721e7742b505ae65957332a9d0c5b39a4311177a53853fdd282ed17223d42ec4c1803ef0d8e55df17bf673ea965ea2f8f4beb38279cbc6e727ec4fa2987b',
    v2: 1,
    g3: '39eaa0273de38f9a16078890a51c37bfce0f113ba445ef54c0f1e72c667a3cbe8d2f4587c3eaad9630027f56543f58f0f0633250287ef6de17c7313e5b8516eace4bddb1d9cdfa7729a48db9255e073f6f82ab37684843a839d785d330295322d75208093566fbec4bd01e8f462ee71e393af34de8688a5244b8aaf5fae2019308b3abd790c5b1eb971bf4505d376af071413389d56332cfe5b98fb30b77f72ddf2a629275b68c364de8f76137aa953ce9b3746d2c919a9827459f08ead78c71',
    c3: 'f379724a5ab0f40c5f9e1791926c19e4654eee78f690a094c190754a08038bdf',
    d3: '321cb850903ef002db66376a9aaa15293dacdac793c51063f970d2275d6334122428454c24aac2d049f20df53ab56ef4680c3097a37e4d0b2a3d570ffebaa7a6bdde7308667e68398fa1edd2b8cd49523a01911e25cbc5c836fb6095507ae23209dd3ad6fd0177f0e1288fb3e0334545fe85c55f8ea69b82477be1a5fc21d81db6cbfd27e12963ee8fd58d7d499b482d27f37004d8a1bb1c5e4bbdc9245230ba0b840b76aba57bc636b3da1240f491d35c75d98698ea1ef2ff209863b0735c0c',
    v3: 2,
  },
  msg2_partial: {
    g2: '8a88c345c63aa25dab9815f8c51f6b7b621a12d31c8220a0579381c1e2e85a2275e2407c79c8e6e1f72ae765804e6b4562ac1b2d634313c70d59752ac119c6da5cb95dde3eedd9c48595b37256f5b64c56fb938eb1131447c9af9054b42841c57d1f41fe5aa510e2bd2965434f46dd0473c60d6114da088c7047760b00bc10287a03afc4c4f30e1c7dd7c9dbd51bdbd049eb2b8921cbdc72b4f69309f61e559c2d6dec9c9ce6f38ccb4dfd07f4cf2cf6e76279b88b297848c473e13f091a0f77',
    c2: '5f78f76ed595e10b8ec22a10b848a2dbfc01d5b4bf4f3354fa7d9e7a7b89be3c',
    d2: '7fffffffffffffffe487ed5110b4611a62633145c06e0e68948127044533e63a0105df531d89cd9128a5043cc71a026ef7ca8cd9e69d218d98158536f92f8a1ba7f09ab6b6a8e122f242dabb312f3f637a262174d31bf6b585ffae5b7a035bf6f71c35fdad44cfd2d74f9208be258ff324943328f6722d9ee1003e5c50b1df82cc6d241b0e2ae9cd348b1fd47e9267af81a02d5a40ae02cf4b98b37d6f98f1c0fc61fb686e150da2863071729e0bec44d63b7abd8751f58a1a5499c8526241c0',
    v2: 3,
    g3: 'd275468351fd48246e406ee74a8dc3db6ee335067bfa63300ce6a23867a1b2beddbdae9a8a36555fd4837f3ef8bad4f7fd5d7b4f346d7c7b7cb64bd7707eeb515902c66aa0c9323931364471ab93dd315f65c6624c956d74680863a9388cd5d89f1b5033b1cf232b8b6dcffaaea195de4e17cc1ba4c99497be18c011b2ad7742b43fa9ee3f95f7b6da02c8e894d054eb178a7822273655dc286ad15874687fe6671908d83662e7a529744ce4ea8dad49290d19dbe6caba202a825a20a27ee98a',
    c3: 'e6417f7a922aa04d488ccd60062eaa374b772054c4e7bf72e6a570db604c3bcc',
    d3: '7fffffffffffffffe487ed5110b4611a62633145c06e0e68948127044533e63a0105df531d89cd9128a5043cc71a026ef7ca8cd9e69d218d98158536f92f8a1ba7f09ab6b6a8e122f242dabb312f3f637a262174d31bf6b585ffae5b7a035bf6f71c35fdad44cfd2d74f9208be258ff324943328f6722d9ee1003e5c50b1df82cc6d241b0e2ae9cd348b1fd47e9267af18c7d9799344f5a6052f526c1b70ab3aa4098d714850b6535a758a04e6cc15cd396287aa3a2009185e9793757c748570',
    v3: 4,
  },
};
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const h = (s: string): bigint => BigInt('0x' + s);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const FP_A = hex(SMP_SECRET.initiatorFp);
const FP_B = hex(SMP_SECRET.responderFp);
const SSID = hex(SMP_SECRET.ssid);
const secretOf = (s: string): Uint8Array => smpSecret(FP_A, FP_B, SSID, utf8(s));

test('smpSecret known answer: SHA256(0x01 || fp_i || fp_r || ssid || secret)', () => {
  assert.equal(Buffer.from(secretOf(SMP_SECRET.secret)).toString('hex'), SMP_SECRET.x);
  // Order matters: swapping the fingerprints gives a different secret.
  assert.notDeepEqual(smpSecret(FP_B, FP_A, SSID, utf8(SMP_SECRET.secret)), secretOf(SMP_SECRET.secret));
});

test('smpHash: version byte then one or two MPIs', () => {
  const a = 0x1234n;
  const b = P - 2n;
  assert.equal(
    smpHash(5, a, b),
    h(Buffer.from(sha256(concatBytes(Uint8Array.of(5), encodeMpi(a), encodeMpi(b)))).toString('hex')),
  );
  assert.equal(
    smpHash(1, a),
    h(Buffer.from(sha256(concatBytes(Uint8Array.of(1), Uint8Array.of(0, 0, 0, 2, 0x12, 0x34)))).toString('hex')),
  );
  assert.notEqual(smpHash(1, a), smpHash(2, a));
});

test('zero-knowledge proof known answers (coyim vectors): c == SHA256(v || MPI(g^D * X^c))', () => {
  for (const [name, v] of Object.entries(ZK)) {
    assert.equal(verifyLogProof(v.v2, h(v.c2), h(v.d2), h(v.g2)), true, `${name} c2`);
    assert.equal(verifyLogProof(v.v3, h(v.c3), h(v.d3), h(v.g3)), true, `${name} c3`);
    // Wrong version byte, flipped bits in c, D or the element: all fail.
    assert.equal(verifyLogProof(v.v2 + 1, h(v.c2), h(v.d2), h(v.g2)), false, `${name} version`);
    assert.equal(verifyLogProof(v.v2, h(v.c2) ^ 1n, h(v.d2), h(v.g2)), false, `${name} c`);
    assert.equal(verifyLogProof(v.v2, h(v.c2), h(v.d2) ^ 2n, h(v.g2)), false, `${name} D`);
    assert.equal(verifyLogProof(v.v3, h(v.c3), h(v.d3), h(v.g3) ^ 4n), false, `${name} X`);
  }
});

function smp1From(v: (typeof ZK)[string]): Uint8Array {
  return encodeSmpPayload([h(v.g2), h(v.c2), h(v.d2), h(v.g3), h(v.c3), h(v.d3)]);
}

test('receiving the vector SMP1 messages: proofs verify, the user is asked, SMP2 follows', () => {
  for (const name of ['msg1_a', 'msg1_b']) {
    const b = new Smp();
    assert.deepEqual(b.receive({ type: TLV_SMP1, value: smp1From(ZK[name]!) }), { event: { type: 'asked' } }, name);
    assert.equal(b.awaitingSecret, true);
    assert.equal(b.inProgress, true);
    const reply = b.respond(secretOf('x'));
    assert.equal(reply.type, TLV_SMP2);
    assert.equal(decodeSmpPayload(reply.value, 11).length, 11);
    assert.equal(b.state, 'expect3');
  }
});

test('D + q satisfies the hash equation (g^q = 1) but the exponent range check refuses it', () => {
  const v = ZK['msg1_b']!;
  assert.equal(verifyLogProof(v.v2, h(v.c2), h(v.d2) + Q, h(v.g2)), true);
  const b = new Smp();
  const forged = encodeSmpPayload([h(v.g2), h(v.c2), h(v.d2) + Q, h(v.g3), h(v.c3), h(v.d3)]);
  const out = b.receive({ type: TLV_SMP1, value: forged });
  assert.equal(out.event?.type, 'cheated');
  assert.match((out.event as { reason: string }).reason, /exponent out of range/);
  assert.deepEqual(out.reply, { type: TLV_SMP_ABORT, value: new Uint8Array(0) });
  assert.equal(b.inProgress, false);
});

interface Run {
  aEvents: SmpEvent[];
  bEvents: SmpEvent[];
  wire: number[];
}

/** Runs a whole exchange between two instances, recording each TLV type that crossed. */
function exchange(a: Smp, b: Smp, xs: string, ys: string, question?: string): Run {
  const run: Run = { aEvents: [], bEvents: [], wire: [] };
  const t1 = a.start(secretOf(xs), question);
  run.wire.push(t1.type);
  assert.equal(a.state, 'expect2');
  const r1 = b.receive(t1);
  assert.equal(r1.reply, undefined);
  run.bEvents.push(r1.event!);
  const t2 = b.respond(secretOf(ys));
  run.wire.push(t2.type);
  assert.equal(b.state, 'expect3');
  const r2 = a.receive(t2);
  assert.equal(r2.event, undefined);
  assert.equal(a.state, 'expect4');
  run.wire.push(r2.reply!.type);
  const r3 = b.receive(r2.reply!);
  run.bEvents.push(r3.event!);
  run.wire.push(r3.reply!.type);
  const r4 = a.receive(r3.reply!);
  assert.equal(r4.reply, undefined);
  run.aEvents.push(r4.event!);
  return run;
}

test('full exchange, same secret: both sides succeed, back to EXPECT1', () => {
  const a = new Smp();
  const b = new Smp();
  const run = exchange(a, b, 'correct horse', 'correct horse');
  assert.deepEqual(run.wire, [TLV_SMP1, TLV_SMP2, TLV_SMP3, TLV_SMP4]);
  assert.deepEqual(run.bEvents, [{ type: 'asked' }, { type: 'success' }]);
  assert.deepEqual(run.aEvents, [{ type: 'success' }]);
  assert.equal(a.inProgress, false);
  assert.equal(b.inProgress, false);
  // The same instances can run again.
  const again = exchange(b, a, 'second', 'second');
  assert.deepEqual(again.aEvents, [{ type: 'success' }]);
});

test('full exchange, different secrets: both sides report failure', () => {
  const run = exchange(new Smp(), new Smp(), 'correct horse', 'battery staple');
  assert.deepEqual(run.bEvents, [{ type: 'asked' }, { type: 'failure' }]);
  assert.deepEqual(run.aEvents, [{ type: 'failure' }]);
});

test('full exchange with a question (TLV 7: question, NUL, SMP1 MPIs)', () => {
  const question = 'Where did we meet? — café ☕';
  const a = new Smp();
  const t1 = a.start(secretOf('Lisbon'), question);
  assert.equal(t1.type, TLV_SMP1Q);
  const q = utf8(question);
  assert.deepEqual(t1.value.subarray(0, q.length), q);
  assert.equal(t1.value[q.length], 0);
  assert.equal(decodeSmpPayload(t1.value.subarray(q.length + 1), 6).length, 6);
  a.abort();
  const run = exchange(new Smp(), new Smp(), 'Lisbon', 'Lisbon', question);
  assert.deepEqual(run.wire, [TLV_SMP1Q, TLV_SMP2, TLV_SMP3, TLV_SMP4]);
  assert.deepEqual(run.bEvents, [{ type: 'asked', question }, { type: 'success' }]);
  const empty = exchange(new Smp(), new Smp(), 's', 's', '');
  assert.deepEqual(empty.bEvents[0], { type: 'asked', question: '' });
  assert.throws(() => new Smp().start(secretOf('s'), 'bad\0question'), RangeError);
});

test('abort mid-way: the peer resets and later messages of the old run are answered with an abort', () => {
  const a = new Smp();
  const b = new Smp();
  const t1 = a.start(secretOf('s'));
  b.receive(t1);
  const t2 = b.respond(secretOf('s'));
  const ab = a.abort();
  assert.deepEqual(ab, { type: TLV_SMP_ABORT, value: new Uint8Array(0) });
  assert.equal(a.inProgress, false);
  assert.deepEqual(b.receive(ab), { event: { type: 'aborted' } });
  assert.equal(b.inProgress, false);
  // B's SMP2 arrives at A after A aborted: A is in EXPECT1, so it answers with an abort and no event.
  assert.deepEqual(a.receive(t2), { reply: { type: TLV_SMP_ABORT, value: new Uint8Array(0) } });
  // An abort while idle is silent.
  assert.deepEqual(b.receive({ type: TLV_SMP_ABORT, value: new Uint8Array(0) }), {});
});

test('out-of-order messages abort a run in progress (spec: set EXPECT1, send type 6)', () => {
  const a = new Smp();
  const b = new Smp();
  const t1 = a.start(secretOf('s'));
  b.receive(t1);
  const t2 = b.respond(secretOf('s'));
  // B is in EXPECT3 and gets an SMP2 (its own message reflected back).
  assert.deepEqual(b.receive(t2), {
    reply: { type: TLV_SMP_ABORT, value: new Uint8Array(0) },
    event: { type: 'aborted' },
  });
  assert.equal(b.state, 'expect1');
  // A in EXPECT2 gets an SMP4.
  assert.equal(a.receive({ type: TLV_SMP4, value: encodeSmpPayload([2n, 1n, 1n]) }).event?.type, 'aborted');
  assert.equal(a.inProgress, false);
});

test('crossed SMP1s: each side aborts (both started at once)', () => {
  const a = new Smp();
  const b = new Smp();
  const ta = a.start(secretOf('s'));
  const tb = b.start(secretOf('s'));
  const ra = a.receive(tb);
  const rb = b.receive(ta);
  assert.equal(ra.reply?.type, TLV_SMP_ABORT);
  assert.equal(rb.reply?.type, TLV_SMP_ABORT);
  assert.deepEqual(a.receive(rb.reply!), {});
  assert.equal(a.inProgress, false);
  assert.equal(b.inProgress, false);
});

test('restart: start() refuses while in progress; restart() sends abort then SMP1 and the run completes', () => {
  const a = new Smp();
  const b = new Smp();
  b.receive(a.start(secretOf('old')));
  assert.throws(() => a.start(secretOf('new')), SmpStateError);
  const tlvs = a.restart(secretOf('new'), 'again?');
  assert.deepEqual(
    tlvs.map((t) => t.type),
    [TLV_SMP_ABORT, TLV_SMP1Q],
  );
  assert.deepEqual(b.receive(tlvs[0]!), { event: { type: 'aborted' } });
  assert.deepEqual(b.receive(tlvs[1]!), { event: { type: 'asked', question: 'again?' } });
  const r2 = a.receive(b.respond(secretOf('new')));
  const r3 = b.receive(r2.reply!);
  assert.deepEqual(r3.event, { type: 'success' });
  assert.deepEqual(a.receive(r3.reply!), { event: { type: 'success' } });
  // restart() when idle is just start().
  assert.deepEqual(
    new Smp().restart(secretOf('x')).map((t) => t.type),
    [TLV_SMP1],
  );
});

test('a new SMP1 while the previous question is still unanswered replaces it', () => {
  const b = new Smp();
  b.receive(new Smp().start(secretOf('one'), 'first?'));
  const a2 = new Smp();
  assert.deepEqual(b.receive(a2.start(secretOf('two'), 'second?')), { event: { type: 'asked', question: 'second?' } });
  const r2 = a2.receive(b.respond(secretOf('two')));
  assert.deepEqual(b.receive(r2.reply!).event, { type: 'success' });
});

test('respond() without a question, and unknown TLV types', () => {
  const b = new Smp();
  assert.throws(() => b.respond(secretOf('s')), SmpStateError);
  for (const type of [0, 1, 8, 9, 0xffff]) assert.deepEqual(b.receive({ type, value: Uint8Array.of(1, 2, 3) }), {});
  b.receive(new Smp().start(secretOf('s')));
  b.respond(secretOf('s'));
  assert.throws(() => b.respond(secretOf('s')), SmpStateError);
  b.reset();
  assert.equal(b.inProgress, false);
});

test('Bob (responder) derives the same secret with (initiator = peer, responder = us)', () => {
  // Alice initiates: she computes smpSecret(fpAlice, fpBob, ...); Bob must use the same order.
  const fpAlice = hex('aa'.repeat(20));
  const fpBob = hex('bb'.repeat(20));
  const x = smpSecret(fpAlice, fpBob, SSID, utf8('pw'));
  const y = smpSecret(fpAlice, fpBob, SSID, utf8('pw'));
  const a = new Smp();
  const b = new Smp();
  b.receive(a.start(x));
  const r3 = b.receive(a.receive(b.respond(y)).reply!);
  assert.deepEqual(r3.event, { type: 'success' });
  // Had Bob swapped the fingerprints, the comparison fails.
  const a2 = new Smp();
  const b2 = new Smp();
  b2.receive(a2.start(x));
  const bad = b2.receive(a2.receive(b2.respond(smpSecret(fpBob, fpAlice, SSID, utf8('pw')))).reply!);
  assert.deepEqual(bad.event, { type: 'failure' });
});

test('g^q = 1: the order-q subgroup the proofs live in', () => {
  assert.equal(modPow(G, Q), 1n);
});
