import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NegotiatorSessionDescriptionHandler, NoNegotiatorError, OnceClosingNegotiator } from '../../src/sip/sdh.js';
import { FakeNegotiator } from '../helpers/sip-fakes.js';

test('outgoing: getDescription makes the offer, setDescription applies the answer', async () => {
  const n = new FakeNegotiator('OFFER');
  const sdh = new NegotiatorSessionDescriptionHandler(() => n);
  assert.deepEqual(await sdh.getDescription(), { body: 'OFFER', contentType: 'application/sdp' });
  await sdh.setDescription('ANSWER');
  assert.deepEqual(n.calls, ['createOffer', 'applyAnswer']);
  assert.equal(n.remoteAnswer, 'ANSWER');
});

test('incoming: setDescription stores the offer, getDescription answers it', async () => {
  const n = new FakeNegotiator('ANSWER');
  const sdh = new NegotiatorSessionDescriptionHandler(() => n);
  await sdh.setDescription('OFFER');
  assert.deepEqual(await sdh.getDescription(), { body: 'ANSWER', contentType: 'application/sdp' });
  assert.deepEqual(n.calls, ['createAnswer']);
  assert.equal(n.remoteOffer, 'OFFER');
  // a later re-INVITE with a new offer is answered again
  await sdh.setDescription('OFFER2');
  await sdh.getDescription();
  assert.equal(n.remoteOffer, 'OFFER2');
});

test('no negotiator bound: a typed error, not a WebRTC failure', async () => {
  const sdh = new NegotiatorSessionDescriptionHandler(() => undefined);
  await assert.rejects(sdh.getDescription(), NoNegotiatorError);
  await assert.rejects(sdh.setDescription('x'), NoNegotiatorError);
});

test('content type, DTMF and close', () => {
  const n = new OnceClosingNegotiator(new FakeNegotiator('X'));
  const sdh = new NegotiatorSessionDescriptionHandler(() => n);
  assert.equal(sdh.hasDescription('application/sdp'), true);
  assert.equal(sdh.hasDescription('Application/SDP; charset=utf-8'), true);
  assert.equal(sdh.hasDescription('text/plain'), false);
  assert.equal(sdh.sendDtmf(), false);
  sdh.close();
  sdh.close();
  assert.equal(n.isClosed, true);
});

test('OnceClosingNegotiator closes the inner negotiator once', () => {
  const inner = new FakeNegotiator('X');
  const n = new OnceClosingNegotiator(inner);
  n.close();
  n.close();
  assert.equal(inner.closed, 1);
});
