// The harness proven on its own: libotr and potr talk to each other (OTR v2, potr has no v3) through
// the same router and scenarios that pair them with our engine in otr-libotr / otr-potr tests.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PeerSide,
  Router,
  assertFragmented,
  converse,
  establish,
  finish,
  smp,
  type PeerKind,
  type Side,
} from '../helpers/otr-peers.js';

const open: Router[] = [];
after(async () => {
  await Promise.allSettled(open.map((r) => r.close()));
});

async function pair(
  starterKind: PeerKind,
  fragmentSize: number,
): Promise<{ router: Router; starter: Side; other: Side }> {
  const otherKind: PeerKind = starterKind === 'libotr' ? 'potr' : 'libotr';
  const starter = await PeerSide.start(starterKind, {
    account: `${starterKind}-a@test`,
    peer: `${otherKind}-b@test`,
    fragmentSize,
  });
  const other = await PeerSide.start(otherKind, {
    account: `${otherKind}-b@test`,
    peer: `${starterKind}-a@test`,
    fragmentSize,
  });
  const router = new Router(starter, other);
  open.push(router);
  return { router, starter, other };
}

for (const starterKind of ['libotr', 'potr'] as const) {
  for (const fragmentSize of [0, 150]) {
    describe(`${starterKind} starts, ${fragmentSize ? `fragments of ${fragmentSize}` : 'no fragmentation'}`, () => {
      test('AKE to v2, messages both ways, end', async () => {
        const { router, starter, other } = await pair(starterKind, fragmentSize);
        await establish(router, starter, other, 2);
        await converse(router, starter, other, 4);
        if (fragmentSize) assertFragmented(router, fragmentSize, [starter, other]);
        await finish(router, other, starter);
        await router.close();
      });

      test('SMP with a question succeeds, then fails with a wrong answer', async () => {
        const { router, starter, other } = await pair(starterKind, fragmentSize);
        await establish(router, starter, other, 2);
        const ok = await smp(router, starter, other, {
          secret: 'blue',
          responderSecret: 'blue',
          question: 'favourite colour?',
        });
        assert.deepEqual(ok, { asker: 'success', responder: 'success' }, router.describe());
        starter.smp.length = 0;
        other.smp.length = 0;
        const bad = await smp(router, other, starter, { secret: 'right', responderSecret: 'wrong' });
        assert.notEqual(bad.asker, 'success', router.describe());
        assert.notEqual(bad.responder, 'success', router.describe());
        assert.ok(bad.asker && bad.responder, `both sides learn the outcome\n${router.describe()}`);
        await router.close();
      });
    });
  }
}
