import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ake, openCommitment, verifyEncryptedSignature, type AkeResult } from '../../src/otr/ake.js';
import { G, P, modPow, randomBytes, randomExponent } from '../../src/otr/crypto/group.js';
import { dsaSign } from '../../src/otr/crypto/dsa.js';
import { generateDsaKey, publicKeyOf, serializePublicKey as serializePubkey } from '../../src/keys/dsa-key.js';
import { concatBytes, encodeMpi } from '../../src/bytes/bytes.js';
import { OtrProtocolError } from '../../src/otr/errors.js';
import { aesCtr, deriveAkeKeys, hmacSha256, sha256 } from '../../src/otr/keys.js';
import {
  decodeMessage,
  encodeDhCommit,
  encodeDhKey,
  encodeRevealSig,
  encodeSig,
  type DhCommit,
  type DhKey,
  type Header,
  type OtrVersion,
  type RevealSig,
  type Sig,
} from '../../src/otr/messages.js';
import { Writer } from '../../src/otr/wire.js';

const keyA = generateDsaKey();
const keyB = generateDsaKey();
const hdr =
  (tag: number) =>
  (version: OtrVersion): Header => ({ version, type: 0, senderTag: version === 3 ? tag : 0, receiverTag: 0 });
const code = (c: string) => (e: unknown) => e instanceof OtrProtocolError && e.code === c;

function dec<T>(b: Uint8Array | null): T {
  assert.ok(b, 'expected a message');
  return decodeMessage(b) as T;
}

function runAke(version: OtrVersion): { alice: Ake; bob: Ake; ra: AkeResult; rb: AkeResult } {
  const bob = new Ake(keyB, hdr(0x200));
  const alice = new Ake(keyA, hdr(0x100));
  const commit = bob.initiate(version);
  assert.equal(bob.state, 'awaiting-dhkey');
  const dhkey = alice.onDhCommit(dec<DhCommit>(commit));
  assert.equal(alice.state, 'awaiting-revealsig');
  const reveal = bob.onDhKey(dec<DhKey>(dhkey));
  assert.equal(bob.state, 'awaiting-sig');
  const r = alice.onRevealSig(dec<RevealSig>(reveal));
  assert.ok(r);
  assert.equal(alice.state, 'none');
  const rb = bob.onSig(dec<Sig>(r.reply));
  assert.ok(rb);
  assert.equal(bob.state, 'none');
  return { alice, bob, ra: r.result, rb };
}

for (const version of [3, 2] as const) {
  test(`v${version} AKE completes; both sides agree on ssid, D-H keys, key ids and long-term keys`, () => {
    const { ra, rb } = runAke(version);
    assert.equal(ra.version, version);
    assert.deepEqual(ra.ssid, rb.ssid);
    assert.equal(ra.theirPub, rb.ourDh.pub);
    assert.equal(rb.theirPub, ra.ourDh.pub);
    assert.equal(ra.theirKeyid, 1);
    assert.equal(rb.theirKeyid, 1);
    assert.deepEqual(ra.theirLongTermKey, publicKeyOf(keyB));
    assert.deepEqual(rb.theirLongTermKey, publicKeyOf(keyA));
    assert.equal(rb.weRevealed, true);
    assert.equal(ra.weRevealed, false);
    assert.equal(modPow(G, ra.ourDh.priv), ra.ourDh.pub);
  });
}

