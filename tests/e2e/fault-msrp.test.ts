// Faults on the MSRP connection of a chat between two real clients (headless, SIP over UDP, serverless).
// The chat's MSRP connection runs through a loopback TCP proxy the test controls: a small UDP forwarder between
// the clients puts the proxy's port into the caller's a=path (the callee then connects to the proxy, which
// forwards to the caller). The test then resets that connection, or kills the callee with SIGKILL mid-transfer.
// What must hold: every message a user sent is either received by the peer or marked failed with a reason,
// exactly once; the chat ends with a line that says why; nothing reaches the top level (exit 0, quiet stderr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const portOf = (uri: string): number => Number(/@[^:;]+:(\d+)/.exec(uri)?.[1]);

/**
 * Relays UDP SIP between exactly two clients; in the caller's SDP (the INVITE's offer) it replaces the MSRP port
 * with a TcpProxy in front of it, which rewrites the paths in the MSRP bytes back (see relay()).
 */
class MsrpDetour {
  readonly proxies = new Map<number, TcpProxy>();
  private chain: Promise<void> = Promise.resolve();
  private constructor(
    private readonly sock: Socket,
    readonly port: number,
    private readonly caller: number,
    private readonly callee: number,
  ) {
    sock.on('message', (msg, rinfo) => {
      this.chain = this.chain.then(() => this.relay(msg.toString('latin1'), rinfo.port)).catch(() => undefined);
    });
  }

  static async start(caller: number, callee: number): Promise<MsrpDetour> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    return new MsrpDetour(sock, sock.address().port, caller, callee);
  }

  get proxy(): TcpProxy {
    const p = [...this.proxies.values()][0];
    assert.ok(p, 'the offer went through the detour');
    return p;
  }

  private async relay(text: string, from: number): Promise<void> {
    const to = from === this.caller ? this.callee : this.caller;
    const m = /a=path:msrp:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
    if (m && from === this.caller) {
      const real = Number(m[1]);
      let proxy = this.proxies.get(real);
      if (!proxy) {
        proxy = await TcpProxy.start(real);
        // The caller checks that a request's To-Path is its own URI (RFC 4975 6.1), port included: the proxy puts
        // its real port back on the way in, and the proxy's on the way out, as an MSRP relay keeps paths straight.
        proxy.rewrite = {
          up: [`msrp://127.0.0.1:${proxy.port}/`, `msrp://127.0.0.1:${real}/`],
          down: [`msrp://127.0.0.1:${real}/`, `msrp://127.0.0.1:${proxy.port}/`],
        };
        this.proxies.set(real, proxy);
      }
      const split = text.indexOf('\r\n\r\n');
      const body = text
        .slice(split + 4)
        .replaceAll(`msrp://127.0.0.1:${real}/`, `msrp://127.0.0.1:${proxy.port}/`)
        .replace(`m=message ${real} `, `m=message ${proxy.port} `);
      const head = text
        .slice(0, split)
        .replace(/^(content-length|l)[ \t]*:[ \t]*\d+/im, `Content-Length: ${body.length}`);
      text = `${head}\r\n\r\n${body}`;
    }
    this.sock.send(Buffer.from(text, 'latin1'), to, '127.0.0.1');
  }

  async close(): Promise<void> {
    for (const p of this.proxies.values()) await p.close();
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}

