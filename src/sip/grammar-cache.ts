// sip.js parses every header it reads (Via, From, To, Call-ID, CSeq, Contact, ...) and every URI it makes with
// Grammar.parse, whose generated PEG parser rebuilds its whole decoding table (about 900 constants and 350 rule
// programs) on every call: about 0.5 ms per header even when hot, several ms while cold, which would be
// most of a call setup's time. The results are pure data, so we keep them: an exact input seen before gets a deep copy
// of the earlier result, and the per-call values (the From/To tag, the Via branch, the CSeq number, Call-ID,
// Content-Length, Max-Forwards) are recognised in their plain forms so a new dialog reuses the shape parsed for the
// previous one. So are a new peer's URIs (user, IPv4 host and port of the one URI in a From, To, Contact, request
// line or URI, and the sent-by, rport and received of a Via), so that the first call with a new peer, whose every
// header is new to an exact-input cache, reuses the shapes the start-up rehearsal parsed. A shape is only kept when sip.js's own result holds exactly
// the values it was made from. Anything else goes to sip.js's own parser unchanged, which stays the only judge of
// syntax.
import { Grammar, URI } from 'sip.js';

type Parse = (input: string, startRule: string) => unknown;

/** RFC 3261 token. */
const TOKEN = "[A-Za-z0-9\\-.!%*_+`'~]+";
const CALL_ID_RE = new RegExp(`^${TOKEN}(?:@${TOKEN})?$`);
const TRAILING_TAG_RE = new RegExp(`^([^]*>);tag=(${TOKEN})$`);
const BRANCH_RE = new RegExp(`;branch=(${TOKEN})(?=;|$)`);
const CSEQ_RE = /^(\d{1,9}) ([A-Za-z]+)$/;
const SMALL_NUMBER_RE = /^\d{1,9}$/;

// A URI's parts that differ from peer to peer, in their plainest forms (what the grammar gives back unchanged):
// a user of unreserved characters, an IPv4 host (dec-octets as RFC 3261 writes them) and a port without leading 0.
const USER = "[A-Za-z0-9\\-_.!~*'()]+";
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
const PORT = '[1-9]\\d{0,4}';
/** `sip:user@1.2.3.4:5060`, not followed by anything that would make the host a domain name or the port longer. */
const URI_RE = new RegExp(`(sips?:)(?:(${USER})@)?(${IPV4})(?::(${PORT}))?(?![A-Za-z0-9.:@%\\-])`, 'g');
const VIA_SENT_BY_RE = new RegExp(`^(SIP/2\\.0/[A-Za-z]+ )(${IPV4})(?::(${PORT}))?(?=;|$)`);
const VIA_RPORT_RE = /;rport=([1-9]\d{0,4})(?=;|$)/g;
const VIA_RECEIVED_RE = new RegExp(`;received=(${IPV4})(?=;|$)`, 'g');

const DEFAULT_MAX_ENTRIES = 512;

let original: Parse | null = null;
const cache = new Map<string, unknown>();
let maxEntries = DEFAULT_MAX_ENTRIES;
let hits = 0;
let misses = 0;

/** Deep copy of a parse result, keeping prototypes (URI, NameAddrHeader) so callers may mutate their copy. */
export function cloneParsed<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x: unknown) => cloneParsed(x)) as T;
  const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
  const src = v as Record<string, unknown>;
  for (const k of Object.keys(src)) out[k] = cloneParsed(src[k]);
  return out as T;
}

interface Template {
  /**
   * `rule \0 input` for an exact input, `rule \u0001 shape` for a per-dialog shape, `rule \u0002 shape` for a shape
   * of one URI alone: they never collide.
   */
  key: string;
  /** Applies this input's own value to a copy of the result parsed for another input of the same shape. */
  patch?: (copy: unknown) => unknown;
  /**
   * For a shape holding a peer's values: whether sip.js's result for this input holds exactly those values where
   * `patch` writes them. Only then does the result stand for the shape; otherwise it is kept for this input alone.
   */
  holds?: (parsed: unknown) => boolean;
}

function hasSetParam(v: unknown): v is { setParam(k: string, v: string): void } {
  return typeof v === 'object' && v !== null && typeof (v as { setParam?: unknown }).setParam === 'function';
}

