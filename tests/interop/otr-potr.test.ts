// Our engine against python-potr 1.0.2 (Gajim's, WeeChat's OTR library), OTR v2 only, in both roles, with and
// without forced fragmentation on both sides.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerSide, Router, converse, establish } from '../helpers/otr-peers.js';
import { commonInteropSuite, pairFactory } from '../helpers/otr-interop-suite.js';

const PEER = 'potr' as const;
const VERSION = 2; // potr speaks v2 only (no instance tags)
const { pair, track } = pairFactory(PEER);

commonInteropSuite({
  peer: PEER,
  version: VERSION,
  pair,
  afterAke: (_router, _session, peer) => {
    assert.equal(peer.proc.ready.instance_tag, null); // v2: no instance tags
  },
  // potr answers a mismatch at SMP3 with an SMP abort instead of SMP4 (see peers/README.md)
  askerMayBeAbortedOnMismatch: true,
});

describe(`blink-tui <-> ${PEER}: the peer restarts its client`, () => {
  test('our data message meets a fresh potr: its ?OTR Error: makes us run the AKE again', async () => {
    const first = await pair(true, 0);
    await establish(first.router, first.ours, first.peer, VERSION);
    await first.peer.close();
    // same account and key, no memory of the session (what a client restart looks like)
    const peer = await PeerSide.start(PEER, { account: `${PEER}@test`, peer: 'blink@test' });
    const router = new Router(first.ours, peer);
    track(router);
    await first.ours.send('are you still there?');
    await router.flush();
    assert.ok(
      first.ours.errors.some((e) => e.startsWith('from peer: ')),
      `no ?OTR Error: reported\n${router.describe()}`,
    );
    assert.ok(
      peer.otrEvents.some((e) => e.name === 'rcvdmsg_not_in_private'),
      router.describe(),
    );
    for (const s of [first.ours, peer])
      assert.equal(s.state.state, 'encrypted', `${s.label}: AKE not re-run\n${router.describe()}`);
    assert.equal(peer.state.fingerprint, first.session.ourFingerprint);
    peer.errors.length = 0;
    first.ours.errors.length = 0;
    await converse(router, first.ours, peer, 2);
    await router.close();
  });
});