test('commit collision: the higher hashed g^x keeps its commit, the other answers, and the AKE converges', () => {
  for (let i = 0; i < 4; i++) {
    const a = new Ake(keyA, hdr(0x100));
    const b = new Ake(keyB, hdr(0x200));
    const ca = a.initiate(3);
    const cb = b.initiate(3);
    const ha = dec<DhCommit>(ca).hashedGx,
      hb = dec<DhCommit>(cb).hashedGx;
    const aHigher = Buffer.compare(Buffer.from(ha), Buffer.from(hb)) > 0;
    const ra = a.onDhCommit(dec<DhCommit>(cb));
    const rb = b.onDhCommit(dec<DhCommit>(ca));
    const [hi, lo, hiReply, loReply, hiCommit] = aHigher ? [a, b, ra, rb, ca] : [b, a, rb, ra, cb];
    assert.deepEqual(hiReply, hiCommit, 'the higher side resends its own commit');
    assert.equal(hi.state, 'awaiting-dhkey');
    assert.equal(dec<DhKey>(loReply).kind, 'dh-key');
    assert.equal(lo.state, 'awaiting-revealsig');
    // The resent commit reaches the lower side while it waits for the reveal: same D-H key again.
    assert.deepEqual(lo.onDhCommit(dec<DhCommit>(hiReply)), loReply);
    const reveal = hi.onDhKey(dec<DhKey>(loReply));
    const r = lo.onRevealSig(dec<RevealSig>(reveal));
    assert.ok(r);
    const done = hi.onSig(dec<Sig>(r.reply));
    assert.ok(done);
    assert.deepEqual(done.ssid, r.result.ssid);
  }
});

test('a repeated commit while awaiting the reveal gets the same D-H Key, and the newest commit is used', () => {
  const bob = new Ake(keyB, hdr(0x200));
  const alice = new Ake(keyA, hdr(0x100));
  const k1 = alice.onDhCommit(dec<DhCommit>(bob.initiate(3)));
  const commit2 = bob.initiate(3); // Bob restarted: new x, new r
  const k2 = alice.onDhCommit(dec<DhCommit>(commit2));
  assert.deepEqual(k2, k1);
  const reveal = bob.onDhKey(dec<DhKey>(k2));
  assert.ok(alice.onRevealSig(dec<RevealSig>(reveal)));
});

test('a duplicate D-H Key in AWAITING_SIG retransmits the Reveal Signature; a different one is ignored', () => {
  const bob = new Ake(keyB, hdr(0x200));
  const alice = new Ake(keyA, hdr(0x100));
  const dhkey = alice.onDhCommit(dec<DhCommit>(bob.initiate(3)))!;
  const reveal = bob.onDhKey(dec<DhKey>(dhkey));
  assert.deepEqual(bob.onDhKey(dec<DhKey>(dhkey)), reveal);
  const other = new Ake(keyA, hdr(0x100)).onDhCommit(dec<DhCommit>(new Ake(keyB, hdr(0x200)).initiate(3)))!;
  assert.equal(bob.onDhKey(dec<DhKey>(other)), null);
  assert.equal(bob.state, 'awaiting-sig');
});

test('a commit in AWAITING_SIG gets a new D-H Key and moves to AWAITING_REVEALSIG', () => {
  const bob = new Ake(keyB, hdr(0x200));
  const alice = new Ake(keyA, hdr(0x100));
  bob.onDhKey(dec<DhKey>(alice.onDhCommit(dec<DhCommit>(bob.initiate(3)))));
  assert.equal(bob.state, 'awaiting-sig');
  const carol = new Ake(keyA, hdr(0x300));
  const reply = bob.onDhCommit(dec<DhCommit>(carol.initiate(3)));
  assert.equal(dec<DhKey>(reply).kind, 'dh-key');
  assert.equal(bob.state, 'awaiting-revealsig');
  const r = carol.onDhKey(dec<DhKey>(reply));
  assert.ok(bob.onRevealSig(dec<RevealSig>(r)));
});

