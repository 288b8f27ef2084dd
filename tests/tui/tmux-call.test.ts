// The real binary in two real terminals (tmux) on a call: /call, the incoming call line, /accept, the header's call
// segments (on call, codec, ZRTP with its SAS, meters), the SAS confirmed with Alt-S and rejected with /sas reject,
// hold and resume from the keyboard (Alt-H), /audio off on a chat.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { TmuxClient, killTmuxServer } from '../helpers/tmux.js';
import { findFreePort } from '../../src/sip/free-port.js';

after(() => killTmuxServer());

test('two terminals: an audio call shown in the header, held with Alt-H, hung up', { timeout: 90000 }, async () => {
  const pa = await findFreePort('udp', '127.0.0.1', 23000 + Math.floor(Math.random() * 10000));
  const pb = await findFreePort('udp', '127.0.0.1', pa + 1);
  const audio = ['--audio-in', 'tone:440', '--audio-out', 'none', '--no-otr'];
  const a = TmuxClient.start('alice-call', ['--user', 'alice', '--port', String(pa), ...audio]);
  const b = TmuxClient.start('bob-call', ['--user', 'bob', '--port', String(pb), ...audio]);
  try {
    await a.waitForScreen((s) => s.includes(`alice@127.0.0.1:${pa}`));
    await b.waitForScreen((s) => s.includes(`bob@127.0.0.1:${pb}`));
    b.type(`/call alice@127.0.0.1:${pa}`);
    await a.waitForScreen((s) => /incoming call from bob/i.test(s));
    a.type('/accept');
    // two blink-tui: ZRTP, the SAS in the header (letters spaced) and large under the messages, the same on both
    const SAS = /ZRTP unverified · SAS ([A-Z0-9] [A-Z0-9] [A-Z0-9] [A-Z0-9])/;
    const sa = await a.waitForScreen((s) => /☎ on call/.test(s) && SAS.test(s), 20000);
    assert.match(sa, /opus\/48000/);
    assert.match(sa, /mic [▮▯]{5} spk [▮▯]{5}/);
    assert.match(sa, /Same on both sides\? Alt-S/);
    const sb = await b.waitForScreen((s) => /☎ on call/.test(s) && SAS.test(s), 20000);
    assert.equal(SAS.exec(sa)![1], SAS.exec(sb)![1]);
    // one key: "we compared it"
    a.key('M-s');
    await a.waitForScreen((s) => /ZRTP verified \(SAS/.test(s) && !/Alt-S or \/sas confirm/.test(s), 15000);
    b.type('/sas reject');
    await b.waitForScreen((s) => /ZRTP SAS [A-Z0-9 ]+ REJECTED/.test(s), 15000);
    // the session list shows the call beside the name
    assert.match(a.screen(), /☎ bob/);

    b.key('M-h');
    await b.waitForScreen((s) => /on hold \(you\)/.test(s), 15000);
    await a.waitForScreen((s) => /held by peer/.test(s), 15000);
    b.key('M-h');
    await a.waitForScreen((s) => /☎ on call/.test(s), 15000);

    b.type('/hangup');
    await a.waitForScreen((s) => /chat ended|ended/.test(s) && !/☎ on call/.test(s), 15000);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