interface UriParts {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/** The one URI of `text` with its user, host and port put aside (null: none, several, or not in a plain form). */
function uriShape(text: string): { shape: string; parts: UriParts } | null {
  const all = [...text.matchAll(URI_RE)];
  if (all.length !== 1) return null;
  const m = all[0]!;
  const [whole, scheme, user, host, port] = m;
  if (port !== undefined && Number(port) > 65535) return null;
  const shape = `${scheme!}${user !== undefined ? '\u0002u@' : ''}\u0002h${port !== undefined ? ':\u0002p' : ''}`;
  return {
    shape: text.slice(0, m.index) + shape + text.slice(m.index + whole!.length),
    parts: { user, host: host!, port: port === undefined ? undefined : Number(port) },
  };
}

/** Where a rule's result keeps its one URI (a Contact list only when it has a single entry). */
function uriIn(rule: string, v: unknown): URI | null {
  if (typeof v !== 'object' || v === null) return null;
  let u: unknown = null;
  if (rule === 'SIP_URI') u = v;
  else if (rule === 'Contact')
    u = Array.isArray(v) && v.length === 1 ? (v[0] as { parsed?: { uri?: unknown } }).parsed?.uri : null;
  else u = (v as { uri?: unknown }).uri;
  return u instanceof URI ? u : null;
}

/** Adds a peer's URI to a template: the shape has it put aside, the patch writes it back, `holds` checks it. */
function withUri(rule: string, input: string, base: Template, parts: UriParts): Template {
  const contact = (v: unknown): { position: number; offset: number } | undefined =>
    rule === 'Contact' && Array.isArray(v) ? (v[0] as { position: number; offset: number }) : undefined;
  return {
    key: base.key,
    patch: (copy) => {
      const c = base.patch ? base.patch(copy) : copy;
      const u = uriIn(rule, c);
      if (u) {
        if (parts.user !== undefined) u.user = parts.user;
        u.host = parts.host;
        if (parts.port !== undefined) u.port = parts.port;
      }
      const entry = contact(c);
      if (entry) entry.position = input.length;
      return c;
    },
    holds: (parsed) => {
      const u = uriIn(rule, parsed);
      // (URI keeps its parts in `raw` and `normal`; the user and port are the same in both, the host lower-cased.)
      const raw = u ? (u as unknown as { raw: { user?: string; host?: string; port?: number } }).raw : null;
      if (!raw || raw.user !== parts.user || raw.host !== parts.host || raw.port !== parts.port) return false;
      const entry = contact(parsed);
      return rule !== 'Contact' || (entry !== undefined && entry.offset === 0 && entry.position === input.length);
    },
  };
}

/** A Via's sent-by, rport and received put aside (each in its plain form, once), or null. */
function viaShape(
  input: string,
): { shape: string; holds: (v: unknown) => boolean; patch: (v: unknown) => void } | null {
  const sent = VIA_SENT_BY_RE.exec(input);
  if (!sent) return null;
  const host = sent[2]!;
  const port = sent[3] === undefined ? undefined : Number(sent[3]);
  if (port !== undefined && port > 65535) return null;
  let shape = `${sent[1]!}\u0002h${port !== undefined ? ':\u0002p' : ''}${input.slice(sent[0].length)}`;
  const once = (re: RegExp): RegExpMatchArray | null => {
    const all = [...shape.matchAll(re)];
    return all.length === 1 ? all[0]! : null;
  };
  const rp = once(VIA_RPORT_RE);
  const rport = rp && Number(rp[1]) <= 65535 ? rp[1]! : undefined;
  if (rport !== undefined) shape = shape.replace(VIA_RPORT_RE, ';rport=\u0002r');
  const rc = once(VIA_RECEIVED_RE);
  const received = rc ? rc[1]! : undefined;
  if (received !== undefined) shape = shape.replace(VIA_RECEIVED_RE, ';received=\u0002a');
  type Via = { host?: unknown; port?: unknown; rport?: unknown; received?: unknown };
  return {
    shape,
    holds: (v) => {
      if (typeof v !== 'object' || v === null) return false;
      const via = v as Via;
      return (
        via.host === host &&
        via.port === port &&
        (rport === undefined || via.rport === rport) &&
        (received === undefined || via.received === received)
      );
    },
    patch: (v) => {
      if (typeof v !== 'object' || v === null) return;
      const via = v as Via;
      via.host = host;
      if (port !== undefined) via.port = port;
      if (rport !== undefined) via.rport = rport;
      if (received !== undefined) via.received = received;
    },
  };
}

function template(input: string, rule: string): Template {
  // The separators of our keys: an input holding them only ever gets its exact key.
  if (/[\0\u0001\u0002]/.test(input)) return { key: `${rule}\0${input}` };
  switch (rule) {
    case 'From':
    case 'To': {
      const m = TRAILING_TAG_RE.exec(input);
      // Only the plain `...>;tag=TOKEN` ending: nothing quoted after the name-addr, no other tag parameter.
      const gt = input.indexOf('>');
      if (m && gt >= 0 && !input.slice(gt).includes('"') && !/tag\s*=/i.test(m[1]!)) {
        const tag = m[2]!;
        const uri = uriShape(m[1]!);
        const base: Template = {
          key: `${rule}\u0001${uri ? uri.shape : m[1]!}`,
          patch: (copy) => {
            if (hasSetParam(copy)) copy.setParam('tag', tag);
            return copy;
          },
        };
        return uri ? withUri(rule, input, base, uri.parts) : base;
      }
      if (!/tag\s*=/i.test(input)) return uriTemplate(input, rule);
      break;
    }
    case 'Contact':
    case 'SIP_URI':
    case 'Request_Response':
      // (A status line has no URI: it keeps its exact key.)
      return uriTemplate(input, rule);
    case 'Via': {
      const via = viaShape(input);
      const shape = via ? via.shape : input;
      const m = BRANCH_RE.exec(shape);
      if (m && !input.includes('"') && (input.match(/branch/gi)?.length ?? 0) === 1) {
        const branch = m[1]!;
        return {
          key: `Via\u0001${shape.slice(0, m.index)}\u0001${shape.slice(m.index + m[0].length)}`,
          patch: (copy) => {
            if (typeof copy === 'object' && copy !== null) (copy as { branch?: string }).branch = branch;
            via?.patch(copy);
            return copy;
          },
          ...(via ? { holds: via.holds } : {}),
        };
      }
      break;
    }
    case 'CSeq': {
      const m = CSEQ_RE.exec(input);
      if (m) {
        const value = parseInt(m[1]!, 10);
        return {
          key: `CSeq\u0001${m[2]!}`,
          patch: (copy) => {
            if (typeof copy === 'object' && copy !== null) (copy as { value?: number }).value = value;
            return copy;
          },
        };
      }
      break;
    }
    default:
      break;
  }
  return { key: `${rule}\0${input}` };
}

/** A header, line or URI whose one URI is a peer's: its shape without the URI's user, host and port. */
function uriTemplate(input: string, rule: string): Template {
  const uri = uriShape(input);
  if (!uri) return { key: `${rule}\0${input}` };
  // Its own namespace (\u0002): a To or From without a tag must never meet the tagged shape of the same URI.
  return withUri(rule, input, { key: `${rule}\u0002${uri.shape}` }, uri.parts);
}

function remember(key: string, value: unknown): void {
  if (cache.size >= maxEntries) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, cloneParsed(value));
}

