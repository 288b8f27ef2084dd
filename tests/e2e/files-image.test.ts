// A small image sent as chat content (message/cpim wrapping image/png, as Blink sends images) to a real blink-tui:
// it is saved in the download folder under its name, announced with name and size, and recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient } from '../helpers/client.js';
import { SipUserAgent } from '../../src/sip/ua.js';
import type { MediaNegotiator } from '../../src/sip/sdh.js';
import {
  createMsrpSession,
  encodeCpim,
  negotiateSetup,
  parseMsrpSdp,
  type LocalMsrpSession,
} from '../../src/msrp/index.js';

test('an image sent as chat content is saved, shown with name and size, and recorded', { timeout: 60000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'blink-image-'));
  const bob = await HeadlessClient.start({
    args: ['--user', 'bob', '--port', '0', '--transport', 'tcp', '--no-otr', '--download-dir', join(work, 'dl')],
  });
  const ua = new SipUserAgent({ user: 'carol', transport: 'tcp', host: '127.0.0.1', port: 0 });
  await ua.start({ register: false });
  let msrp: LocalMsrpSession | null = null;
  let remote: ReturnType<typeof parseMsrpSdp> | null = null;
  // A Blink-like chat offer: it accepts images, and sends one.
  const negotiator: MediaNegotiator = {
    createOffer: async () => {
      msrp = await createMsrpSession({
        acceptTypes: ['message/cpim', 'text/*', 'image/*', 'application/im-iscomposing+xml'],
        acceptWrappedTypes: ['text/*', 'image/*', 'application/im-iscomposing+xml'],
      });
      return msrp.sdp('actpass');
    },
    applyAnswer: async (sdp) => {
      remote = parseMsrpSdp(sdp);
    },
    createAnswer: async () => {
      throw new Error('not an answerer');
    },
    close: () => msrp?.close(),
  };
  try {
    const call = ua.call(`${bob.uri.split(';')[0]};transport=tcp`, negotiator);
    const inc = await bob.waitFor((e) => e.ev === 'incoming', 15000);
    bob.send({ cmd: 'accept', session: inc.session });
    await new Promise<void>((resolve) => call.once('established', () => resolve()));
    assert.ok(remote && msrp);
    const r = remote as ReturnType<typeof parseMsrpSdp>;
    const s = msrp as LocalMsrpSession;
    assert.ok(r.acceptTypes.includes('image/*') || r.acceptWrappedTypes.includes('image/*'), 'blink-tui takes images');
    if (negotiateSetup('offerer', r.setup).local === 'active') await s.startActive(r.path);
    else await s.startPassive({ remotePath: r.path });
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(3000)]);
    await s.send(
      'message/cpim',
      encodeCpim({
        from: 'sip:carol@127.0.0.1',
        to: ['sip:bob@127.0.0.1'],
        contentType: 'image/png',
        contentHeaders: [['Content-Disposition', 'render; filename="cat.png"']],
        body: png,
      }),
      { successReport: true },
    );
    const ev = await bob.waitFor((e) => e.ev === 'file' && e.state === 'done', 15000);
    assert.equal(ev.name, 'cat.png');
    assert.equal(ev.size, png.length);
    assert.equal(ev.direction, 'in');
    assert.deepEqual(readFileSync(String(ev.path)), png);
    const line = await bob.waitFor((e) => e.ev === 'system' && String(e.text).startsWith('image cat.png'), 15000);
    assert.match(String(line.text), new RegExp(`\\(${png.length} bytes, image/png\\)`));
    const hist = readFileSync(join(bob.configDir, 'chat', 'history', 'transfers.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const rec = JSON.parse(hist[hist.length - 1]!) as Record<string, unknown>;
    assert.deepEqual(
      [rec.direction, rec.name, rec.size, rec.result, rec.encryption],
      ['in', 'cat.png', png.length, 'done', 'none'],
    );
    await call.hangup();
  } finally {
    await ua.stop().catch(() => undefined);
    await bob.quit();
    rmSync(work, { recursive: true, force: true });
  }
});
