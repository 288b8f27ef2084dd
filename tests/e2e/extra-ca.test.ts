// NODE_EXTRA_CA_CERTS through the launcher (bin/blink-tui.js starts Node without it and src/tls/extra-ca.ts
// trusts the file from the first TLS connection on): the real binary registers over TLS with a registrar
// whose certificate is only in that file, Node itself never saw the variable, and without the file the
// same registrar is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { HeadlessClient } from '../helpers/client.js';
import { buildResponse } from '../helpers/sip-raw.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';

/** A registrar over TLS on 127.0.0.1 that accepts every REGISTER (no digest: trust is what is tested here). */
async function tlsRegistrar(cert: {
  key: string;
  cert: string;
}): Promise<{ port: number; registers: string[]; close(): void }> {
  const registers: string[] = [];
  const sockets: TLSSocket[] = [];
  const srv = createServer({ key: cert.key, cert: cert.cert }, (s: TLSSocket) => {
    sockets.push(s);
    s.on('error', () => undefined);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const len = Number(/^content-length:\s*(\d+)/im.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) break;
        const msg = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        if (!msg.startsWith('REGISTER ')) continue;
        registers.push(msg);
        const contact = /^(?:contact|m):\s*(.*)$/im.exec(msg)?.[1]?.trim() ?? '*';
        s.write(buildResponse(msg, 200, 'OK', [`Contact: ${contact};expires=600`]));
      }
    });
  });
  srv.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    registers,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

function startArgs(port: number): string[] {
  return [
    '--user',
    'alice',
    '--password',
    'unused',
    '--transport',
    'tls',
    '--port',
    '0',
    '--registrar',
    `sip:127.0.0.1:${port}`,
  ];
}

test(
  'a TLS registrar trusted only through NODE_EXTRA_CA_CERTS: registered, with the file read by us, not at Node start-up',
  { timeout: 60000 },
  async () => {
    const cert = makeSelfSignedCert();
    const dir = mkdtempSync(join(tmpdir(), 'blink-tui-extra-ca-'));
    const reg = await tlsRegistrar(cert);
    let c: HeadlessClient | null = null;
    try {
      const file = join(dir, 'extra-ca.pem');
      writeFileSync(file, cert.cert);
      c = await HeadlessClient.start({ args: startArgs(reg.port), env: { NODE_EXTRA_CA_CERTS: file } });
      // The environment Node was started with (the shebang's doing), and the one it gives its children.
      const startEnv = readFileSync(`/proc/${c.proc.pid}/environ`, 'utf8').split('\0');
      assert.ok(!startEnv.some((v) => v.startsWith('NODE_EXTRA_CA_CERTS=')), 'Node starts without NODE_EXTRA_CA_CERTS');
      assert.ok(startEnv.includes(`BLINK_TUI_EXTRA_CA_CERTS=${file}`), 'the value is handed over');
      const r = await c.waitFor(
        (e) => e.ev === 'registered' || (e.ev === 'registration' && e.state === 'failed'),
        20000,
      );
      assert.equal(r.ev, 'registered', JSON.stringify(c.events.slice(-5)));
      assert.ok(reg.registers.length >= 1);
    } finally {
      await c?.quit();
      reg.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'the same registrar without the file is refused (its certificate is not trusted)',
  { timeout: 60000 },
  async () => {
    const cert = makeSelfSignedCert();
    const reg = await tlsRegistrar(cert);
    let c: HeadlessClient | null = null;
    try {
      c = await HeadlessClient.start({ args: startArgs(reg.port), env: { NODE_EXTRA_CA_CERTS: '' } });
      const r = await c.waitFor(
        (e) => e.ev === 'registered' || (e.ev === 'registration' && e.state === 'failed'),
        20000,
      );
      assert.equal(r.ev, 'registration', JSON.stringify(r));
      assert.match(String(r.error), /certificate/i, 'refused for its certificate');
      assert.equal(reg.registers.length, 0, 'nothing was sent over an untrusted connection');
    } finally {
      await c?.quit();
      reg.close();
    }
  },
);
