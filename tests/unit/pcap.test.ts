import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PcapError,
  rtpPayloads,
  sdpBodies,
  udpPackets,
  zrtpCommitAlgorithms,
  zrtpHelloOffer,
  zrtpMessages,
} from '../helpers/pcap.js';
import { seededRandom } from '../helpers/tone.js';

/** A little-endian pcap (Ethernet link) of IPv4/UDP datagrams, as tcpdump -i lo writes. */
function pcapOf(datagrams: Array<{ sport: number; dport: number; payload: Uint8Array }>): Uint8Array {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  datagrams.forEach((d, i) => {
    const frame = Buffer.alloc(14 + 20 + 8 + d.payload.length);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(20 + 8 + d.payload.length, 16);
    frame[14 + 9] = 17;
    frame.set([127, 0, 0, 1], 14 + 12);
    frame.set([127, 0, 0, 1], 14 + 16);
    frame.writeUInt16BE(d.sport, 34);
    frame.writeUInt16BE(d.dport, 36);
    frame.writeUInt16BE(8 + d.payload.length, 38);
    frame.set(d.payload, 42);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1000 + i, 0);
    rh.writeUInt32LE(500000, 4);
    rh.writeUInt32LE(frame.length, 8);
    rh.writeUInt32LE(frame.length, 12);
    parts.push(rh, frame);
  });
  return new Uint8Array(Buffer.concat(parts));
}

test('UDP datagrams, SDP bodies, RTP payloads and a ZRTP Commit come out of a pcap', () => {
  const sdp = 'v=0\r\nm=audio 4000 RTP/AVP 0\r\n';
  const invite = Buffer.from(
    `INVITE sip:b@127.0.0.1 SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`,
  );
  const rtp = Buffer.alloc(12 + 160, 0x55);
  rtp[0] = 0x80;
  rtp[1] = 0;
  const commit = Buffer.alloc(12 + 76);
  commit[0] = 0x10;
  commit.write('ZRTP', 4, 'latin1');
  commit.writeUInt16BE(0x505a, 12);
  commit.write('Commit  ', 16, 'latin1');
  commit.write('S256AES1HS80DH3kB32 ', 12 + 56, 'latin1');
  const packets = udpPackets(
    pcapOf([
      { sport: 5060, dport: 5062, payload: invite },
      { sport: 4000, dport: 4002, payload: rtp },
      { sport: 4000, dport: 4002, payload: commit },
    ]),
  );
  assert.equal(packets.length, 3);
  assert.equal(packets[0]!.srcPort, 5060);
  assert.equal(packets[1]!.time, 1001.5);
  assert.deepEqual(
    sdpBodies(packets).map((s) => [s.startLine, s.sdp]),
    [['INVITE sip:b@127.0.0.1 SIP/2.0', sdp]],
  );
  const pay = rtpPayloads(packets, 0);
  assert.equal(pay.length, 1);
  assert.equal(pay[0]!.length, 160);
  const z = zrtpMessages(packets);
  assert.deepEqual(
    z.map((m) => m.type),
    ['Commit'],
  );
  assert.deepEqual(zrtpCommitAlgorithms(z[0]!.msg), {
    hash: 'S256',
    cipher: 'AES1',
    auth: 'HS80',
    keyAgreement: 'DH3k',
    sas: 'B32',
  });
});

test('a ZRTP Hello: version, client id and the five algorithm lists by their counts', () => {
  const lists = ['S256', 'AES1', 'AES3', 'HS80', 'HS32', 'DH3k', 'Mult', 'B32 '];
  const hello = Buffer.alloc(80 + 4 * lists.length + 8);
  hello.writeUInt16BE(0x505a, 0);
  hello.write('Hello   ', 4, 'latin1');
  hello.write('1.10', 12, 'latin1');
  hello.write('BZRTPv1.1\0\0\0\0\0\0\0', 16, 'latin1');
  // counts: hash 1, cipher 2, auth 2, key agreement 2, SAS 1
  hello.writeUInt32BE((1 << 16) | (2 << 12) | (2 << 8) | (2 << 4) | 1, 76);
  lists.forEach((a, i) => hello.write(a, 80 + 4 * i, 'latin1'));
  assert.deepEqual(zrtpHelloOffer(hello), {
    version: '1.10',
    clientId: 'BZRTPv1.1',
    hash: ['S256'],
    cipher: ['AES1', 'AES3'],
    auth: ['HS80', 'HS32'],
    keyAgreement: ['DH3k', 'Mult'],
    sas: ['B32'],
  });
  // counts that run past the end: PcapError
  hello.writeUInt32BE(0xfffff, 76);
  assert.throws(() => zrtpHelloOffer(hello), PcapError);
});

test('hostile pcap bytes: PcapError or a result, never anything else', () => {
  const good = pcapOf([{ sport: 1, dport: 2, payload: Buffer.from('hello') }]);
  const rnd = seededRandom(11);
  for (let i = 0; i < 2000; i++) {
    const b = good.slice(0, 24 + Math.floor(rnd() * (good.length - 23)));
    for (let j = 0; j < b.length; j++) if (rnd() < 0.05) b[j] = Math.floor(rnd() * 256);
    try {
      udpPackets(b);
    } catch (e) {
      assert.ok(e instanceof PcapError, String(e));
    }
  }
  assert.throws(() => udpPackets(new Uint8Array(10)), PcapError);
  assert.throws(() => zrtpCommitAlgorithms(new Uint8Array(20)), PcapError);
});
