// Our engine against libotr 4.1.1 (Pidgin's, irssi's, Adium's OTR library), OTR v3, in both roles, with and
// without forced fragmentation on both sides.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PeerSide,
  Router,
  assertFragmented,
  converse,
  establish,
  finish,
  assertNoErrors,
  smp,
} from '../helpers/otr-peers.js';
import { commonInteropSuite, pairFactory } from '../helpers/otr-interop-suite.js';

const PEER = 'libotr' as const;
const VERSION = 3;
const { pair, track } = pairFactory(PEER);

commonInteropSuite({
  peer: PEER,
  version: VERSION,
  pair,
  afterAke: (router, session, peer) => {
    // v3 instance tags: libotr talks to our tag, and we to libotr's
    assert.equal(peer.theirInstance, session.instanceTag, router.describe());
    assert.equal(session.theirInstanceTag, peer.proc.ready.instance_tag, router.describe());
  },
  askerMayBeAbortedOnMismatch: false,
});

describe(`blink-tui <-> ${PEER}: extra symmetric key (TLV 8, v3)`, () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

  test('we announce it: libotr derives the same key, use and use data', async () => {
    const { router, ours, peer, session } = await pair(true, 0);
    await establish(router, ours, peer, VERSION);
    const useData = new TextEncoder().encode('transfer-42.bin');
    const { key, events } = session.useExtraSymmetricKey(0x00010203, useData);
    assert.ok(key, 'no key');
    ours.apply(events);
    await router.flush();
    const got = peer.proc.log.find((e) => e.ev === 'symkey');
    assert.deepEqual(got, { ev: 'symkey', use: 0x00010203, usedata: hex(useData), key: hex(key) }, router.describe());
    await router.close();
  });

  test('libotr announces it: we derive the same key, use and use data', async () => {
    const { router, ours, peer, session } = await pair(false, 0);
    await establish(router, peer, ours, VERSION);
    const key = await peer.symkey(7, 'abc');
    await router.flush();
    const got = session.receivedExtraSymmetricKey;
    assert.ok(got, `we saw no TLV 8\n${router.describe()}`);
    assert.deepEqual(
      { key: hex(got.key), use: got.use, useData: Buffer.from(got.useData).toString() },
      { key, use: 7, useData: 'abc' },
    );
    assertNoErrors(router, ours, peer);
    await router.close();
  });
});

describe(`blink-tui <-> ${PEER} limited to OTR v2`, () => {
  const V2_ONLY = 'ALLOW_V2,SEND_WHITESPACE_TAG,WHITESPACE_START_AKE,ERROR_START_AKE';

  for (const weStart of [true, false]) {
    test(`${weStart ? 'we start' : 'libotr starts'}: AKE to v2, messages, SMP, end`, async () => {
      const { router, starter, other, ours, peer } = await pair(weStart, 160, { peer: V2_ONLY });
      await establish(router, starter, other, 2);
      await converse(router, starter, other, 4);
      assertFragmented(router, 160, [starter, other]);
      assert.deepEqual(
        await smp(router, ours, peer, { secret: 's', responderSecret: 's', question: 'q?' }),
        { asker: 'success', responder: 'success' },
        router.describe(),
      );
      await finish(router, other, starter);
      await router.close();
    });
  }

  test('libotr restarted: it drops our data message silently; its new query brings us back to encrypted', async () => {
    const first = await pair(true, 0, { peer: V2_ONLY });
    await establish(first.router, first.ours, first.peer, 2);
    await first.peer.close();
    const peer = await PeerSide.start(PEER, { account: `${PEER}@test`, peer: 'blink@test', policy: V2_ONLY });
    const router = new Router(first.ours, peer);
    track(router);
    await first.ours.send('are you still there?');
    await router.flush();
    // libotr 4.1 tells its user and sends no ?OTR Error: (the message might be for another v2 instance)
    assert.ok(
      peer.otrEvents.some((e) => e.name === 'rcvdmsg_not_in_private'),
      router.describe(),
    );
    assert.equal(router.transcript.filter((r) => r.from === peer.label).length, 0, router.describe());
    peer.errors.length = 0;
    // the restarted user starts OTR again: we must accept a new AKE while we still think we are encrypted
    await peer.start();
    await router.flush();
    for (const s of [first.ours, peer])
      assert.equal(s.state.state, 'encrypted', `${s.label}: AKE not re-run\n${router.describe()}`);
    assertNoErrors(router, first.ours, peer);
    await converse(router, first.ours, peer, 2);
    await router.close();
  });
});

describe(`blink-tui <-> ${PEER}: policies and races`, () => {
  test('the peer requires encryption: its held message arrives encrypted after the AKE', async () => {
    const { router, ours, peer } = await pair(false, 0, { peer: 'always' });
    await peer.send('held back until private');
    await router.flush();
    for (const s of [ours, peer]) assert.equal(s.state.state, 'encrypted', router.describe());
    assert.deepEqual(ours.messages, [{ text: 'held back until private', encrypted: true }], router.describe());
    assert.ok(!router.transcript.some((r) => r.wire.includes('held back')), 'the held text went out in the clear');
    await router.close();
  });
});
