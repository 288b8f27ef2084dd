// LoopbackCapture with ownAddressFilter, on real tcpdump and real sockets: three "test runs" talk at the same
// time, each on its own loopback address (two in 127/8 from ownLoopbackAddress, one on 127.0.0.1 as the tests
// that keep the default do), each captured with its own filter. Each capture must hold its own run's bytes and
// none of the others': what lets kamailio-chat and audio-peers search their capture for plaintext while other
// files chat and call on lo. Needs root, as every capture does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, connect, type AddressInfo } from 'node:net';
import { LoopbackCapture, ownAddressFilter, ownLoopbackAddress } from '../helpers/capture.js';
import { udpPackets } from '../helpers/pcap.js';

function threeAddresses(): string[] {
  const a = ownLoopbackAddress();
  let b = ownLoopbackAddress();
  while (b === a) b = ownLoopbackAddress();
  return [a, b, '127.0.0.1'];
}

/** One datagram from one socket on `host` to another on `host`; resolves once it has arrived. */
async function udpExchange(host: string, text: string): Promise<void> {
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  try {
    await new Promise<void>((r) => rx.bind(0, host, () => r()));
    await new Promise<void>((r) => tx.bind(0, host, () => r()));
    const got = new Promise<string>((r) => rx.once('message', (m) => r(m.toString('latin1'))));
    tx.send(text, rx.address().port, host);
    assert.equal(await got, text);
  } finally {
    rx.close();
    tx.close();
  }
}

/** A TCP connection on `host` carrying `text` one way; resolves once all of it has arrived. */
async function tcpExchange(host: string, text: string): Promise<void> {
  const srv = createServer();
  let received = '';
  const done = new Promise<void>((resolve) => {
    srv.on('connection', (s) => {
      s.setEncoding('latin1');
      s.on('data', (d: string) => (received += d));
      s.on('end', () => {
        s.end();
        resolve();
      });
    });
  });
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  const c = connect({ host, port: (srv.address() as AddressInfo).port, localAddress: host });
  c.end(text);
  await done;
  srv.close();
  assert.equal(received, text);
}

for (const proto of ['udp', 'tcp'] as const) {
  test(`a ${proto} capture of an address of its own holds that address's traffic and no other run's`, async () => {
    const hosts = threeAddresses();
    const marks = hosts.map((h) => `mark-${proto}-${h}-${randomBytes(8).toString('hex')}`);
    const caps = await Promise.all(hosts.map((h) => LoopbackCapture.start(ownAddressFilter(proto, h))));
    let bytes: Buffer[] = [];
    try {
      await Promise.all(hosts.map((h, i) => (proto === 'udp' ? udpExchange : tcpExchange)(h, marks[i]!)));
    } finally {
      bytes = await Promise.all(caps.map((c) => c.stop()));
    }
    hosts.forEach((h, i) => {
      const own = bytes[i]!;
      marks.forEach((m, j) => {
        if (i === j) assert.ok(own.includes(m), `the capture of ${h} misses its own ${proto} bytes`);
        else assert.ok(!own.includes(m), `the capture of ${h} holds ${hosts[j]}'s ${proto} bytes`);
      });
      if (proto === 'udp' && h !== '127.0.0.1') {
        // and no datagram in it (other runs' included) is to or from another address (127.0.0.1 is left out:
        // other runs share it, and the kernel's source address for any 127/8 destination is 127.0.0.1)
        const strangers = udpPackets(own).filter((p) => p.src !== h || p.dst !== h);
        assert.deepEqual(strangers, [], `the capture of ${h} holds datagrams of other addresses`);
      }
    });
  });
}

test('ownAddressFilter takes an IPv4 address in 127/8 only (it goes into the tcpdump command as is)', () => {
  assert.equal(ownAddressFilter('udp', '127.12.0.7'), 'udp and host 127.12.0.7');
  for (const bad of ['127.0.0.256', '10.0.0.1', '127.1.1', '127.1.1.1 or udp', '::1', 'localhost']) {
    assert.throws(() => ownAddressFilter('tcp', bad), /127\/8/);
  }
  assert.match(ownLoopbackAddress(), /^127\.\d+\.\d+\.\d+$/);
  assert.notEqual(ownLoopbackAddress(), '127.0.0.1');
});