test('messages that do not fit the state are ignored', () => {
  const a = new Ake(keyA, hdr(0x100));
  const b = new Ake(keyB, hdr(0x200));
  const dhkey = dec<DhKey>(b.onDhCommit(dec<DhCommit>(new Ake(keyA, hdr(0x100)).initiate(3))));
  assert.equal(a.onDhKey(dhkey), null);
  assert.equal(
    a.onRevealSig({
      kind: 'reveal-sig',
      header: hdr(1)(3),
      revealedKey: new Uint8Array(16),
      encSig: new Uint8Array(0),
      encSigField: new Uint8Array(4),
      mac: new Uint8Array(20),
    }),
    null,
  );
  assert.equal(
    a.onSig({
      kind: 'sig',
      header: hdr(1)(3),
      encSig: new Uint8Array(0),
      encSigField: new Uint8Array(4),
      mac: new Uint8Array(20),
    }),
    null,
  );
  assert.equal(a.state, 'none');
  // A v2 D-H Key while a v3 AKE waits for one is ignored.
  const c = new Ake(keyA, hdr(0x100));
  c.initiate(3);
  assert.equal(c.onDhKey({ ...dhkey, header: { ...dhkey.header, version: 2 } }), null);
});

test('D-H Key values 0, 1, p-1, p and above are refused and the AKE keeps waiting', () => {
  const bob = new Ake(keyB, hdr(0x200));
  bob.initiate(3);
  for (const gy of [0n, 1n, P - 1n, P, P + 1n, 1n << 1600n]) {
    const m = dec<DhKey>(encodeDhKey(hdr(0x100)(3), gy));
    assert.throws(() => bob.onDhKey(m), code('bad-group-element'), gy.toString(16).slice(0, 8));
    assert.equal(bob.state, 'awaiting-dhkey');
  }
  assert.equal(
    bob.onDhKey(dec<DhKey>(encodeDhKey(hdr(0x100)(3), 2n)))?.length !== undefined,
    true,
    '2 is a legal value',
  );
});

/** A hand-built initiator following the spec text, so hostile variants of its messages can be made. */
function manualBob(gx: bigint, x: bigint | null, version: OtrVersion = 3) {
  const r = randomBytes(16);
  const gxmpi = encodeMpi(gx);
  const commit = encodeDhCommit(hdr(0x200)(version), aesCtr(r, gxmpi), sha256(gxmpi));
  return {
    commit,
    reveal(gy: bigint, opts: { keyid?: number; tamperMac?: boolean; tamperSig?: boolean } = {}): Uint8Array {
      const s = x === null ? 2n : modPow(gy, x);
      const k = deriveAkeKeys(s);
      const pub = serializePubkey(publicKeyOf(keyB));
      const keyid = opts.keyid ?? 1;
      const kid = new Writer().int(keyid).finish();
      const M = hmacSha256(k.m1, concatBytes(encodeMpi(gx), encodeMpi(gy), pub, kid));
      const sig = dsaSign(keyB, M);
      if (opts.tamperSig) sig.s = (sig.s + 1n) % keyB.q;
      const X = new Writer().raw(pub).raw(kid).sig(keyB.q, sig).finish();
      const enc = aesCtr(k.c, X);
      const mac = hmacSha256(k.m2, new Writer().data(enc).finish()).slice(0, 20);
      if (opts.tamperMac) mac[0]! ^= 0x80;
      return encodeRevealSig(hdr(0x200)(version), r, enc, mac);
    },
  };
}

test('a hand-built Reveal Signature that follows the spec is accepted (independent construction)', () => {
  const x = randomExponent();
  const bob = manualBob(modPow(G, x), x);
  const alice = new Ake(keyA, hdr(0x100));
  const dhkey = dec<DhKey>(alice.onDhCommit(dec<DhCommit>(bob.commit)));
  const r = alice.onRevealSig(dec<RevealSig>(bob.reveal(dhkey.gy)));
  assert.ok(r);
  assert.equal(r.result.theirPub, modPow(G, x));
});

test('revealed g^x of 0, 1, p-1, p is refused', () => {
  for (const gx of [0n, 1n, P - 1n, P]) {
    const bob = manualBob(gx, null);
    const alice = new Ake(keyA, hdr(0x100));
    const dhkey = dec<DhKey>(alice.onDhCommit(dec<DhCommit>(bob.commit)));
    assert.throws(() => alice.onRevealSig(dec<RevealSig>(bob.reveal(dhkey.gy))), code('bad-group-element'));
    assert.equal(alice.state, 'awaiting-revealsig');
  }
});

