// The interop scenarios every real OTR peer goes through with our engine (tests/interop/otr-libotr.test.ts,
// otr-potr.test.ts): who starts x fragmentation, AKE and many messages, SMP (success, failure, question),
// ending, refresh; crossed starts, our require-encryption policy, whitespace-tag starts. Each test file adds
// what is particular to its peer.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALWAYS_POLICY, OtrSession, type OtrPolicy } from '../../src/otr/index.js';
import { generateDsaKey } from '../../src/keys/dsa-key.js';
import {
  EngineSide,
  PeerSide,
  Router,
  assertFragmented,
  assertNoErrors,
  assertSmpFailed,
  converse,
  establish,
  finish,
  refresh,
  smp,
  whitespaceStart,
  type Side,
} from './otr-peers.js';

export interface Pair {
  router: Router;
  session: OtrSession;
  ours: EngineSide;
  peer: PeerSide;
  starter: Side;
  other: Side;
}

export type PairFactory = (
  weStart: boolean,
  fragmentSize: number,
  policies?: { ours?: OtrPolicy; peer?: string },
) => Promise<Pair>;

/**
 * Pairs our engine (one long-term key per test file) with a fresh peer process. Every router made by `pair`,
 * and every one handed to `track`, is closed when the file's tests end.
 */
export function pairFactory(PEER: 'libotr' | 'potr'): { pair: PairFactory; track: (r: Router) => void } {
  const KEY = generateDsaKey();
  const open: Router[] = [];
  after(async () => {
    await Promise.allSettled(open.map((r) => r.close()));
  });
  const pair: PairFactory = async (weStart, fragmentSize, policies = {}) => {
    const peer = await PeerSide.start(PEER, {
      account: `${PEER}@test`,
      peer: 'blink@test',
      fragmentSize,
      policy: policies.peer,
    });
    const session = new OtrSession({ key: KEY, maxFragmentSize: fragmentSize || undefined, policy: policies.ours });
    const ours = new EngineSide(session);
    const router = new Router(ours, peer);
    open.push(router);
    return weStart
      ? { router, session, ours, peer, starter: ours, other: peer }
      : { router, session, ours, peer, starter: peer, other: ours };
  };
  return { pair, track: (r) => void open.push(r) };
}

export interface CommonSuiteOptions {
  peer: 'libotr' | 'potr';
  version: 2 | 3;
  pair: PairFactory;
  /** Checks right after the AKE (instance tags for v3). */
  afterAke: (router: Router, session: OtrSession, peer: PeerSide) => void;
  /** The peer answers a secret mismatch with an SMP abort instead of SMP4 (potr). */
  askerMayBeAbortedOnMismatch: boolean;
}

