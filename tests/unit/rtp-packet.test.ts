// RTP and RTCP packets: round trips of every header field, and hostile input that must end in RtpParseError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RtpParseError } from '../../src/rtp/errors.js';
import { isZrtpPacket, looksLikeRtcp, parseRtp, rtpHeaderLength, serializeRtp } from '../../src/rtp/packet.js';
import { compound, ntpMiddle, parseRtcp, rttFromReport, serializeRtcp, toNtp } from '../../src/rtp/rtcp.js';
import { ReceiverStats } from '../../src/rtp/receiver-stats.js';

test('RTP: header, CSRCs, extension and padding survive serialize -> parse', () => {
  const payload = new Uint8Array([1, 2, 3, 4, 5]);
  const b = serializeRtp({
    payloadType: 96,
    marker: true,
    sequence: 65535,
    timestamp: 0xfffffff0,
    ssrc: 0xdeadbeef,
    csrcs: [1, 0x80000000],
    extension: { profile: 0xbede, data: new Uint8Array([9, 8, 7, 6]) },
    payload,
    padding: 3,
  });
  assert.equal(b[0]! >> 6, 2);
  assert.equal(b.length, 12 + 8 + 8 + 5 + 3);
  const p = parseRtp(b);
  assert.equal(p.payloadType, 96);
  assert.equal(p.marker, true);
  assert.equal(p.sequence, 65535);
  assert.equal(p.timestamp, 0xfffffff0);
  assert.equal(p.ssrc, 0xdeadbeef);
  assert.deepEqual(p.csrcs, [1, 0x80000000]);
  assert.deepEqual(p.extension, { profile: 0xbede, data: new Uint8Array([9, 8, 7, 6]) });
  assert.deepEqual(p.payload, payload);
  assert.equal(p.padding, 3);
  assert.equal(rtpHeaderLength(b), 28);
});

test('RTP: a minimal packet has a 12-byte header and a view of the payload', () => {
  const b = serializeRtp({
    payloadType: 0,
    marker: false,
    sequence: 1,
    timestamp: 160,
    ssrc: 7,
    payload: new Uint8Array(160),
  });
  const p = parseRtp(b);
  assert.equal(p.payload.length, 160);
  assert.equal(p.payload.buffer, b.buffer, 'no copy');
  assert.equal(p.extension, null);
  assert.equal(p.padding, 0);
});

test('RTP: hostile input throws RtpParseError with a code, and only that', () => {
  const good = serializeRtp({
    payloadType: 0,
    marker: false,
    sequence: 1,
    timestamp: 2,
    ssrc: 3,
    payload: new Uint8Array(4),
  });
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(11), 'truncated'],
    [Uint8Array.from(good, (v, i) => (i === 0 ? 0x40 : v)), 'bad-version'],
    [Uint8Array.from(good, (v, i) => (i === 0 ? 0x8f : v)), 'truncated'], // 15 CSRCs claimed
    [Uint8Array.from(good.subarray(0, 14), (v, i) => (i === 0 ? 0x90 : v)), 'truncated'], // extension header cut
    [Uint8Array.from([...good.subarray(0, 12), 0xbe, 0xde, 0xff, 0xff]), 'truncated'], // huge extension length
    [Uint8Array.from(good, (v, i) => (i === 0 ? 0xa0 : i === good.length - 1 ? 200 : v)), 'bad-padding'],
    [Uint8Array.from(good, (v, i) => (i === 0 ? 0xa0 : i === good.length - 1 ? 0 : v)), 'bad-padding'],
  ];
  cases[4]![0][0] = 0x90;
  for (const [b, code] of cases) {
    assert.throws(
      () => parseRtp(b),
      (e: unknown) => e instanceof RtpParseError && e.code === code,
    );
  }
  for (let i = 0; i < 2000; i++) {
    const junk = randomBytes(Math.floor(Math.random() * 40));
    try {
      parseRtp(junk);
    } catch (e) {
      assert.ok(e instanceof RtpParseError);
    }
  }
});

test('RTP/RTCP/ZRTP demultiplexing on one port', () => {
  const rtp = serializeRtp({
    payloadType: 0,
    marker: true,
    sequence: 1,
    timestamp: 2,
    ssrc: 3,
    payload: new Uint8Array(4),
  });
  const rtcp = serializeRtcp({ type: 'rr', ssrc: 1, reports: [] });
  const zrtp = new Uint8Array([0x10, 0, 0, 1, 0x5a, 0x52, 0x54, 0x50, 0, 0, 0, 0]);
  assert.equal(looksLikeRtcp(rtp), false);
  assert.equal(looksLikeRtcp(rtcp), true);
  assert.equal(isZrtpPacket(zrtp), true);
  assert.equal(isZrtpPacket(rtp), false);
  assert.equal(looksLikeRtcp(zrtp), false);
});

