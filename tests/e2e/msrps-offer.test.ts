// A peer that offers MSRP over TLS (m=message ... TCP/TLS/MSRP, msrps: path, as Blink does when set to) calls a
// client whose SIP runs over plain UDP: the client answers TCP/TLS/MSRP with an msrps path (making its
// self-signed certificate on first need), connects with TLS, and the chat works both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HeadlessClient } from '../helpers/client.js';
import { RawUdpPeer, buildRequest } from '../helpers/sip-raw.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';
import { createMsrpSession, type LocalMsrpSession } from '../../src/msrp/index.js';
import { cpimText, decodeCpim, encodeCpim } from '../../src/msrp/cpim.js';
import { parseMsrpSdp } from '../../src/msrp/sdp.js';
import { firstHeader, parseHead } from '../../src/sip/wire.js';

test('an MSRP-over-TLS offer is answered in kind and the chat works both ways', { timeout: 40000 }, async () => {
  const peer = await RawUdpPeer.open();
  let msrp: LocalMsrpSession | null = null;
  const client = await HeadlessClient.start({ args: ['--user', 'alice', '--port', '0', '--no-otr'] });
  try {
    const port = Number(/:(\d+)/.exec(client.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
    const cert = makeSelfSignedCert();
    msrp = await createMsrpSession({ tls: cert, acceptTypes: ['message/cpim', 'text/plain'], acceptWrappedTypes: ['*'] });
    const got: string[] = [];
    msrp.on('message', (m) => got.push(cpimText(decodeCpim(m.body))));
    const offer = msrp.sdp('actpass');
    assert.match(offer, /TCP\/TLS\/MSRP/);
    const uri = `sip:alice@127.0.0.1:${port}`;
    await peer.send(buildRequest({ method: 'INVITE', uri, viaPort: peer.port, branch: 'z9hG4bKmsrps1', callId: 'msrps-offer-1', fromUser: 'blinkuser',
      extra: [`Contact: <sip:blinkuser@127.0.0.1:${peer.port}>`], body: offer }), port);
    const inc = await client.waitFor((e) => e.ev === 'incoming');
    client.send({ cmd: 'accept', session: inc.session });
    await peer.waitFor((all) => all.some((d) => d.text.startsWith('SIP/2.0 200')), 10000);
    const ok = peer.received.find((d) => d.text.startsWith('SIP/2.0 200'))!;
    const answer = parseMsrpSdp(ok.text.slice(ok.text.indexOf('\r\n\r\n') + 4));
    assert.equal(answer.secure, true, 'answered TCP/TLS/MSRP');
    assert.match(answer.path[0]!, /^msrps:\/\//);
    assert.ok(existsSync(join(client.configDir, 'tls', 'cert.pem')), 'its certificate was made on first need');
    const toTag = /;tag=([^;\s]+)/.exec(firstHeader(parseHead(ok.text), 'to') ?? '')?.[1];
    const passive = msrp.startPassive({ remotePath: answer.path, timeoutMs: 10000 });
    await peer.send(buildRequest({ method: 'ACK', uri, viaPort: peer.port, branch: 'z9hG4bKmsrps2', callId: 'msrps-offer-1', fromUser: 'blinkuser',
      ...(toTag ? { toTag } : {}) }), port);
    await passive; // the client connected to our TLS listener and bound the session
    const active = await client.waitFor((e) => e.ev === 'session' && e.state === 'active');

    await msrp.send('message/cpim', encodeCpim({ from: '<sip:blinkuser@127.0.0.1>', to: [uri], contentType: 'text/plain', body: 'over TLS from the peer' }));
    await client.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'over TLS from the peer');
    client.send({ cmd: 'send', session: active.session, text: 'and back over TLS' });
    await client.waitFor((e) => e.ev === 'delivery' && e.status === 'delivered');
    assert.deepEqual(got, ['and back over TLS']);
  } finally {
    msrp?.close('test over');
    await client.quit();
    await peer.close();
  }
});
