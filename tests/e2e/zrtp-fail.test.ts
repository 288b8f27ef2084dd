// A peer whose answer says ZRTP (a=zrtp-hash, no a=crypto) but that never speaks it (a scripted SIP peer over UDP,
// tests/helpers/sip-raw.ts, with a bare UDP socket as its media): blink-tui sends nothing but ZRTP packets while it
// waits, reports `zrtp` failed, says in the chat that the audio was ended rather than sent unencrypted, and ends
// the audio-only call with a BYE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { HeadlessClient, toneCalleeArgs } from '../helpers/client.js';
import { RawUdpPeer, buildResponse } from '../helpers/sip-raw.js';
import { findFreePort } from '../../src/sip/free-port.js';

test('ZRTP answered but never spoken: only ZRTP on the wire, then failed, the reason in the chat, BYE', async () => {
  const port = await findFreePort('udp', '127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const c = await HeadlessClient.start({
    args: toneCalleeArgs('alice', port),
  });
  const sip = await RawUdpPeer.open();
  const media = createSocket('udp4');
  await new Promise<void>((r) => media.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  media.on('message', (m) => got.push(m));
  try {
    c.send({ cmd: 'call', to: `sip:mute@127.0.0.1:${sip.port}` });
    await sip.waitFor((all) => all.some((d) => d.text.startsWith('INVITE ')), 15000);
    const inv = sip.received.find((d) => d.text.startsWith('INVITE '))!;
    const offer = inv.text.slice(inv.text.indexOf('\r\n\r\n') + 4);
    assert.match(offer, /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m, 'opportunistic offer: SDES key...');
    assert.match(offer, /^a=zrtp-hash:1\.10 [0-9a-f]{64}\r?$/m, '... and a=zrtp-hash');
    const mp = media.address().port;
    const answer = [
      'v=0',
      'o=mute 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${mp} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      `a=zrtp-hash:1.10 ${'ef'.repeat(32)}`,
      'a=sendrecv',
      '',
    ].join('\r\n');
    await sip.send(buildResponse(inv.text, 200, 'OK', [`Contact: <sip:mute@127.0.0.1:${sip.port}>`], answer), inv.port);
    const neg = await c.waitFor((e) => e.ev === 'zrtp' && e.state === 'negotiating', 15000);
    const session = String(neg.session);
    const failed = await c.waitFor((e) => e.ev === 'zrtp' && e.state === 'failed', 30000);
    assert.match(String(failed.reason), /no ZRTP answer/);
    const line = await c.waitFor(
      (e) => e.ev === 'system' && e.level === 'warning' && /ZRTP failed/.test(String(e.text)),
      5000,
    );
    assert.match(String(line.text), /rather than sent unencrypted/);
    await sip.waitFor((all) => all.some((d) => d.text.startsWith('BYE ')), 15000);
    await c.waitFor((e) => e.ev === 'session' && e.session === session && e.state === 'ended', 15000);
    // never an audio event saying zrtp: the call was never secure
    assert.equal(
      c.events.some((e) => e.ev === 'audio' && e.encryption === 'zrtp'),
      false,
    );
    assert.ok(got.length > 5, `ZRTP Hellos received: ${got.length}`);
    for (const p of got) assert.equal(p.readUInt32BE(4), 0x5a525450, 'nothing but ZRTP (cookie) reached the peer');
  } finally {
    await c.quit();
    media.close();
    await sip.close();
  }
});
