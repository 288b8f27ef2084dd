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
import { lazyStringWidth, yogaWasmBinary } from '../../scripts/bundle-plugins.mjs';
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
    assert.deepEqual(r.warnings.map((w) => w.text), [], 'the plugin fell back to the unmodified module');
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
  const pool = ['a', ' ', '~', '│', '…', '·', '—', 'é', '\u00a0', '\u00ad', '©', '®', '❤', '❤️', '👍🏽', 'e\u0301', '\u0301', '中', 'ｱ',
    '\u200b', '\u200d', '\t', '\n', '\u001b[1m', '\u001b[22m', '\u009b1m', '█', '‼', '#', '1️⃣', 'ᄀ', 'ᅡ', '🇫🇷', '\u2028', '\u0100'];
  const options = [undefined, {}, { ambiguousIsNarrow: false }, { countAnsiEscapeCodes: true }];
  let seed = 1;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let i = 0; i < 20000; i++) {
    let s = '';
    for (let j = rnd(8); j > 0; j--) s += pool[rnd(pool.length)];
    const o = options[i % options.length];
    assert.equal(b.stringWidth!(s, o), realStringWidth(s, o), JSON.stringify([s, o]));
    if (i % 10 === 0) {
      const w = 1 + (i % 7);
      assert.equal(b.wrapAnsi!(s, w, { hard: true, trim: false }), realWrapAnsi(s, w, { hard: true, trim: false }), JSON.stringify(s));
      assert.equal(b.cliTruncate!(s, w), realCliTruncate(s, w), JSON.stringify(s));
    }
  }
});

test('yoga-layout with its WebAssembly handed over lays out a node', async () => {
  const b = await bundle("export { default as Yoga } from 'yoga-layout';", yogaWasmBinary);
  const Yoga = b.Yoga as unknown as { Node: { create(): { setWidth(n: number): void; setHeight(n: number): void; calculateLayout(): void; getComputedWidth(): number; free(): void } } };
  const node = Yoga.Node.create();
  node.setWidth(100);
  node.setHeight(30);
  node.calculateLayout();
  assert.equal(node.getComputedWidth(), 100);
  node.free();
});