async function pair(): Promise<{
  alice: HeadlessClient;
  bob: HeadlessClient;
  detour: MsrpDetour;
  sa: string;
  sb: string;
}> {
  const alice = await HeadlessClient.start({ args: ['--user', 'alice', '--port', '0', '--no-otr'] });
  const bob = await HeadlessClient.start({ args: ['--user', 'bob', '--port', '0', '--no-otr'] });
  const detour = await MsrpDetour.start(portOf(alice.uri), portOf(bob.uri));
  alice.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${detour.port}` });
  const inc = await bob.waitFor((e) => e.ev === 'incoming', 15000);
  bob.send({ cmd: 'accept', session: inc.session });
  const sa = String((await alice.waitFor((e) => e.ev === 'session' && e.state === 'active', 15000)).session);
  const sb = String((await bob.waitFor((e) => e.ev === 'session' && e.state === 'active', 15000)).session);
  assert.equal(detour.proxy.connections.length, 1, 'the MSRP connection runs through the proxy');
  return { alice, bob, detour, sa, sb };
}

const outIds = (c: HeadlessClient): Map<string, string> =>
  new Map(
    c.events.filter((e) => e.ev === 'message' && e.direction === 'out').map((e) => [String(e.id), String(e.text)]),
  );
const deliveries = (c: HeadlessClient, id: string): Ev[] =>
  c.events.filter((e) => e.ev === 'delivery' && e.message === id);
const received = (c: HeadlessClient): string[] =>
  c.events.filter((e) => e.ev === 'message' && e.direction === 'in').map((e) => String(e.text));

/** Every message `from` sent reached `to`, or was marked failed with a reason — once, never both. */
function accountedFor(from: HeadlessClient, to: HeadlessClient): { delivered: string[]; failed: string[] } {
  const got = received(to);
  const delivered: string[] = [];
  const failed: string[] = [];
  for (const [id, text] of outIds(from)) {
    const d = deliveries(from, id);
    assert.equal(d.length, 1, `one delivery outcome for "${text.slice(0, 20)}": ${JSON.stringify(d)}`);
    if (d[0]!.status === 'delivered') {
      delivered.push(text);
      // (a killed peer's last events are still read from its pipe)
      assert.ok(got.includes(text), `"${text.slice(0, 20)}" marked delivered and received`);
    } else {
      assert.equal(d[0]!.status, 'failed');
      assert.ok(String(d[0]!.reason ?? '').length > 0, 'a failure carries its reason');
      failed.push(text);
    }
  }
  return { delivered, failed };
}

/** Nothing escaped to the top level: no stack trace or unhandled rejection on stderr or in the log. */
function quiet(c: HeadlessClient): void {
  const err = c.stderr.join('');
  assert.doesNotMatch(err, /unhandled|uncaught|Error:|\n\s+at /i, err);
  const logFile = join(c.configDir, 'logs', 'blink-tui.log');
  if (existsSync(logFile)) assert.doesNotMatch(readFileSync(logFile, 'utf8'), /unhandled|uncaught/i);
}

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(pred(), what);
}

test(
  'MSRP connection reset mid-chat: pending messages on both sides are marked failed with the reason, the chat ends saying why, exit 0',
  { timeout: 90000 },
  async (t) => {
    const { alice, bob, detour, sa, sb } = await pair();
    try {
      alice.send({ cmd: 'send', session: sa, text: 'before the reset (a)' });
      bob.send({ cmd: 'send', session: sb, text: 'before the reset (b)' });
      await alice.waitFor((e) => e.ev === 'delivery' && e.status === 'delivered', 15000);
      await bob.waitFor((e) => e.ev === 'delivery' && e.status === 'delivered', 15000);
      const conn = detour.proxy.connections[0]!;
      detour.proxy.blackholeAll(); // from now on the messages go out and no answer comes back: they are pending
      for (const t of ['pending a1', 'pending a2']) alice.send({ cmd: 'send', session: sa, text: t });
      bob.send({ cmd: 'send', session: sb, text: 'pending b1' });
      const swallowed = (): string => Buffer.concat(conn.swallowed).toString('latin1');
      await until(
        () => ['pending a1', 'pending a2', 'pending b1'].every((t) => swallowed().includes(t)),
        'the pending messages were on the wire',
      );
      detour.proxy.resetAll();
      const resetAt = Date.now();
      for (const [c, sid] of [
        [alice, sa],
        [bob, sb],
      ] as const) {
        const end = await c.waitFor((e) => e.ev === 'session' && e.session === sid && e.state === 'ended', 15000);
        assert.match(String(end.reason), /MSRP connection closed/);
        t.diagnostic(`${c === alice ? 'alice' : 'bob'}: chat ended ${Date.now() - resetAt} ms after the reset`);
        const line = await c.waitFor(
          (e) => e.ev === 'system' && e.session === sid && /chat ended: MSRP connection closed/.test(String(e.text)),
          5000,
        );
        assert.equal(line.level, 'warning');
        assert.match(
          String(line.text),
          /connection reset .*ECONNRESET.*\(failed\) did not reach the peer.*Start a new chat/,
        );
      }
      const a = accountedFor(alice, bob);
      const b = accountedFor(bob, alice);
      assert.deepEqual(a.failed.sort(), ['pending a1', 'pending a2']);
      assert.deepEqual(b.failed, ['pending b1']);
      for (const c of [alice, bob]) {
        for (const e of c.events.filter((x) => x.ev === 'delivery' && x.status === 'failed')) {
          assert.match(
            String(e.reason),
            /^not confirmed before the chat connection closed: connection reset by the peer or the network \(ECONNRESET\)$/,
            String(e.reason),
          );
        }
      }
      // A message typed into the ended chat is refused visibly, not swallowed.
      const before = alice.events.length;
      alice.send({ cmd: 'send', session: sa, text: 'after the end' });
      await alice.waitFor(
        (e) => (e.ev === 'error' || (e.ev === 'delivery' && e.status === 'failed')) && true,
        10000,
        before,
      );
      assert.ok(!received(bob).includes('after the end'));
    } finally {
      assert.equal(await alice.quit(), 0);
      assert.equal(await bob.quit(), 0);
      await detour.close();
    }
    quiet(alice);
    quiet(bob);
  },
);

test(
  'peer killed with SIGKILL mid-transfer of an 8 MiB message: the sender marks what did not arrive failed and ends the chat',
  { timeout: 120000 },
  async (t) => {
    const { alice, bob, detour, sa } = await pair();
    try {
      alice.send({ cmd: 'send', session: sa, text: 'small, before' });
      await bob.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === 'small, before', 15000);
      const conn = detour.proxy.connections[0]!;
      const big = 'x'.repeat(8 * 1024 * 1024);
      const sent = (): number => conn.down.reduce((n, b) => n + b.length, 0);
      // Mid-transfer, whatever the machine's speed: one MiB of it reaches Bob, the rest waits in the proxy.
      conn.holdDownAfter = sent() + 1024 * 1024;
      alice.send({ cmd: 'send', session: sa, text: big });
      alice.send({ cmd: 'send', session: sa, text: 'small, behind the big one' });
      await until(() => conn.held.length > 0, 'the transfer started and reached the hold');
      bob.kill();
      const killedAt = Date.now();
      const end = await alice.waitFor((e) => e.ev === 'session' && e.session === sa && e.state === 'ended', 20000);
      assert.match(String(end.reason), /MSRP connection closed/);
      t.diagnostic(`chat ended ${Date.now() - killedAt} ms after the kill`);
      const line = await alice.waitFor(
        (e) => e.ev === 'system' && e.session === sa && /chat ended/.test(String(e.text)),
        5000,
      );
      assert.equal(line.level, 'warning');
      // (the peer's kernel closes the socket: alice reads a close, or an error writing into it)
      assert.match(
        String(line.text),
        /MSRP connection closed: (peer closed the connection|connection (broken|reset)).*\(failed\) did not reach the peer/,
      );
      const { delivered, failed } = accountedFor(alice, bob);
      assert.ok(delivered.includes('small, before'));
      assert.ok(failed.includes(big), 'the 8 MiB message is marked failed');
      // MSRP interleaves chunks of different messages: the small one behind may have got through before the kill.
      assert.ok(failed.includes('small, behind the big one') || received(bob).includes('small, behind the big one'));
      assert.ok(!received(bob).includes(big), 'Bob died before it arrived');
    } finally {
      assert.equal(await alice.quit(), 0);
      await bob.quit();
      await detour.close();
    }
    quiet(alice);
  },
);