test('Reveal Signature with bad MAC, bad signature, keyid 0, or a wrong revealed key is refused; state is kept', () => {
  const x = randomExponent();
  const bob = manualBob(modPow(G, x), x);
  const alice = new Ake(keyA, hdr(0x100));
  const gy = dec<DhKey>(alice.onDhCommit(dec<DhCommit>(bob.commit))).gy;
  assert.throws(() => alice.onRevealSig(dec<RevealSig>(bob.reveal(gy, { tamperMac: true }))), code('bad-mac'));
  assert.throws(() => alice.onRevealSig(dec<RevealSig>(bob.reveal(gy, { tamperSig: true }))), code('bad-signature'));
  assert.throws(() => alice.onRevealSig(dec<RevealSig>(bob.reveal(gy, { keyid: 0 }))), code('bad-keyid'));
  const m = dec<RevealSig>(bob.reveal(gy));
  const wrongR = { ...m, revealedKey: Uint8Array.from(m.revealedKey).map((v, i) => (i === 0 ? v ^ 1 : v)) };
  assert.throws(() => alice.onRevealSig(wrongR), code('bad-hash'));
  assert.equal(alice.state, 'awaiting-revealsig');
  assert.ok(alice.onRevealSig(m), 'the genuine message still completes the AKE');
});

test('Signature message with a bad MAC or a signature by the wrong key is refused', () => {
  const bob = new Ake(keyB, hdr(0x200));
  const alice = new Ake(keyA, hdr(0x100));
  const reveal = bob.onDhKey(dec<DhKey>(alice.onDhCommit(dec<DhCommit>(bob.initiate(3)))));
  const r = alice.onRevealSig(dec<RevealSig>(reveal))!;
  const sig = dec<Sig>(r.reply);
  const bad = Uint8Array.from(sig.mac);
  bad[5]! ^= 1;
  assert.throws(() => bob.onSig({ ...sig, mac: bad }), code('bad-mac'));
  // Flip a ciphertext bit and fix nothing: the MAC catches it first.
  const enc = Uint8Array.from(sig.encSig);
  enc[0]! ^= 1;
  const field = new Writer().data(enc).finish();
  assert.throws(() => bob.onSig({ ...sig, encSig: enc, encSigField: field }), code('bad-mac'));
  assert.equal(bob.state, 'awaiting-sig');
  assert.ok(bob.onSig(sig));
});

