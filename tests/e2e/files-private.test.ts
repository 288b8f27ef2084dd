// Private file transfer between two real blink-tui processes (headless, serverless, SIP over UDP on an address of its own in 127/8)
// in an OTR-encrypted chat: the file is encrypted with a key from OTR's extra symmetric key (TLV 8). What must
// hold: the receiver gets the exact file, both sides mark it encrypted with the chat's lock, and nothing of its
// plaintext (nor its name) crosses the loopback; a ciphertext byte flipped on the way makes the receiver refuse
// the file (no file left behind) and the sender report the failure. The same flip in a plain transfer fails its
// SHA-1 check, and its partial file is not kept for a resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadlessClient, type Ev } from '../helpers/client.js';
import { LoopbackCapture } from '../helpers/capture.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const portOf = (uri: string): number => Number(/@[^:;]+:(\d+)/.exec(uri)?.[1]);
// Everything of this file's clients (SIP, MSRP, the detour and its proxies) on an address of its own in 127/8, and
// only that address captured: other tests' and benchmarks' traffic on lo neither counts nor fills the capture.
const HOST = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
const HOST_RE = HOST.replaceAll('.', '\\.');
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/**
 * Relays UDP SIP between two clients; in a file answer (a=recvonly, from the receiver, which listens) it puts a
 * TcpProxy in front of the receiver's MSRP port, so the sender's data passes through the test's hands.
 */
class FileDetour {
  readonly proxies: TcpProxy[] = [];
  private chain: Promise<void> = Promise.resolve();
  onProxy: ((p: TcpProxy) => void) | null = null;
  private constructor(
    private readonly sock: Socket,
    readonly port: number,
    private readonly a: number,
    private readonly b: number,
  ) {
    sock.on('message', (msg, rinfo) => {
      this.chain = this.chain.then(() => this.relay(msg.toString('latin1'), rinfo.port)).catch(() => undefined);
    });
  }

