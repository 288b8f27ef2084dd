// NODE_EXTRA_CA_CERTS, loaded when the first TLS connection needs it instead of at process start.
//
// Node 20 parses the NODE_EXTRA_CA_CERTS file (and its bundled root store) before it runs any JavaScript:
// 70-90 ms of every start here, where the variable names the system bundle (~140 certificates), against
// a 0.4 s budget for the first screen, while most sessions never open a TLS connection. So the launcher's
// shebang (bin/blink-tui.js) starts Node without the variable and hands its value over; this module builds, on first use and once, a SecureContext that trusts what Node
// would have: its bundled roots plus every certificate in that file. Connections that bring their own `ca`
// are unaffected (as with Node's variable, an explicit `ca` replaces the defaults).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

export interface ExtraCaTrust {
  /** The file the certificates come from. */
  readonly file: string;
  /**
   * A context trusting Node's roots and the file's certificates, presenting `keyCert` when given (a context
   * replaces the key and certificate options of tls.connect). Built on first call per key, then cached.
   */
  context(keyCert?: { readonly key: string; readonly cert: string }): SecureContext;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The deferred trust for `file` (bin/blink-tui.js passes it on as BLINK_TUI_DEFERRED_CA_CERTS only when it took
 * it away from Node), or null when there is none. An unreadable file, or one without certificates, is reported
 * through `warn` and Node's roots alone are trusted, as Node does ("Ignoring extra certs from ..."): a bad file
 * never widens trust.
 */
export function deferredExtraCa(file: string | undefined, warn: (message: string) => void): ExtraCaTrust | null {
  if (!file) return null;
  let ca: string[] | null = null;
  const contexts = new Map<string, SecureContext>();
  const load = (): string[] => {
    if (ca === null) {
      let extra: string[] = [];
      try {
        extra = readFileSync(file, 'utf8').match(PEM_CERT) ?? [];
        if (extra.length === 0) warn(`ignoring extra CA certificates from ${file}: no PEM certificate in it`);
      } catch (e) {
        warn(`ignoring extra CA certificates from ${file}: ${(e as Error).message}`);
      }
      // createSecureContext silently skips a certificate it cannot parse; say so, as Node does for this file.
      const bad = extra.filter((pem) => {
        try {
          new X509Certificate(pem);
          return false;
        } catch {
          return true;
        }
      });
      if (bad.length > 0)
        warn(`ignoring extra CA certificates from ${file}: ${bad.length} of ${extra.length} cannot be parsed`);
      ca = [...rootCertificates, ...extra.filter((pem) => !bad.includes(pem))];
    }
    return ca;
  };
  return {
    file,
    context(keyCert) {
      const id = keyCert ? `${keyCert.cert}\n${keyCert.key}` : '';
      let ctx = contexts.get(id);
      if (ctx === undefined) {
        ctx = createSecureContext({ ca: load(), ...(keyCert ? { key: keyCert.key, cert: keyCert.cert } : {}) });
        contexts.set(id, ctx);
      }
      return ctx;
    },
  };
}
