// The check from the call's question and secret, byte for byte, through an independent OTR library (python-potr):
// the question we ask arrives as the very string Blink asks, the SAS as secret matches the same SAS typed on the
// other side, and the question python-potr asks reaches us equal to the one we recognise as the call's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL_SMP_QUESTION } from '../../src/chat/call-verification.js';
import { establish, smp } from '../helpers/otr-peers.js';
import { pairFactory } from '../helpers/otr-interop-suite.js';

const { pair } = pairFactory('potr');

test('blink-tui asks python-potr the call question with the SAS: potr sees the same question, the SAS matches', async () => {
  const { router, ours, peer } = await pair(true, 0);
  await establish(router, ours, peer, 2);
  const r = await smp(router, ours, peer, { secret: 'zqze', responderSecret: 'zqze', question: CALL_SMP_QUESTION });
  assert.deepEqual(r, { asker: 'success', responder: 'success' });
  await router.close();
});

test('python-potr asks the call question: it reaches blink-tui as the string it recognises; a different SAS fails', async () => {
  const { router, ours, peer } = await pair(false, 0);
  await establish(router, peer, ours, 2);
  const r = await smp(router, peer, ours, { secret: 'zqze', responderSecret: 'zqzf', question: CALL_SMP_QUESTION });
  assert.equal(ours.smp.find((e) => e.event === 'asked')?.question, CALL_SMP_QUESTION);
  assert.notEqual(r.asker, 'success');
  assert.notEqual(r.responder, 'success');
  await router.close();
});
