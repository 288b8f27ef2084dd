// The one key under which blink-tui knows a peer: trusted_peers uids, history folders, contacts sections,
// session views and the identity of incoming calls all go through peerId(), so one person is one identity.
import { isIPv6 } from 'node:net';

/** Characters a URI may carry percent-encoded although they need not be (RFC 3986 unreserved + RFC 3261 mark). */
const UNRESERVED = /[A-Za-z0-9\-_.!~*'()]/;

/**
 * A peer's identity as `user@host` (or `host` for an address without a user), following RFC 3261 19.1.4:
 * - accepts `user@host`, `sip:`/`sips:` URIs and name-addrs (`"Alice" <sip:Alice@host>`);
 * - the user part keeps its case (user parts are case-sensitive), with escapes of unreserved characters
 *   decoded (`%41lice` is `Alice`) and any password dropped;
 * - the host is lower case, an IPv6 literal in brackets and in its one canonical form;
 * - scheme, port, URI parameters and headers are dropped: they say how to reach an address of record, not whose
 *   it is (an incoming From has no port, the `/chat Alice@127.0.0.1:5070` that reaches the same person has one;
 *   `sips:` reaches the same person as `sip:`).
 * Text is NFC-normalised. Idempotent: peerId(peerId(x)) === peerId(x).
 */
export function peerId(address: string): string {
  let u = address.trim().normalize('NFC');
  const angle = /<([^>]*)>/.exec(u);
  if (angle) u = angle[1]!.trim();
  u = u.replace(/^sips?:/i, '');
  u = u.split(/[;?]/)[0]!;
  const at = u.lastIndexOf('@');
  let user = at >= 0 ? u.slice(0, at) : null;
  const hostport = at >= 0 ? u.slice(at + 1) : u;
  if (user !== null) {
    const colon = user.indexOf(':');
    if (colon >= 0) user = user.slice(0, colon);
    user = user.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return UNRESERVED.test(c) ? c : m.toUpperCase();
    });
  }
  const host = hostOf(hostport);
  return user !== null && user !== '' ? `${user}@${host}` : host;
}

function hostOf(hostport: string): string {
  let host: string;
  if (isIPv6(hostport)) return canonicalIPv6(hostport) ?? hostport.toLowerCase();
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    host = close < 0 ? hostport : hostport.slice(0, close + 1);
    const inner = host.slice(1, close < 0 ? undefined : -1);
    if (isIPv6(inner)) return canonicalIPv6(inner) ?? host.toLowerCase();
  } else {
    host = hostport.replace(/:\d*$/, '');
  }
  return host.toLowerCase();
}

/**
 * Before one identity per peer existed, an outgoing chat stored its peer wholly lower-cased (`alice@host` for
 * `Alice@host`). Storage reads those keys as a fallback for `id` and moves them to `id` when it writes; this is
 * that older key, or null when it cannot differ from `id`.
 */
export function legacyPeerId(id: string): string | null {
  const lower = id.toLowerCase();
  return lower === id ? null : lower;
}

/** `[::1]` for any spelling of ::1: the WHATWG URL parser writes IPv6 in its canonical form (RFC 5952). */
function canonicalIPv6(addr: string): string | null {
  try {
    return new URL(`http://[${addr}]/`).hostname;
  } catch {
    return null;
  }
}
