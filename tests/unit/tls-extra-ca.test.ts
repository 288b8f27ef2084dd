// The deferred NODE_EXTRA_CA_CERTS trust (src/tls/extra-ca.ts): on a real TLS connection over 127.0.0.1, a
// server whose certificate is only in the extra file is trusted through the context, and not without it; a
// missing, empty or broken file warns and trusts Node's roots alone; the client's own key and certificate are
// presented; contexts are made once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type SecureContext, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { deferredExtraCa } from '../../src/tls/extra-ca.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';

const server = makeSelfSignedCert();
const client = makeSelfSignedCert('blink-tui client');

/** Connects to a TLS server presenting `server`; resolves with what the client saw and what the server saw of the client. */
async function handshake(
  ctx: SecureContext | undefined,
): Promise<{ authorized: boolean; error: string | null; clientCertSeen: boolean }> {
  let clientCertSeen = false;
  const srv = createServer(
    { key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: false },
    (s: TLSSocket) => {
      clientCertSeen = Object.keys(s.getPeerCertificate()).length > 0;
      s.end();
    },
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as AddressInfo).port;
    return await new Promise((resolve) => {
      const c = connect(
        { host: '127.0.0.1', port, rejectUnauthorized: false, ...(ctx ? { secureContext: ctx } : {}) },
        () => {
          const authorized = c.authorized;
          const error = c.authorizationError ? String(c.authorizationError) : null;
          c.on('close', () => resolve({ authorized, error, clientCertSeen }));
          c.end();
        },
      );
      c.on('error', (e) => resolve({ authorized: false, error: e.message, clientCertSeen }));
    });
  } finally {
    srv.close();
  }
}

test('no file handed over: no trust to add', () => {
  assert.equal(
    deferredExtraCa(undefined, () => assert.fail('no warning')),
    null,
  );
  assert.equal(
    deferredExtraCa('', () => assert.fail('no warning')),
    null,
  );
});

test(
  'a certificate in the extra file is trusted through the context, and only through it',
  { timeout: 30000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-tui-ca-'));
    try {
      const file = join(dir, 'extra.pem');
      writeFileSync(file, `# a comment line as in system bundles\n${client.cert}\n${server.cert}`);
      const warnings: string[] = [];
      const trust = deferredExtraCa(file, (m) => warnings.push(m))!;
      assert.equal(trust.file, file);
      const ctx = trust.context();
      assert.equal(trust.context(), ctx, 'made once');
      const withExtra = await handshake(ctx);
      assert.equal(withExtra.authorized, true, String(withExtra.error));
      assert.equal(withExtra.clientCertSeen, false, 'no client certificate unless one is given');
      const without = await handshake(undefined);
      assert.equal(without.authorized, false);
      const mine = trust.context(client);
      assert.notEqual(mine, ctx);
      const withCert = await handshake(mine);
      assert.equal(withCert.authorized, true);
      assert.equal(withCert.clientCertSeen, true, 'the key and certificate given are presented');
      assert.deepEqual(warnings, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a missing, empty or broken file: one warning; what cannot be read is not trusted',
  { timeout: 30000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blink-tui-ca-'));
    try {
      // A certificate cut short: OpenSSL cannot parse it (createSecureContext alone would skip it silently).
      const broken =
        '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQWERTYUIOPASDFGHJKL\n-----END CERTIFICATE-----\n';
      const cases: [string, string | null, RegExp, boolean][] = [
        ['missing.pem', null, /ENOENT/, false],
        ['empty.pem', '', /no PEM certificate/, false],
        ['broken.pem', broken, /1 of 1 cannot be parsed/, false],
        // The parseable ones next to a broken one still count.
        ['mixed.pem', broken + server.cert, /1 of 2 cannot be parsed/, true],
      ];
      for (const [name, content, why, trusted] of cases) {
        const file = join(dir, name);
        if (content !== null) writeFileSync(file, content);
        const warnings: string[] = [];
        const trust = deferredExtraCa(file, (m) => warnings.push(m))!;
        const r = await handshake(trust.context());
        assert.equal(r.authorized, trusted, name);
        trust.context();
        assert.equal(warnings.length, 1, `${name}: ${JSON.stringify(warnings)}`);
        assert.match(
          warnings[0]!,
          new RegExp(`ignoring extra CA certificates from ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
        );
        assert.match(warnings[0]!, why);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
