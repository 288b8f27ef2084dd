// An MSRP relay (Kamailio's msrp module, RFC 4976) whose authorization runs out during a chat. Kamailio hands out
// a new path with each AUTH, and the client cannot move a running chat to a new path (no re-INVITE): it must say
// so before it happens, and end the chat when it does — not let messages vanish into a relay that forgot it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessClient } from '../helpers/client.js';
import { startMsrpRelay } from '../helpers/kamailio-msrp.js';

test(
  'MSRP relay authorization expiring: the user is warned beforehand with the reason, and the chat ends when it runs out',
  { timeout: 90000 },
  async () => {
    const relay = await startMsrpRelay({ password: 'relay-pw', authExpires: 6 });
    const alice = await HeadlessClient.start({
      args: ['--user', 'alice', '--port', '0', '--no-otr', '--password', 'relay-pw', '--msrp-relay', relay.uri],
    });
    const bob = await HeadlessClient.start({ args: ['--user', 'bob', '--port', '0', '--no-otr'] });
    try {
      alice.send({ cmd: 'chat', to: bob.uri });
      const inc = await bob.waitFor((e) => e.ev === 'incoming', 15000);
      bob.send({ cmd: 'accept', session: inc.session });
      const sa = String((await alice.waitFor((e) => e.ev === 'session' && e.state === 'active', 15000)).session);
      const warning = await alice.waitFor(
        (e) => e.ev === 'system' && e.session === sa && /relay's authorization/.test(String(e.text)),
        10000,
      );
      assert.equal(warning.level, 'warning');
      assert.match(String(warning.text), /runs out at \d\d:\d\d:\d\d .*new path.*chat will end then/);
      assert.ok(!alice.events.some((e) => e.ev === 'session' && e.state === 'ended'), 'warned before it happens');
      // The chat runs through the relay while it lasts, both ways.
      bob.send({ cmd: 'send', session: inc.session, text: 'via the relay' });
      await alice.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'via the relay', 10000);
      alice.send({ cmd: 'send', session: sa, text: 'back via the relay' });
      await bob.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'back via the relay', 10000);
      const end = await alice.waitFor((e) => e.ev === 'session' && e.session === sa && e.state === 'ended', 30000);
      assert.match(String(end.reason), /MSRP relay authorization expired/);
      await bob.waitFor((e) => e.ev === 'session' && e.session === inc.session && e.state === 'ended', 10000);
    } finally {
      assert.equal(await alice.quit(), 0);
      assert.equal(await bob.quit(), 0);
      await relay.stop();
    }
  },
);

test(
  'a chat through an MSRP relay on one side, OTR on: both ways, every message delivered and read, one AKE',
  { timeout: 90000 },
  async () => {
    const relay = await startMsrpRelay({ password: 'relay-pw', authExpires: 3600 });
    const alice = await HeadlessClient.start({
      args: ['--user', 'alice', '--port', '0', '--password', 'relay-pw', '--msrp-relay', relay.uri],
    });
    const bob = await HeadlessClient.start({ args: ['--user', 'bob', '--port', '0'] });
    try {
      alice.send({ cmd: 'chat', to: bob.uri });
      const inc = await bob.waitFor((e) => e.ev === 'incoming', 15000);
      bob.send({ cmd: 'accept', session: inc.session });
      const sa = String((await alice.waitFor((e) => e.ev === 'session' && e.state === 'active', 15000)).session);
      const sb = String(inc.session);
      // The first message goes out the instant the session is active, as a person typing fast does. Through the
      // relay that is the moment the relay, not knowing Bob's own connection yet, opens a second one to Bob's
      // listener and forwards the message on it before Bob's session has claimed it: none of it may be lost.
      const texts: [HeadlessClient, HeadlessClient, string, string][] = [];
      for (let i = 0; i < 4; i++) {
        texts.push([alice, bob, sa, `alice ${i} über das relay`], [bob, alice, sb, `bob ${i}`]);
      }
      for (const [from, to, sid, text] of texts) {
        from.send({ cmd: 'send', session: sid, text });
        await to
          .waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === text, 15000)
          .catch((e: Error) => {
            // The sender's side of the story is what tells where a message stopped.
            throw new Error(`${e.message}\nsender's events: ${JSON.stringify(from.events.slice(-12))}`);
          });
      }
      for (const [from, , , text] of texts) {
        const out = await from.waitFor((e) => e.ev === 'message' && e.direction === 'out' && e.text === text);
        const d = await from.waitFor(
          (e) => e.ev === 'delivery' && e.message === out.id && e.status !== 'resent',
          15000,
        );
        assert.equal(d.status, 'delivered', text);
      }
      for (const c of [alice, bob]) {
        await c.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 15000);
        assert.equal(c.events.filter((e) => e.ev === 'otr' && e.state === 'encrypted').length, 1);
      }
    } finally {
      assert.equal(await alice.quit(), 0);
      assert.equal(await bob.quit(), 0);
      await relay.stop();
    }
  },
);
