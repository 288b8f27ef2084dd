// Faults on the way to the registrar, with a real Kamailio (registrar + proxy) and real clients:
// Kamailio restarted under registered TCP clients, and a TCP path that goes silent (keep-alives unanswered).
// In both cases the client must say so, register again by itself, and take a new chat afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { startKamailio, type KamailioInstance } from '../helpers/kamailio.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const USERS = { alice: 'alice-pw-1', bob: 'bob-pw-2' };
let kam: KamailioInstance;

before(async () => {
  kam = await startKamailio({ users: USERS });
});
after(async () => {
  await kam?.stop();
});

function args(user: keyof typeof USERS, proxyPort: number, extra: string[] = []): string[] {
  return [
    '--user',
    user,
    '--password',
    USERS[user],
    '--registrar',
    `sip:${kam.domain}`,
    '--outbound-proxy',
    `sip:127.0.0.1:${proxyPort};transport=tcp`,
    '--transport',
    'tcp',
    '--port',
    '0',
    '--no-otr',
    ...extra,
  ];
}

async function registered(
  user: keyof typeof USERS,
  proxyPort = kam.tcpPort,
  extra: string[] = [],
): Promise<HeadlessClient> {
  const c = await HeadlessClient.start({ args: args(user, proxyPort, extra) });
  await c.waitFor((e) => e.ev === 'registered', 15000);
  return c;
}

/** A new chat from a to b works: INVITE through Kamailio's fresh location table, MSRP both ways. */
async function chatWorks(a: HeadlessClient, b: HeadlessClient, text: string): Promise<void> {
  const since = b.events.length;
  const sinceA = a.events.length;
  a.send({ cmd: 'chat', to: `${b === a ? 'x' : (b.uri.match(/sip:([^@]+)@/)?.[1] ?? '')}@${kam.domain}` });
  const inc = await b.waitFor((e) => e.ev === 'incoming', 20000, since);
  b.send({ cmd: 'accept', session: inc.session });
  const act = await a.waitFor((e) => e.ev === 'session' && e.state === 'active', 20000, sinceA);
  a.send({ cmd: 'send', session: act.session, text });
  await b.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === text, 20000, since);
  await a.waitFor((e) => e.ev === 'delivery' && e.session === act.session && e.status === 'delivered', 20000, sinceA);
  a.send({ cmd: 'hangup', session: act.session });
  await b.waitFor((e) => e.ev === 'session' && e.session === inc.session && e.state === 'ended', 20000, since);
}

const lost = (e: Ev): boolean => e.ev === 'registration' && e.state === 'failed';

test(
  'Kamailio restarted under TCP clients: they see the registration lost, register again by themselves, and a new chat works',
  { timeout: 120000 },
  async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    try {
      const sinceA = a.events.length;
      const sinceB = b.events.length;
      await kam.down();
      for (const c of [a, b]) {
        const ev = await c.waitFor(lost, 20000, c === a ? sinceA : sinceB);
        assert.match(String(ev.error), /connection to the registrar lost/);
        assert.equal(typeof ev.retryIn, 'number', 'the event says when the next attempt comes');
        assert.ok((ev.retryIn as number) > 0);
        // the user is told once, with the reason
        await c.waitFor(
          (e) =>
            e.ev === 'system' &&
            e.level === 'warning' &&
            /registration failed: connection to the registrar lost/.test(String(e.text)),
          5000,
        );
      }
      // While it is down, attempts fail (connection refused) and are retried later and later: wait for a second one.
      await a.waitFor((e) => lost(e) && /refused|failed|503/i.test(String(e.error)), 30000, sinceA + 1);
      await kam.up();
      await a.waitFor((e) => e.ev === 'registered', 90000, sinceA);
      await b.waitFor((e) => e.ev === 'registered', 90000, sinceB);
      await a.waitFor((e) => e.ev === 'system' && /registered again/.test(String(e.text)), 5000, sinceA);
      // Kamailio's restart emptied its location table: the chat reaches Bob only because he registered again.
      await chatWorks(a, b, 'after the restart');
      await chatWorks(b, a, 'and the other way');
    } finally {
      assert.equal(await a.quit(), 0);
      assert.equal(await b.quit(), 0);
    }
    for (const c of [a, b]) {
      assert.deepEqual(
        c.stderr.filter((l) => /unhandled|Error:|at .*\.js/i.test(l)),
        [],
        c.stderr.join(''),
      );
    }
  },
);

test(
  'keep-alives: pongs answer pings; a path that goes silent is found dead by its missing pong and the client registers again',
  { timeout: 120000 },
  async () => {
    const proxy = await TcpProxy.start(kam.tcpPort);
    const a = await registered('alice', proxy.port, ['--keepalive', '1']);
    const b = await registered('bob');
    try {
      const first = proxy.connections[0]!;
      // RFC 5626 3.5.1 on the wire: our CRLFCRLF ping goes up, Kamailio's CRLF pong comes back.
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
        assert.ok(pred(), what);
      };
      await until(() => first.up.some((d) => d.toString('latin1') === '\r\n\r\n'), 'a ping went up');
      await until(() => first.down.some((d) => d.toString('latin1') === '\r\n'), 'a pong came back');
      const since = a.events.length;
      proxy.blackholeAll(); // nothing passes any more, and nothing closes: only the missing pong can tell
      const ev = await a.waitFor(lost, 30000, since);
      assert.match(String(ev.error), /connection to the registrar lost \(no answer to a keep-alive/);
      assert.equal(typeof ev.retryIn, 'number');
      await a.waitFor((e) => e.ev === 'registered', 30000, since);
      assert.ok(proxy.connections.length >= 2, 'the new registration went over a new connection');
      await chatWorks(b, a, 'reachable again');
    } finally {
      assert.equal(await a.quit(), 0);
      assert.equal(await b.quit(), 0);
      await proxy.close();
    }
  },
);