test('a peer without the collision rule (answers every commit with a D-H Key, as python-potr does) still converges', () => {
  let lowerCases = 0;
  for (let i = 0; i < 12 && lowerCases < 3; i++) {
    const alice = new Ake(keyA, hdr(0x100));
    const xp = randomExponent();
    const gxp = modPow(G, xp);
    const naive = manualBob(gxp, xp);
    const ca = dec<DhCommit>(alice.initiate(3));
    const toNaive = alice.onDhCommit(dec<DhCommit>(naive.commit));
    if (dec<DhCommit | DhKey>(toNaive).kind === 'dh-commit') continue; // alice won the collision: the ordinary path
    lowerCases++;
    assert.equal(alice.state, 'awaiting-revealsig');
    // The naive peer answers Alice's commit with a D-H Key made from its own commit's exponent. Alice only notes
    // it: a libotr peer's Reveal Signature would follow at once (see the next test), and she stays on one path.
    assert.equal(alice.onDhKey(dec<DhKey>(encodeDhKey(hdr(0x200)(3), gxp))), null);
    assert.equal(alice.state, 'awaiting-revealsig');
    assert.notEqual(alice.yieldedAnsweredAt, null);
    // None came (the grace period passed; the session's tick() makes this call): she reveals for her own commit.
    const sw = alice.switchToYielded();
    assert.ok(sw);
    const reveal = sw.msg;
    const rs = dec<RevealSig>(reveal);
    assert.equal(rs.kind, 'reveal-sig');
    assert.equal(alice.state, 'awaiting-sig');
    // A duplicate of that D-H Key gets the same Reveal Signature.
    assert.deepEqual(alice.onDhKey(dec<DhKey>(encodeDhKey(hdr(0x200)(3), gxp))), reveal);
    // The naive peer checks it and answers with a Signature, following the spec text.
    const gxa = openCommitment(rs.revealedKey, ca.encryptedGx, ca.hashedGx);
    const k = deriveAkeKeys(modPow(gxa, xp));
    verifyEncryptedSignature(k.c, k.m1, k.m2, rs.encSigField, rs.encSig, rs.mac, gxa, gxp);
    const pub = serializePubkey(publicKeyOf(keyB));
    const kid = new Writer().int(1).finish();
    const M = hmacSha256(k.m1p, concatBytes(encodeMpi(gxp), encodeMpi(gxa), pub, kid));
    const X = new Writer().raw(pub).raw(kid).sig(keyB.q, dsaSign(keyB, M)).finish();
    const enc = aesCtr(k.cp, X);
    const sigMsg = encodeSig(hdr(0x200)(3), enc, hmacSha256(k.m2p, new Writer().data(enc).finish()).slice(0, 20));
    const res = alice.onSig(dec<Sig>(sigMsg));
    assert.ok(res);
    assert.deepEqual(res.ssid, k.ssid);
    assert.equal(res.theirPub, gxp);
    assert.equal(alice.state, 'none');
  }
  assert.ok(lowerCases > 0);
});

test('after losing a collision against a spec-following peer, its Reveal Signature still completes the AKE', () => {
  for (let i = 0; i < 12; i++) {
    const a = new Ake(keyA, hdr(0x100));
    const b = new Ake(keyB, hdr(0x200));
    const ca = a.initiate(3);
    const cb = b.initiate(3);
    const ra = a.onDhCommit(dec<DhCommit>(cb));
    if (dec<DhCommit | DhKey>(ra).kind !== 'dh-key') continue;
    // b is higher: it ignores a's commit (resends its own) and answers a's D-H Key with a Reveal Signature.
    assert.deepEqual(b.onDhCommit(dec<DhCommit>(ca)), cb);
    const r = a.onRevealSig(dec<RevealSig>(b.onDhKey(dec<DhKey>(ra))));
    assert.ok(r);
    assert.ok(b.onSig(dec<Sig>(r.reply)));
    return;
  }
});

test("libotr's crossed v3 start: it answers our yielded commit, then reveals for its own; we finish its path only", () => {
  let done = 0;
  for (let i = 0; i < 24 && done < 3; i++) {
    const a = new Ake(keyA, hdr(0x100));
    const b = new Ake(keyB, hdr(0x200));
    const ca = a.initiate(3);
    const cb = b.initiate(3);
    const ka = a.onDhCommit(dec<DhCommit>(cb));
    if (dec<DhCommit | DhKey>(ka).kind !== 'dh-key') continue; // we won: the ordinary path
    done++;
    // libotr answers our commit from a fresh instance context (state NONE) with a D-H Key ...
    const kb = new Ake(keyB, hdr(0x200)).onDhCommit(dec<DhCommit>(ca));
    assert.equal(a.onDhKey(dec<DhKey>(kb)), null, 'noted, no second path');
    // ... then takes our D-H Key for its own commit and reveals: we complete that path.
    const r = a.onRevealSig(dec<RevealSig>(b.onDhKey(dec<DhKey>(ka))));
    assert.ok(r);
    assert.equal(a.state, 'none');
    assert.equal(a.switchToYielded(), null, 'nothing left to switch to');
    const rb = b.onSig(dec<Sig>(r.reply));
    assert.ok(rb);
    assert.deepEqual(rb.ssid, r.result.ssid, 'both hold the same keys');
  }
  assert.ok(done > 0);
});