test('RTCP: an SR + SDES + BYE compound round-trips', () => {
  const block = {
    ssrc: 0x1234,
    fractionLost: 25,
    cumulativeLost: -3,
    highestSeq: 70000,
    jitter: 42,
    lsr: 0xabcd0000,
    dlsr: 65536,
  };
  const b = compound([
    {
      type: 'sr',
      ssrc: 9,
      ntpSec: 3900000000,
      ntpFrac: 0x80000000,
      rtpTimestamp: 160,
      packetCount: 10,
      octetCount: 1600,
      reports: [block],
    },
    { type: 'sdes', chunks: [{ ssrc: 9, cname: 'alice@example.com' }] },
    { type: 'bye', ssrcs: [9], reason: 'hangup' },
  ]);
  assert.equal(b.length % 4, 0);
  const [sr, sdes, bye, ...rest] = parseRtcp(b);
  assert.equal(rest.length, 0);
  assert.deepEqual(sr, {
    type: 'sr',
    ssrc: 9,
    ntpSec: 3900000000,
    ntpFrac: 0x80000000,
    rtpTimestamp: 160,
    packetCount: 10,
    octetCount: 1600,
    reports: [block],
  });
  assert.deepEqual(sdes, { type: 'sdes', chunks: [{ ssrc: 9, cname: 'alice@example.com' }] });
  assert.deepEqual(bye, { type: 'bye', ssrcs: [9], reason: 'hangup' });
});

test('RTCP: unknown packet types are skipped; hostile lengths throw RtpParseError', () => {
  const rr = serializeRtcp({ type: 'rr', ssrc: 5, reports: [] });
  const app = new Uint8Array([0x80, 204, 0, 2, 0, 0, 0, 5, 0x41, 0x42, 0x43, 0x44]);
  const both = new Uint8Array([...rr, ...app]);
  assert.deepEqual(parseRtcp(both)[1], { type: 'other', pt: 204 });
  const long = Uint8Array.from(rr);
  long[3] = 200; // length runs past the packet
  const lie = Uint8Array.from(rr);
  lie[0] = 0x80 | 5; // five report blocks claimed, none present
  for (const b of [long, lie, new Uint8Array(3), new Uint8Array([0x40, 201, 0, 1, 0, 0, 0, 0])]) {
    assert.throws(() => parseRtcp(b), RtpParseError);
  }
  for (let i = 0; i < 2000; i++) {
    const junk = randomBytes(8 + Math.floor(Math.random() * 40));
    junk[0] = 0x80 | (junk[0]! & 0x3f);
    try {
      parseRtcp(junk);
    } catch (e) {
      assert.ok(e instanceof RtpParseError, String(e));
    }
  }
});

test('RTT from LSR/DLSR: arrival - LSR - DLSR', () => {
  const sentAt = Date.UTC(2026, 0, 1);
  const t = toNtp(sentAt);
  const lsr = ntpMiddle(t.sec, t.frac);
  // the peer held our SR for 250 ms, we get its RR 400 ms after sending: 150 ms round trip
  const rtt = rttFromReport(
    { ssrc: 1, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lsr, dlsr: 65536 / 4 },
    sentAt + 400,
  );
  assert.ok(rtt !== null && Math.abs(rtt - 150) < 1, String(rtt));
  assert.equal(
    rttFromReport({ ssrc: 1, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 }, sentAt),
    null,
  );
});

test('receiver stats: sequence wrap, loss fraction, cumulative loss, jitter (RFC 3550 A.1, A.3, A.8)', () => {
  const r = new ReceiverStats();
  // 100 packets across the 16-bit wrap, every 10th lost, arriving on time: no jitter
  let got = 0;
  for (let i = 0; i < 100; i++) {
    if (i % 10 === 5) continue;
    r.update((65500 + i) & 0xffff, i * 160, 1000 + i * 160);
    got++;
  }
  assert.equal(r.received, got);
  assert.equal(r.expected, 100);
  assert.equal(r.lost, 10);
  assert.equal(r.extendedMax, 65500 + 99);
  assert.equal(r.takeFractionLost(), Math.floor((10 * 256) / 100));
  assert.equal(r.takeFractionLost(), 0, 'nothing new since the last report');
  assert.equal(r.jitter, 0);
  // now every other packet arrives 80 ticks late: jitter converges toward 80
  for (let i = 100; i < 400; i++) r.update((65500 + i) & 0xffff, i * 160, 1000 + i * 160 + (i % 2) * 80);
  assert.ok(r.jitter > 70 && r.jitter <= 80, String(r.jitter));
});
