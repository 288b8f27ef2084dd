// The bundle's start-up plugins (scripts/bundle-plugins.mjs) must not change a result: string-width's fast
// path measures exactly as the real modules do (ink's 8.x and wrap-ansi's 7.x, through the libraries that
// call them), and yoga-layout handed its WebAssembly bytes lays out as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { lazyStringWidth, pegBytecodeOnce, yogaWasmBinary } from '../../scripts/bundle-plugins.mjs';
import { Grammar } from 'sip.js';
import realStringWidth from 'string-width';
import realWrapAnsi from 'wrap-ansi';
import realCliTruncate from 'cli-truncate';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

type Fn = (...a: unknown[]) => unknown;

async function bundle(source: string, plugin: unknown): Promise<Record<string, Fn>> {
  const dir = mkdtempSync(join(tmpdir(), 'blink-tui-plugins-'));
  try {
    writeFileSync(join(dir, 'entry.mjs'), source);
    const r = await build({
      entryPoints: [join(dir, 'entry.mjs')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile: join(dir, 'out.mjs'),
      nodePaths: [join(root, 'node_modules')],
      plugins: [plugin as never],
      banner: { js: "import { createRequire as __c } from 'node:module'; const require = __c(import.meta.url);" },
      logLevel: 'silent',
    });
    assert.deepEqual(
      r.warnings.map((w) => w.text),
      [],
      'the plugin fell back to the unmodified module',
    );
    return (await import(pathToFileURL(join(dir, 'out.mjs')).href)) as Record<string, Fn>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('string-width fast path: same widths, wraps and truncations as the real modules', async () => {
  const b = await bundle(
    "export { default as stringWidth } from 'string-width'; export { default as wrapAnsi } from 'wrap-ansi'; export { default as cliTruncate } from 'cli-truncate';",
    lazyStringWidth,
  );
  const pool = [
    'a',
    ' ',
    '~',
    '│',
    '…',
    '·',
    '—',
    'é',
    '\u00a0',
    '\u00ad',
    '©',
    '®',
    '❤',
    '❤️',
    '👍🏽',
    'e\u0301',
    '\u0301',
    '中',
    'ｱ',
    '\u200b',
    '\u200d',
    '\t',
    '\n',
    '\u001b[1m',
    '\u001b[22m',
    '\u009b1m',
    '█',
    '‼',
    '#',
    '1️⃣',
    'ᄀ',
    'ᅡ',
    '🇫🇷',
    '\u2028',
    '\u0100',
  ];
  const options = [undefined, {}, { ambiguousIsNarrow: false }, { countAnsiEscapeCodes: true }];
  let seed = 1;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 20000; i++) {
    let s = '';
    for (let j = rnd(8); j > 0; j--) s += pool[rnd(pool.length)];
    const o = options[i % options.length];
    assert.equal(b.stringWidth!(s, o), realStringWidth(s, o), JSON.stringify([s, o]));
    if (i % 10 === 0) {
      const w = 1 + (i % 7);
      assert.equal(
        b.wrapAnsi!(s, w, { hard: true, trim: false }),
        realWrapAnsi(s, w, { hard: true, trim: false }),
        JSON.stringify(s),
      );
      assert.equal(b.cliTruncate!(s, w), realCliTruncate(s, w), JSON.stringify(s));
    }
  }
});

test('yoga-layout with its WebAssembly handed over lays out a node', async () => {
  const b = await bundle("export { default as Yoga } from 'yoga-layout';", yogaWasmBinary);
  const Yoga = b.Yoga as unknown as {
    Node: {
      create(): {
        setWidth(n: number): void;
        setHeight(n: number): void;
        calculateLayout(): void;
        getComputedWidth(): number;
        free(): void;
      };
    };
  };
  const node = Yoga.Node.create();
  node.setWidth(100);
  node.setHeight(30);
  node.calculateLayout();
  assert.equal(node.getComputedWidth(), 100);
  node.free();
});

test('sip.js grammar with its bytecode decoded once parses every rule as before, twice over', async () => {
  const b = await bundle("export { Grammar } from 'sip.js';", pegBytecodeOnce);
  const bundled = (b.Grammar as unknown as { parse(input: string, rule: string): unknown }).parse;
  const real = (input: string, rule: string): unknown =>
    (Grammar as unknown as { parse(i: string, r: string): unknown }).parse(input, rule);
  const cases: [string, string][] = [
    ['Via', 'SIP/2.0/TCP 127.0.0.1:5071;rport;branch=z9hG4bK12345'],
    ['Via', 'SIP/2.0/UDP [::1]:5060;received=10.0.0.1;branch=z9hG4bKabc;alias'],
    ['From', '"Alice Smith" <sip:alice@example.org;transport=tcp>;tag=98asjd8'],
    ['To', '<sip:bob@127.0.0.1:5071;transport=tcp>'],
    ['To', 'sip:bob@example.org'],
    ['Contact', '<sip:alice@127.0.0.1:5070;transport=tcp>;expires=600;+sip.instance="<urn:uuid:1>", <sip:x@y>;q=0.5'],
    ['Contact', '*'],
    ['CSeq', '314159 INVITE'],
    ['Call_ID', 'a84b4c76e66710@pc33.example.org'],
    ['Content_Type', 'application/sdp; charset=utf-8'],
    ['Content_Length', '142'],
    ['Max_Forwards', '70'],
    ['Record_Route', '<sip:p1.example.org;lr>, <sip:p2.example.org;lr>'],
    ['WWW_Authenticate', 'Digest realm="example.org", nonce="abc", qop="auth", algorithm=MD5, stale=FALSE'],
    ['Proxy_Authenticate', 'Digest realm="r", nonce="n"'],
    ['Supported', 'outbound, path, gruu'],
    ['Require', '100rel'],
    ['Session_Expires', '1800;refresher=uac'],
    ['Event', 'presence;id=1'],
    ['Subscription_State', 'active;expires=3600'],
    ['Refer_To', '<sip:carol@example.org?Replaces=abc%40d%3Bto-tag%3D1%3Bfrom-tag%3D2>'],
    ['Content_Disposition', 'session;handling=required'],
    ['SIP_URI', 'sip:bob@127.0.0.1:5071;transport=tcp;lr?subject=hi'],
    ['SIP_URI', 'sips:[2001:db8::1]:5061'],
    ['absoluteURI', 'http://example.org/x?y=z'],
    ['Name_Addr_Header', '"Bob" <sip:bob@example.org>;tag=x'],
    ['Request_Response', 'INVITE sip:bob@127.0.0.1:5071;transport=tcp SIP/2.0'],
    ['Request_Response', 'SIP/2.0 180 Ringing'],
    // Not valid: both give -1.
    ['Via', 'SIP/2.0/TCP'],
    ['To', '<sip:bob@'],
    ['CSeq', 'x INVITE'],
    ['SIP_URI', 'not a uri'],
  ];
  const shape = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x instanceof Map ? [...x] : x));
  for (let round = 0; round < 2; round++) {
    for (const [rule, input] of cases) {
      const want = real(input, rule);
      const got = bundled(input, rule);
      assert.equal(shape(got), shape(want), `${rule}: ${input}`);
      assert.equal(got === -1, want === -1, `${rule}: ${input}`);
      if (want !== -1 && typeof want === 'object' && want !== null) {
        // (esbuild renames a bundled class `_Name` when the name is taken.)
        const cls = (v: unknown): string =>
          (Object.getPrototypeOf(v) as { constructor: { name: string } }).constructor.name.replace(/^_/, '');
        assert.equal(cls(got), cls(want), `${rule}: ${input}`);
      }
    }
  }
});