  static async start(a: number, b: number): Promise<FileDetour> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, HOST, () => resolve()));
    return new FileDetour(sock, sock.address().port, a, b);
  }

  private async relay(text: string, from: number): Promise<void> {
    const to = from === this.a ? this.b : this.a;
    const m = new RegExp(`a=path:msrp://${HOST_RE}:(\\d+)/`).exec(text);
    if (m && text.includes('a=recvonly') && text.includes('a=file-selector')) {
      const real = Number(m[1]);
      const proxy = await TcpProxy.start(real, HOST);
      proxy.rewrite = {
        up: [`msrp://${HOST}:${proxy.port}/`, `msrp://${HOST}:${real}/`],
        down: [`msrp://${HOST}:${real}/`, `msrp://${HOST}:${proxy.port}/`],
      };
      this.onProxy?.(proxy);
      this.proxies.push(proxy);
      const split = text.indexOf('\r\n\r\n');
      const body = text
        .slice(split + 4)
        .replaceAll(`msrp://${HOST}:${real}/`, `msrp://${HOST}:${proxy.port}/`)
        .replace(`m=message ${real} `, `m=message ${proxy.port} `);
      const head = text
        .slice(0, split)
        .replace(/^(content-length|l)[ \t]*:[ \t]*\d+/im, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
      text = `${head}\r\n\r\n${body}`;
    }
    this.sock.send(Buffer.from(text, 'latin1'), to, HOST);
  }

  async close(): Promise<void> {
    for (const p of this.proxies) await p.close();
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}

/** Flips one byte of the third chunk's body (its headers say Byte-Range 131073-...) on its way to the receiver. */
function flipOneByte(p: TcpProxy): void {
  let countdown = -1;
  let flipped = false;
  p.transformUp = (d) => {
    if (flipped) return d;
    if (countdown < 0) {
      // 1000 bytes into the third 64 KiB of data: inside ciphertext record 3, whether the sender sends Blink's
      // 64 KiB chunks (two chunks' end-lines and headers, ~500 bytes, come before it) or blink-tui's 1 MiB ones.
      const at = d.indexOf('Byte-Range: 1-');
      if (at < 0) return d;
      const body = d.indexOf('\r\n\r\n', at);
      if (body < 0) return d; // headers cut: unlikely on loopback; the test then fails visibly
      countdown = body + 4 + 2 * 65536 + 1000;
    }
    if (countdown < d.length) {
      const out = Buffer.from(d);
      out[countdown] = out[countdown]! ^ 0x01;
      flipped = true;
      return out;
    }
    countdown -= d.length;
    return d;
  };
}

async function encryptedPair(work: string) {
  const alice = await HeadlessClient.start({
    args: ['--user', 'alice', '--host', HOST, '--port', '0', '--download-dir', join(work, 'dl-alice')],
  });
  const bob = await HeadlessClient.start({
    args: ['--user', 'bob', '--host', HOST, '--port', '0', '--download-dir', join(work, 'dl-bob')],
  });
  const detour = await FileDetour.start(portOf(alice.uri), portOf(bob.uri));
  alice.send({ cmd: 'chat', to: `sip:bob@${HOST}:${detour.port}` });
  const inc = await bob.waitFor((e) => e.ev === 'incoming', 15000);
  bob.send({ cmd: 'accept', session: inc.session });
  const sa = String((await alice.waitFor((e) => e.ev === 'session' && e.state === 'active', 15000)).session);
  const sb = String(inc.session);
  await alice.waitFor((e) => e.ev === 'otr' && e.session === sa && e.state === 'encrypted', 20000);
  await bob.waitFor((e) => e.ev === 'otr' && e.session === sb && e.state === 'encrypted', 20000);
  return { alice, bob, detour, sa, sb };
}

const isEnd = (e: Ev) => e.ev === 'file' && ['done', 'failed', 'cancelled'].includes(String(e.state));

async function sendPrivate(from: HeadlessClient, session: string, to: HeadlessClient, path: string) {
  const sinceFrom = from.events.length;
  const sinceTo = to.events.length;
  from.send({ cmd: 'send_file', session, path });
  const offer = await to.waitFor((e) => e.ev === 'file' && e.state === 'offered', 20000, sinceTo);
  to.send({ cmd: 'accept_file', transfer: offer.transfer });
  const [inEnd, outEnd] = await Promise.all([
    to.waitFor((e) => isEnd(e) && e.transfer === offer.transfer, 60000, sinceTo),
    from.waitFor((e) => isEnd(e) && e.direction === 'out', 60000, sinceFrom),
  ]);
  return { offer, inEnd, outEnd };
}

test(
  'a private file crosses the loopback as ciphertext only, and arrives intact with the chat lock',
  { timeout: 120000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-private-'));
    const { alice, bob, detour, sa, sb } = await encryptedPair(work);
    try {
      const name = 'secret-plans-Ωmega.txt';
      // Random bytes and a recognisable text, so that any slice of either in the capture is found.
      const marker = 'THE-PLAINTEXT-MARKER-7f3a9c'.repeat(2000);
      const data = Buffer.concat([randomBytes(300 * 1024), Buffer.from(marker), randomBytes(300 * 1024)]);
      const src = join(work, name);
      writeFileSync(src, data);
      const cap = await LoopbackCapture.start(`(tcp or udp) and host ${HOST}`);
      const { offer, inEnd, outEnd } = await sendPrivate(alice, sa, bob, src);
      const wire = await cap.stop();
      assert.equal(offer.encrypted, true);
      assert.equal(offer.name, name, 'the receiver learns the real name from the sealed metadata');
      assert.equal(offer.size, data.length);
      assert.equal(offer.type, 'text/plain', 'the type too, from the sealed metadata');
      assert.equal(inEnd.state, 'done', JSON.stringify(inEnd));
      assert.equal(outEnd.state, 'done', JSON.stringify(outEnd));
      assert.equal(inEnd.encrypted, true);
      assert.equal(outEnd.encrypted, true);
      assert.equal(inEnd.lock, 'unverified');
      assert.equal(sha1(readFileSync(String(inEnd.path))), sha1(data));
      // The capture saw the transfer (its MSRP went through the proxy) but none of the plaintext nor the name.
      assert.ok(
        detour.proxies.length === 1 && detour.proxies[0]!.connections.length === 1,
        'MSRP went through the proxy',
      );
      const up = Buffer.concat(detour.proxies[0]!.connections[0]!.up);
      assert.ok(up.length > data.length, 'the ciphertext passed the proxy');
      assert.ok(wire.length > data.length, 'the capture holds the transfer');
      assert.equal(wire.indexOf('THE-PLAINTEXT-MARKER'), -1, 'plaintext marker on the wire');
      assert.equal(wire.indexOf('secret-plans'), -1, 'file name on the wire');
      // The offer names no hash: GCM authenticates every record, so the sender does not encrypt the file once
      // before offering it just to hash the ciphertext.
      const selectors = wire.toString('latin1').match(/a=file-selector:[^\r\n]*/g) ?? [];
      assert.ok(selectors.length > 0, 'the offer was captured');
      for (const line of selectors) assert.doesNotMatch(line, /hash:/, line);
      for (const off of [0, 4096, 100_000, 299_000, data.length - 64]) {
        assert.equal(wire.indexOf(data.subarray(off, off + 24)), -1, `plaintext bytes at ${off} on the wire`);
        assert.equal(up.indexOf(data.subarray(off, off + 24)), -1, `plaintext bytes at ${off} through the proxy`);
      }
      // The other way, from the side that answered the chat (it calls back the caller's Contact).
      const back = randomBytes(200 * 1024);
      const backSrc = join(work, 'reply.bin');
      writeFileSync(backSrc, back);
      const r = await sendPrivate(bob, sb, alice, backSrc);
      assert.equal(r.inEnd.state, 'done', JSON.stringify(r.inEnd));
      assert.equal(r.inEnd.encrypted, true);
      assert.equal(sha1(readFileSync(String(r.inEnd.path))), sha1(back));
      // History on both sides: encrypted with the chat's lock.
      for (const c of [alice, bob]) {
        const recs = readFileSync(join(c.configDir, 'chat', 'history', 'transfers.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(
          recs.map((r) => [r.name, r.result, r.encryption, r.size]),
          [
            [name, 'done', 'unverified', data.length],
            ['reply.bin', 'done', 'unverified', back.length],
          ],
        );
      }
    } finally {
      await alice.quit();
      await bob.quit();
      await detour.close();
      rmSync(work, { recursive: true, force: true });
    }
  },
);

test(
  'a ciphertext byte flipped on the way: the receiver refuses the file and keeps nothing',
  { timeout: 120000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-tamper-'));
    const { alice, bob, detour, sa } = await encryptedPair(work);
    try {
      // Flip one byte 1000 bytes into the third 64 KiB of ciphertext (see flipOneByte): inside record 3.
      detour.onProxy = flipOneByte;
      const data = randomBytes(512 * 1024);
      const src = join(work, 'tampered.bin');
      writeFileSync(src, data);
      const { inEnd, outEnd } = await sendPrivate(alice, sa, bob, src);
      assert.equal(inEnd.state, 'failed', JSON.stringify(inEnd));
      assert.match(String(inEnd.reason), /altered|authentication/, JSON.stringify(outEnd));
      assert.equal(outEnd.state, 'failed', JSON.stringify(outEnd));
      assert.equal(inEnd.path, undefined);
      assert.deepEqual(readdirSync(join(work, 'dl-bob')), [], 'nothing of the refused file is kept');
    } finally {
      await alice.quit();
      await bob.quit();
      await detour.close();
      rmSync(work, { recursive: true, force: true });
    }
  },
);

test(
  'a plain file altered on the way fails its hash check; nothing is kept, so a new offer starts clean',
  { timeout: 120000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'blink-files-hash-'));
    const dl = join(work, 'dl-bob');
    const alice = await HeadlessClient.start({ args: ['--user', 'alice', '--host', HOST, '--port', '0', '--no-otr'] });
    const bob = await HeadlessClient.start({
      args: ['--user', 'bob', '--host', HOST, '--port', '0', '--no-otr', '--download-dir', dl],
    });
    const detour = await FileDetour.start(portOf(alice.uri), portOf(bob.uri));
    try {
      const data = randomBytes(512 * 1024);
      const src = join(work, 'plain.bin');
      writeFileSync(src, data);
      const send = async () => {
        const sinceA = alice.events.length;
        const sinceB = bob.events.length;
        alice.send({ cmd: 'send_file', to: `sip:bob@${HOST}:${detour.port}`, path: src });
        const offer = await bob.waitFor((e) => e.ev === 'file' && e.state === 'offered', 20000, sinceB);
        bob.send({ cmd: 'accept_file', transfer: offer.transfer });
        return Promise.all([
          bob.waitFor((e) => isEnd(e) && e.transfer === offer.transfer, 60000, sinceB),
          alice.waitFor((e) => isEnd(e) && e.direction === 'out', 60000, sinceA),
        ]);
      };
      detour.onProxy = flipOneByte;
      const [inEnd, outEnd] = await send();
      assert.equal(inEnd.state, 'failed', JSON.stringify(inEnd));
      assert.match(String(inEnd.reason), /does not match the hash/);
      assert.equal(outEnd.state, 'failed', JSON.stringify(outEnd));
      assert.deepEqual(readdirSync(dl), [], 'no file, and no partial file to resume from');
      detour.onProxy = null;
      const [again, sent] = await send();
      assert.equal(again.state, 'done', JSON.stringify(again));
      assert.equal(sent.state, 'done', JSON.stringify(sent));
      assert.equal(sha1(readFileSync(String(again.path))), sha1(data));
    } finally {
      await alice.quit();
      await bob.quit();
      await detour.close();
      rmSync(work, { recursive: true, force: true });
    }
  },
);