function cachedParse(input: string, rule: string): unknown {
  const parse = original!;
  if (typeof input !== 'string') return parse(input, rule);
  // Values that are the input itself or its number: the grammar's own result for these plain forms.
  if (rule === 'Call_ID' && CALL_ID_RE.test(input)) return input;
  if ((rule === 'Content_Length' || rule === 'Max_Forwards') && SMALL_NUMBER_RE.test(input)) return parseInt(input, 10);
  const t = template(input, rule);
  if (cache.has(t.key)) {
    hits++;
    const copy = cloneParsed(cache.get(t.key));
    return t.patch && copy !== -1 ? t.patch(copy) : copy;
  }
  misses++;
  const result = parse(input, rule);
  // A shape whose values sip.js put elsewhere (or not at all) is not one: this input is kept for itself.
  remember(t.holds && !t.holds(result) ? `${rule}\0${input}` : t.key, result);
  return result;
}

/** Puts the cache in front of sip.js's Grammar.parse (once per process; every sip.js user agent shares it). */
export function installGrammarCache(options: { maxEntries?: number } = {}): void {
  if (options.maxEntries !== undefined) maxEntries = Math.max(1, options.maxEntries);
  if (original) return;
  const g = Grammar as unknown as { parse: Parse };
  original = g.parse;
  g.parse = cachedParse;
}

/** Back to sip.js's own parser (tests). */
export function uninstallGrammarCache(): void {
  if (!original) return;
  (Grammar as unknown as { parse: Parse }).parse = original;
  original = null;
  cache.clear();
  hits = 0;
  misses = 0;
}

export function grammarCacheStats(): { entries: number; hits: number; misses: number } {
  return { entries: cache.size, hits, misses };
}
