// A scripted caller that behaves as Blink does on the wire, against a real client (headless, SIP over UDP):
// - it may offer MSRP over TLS (m=message ... TCP/TLS/MSRP, msrps: path, as Blink does when set to): the client
//   answers TCP/TLS/MSRP with an msrps path (making its self-signed certificate on first need), connects with
//   TLS, and the chat works both ways;
// - it announces its history state with application/blink-logging-status at the start ('enabled') and when it
//   changes: only a change is shown, and while the peer asks not to be logged nothing is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { RawUdpPeer, buildRequest } from '../helpers/sip-raw.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';
import { createMsrpSession, type LocalMsrpSession } from '../../src/msrp/index.js';
import { cpimText, decodeCpim, encodeCpim } from '../../src/msrp/cpim.js';
import {
  certificateFingerprint,
  fingerprintMatches,
  parseMsrpSdp,
  type MsrpMediaDescription,
} from '../../src/msrp/sdp.js';
import { firstHeader, parseHead } from '../../src/sip/wire.js';

interface Call {
  msrp: LocalMsrpSession;
  answer: MsrpMediaDescription;
  session: string;
  uri: string;
  /** Texts of the messages the client sent us. */
  got: string[];
  send(contentType: string, body: string): Promise<unknown>;
}

/**
 * The scripted peer calls the client (INVITE over UDP), the client accepts, MSRP binds; the chat is then up.
 * With `fingerprint`, the peer's SDP names its certificate (RFC 4975 14.4): the right one, or another one; its
 * listener then also asks for the client's certificate.
 */
