// RFC 6135: the offerer says actpass, the answerer picks active and may connect before the offerer has even
// read the answer (over TCP signalling the 200 OK can lose the race). The early connection must be held,
// not refused with 481.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMsrpSession } from '../../src/msrp/index.js';
import { parseMsrpSdp } from '../../src/msrp/sdp.js';

test(
  'an active answerer that connects before the offerer starts passive is held, then bound',
  { timeout: 15000 },
  async () => {
    const offerer = await createMsrpSession();
    const answerer = await createMsrpSession();
    try {
      const offer = parseMsrpSdp(offerer.sdp('actpass'));
      const got = new Promise<string>((resolve) =>
        offerer.on('message', (m) => resolve(Buffer.from(m.body).toString('utf8'))),
      );
      const active = answerer.startActive(offer.path, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 300)); // the peer's bind SEND is already waiting
      const answer = parseMsrpSdp(answerer.sdp('active'));
      await offerer.startPassive({ remotePath: answer.path, timeoutMs: 5000 });
      await active;
      await answerer.send('text/plain', new TextEncoder().encode('early but welcome'));
      assert.equal(await got, 'early but welcome');
    } finally {
      offerer.close();
      answerer.close();
    }
  },
);

test('a connection for an unknown session id is still refused (481)', { timeout: 15000 }, async () => {
  const a = await createMsrpSession();
  const b = await createMsrpSession();
  try {
    const path = parseMsrpSdp(a.sdp('actpass')).path.map((u) => u.replace(/\/[^/;]+;tcp$/, '/nosuchsession;tcp'));
    await assert.rejects(b.startActive(path, { timeoutMs: 5000 }), /481/);
  } finally {
    a.close();
    b.close();
  }
});
