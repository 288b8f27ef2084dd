// sip.js parses every header it reads (Via, From, To, Call-ID, CSeq, Contact, ...) and every URI it makes with
// Grammar.parse, whose generated PEG parser rebuilds its whole decoding table (about 900 constants and 350 rule
// programs) on every call: about 0.5 ms per header even when hot, several ms while cold, which would be
// most of a call setup's time. The results are pure data, so we keep them: an exact input seen before gets a deep copy
// of the earlier result, and the per-call values (the From/To tag, the Via branch, the CSeq number, Call-ID,
// Content-Length, Max-Forwards) are recognised in their plain forms so a new dialog reuses the shape parsed for the
// previous one. Anything else goes to sip.js's own parser unchanged, which stays the only judge of syntax.
import { Grammar } from 'sip.js';

type Parse = (input: string, startRule: string) => unknown;

/** RFC 3261 token. */
const TOKEN = "[A-Za-z0-9\\-.!%*_+`'~]+";
const CALL_ID_RE = new RegExp(`^${TOKEN}(?:@${TOKEN})?$`);
const TRAILING_TAG_RE = new RegExp(`^([^]*>);tag=(${TOKEN})$`);
const BRANCH_RE = new RegExp(`;branch=(${TOKEN})(?=;|$)`);
const CSEQ_RE = /^(\d{1,9}) ([A-Za-z]+)$/;
const SMALL_NUMBER_RE = /^\d{1,9}$/;

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
  /** `rule \0 input` for an exact input, `rule \u0001 shape` for a per-dialog shape: the two never collide. */
  key: string;
  /** Applies this input's own value to a copy of the result parsed for another input of the same shape. */
  patch?: (copy: unknown) => unknown;
}

function hasSetParam(v: unknown): v is { setParam(k: string, v: string): void } {
  return typeof v === 'object' && v !== null && typeof (v as { setParam?: unknown }).setParam === 'function';
}

function template(input: string, rule: string): Template {
  // The separators of our keys: an input holding them only ever gets its exact key.
  if (/[\0\u0001]/.test(input)) return { key: `${rule}\0${input}` };
  switch (rule) {
    case 'From':
    case 'To': {
      const m = TRAILING_TAG_RE.exec(input);
      // Only the plain `...>;tag=TOKEN` ending: nothing quoted after the name-addr, no other tag parameter.
      const gt = input.indexOf('>');
      if (m && gt >= 0 && !input.slice(gt).includes('"') && !/tag\s*=/i.test(m[1]!)) {
        const tag = m[2]!;
        return {
          key: `${rule}\u0001${m[1]!}`,
          patch: (copy) => {
            if (hasSetParam(copy)) copy.setParam('tag', tag);
            return copy;
          },
        };
      }
      break;
    }
    case 'Via': {
      const m = BRANCH_RE.exec(input);
      if (m && !input.includes('"') && (input.match(/branch/gi)?.length ?? 0) === 1) {
        const branch = m[1]!;
        return {
          key: `Via\u0001${input.slice(0, m.index)}\u0001${input.slice(m.index + m[0].length)}`,
          patch: (copy) => {
            if (typeof copy === 'object' && copy !== null) (copy as { branch?: string }).branch = branch;
            return copy;
          },
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
  remember(t.key, result);
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
