import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { findFreePort } from '../../src/sip/free-port.js';

test('findFreePort skips ports in use, per transport', async () => {
  const start = 47000 + Math.floor(Math.random() * 1000);
  const first = await findFreePort('udp', '127.0.0.1', start);
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(first, '127.0.0.1', () => r()));
  const tcp = createServer();
  const tcpFirst = await findFreePort('tcp', '127.0.0.1', start);
  await new Promise<void>((r) => tcp.listen(tcpFirst, '127.0.0.1', () => r()));
  try {
    const next = await findFreePort('udp', '127.0.0.1', first);
    assert.ok(next > first);
    const nextTcp = await findFreePort('tls', '127.0.0.1', tcpFirst);
    assert.ok(nextTcp > tcpFirst);
    await assert.rejects(findFreePort('udp', '127.0.0.1', first, first), /no free udp port/);
  } finally {
    udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  }
});

test('findFreePort defaults to 5060 upwards', async () => {
  const p = await findFreePort('udp');
  assert.ok(p >= 5060);
});
