// Our ZRTP engine against GNU ZRTP C++ (ZRTPCPP, the engine inside Blink) with its standard configuration, the
// Hello Blink sends. ZRTPCPP is not a Debian package: build it from source (tests/interop/peers/README.md) and
// point ZRTPCPP_DIR at the tree; the harness is compiled on first use (tests/helpers/zrtpcpp.ts). Not part of
// `npm test` (CI cannot build it): run it by hand, `node --import tsx --test tests/interop/zrtp-zrtpcpp.manual.ts`.
// Without ZRTPCPP_DIR it reports itself skipped, with that reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZrtpUdp } from '../helpers/zrtp-udp.js';
import { ZrtpcppPeer, zrtpcppUnavailable } from '../helpers/zrtpcpp.js';
import { seededRandom, unit } from '../helpers/zrtp-link.js';
import { MemoryZidCache, ZrtpEngine, type ZrtpSecure } from '../../src/zrtp/index.js';

const skip = zrtpcppUnavailable();

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

interface PeerRun {
  secure: { sas: string; cipher: string; verified: boolean };
  keys: { role: string; ki: string; si: string; kr: string; sr: string };
  ours: ZrtpSecure;
  lines: string[];
}

/** One call: ZRTPCPP and our engine start together (so both commit at once, as two Blinks do on loopback). */
async function call(opts: {
  zidFile: string;
  cache: MemoryZidCache;
  zid: Uint8Array;
  verify?: 'both';
  passive?: boolean;
  /** Share of ZRTP packets dropped each way on our socket. */
  loss?: { p: number; seed: string };
}): Promise<PeerRun & { dropped: { in: number; out: number } }> {
  const ssrc = randomBytes(4).readUInt32BE(0);
  const engine = new ZrtpEngine({ zid: opts.zid, ssrc, cache: opts.cache, passive: opts.passive ?? false });
  const rand = opts.loss && seededRandom(opts.loss.seed);
  const media = await ZrtpUdp.open(engine, rand && { p: opts.loss!.p, rand: () => unit(rand) });
  const peerPort = await freePort();
  const peer = ZrtpcppPeer.spawn(peerPort, media.port, opts.zidFile);
  const waitLine = async (re: RegExp) => (await peer.waitLine(re)).text;
  try {
    const hh = (await waitLine(/^HELLOHASH /)).slice('HELLOHASH '.length).trim();
    await waitLine(/^READY/);
    // ZRTPCPP's Hello must be the one its a=zrtp-hash announces (§8.1).
    engine.setPeerHelloHash(hh);
    peer.start();
    media.start(peerPort, ssrc);
    const ours = await media.waitSecure(15_000);
    const sec = (await waitLine(/^SECURE /)).split(' ');
    const k = (await waitLine(/^KEYS /)).split(' ');
    if (opts.verify === 'both') {
      peer.verify();
      await waitLine(/^VERIFIED/);
      engine.setVerified(true);
    }
    return {
      secure: { sas: sec[1]!, cipher: sec[2]!, verified: sec[3] === '1' },
      keys: { role: k[1]!, ki: k[2]!, si: k[3]!, kr: k[4]!, sr: k[5]! },
      ours,
      lines: peer.lines.map((l) => l.text),
      dropped: media.dropped,
    };
  } finally {
    peer.kill();
    await media.close();
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test(
  "ZRTPCPP (Blink's engine): same SAS, same SRTP keys, retained secret from the second call, V flag from the third",
  { skip, timeout: 90_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zrtpcpp-'));
    const zidFile = join(dir, 'zid.dat');
    const cache = new MemoryZidCache();
    const zid = new Uint8Array(randomBytes(12));
    try {
      const roles: string[] = [];
      // Call 1 passive (we must be the responder); the others start both sides at once (Commit contention decides).
      const calls = Number(process.env['ZRTPCPP_CALLS'] ?? 5);
      for (let n = 1; n <= calls; n++) {
        const r = await call({ zidFile, cache, zid, verify: n === 2 ? 'both' : undefined, passive: n === 1 });
        assert.equal(r.ours.sas, r.secure.sas, `call ${n}`);
        if (process.env['ZRTP_DEBUG']) {
          console.log(
            n,
            r.ours.role,
            r.ours.hash,
            r.ours.cipher,
            r.ours.authTag,
            r.ours.keyAgreement,
            r.ours.sas,
            r.secure,
          );
        }
        assert.equal(r.ours.keyAgreement, 'EC25');
        // As initiator we choose: ZRTPCPP's Hello puts S384 and AES3 first, so the stronger ones (§4.1.2 as we read it).
        if (r.ours.role === 'initiator') assert.deepEqual([r.ours.hash, r.ours.cipher], ['S384', 'AES3']);
        assert.notEqual(r.keys.role, r.ours.role, 'one initiator, one responder');
        const iAmInit = r.ours.role === 'initiator';
        assert.equal(hex(r.ours.srtp.local.masterKey), iAmInit ? r.keys.ki : r.keys.kr);
        assert.equal(hex(r.ours.srtp.local.masterSalt), iAmInit ? r.keys.si : r.keys.sr);
        assert.equal(hex(r.ours.srtp.remote.masterKey), iAmInit ? r.keys.kr : r.keys.ki);
        assert.equal(hex(r.ours.srtp.remote.masterSalt), iAmInit ? r.keys.sr : r.keys.si);
        assert.equal(r.ours.cache, n === 1 ? 'new' : 'match');
        assert.equal(r.ours.verified, n >= 3);
        assert.equal(r.secure.verified, n >= 3);
        if (n === 1) assert.equal(r.ours.role, 'responder');
        roles.push(r.ours.role);
      }
      if (process.env['ZRTP_DEBUG']) console.log(roles.join(' '));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'ZRTPCPP with a quarter of the ZRTP packets lost each way: ten calls, all complete with the same SAS and keys',
  { skip, timeout: 240_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zrtpcpp-loss-'));
    try {
      let dropped = 0;
      for (let n = 1; n <= 10; n++) {
        const r = await call({
          zidFile: join(dir, 'zid.dat'),
          cache: new MemoryZidCache(),
          zid: new Uint8Array(randomBytes(12)),
          loss: { p: 0.25, seed: `zrtpcpp-loss/${n}` },
        });
        assert.equal(r.ours.sas, r.secure.sas, `call ${n}`);
        const iAmInit = r.ours.role === 'initiator';
        assert.equal(hex(r.ours.srtp.local.masterKey), iAmInit ? r.keys.ki : r.keys.kr);
        dropped += r.dropped.in + r.dropped.out;
      }
      assert.ok(dropped > 10, `${dropped} packets dropped`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