async function callClient(
  peer: RawUdpPeer,
  client: HeadlessClient,
  opts: { tls: boolean; callId: string; fingerprint?: 'right' | 'wrong' },
): Promise<Call> {
  const port = Number(/:(\d+)/.exec(client.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
  const cert = makeSelfSignedCert();
  const msrp = await createMsrpSession({
    ...(opts.tls
      ? { tls: { ...cert, ...(opts.fingerprint ? { requestCert: true, rejectUnauthorized: false } : {}) } }
      : {}),
    acceptTypes: ['message/cpim', 'text/plain'],
    acceptWrappedTypes: ['*'],
    blinkFeatures: ['history-control'],
  });
  const got: string[] = [];
  msrp.on('message', (m) => {
    const c = decodeCpim(m.body);
    if (!/logging-status/.test(c.contentType ?? '')) got.push(cpimText(c));
  });
  const named = opts.fingerprint === 'wrong' ? makeSelfSignedCert().cert : cert.cert;
  const offer = msrp.sdp(
    'actpass',
    opts.fingerprint ? { fingerprint: certificateFingerprint(new X509Certificate(named).raw) } : {},
  );
  const uri = `sip:alice@127.0.0.1:${port}`;
  const common = { uri, viaPort: peer.port, callId: opts.callId, fromUser: 'blinkuser' };
  await peer.send(
    buildRequest({
      ...common,
      method: 'INVITE',
      branch: `z9hG4bK${opts.callId}1`,
      extra: [`Contact: <sip:blinkuser@127.0.0.1:${peer.port}>`],
      body: offer,
    }),
    port,
  );
  const inc = await client.waitFor((e) => e.ev === 'incoming');
  client.send({ cmd: 'accept', session: inc.session });
  await peer.waitFor((all) => all.some((d) => d.text.startsWith('SIP/2.0 200')), 10000);
  const ok = peer.received.find((d) => d.text.startsWith('SIP/2.0 200'))!;
  const answer = parseMsrpSdp(ok.text.slice(ok.text.indexOf('\r\n\r\n') + 4));
  const toTag = /;tag=([^;\s]+)/.exec(firstHeader(parseHead(ok.text), 'to') ?? '')?.[1];
  const passive = msrp.startPassive({ remotePath: answer.path, timeoutMs: 10000 });
  await peer.send(
    buildRequest({ ...common, method: 'ACK', branch: `z9hG4bK${opts.callId}2`, ...(toTag ? { toTag } : {}) }),
    port,
  );
  await passive; // the client connected to our listener and bound the session
  const active = await client.waitFor((e) => e.ev === 'session' && (e.state === 'active' || e.state === 'ended'));
  return {
    msrp,
    answer,
    session: String(active.session),
    uri,
    got,
    send: (contentType, body) =>
      msrp.send('message/cpim', encodeCpim({ from: '<sip:blinkuser@127.0.0.1>', to: [uri], contentType, body })),
  };
}

test('an MSRP-over-TLS offer is answered in kind and the chat works both ways', { timeout: 40000 }, async () => {
  const peer = await RawUdpPeer.open();
  let call: Call | null = null;
  const client = await HeadlessClient.start({ args: ['--user', 'alice', '--port', '0', '--no-otr'] });
  try {
    call = await callClient(peer, client, { tls: true, callId: 'msrps-offer-1' });
    assert.equal(call.answer.secure, true, 'answered TCP/TLS/MSRP');
    assert.match(call.answer.path[0]!, /^msrps:\/\//);
    assert.ok(existsSync(join(client.configDir, 'tls', 'cert.pem')), 'its certificate was made on first need');
    await call.send('text/plain', 'over TLS from the peer');
    await client.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'over TLS from the peer');
    client.send({ cmd: 'send', session: call.session, text: 'and back over TLS' });
    await client.waitFor((e) => e.ev === 'delivery' && e.status === 'delivered');
    assert.deepEqual(call.got, ['and back over TLS']);
  } finally {
    call?.msrp.close('test over');
    await client.quit();
    await peer.close();
  }
});

test(
  'MSRP over TLS with certificate fingerprints (RFC 4975 14.4): both sides name and check them; a mismatch ends the chat',
  { timeout: 60000 },
  async () => {
    for (const which of ['right', 'wrong'] as const) {
      const peer = await RawUdpPeer.open();
      let call: Call | null = null;
      const client = await HeadlessClient.start({ args: ['--user', 'alice', '--port', '0', '--no-otr'] });
      try {
        call = await callClient(peer, client, { tls: true, callId: `fp-${which}`, fingerprint: which });
        assert.ok(call.answer.fingerprint, 'the answer has a=fingerprint');
        if (which === 'right') {
          // The client presented the certificate its answer names when it connected to us.
          const presented = (call.msrp.connection?.socket as TLSSocket | undefined)?.getPeerX509Certificate?.()?.raw;
          assert.ok(presented, 'the client presented a certificate');
          assert.equal(fingerprintMatches(call.answer.fingerprint, presented), true);
          await call.send('text/plain', 'certificate checked');
          await client.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'certificate checked');
        } else {
          const ended = await client.waitFor((e) => e.ev === 'session' && e.state === 'ended');
          assert.match(String(ended.reason), /does not match the fingerprint/);
          assert.ok(!client.events.some((e) => e.ev === 'session' && e.state === 'active'), 'never active');
        }
      } finally {
        call?.msrp.close('test over');
        await client.quit();
        await peer.close();
      }
    }
  },
);

test(
  "Blink's history control: the start-up 'enabled' says nothing; 'disabled' stops logging until 'enabled' again",
  { timeout: 40000 },
  async () => {
    const peer = await RawUdpPeer.open();
    let call: Call | null = null;
    // Our own config folder: the client's would be removed when it quits, and the history is read after that.
    const configDir = mkdtempSync(join(tmpdir(), 'blink-tui-history-control-'));
    const client = await HeadlessClient.start({ configDir, args: ['--user', 'alice', '--port', '0', '--no-otr'] });
    const lines = (): string[] =>
      client.events.filter((e: Ev) => e.ev === 'system' && /log/.test(String(e.text))).map((e) => String(e.text));
    const history = (): string => {
      const dir = join(configDir, 'chat', 'history');
      let all = '';
      for (const peerDir of existsSync(dir) ? readdirSync(dir) : []) {
        for (const f of readdirSync(join(dir, peerDir))) all += readFileSync(join(dir, peerDir, f), 'utf8');
      }
      return all;
    };
    const incoming = async (text: string): Promise<void> => {
      await call!.send('text/plain', text);
      await client.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === text);
    };
    try {
      call = await callClient(peer, client, { tls: false, callId: 'blink-history-1' });
      assert.equal(call.answer.secure, false);
      await call.send('application/blink-logging-status', 'enabled'); // what Blink sends as the stream starts
      await incoming('first, logged');
      assert.deepEqual(lines(), [], 'no news in the peer allowing what was allowed');
      await call.send('application/blink-logging-status', 'disabled');
      await client.waitFor((e) => e.ev === 'system' && /asked not to log/.test(String(e.text)));
      await incoming('second, not logged');
      await call.send('application/blink-logging-status', 'Disabled'); // the same state again: nothing new
      await call.send('application/blink-logging-status', 'enabled');
      await client.waitFor((e) => e.ev === 'system' && /allows logging/.test(String(e.text)));
      await incoming('third, logged again');
      assert.equal(lines().length, 2, JSON.stringify(lines()));
      // History is appended within a second (batched); quitting flushes it.
      await client.quit();
      const h = history();
      assert.ok(h.includes('first, logged') && h.includes('third, logged again'), h);
      assert.ok(!h.includes('second, not logged'), 'nothing written while the peer asked not to be logged');
    } finally {
      call?.msrp.close('test over');
      await client.quit();
      await peer.close();
      rmSync(configDir, { recursive: true, force: true });
    }
  },
);
