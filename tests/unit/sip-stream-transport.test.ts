// TCP/TLS transports over real loopback sockets: framing across writes, flow reuse, hostile input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { TcpTransport, TlsTransport } from '../../src/sip/stream-transport.js';
import { parseHead, topVia } from '../../src/sip/wire.js';
import { buildRequest, buildResponse } from '../helpers/sip-raw.js';
import { delay } from '../helpers/sip-fakes.js';
import { SipTransportError } from '../../src/sip/errors.js';

function rawClient(port: number): Promise<{ socket: Socket; data: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = '';
    socket.on('data', (d) => (buf += d.toString('utf8')));
    socket.once('connect', () => resolve({ socket, data: () => buf }));
    socket.once('error', reject);
  });
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

function tcpRequest(method: string, branch: string, port: number, body = ''): string {
  return buildRequest({
    method,
    uri: `sip:me@127.0.0.1:${port}`,
    viaPort: 40000,
    branch,
    callId: branch,
    body,
  }).replace('/UDP ', '/TCP ');
}

test('TCP: two coalesced messages split over several writes arrive whole and in order', async () => {
  const t = new TcpTransport(undefined, {});
  const got: string[] = [];
  t.onMessage = (m) => got.push(m);
  await t.connect();
  const c = await rawClient(t.localPort);
  try {
    const m1 = tcpRequest('MESSAGE', 'z9hG4bKs1', t.localPort, 'h\u00e9llo \u263a');
    const m2 = tcpRequest('OPTIONS', 'z9hG4bKs2', t.localPort);
    const bytes = Buffer.from(m1 + '\r\n\r\n' + m2, 'utf8');
    for (const cut of [1, 17, 180, 181, bytes.length - 3]) {
      got.length = 0;
      c.socket.write(bytes.subarray(0, cut));
      await delay(10);
      c.socket.write(bytes.subarray(cut));
      await until(() => got.length === 2);
      assert.match(got[0] ?? '', /^MESSAGE /);
      assert.ok((got[0] ?? '').endsWith('h\u00e9llo \u263a'));
      assert.match(got[1] ?? '', /^OPTIONS /);
    }
    // the ping between the messages was answered with a pong
    assert.ok(c.data().includes('\r\n'));
  } finally {
    c.socket.destroy();
    await t.dispose();
  }
});

test('TCP: the response goes back on the flow the request came in on', async () => {
  const t = new TcpTransport(undefined, {});
  const got: string[] = [];
  t.onMessage = (m) => got.push(m);
  await t.connect();
  const c = await rawClient(t.localPort);
  try {
    c.socket.write(tcpRequest('OPTIONS', 'z9hG4bKflow', t.localPort));
    await until(() => got.length === 1);
    const via = topVia(parseHead(got[0] ?? ''));
    assert.equal(via.params.get('rport'), String(c.socket.localPort));
    assert.equal(via.params.get('received'), undefined);
    await t.send(buildResponse(got[0] ?? '', 200, 'OK'));
    await until(() => c.data().includes('SIP/2.0 200 OK'));
    assert.equal(t.flowCount, 1);
  } finally {
    c.socket.destroy();
    await t.dispose();
  }
});

test('TCP: an oversized header closes that connection only; the transport keeps serving', async () => {
  const warnings: string[] = [];
  const t = new TcpTransport(
    { error: (m) => warnings.push(m), warn: (m) => warnings.push(m), log() {}, debug() {} },
    {
      limits: { maxHeaderBytes: 1024, maxBodyBytes: 1024 },
    },
  );
  const got: string[] = [];
  t.onMessage = (m) => got.push(m);
  await t.connect();
  const bad = await rawClient(t.localPort);
  const closed = new Promise<void>((resolve) => bad.socket.once('close', () => resolve()));
  try {
    bad.socket.write('INVITE sip:x SIP/2.0\r\nX-Junk: ' + 'x'.repeat(4000));
    await closed;
    assert.match(warnings.join('\n'), /exceeds 1024 bytes/);
    const good = await rawClient(t.localPort);
    good.socket.write(tcpRequest('OPTIONS', 'z9hG4bKgood', t.localPort));
    await until(() => got.length === 1);
    good.socket.destroy();
    const huge = await rawClient(t.localPort);
    const closed2 = new Promise<void>((resolve) => huge.socket.once('close', () => resolve()));
    huge.socket.write('MESSAGE sip:x SIP/2.0\r\nContent-Length: 5000\r\n\r\n');
    await closed2;
    assert.equal(got.length, 1);
  } finally {
    bad.socket.destroy();
    await t.dispose();
  }
});

test('TCP: sending to a closed port rejects with SipTransportError', async () => {
  const probe = new TcpTransport(undefined, {});
  await probe.connect();
  const deadPort = probe.localPort;
  await probe.dispose();
  const t = new TcpTransport(undefined, {});
  await t.connect();
  try {
    const req = tcpRequest('OPTIONS', 'z9hG4bKdead', deadPort).replace(
      /^OPTIONS sip:me@127\.0\.0\.1:\d+/,
      `OPTIONS sip:me@127.0.0.1:${deadPort}`,
    );
    await assert.rejects(t.send(req), SipTransportError);
  } finally {
    await t.dispose();
  }
});

test('TLS: listening without a certificate is a clear error', async () => {
  const t = new TlsTransport(undefined, {});
  await assert.rejects(t.connect(), /needs tls\.key and tls\.cert/);
});

test('TLS: an untrusted certificate is refused unless its CA is given', async () => {
  const { makeSelfSignedCert } = await import('../helpers/tls-cert.js');
  const cert = makeSelfSignedCert();
  const server = new TlsTransport(undefined, { tls: { key: cert.key, cert: cert.cert } });
  const got: string[] = [];
  server.onMessage = (m) => got.push(m);
  await server.connect();
  const untrusting = new TlsTransport(undefined, { tls: { key: cert.key, cert: cert.cert } });
  const trusting = new TlsTransport(undefined, { tls: { key: cert.key, cert: cert.cert, ca: cert.cert } });
  await untrusting.connect();
  await trusting.connect();
  try {
    const req = tcpRequest('OPTIONS', 'z9hG4bKtls', server.localPort).replace('/TCP ', '/TLS ');
    await assert.rejects(untrusting.send(req), /TLS connection to .* failed: self[- ]signed certificate/);
    await trusting.send(req);
    await until(() => got.length === 1);
    assert.equal(topVia(parseHead(got[0] ?? '')).transport, 'TLS');
  } finally {
    await untrusting.dispose();
    await trusting.dispose();
    await server.dispose();
  }
});
