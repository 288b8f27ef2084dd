// A scripted conference server in the manner of SylkServer: it answers our INVITE with
// `Contact: <sip:sylkserver@...>;isfocus`, accepts only message/cpim, takes the passive MSRP role, sends a
// welcome, replays history and a join notice. blink-tui must never send it an OTR query or whitespace tag,
// must say why OTR is off, and show the sender per line and notices as system lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessClient } from '../helpers/client.js';
import { RawUdpPeer, buildResponse } from '../helpers/sip-raw.js';
import { createMsrpSession, type LocalMsrpSession } from '../../src/msrp/index.js';
import { encodeCpim, decodeCpim, cpimText, AG_PROJECTS_CPIM_NS } from '../../src/msrp/cpim.js';
import { parseMsrpSdp } from '../../src/msrp/sdp.js';
import { parseHead, firstHeader } from '../../src/sip/wire.js';

// The OTR whitespace tag's base (16 bytes of spaces and tabs) and any ?OTR marker.
const WS_TAG = '\x20\x09\x20\x20\x09\x09\x09\x09\x20\x09\x20\x09\x20\x09\x20\x20';

test(
  'isfocus peer (conference room): no OTR query, no tag, senders per line, status notices',
  { timeout: 40000 },
  async () => {
    const server = await RawUdpPeer.open();
    let msrp: LocalMsrpSession | null = null;
    const bodies: string[] = [];
    const client = await HeadlessClient.start({ args: ['--user', 'alice', '--port', '0'] });
    try {
      const roomUri = `sip:room@127.0.0.1:${server.port}`;
      client.send({ cmd: 'chat', to: roomUri });
      await server.waitFor((all) => all.some((d) => d.text.startsWith('INVITE ')), 10000);
      const invite = server.received.find((d) => d.text.startsWith('INVITE '))!;
      const offer = parseMsrpSdp(invite.text.slice(invite.text.indexOf('\r\n\r\n') + 4));
      msrp = await createMsrpSession({ acceptTypes: ['message/cpim'], acceptWrappedTypes: ['*'] });
      msrp.on('message', (m) => {
        const c = decodeCpim(m.body);
        bodies.push(cpimText(c));
      });
      const answer = msrp.sdp('passive');
      const passive = msrp.startPassive({ remotePath: offer.path, timeoutMs: 10000 });
      await server.send(
        buildResponse(invite.text, 200, 'OK', [`Contact: <sip:sylkserver@127.0.0.1:${server.port}>;isfocus`], answer),
        invite.port,
      );
      await server.waitFor((all) => all.some((d) => d.text.startsWith('ACK ')), 10000);
      await passive;
      const active = await client.waitFor((e) => e.ev === 'session' && e.state === 'active');
      assert.equal(active.isfocus, true);
      await client.waitFor((e) => e.ev === 'system' && /conference room/.test(String(e.text)));

      const send = (from: string, text: string, status = false) =>
        msrp!.send(
          'message/cpim',
          encodeCpim({
            from,
            to: [roomUri],
            contentType: 'text/plain',
            body: text,
            ...(status
              ? {
                  namespaces: { agp: AG_PROJECTS_CPIM_NS },
                  headers: [['agp.Message-Type', 'status']] as [string, string][],
                }
              : {}),
          }),
          { failureReport: 'no' },
        );
      await send('"Room" <sip:room@127.0.0.1>', 'Welcome to the room');
      await send('"Bob" <sip:bob@example.org>', 'an earlier message from bob');
      await send('<sip:room@127.0.0.1>', 'Carol has joined the room', true);
      const bob = await client.waitFor((e) => e.ev === 'message' && e.text === 'an earlier message from bob');
      assert.equal(bob.sender, 'Bob');
      assert.equal(bob.encryption, 'none');
      await client.waitFor((e) => e.ev === 'system' && e.text === 'Carol has joined the room');

      client.send({ cmd: 'send', session: active.session, text: 'hello room' });
      await client.waitFor((e) => e.ev === 'delivery' && e.status === 'delivered');
      // OTR start is refused in a room, with the reason.
      client.send({ cmd: 'otr', session: active.session, action: 'start' });
      await client.waitFor((e) => e.ev === 'error' && /conference room/.test(String(e.message)));

      assert.deepEqual(bodies, ['hello room'], 'only the user message reached the room');
      for (const b of bodies) {
        assert.ok(!b.includes('?OTR'), 'no OTR query or message');
        assert.ok(!b.includes(WS_TAG), 'no OTR whitespace tag');
      }
      assert.ok(!client.events.some((e) => e.ev === 'otr' && e.state !== 'plaintext'));
      // The INVITE itself has no OTR in it either (nothing OTR travels in SIP), and it offered CPIM.
      assert.ok(offer.acceptTypes.includes('message/cpim'));
      void parseHead;
      void firstHeader;
    } finally {
      msrp?.close();
      await client.quit();
      await server.close();
    }
  },
);