export function commonInteropSuite(opts: CommonSuiteOptions): void {
  const { peer: PEER, version: VERSION, pair } = opts;
  for (const weStart of [true, false]) {
    for (const fragmentSize of [0, 160]) {
      const title = `${weStart ? 'we start' : `${PEER} starts`}, ${fragmentSize ? `fragments of ${fragmentSize}` : 'no fragmentation'}`;
      describe(`blink-tui <-> ${PEER}: ${title}`, () => {
        test(`AKE to v${VERSION}, then many messages each way`, async () => {
          const { router, starter, other, session, peer } = await pair(weStart, fragmentSize);
          await establish(router, starter, other, VERSION);
          opts.afterAke(router, session, peer);
          await converse(router, starter, other, 10);
          if (fragmentSize) assertFragmented(router, fragmentSize, [starter, other]);
          await router.close();
        });

        test('SMP started by us succeeds, then one started by the peer', async () => {
          const { router, starter, other, ours, peer } = await pair(weStart, fragmentSize);
          await establish(router, starter, other, VERSION);
          assert.deepEqual(
            await smp(router, ours, peer, { secret: 'open sesame', responderSecret: 'open sesame' }),
            { asker: 'success', responder: 'success' },
            router.describe(),
          );
          ours.smp.length = 0;
          peer.smp.length = 0;
          assert.deepEqual(
            await smp(router, peer, ours, { secret: 'ünïcödé 🔑', responderSecret: 'ünïcödé 🔑' }),
            { asker: 'success', responder: 'success' },
            router.describe(),
          );
          // the conversation goes on after SMP
          await converse(router, ours, peer, 2);
          await router.close();
        });

        test('SMP with a wrong secret fails, whoever asks', async () => {
          const { router, starter, other, ours, peer } = await pair(weStart, fragmentSize);
          await establish(router, starter, other, VERSION);
          assertSmpFailed(
            router,
            await smp(router, ours, peer, { secret: 'right', responderSecret: 'wrong' }),
            opts.askerMayBeAbortedOnMismatch ? { askerMayBeAborted: true } : undefined,
          );
          ours.smp.length = 0;
          peer.smp.length = 0;
          assertSmpFailed(router, await smp(router, peer, ours, { secret: 'right', responderSecret: 'wrong' }));
          await router.close();
        });

        test('SMP with a question, both ways', async () => {
          const { router, starter, other, ours, peer } = await pair(weStart, fragmentSize);
          await establish(router, starter, other, VERSION);
          assert.deepEqual(
            await smp(router, ours, peer, {
              secret: 'paris',
              responderSecret: 'paris',
              question: 'Where did we meet?',
            }),
            { asker: 'success', responder: 'success' },
            router.describe(),
          );
          ours.smp.length = 0;
          peer.smp.length = 0;
          assert.deepEqual(
            await smp(router, peer, ours, { secret: 'rex', responderSecret: 'rex', question: 'Name of my dog — ¿sí?' }),
            { asker: 'success', responder: 'success' },
            router.describe(),
          );
          await router.close();
        });

        test('ending the session: the other side sees finished', async () => {
          const { router, starter, other } = await pair(weStart, fragmentSize);
          await establish(router, starter, other, VERSION);
          await finish(router, starter, other);
          await router.close();
          const second = await pair(weStart, fragmentSize);
          await establish(second.router, second.starter, second.other, VERSION);
          await finish(second.router, second.other, second.starter);
          await second.router.close();
        });

        test('a new AKE while encrypted (refresh) keeps the conversation going', async () => {
          const { router, starter, other } = await pair(weStart, fragmentSize);
          await establish(router, starter, other, VERSION);
          await converse(router, starter, other, 2);
          await refresh(router, starter, other, VERSION);
          await refresh(router, other, starter, VERSION);
          await router.close();
        });
      });
    }
  }

  describe(`blink-tui <-> ${PEER}: policies and races`, () => {
    test('both sides start at once (crossed queries and D-H Commits) and still converge', async () => {
      const { router, ours, peer } = await pair(true, 0);
      await ours.start();
      await peer.start();
      await router.flush();
      for (const s of [ours, peer]) {
        assert.equal(s.state.state, 'encrypted', `${s.label} is not encrypted\n${router.describe()}`);
        assert.equal(s.state.version, VERSION, router.describe());
      }
      assertNoErrors(router, ours, peer);
      await converse(router, ours, peer, 2);
      await router.close();
    });

    test('both start at once and both type through the whole AKE: every message arrives readable, one AKE', async () => {
      for (let round = 0; round < 4; round++) {
        const { router, ours, peer } = await pair(true, 0);
        await ours.start();
        await peer.start();
        const sent = { ours: [] as string[], peer: [] as string[] };
        // Each side types one message between every two wire messages delivered: one lands in every AKE state.
        for (let i = 0; i < 14; i++) {
          const a = `from us ${round}.${i}`;
          const b = `from ${PEER} ${round}.${i}`;
          await ours.send(a);
          sent.ours.push(a);
          await peer.send(b);
          sent.peer.push(b);
          await router.step();
          await router.step();
        }
        await router.flush();
        // One more each way, now encrypted (libotr's harness reports the state of the context it last heard from).
        await ours.send('from us, last');
        await peer.send(`from ${PEER}, last`);
        await router.flush();
        for (const s of [ours, peer])
          assert.equal(s.state.state, 'encrypted', `${s.label} is not encrypted\n${router.describe()}`);
        // Plaintext typed by one side before it was encrypted, arriving after the other was, is shown with a warning
        // on both implementations; anything else is an error.
        for (const s of [ours, peer]) {
          const errors = s.errors.filter((e) => !/received unencrypted/.test(e));
          assert.deepEqual(errors, [], `${s.label} reported errors\n${router.describe()}`);
        }
        // libotr shows plaintext that arrives once it is encrypted with a warning (an event, not a message).
        const got = (s: Side) =>
          [
            ...s.messages.map((m) => m.text),
            ...(s instanceof PeerSide
              ? s.otrEvents.filter((e) => e.name === 'rcvdmsg_unencrypted').map((e) => e.message ?? '')
              : []),
          ].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
        sent.ours.sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
        sent.peer.sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
        assert.deepEqual(
          got(peer).filter((t) => t.startsWith('from us ')),
          sent.ours,
          router.describe(),
        );
        assert.deepEqual(
          got(ours).filter((t) => t.startsWith(`from ${PEER} `)),
          sent.peer,
          router.describe(),
        );
        const akes = ours.log.filter(
          (e) => e.type === 'state' && (e as { state: string }).state === 'encrypted',
        ).length;
        assert.equal(akes, 1, `one AKE on our side\n${router.describe()}`);
        await router.close();
      }
    });

    test('we require encryption: our held message goes out encrypted after the AKE', async () => {
      const { router, ours, peer, session } = await pair(true, 0, { ours: ALWAYS_POLICY });
      await ours.send('held back until private');
      assert.equal(session.state, 'plaintext');
      await router.flush();
      for (const s of [ours, peer]) assert.equal(s.state.state, 'encrypted', router.describe());
      assert.deepEqual(peer.messages, [{ text: 'held back until private', encrypted: true }], router.describe());
      assert.ok(!router.transcript.some((r) => r.wire.includes('held back')), 'the held text went out in the clear');
      await router.close();
    });
  });

  describe(`blink-tui <-> ${PEER}: whitespace tags`, () => {
    test('our tagged plaintext makes the peer start the AKE', async () => {
      const { router, ours, peer } = await pair(true, 0);
      await whitespaceStart(router, ours, peer, VERSION);
      await converse(router, ours, peer, 2);
      await router.close();
    });

    test("the peer's tagged plaintext makes us start the AKE", async () => {
      const { router, ours, peer } = await pair(false, 0);
      await whitespaceStart(router, peer, ours, VERSION);
      await converse(router, peer, ours, 2);
      await router.close();
    });
  });
}
