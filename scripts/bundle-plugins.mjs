// esbuild plugins for scripts/bundle.mjs: two dependencies of ink do expensive work on the way to the first
// screen, and sip.js's grammar on every header parse, that the bundle can skip without changing any result.
// Each falls back to bundling the dependency unmodified (with a warning) when it no longer has the shape
// checked here.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Routes imports of a package (every copy of it, each resolved as usual) to `namespace`, whose onLoad sees the
 * real file's path. The resolve call inside is marked (pluginData 'real') so that it does not come back here.
 */
function intercept(build, filter, namespace) {
  build.onResolve({ filter }, async (args) => {
    if (args.pluginData === 'real') return undefined;
    const r = await build.resolve(args.path, {
      resolveDir: args.resolveDir,
      kind: args.kind,
      importer: args.importer,
      pluginData: 'real',
    });
    if (r.errors.length > 0) return { errors: r.errors };
    return { path: r.path, namespace };
  });
}

/**
 * yoga-layout (ink's layout engine) is emscripten output that carries its WebAssembly as a base64 data: URL.
 * Its loader fetches that URL when a global fetch exists, which on Node 20 loads undici (~20 ms) and then
 * decodes the bytes through it; handed the bytes (`wasmBinary`) it instantiates them directly. Measured on
 * the 2-core VM: importing the UI chunk went from ~105 ms to ~63 ms.
 */
export const yogaWasmBinary = {
  name: 'yoga-wasm-binary',
  setup(build) {
    intercept(build, /^yoga-layout$/, 'yoga-wasm-binary');
    build.onLoad({ filter: /.*/, namespace: 'yoga-wasm-binary' }, (args) => {
      const dir = dirname(args.path);
      const index = readFileSync(args.path, 'utf8');
      const call = 'await loadYoga()';
      let b64;
      try {
        const loader = readFileSync(join(dir, '..', 'binaries', 'yoga-wasm-base64-esm.js'), 'utf8');
        b64 = /"data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/.exec(loader)?.[1];
      } catch {
        b64 = undefined;
      }
      const wasm = b64 ? Buffer.from(b64, 'base64') : null;
      if (!wasm || wasm.subarray(0, 4).toString('latin1') !== '\0asm' || index.split(call).length !== 2) {
        return {
          contents: index,
          resolveDir: dir,
          loader: 'js',
          warnings: [
            { text: 'yoga-layout changed shape: bundled unmodified (it fetches its own WebAssembly at start-up)' },
          ],
        };
      }
      const contents = index.replace(
        call,
        `await loadYoga({ wasmBinary: Buffer.from(${JSON.stringify(b64)}, 'base64') })`,
      );
      return { contents, resolveDir: dir, loader: 'js' };
    });
  },
};

// Characters that string-width (both the 8.x ink uses and the 7.x of wrap-ansi) measures as one column each
// and never joins with a neighbour into a wider cluster: printable ASCII, Latin-1 without the soft hyphen and
// the emoji-capable (c) and (R), the dashes/quotes/bullet/ellipsis of General Punctuation, box drawing and
// block elements. Checked against the real modules at every build (checkFastSet below).
const FAST_RANGES = [
  [0x20, 0x7e],
  [0xa0, 0xa8],
  [0xaa, 0xac],
  [0xaf, 0xff],
  [0x2010, 0x2027],
  [0x2500, 0x259f],
];
const hex = (cp) => `\\u${cp.toString(16).padStart(4, '0')}`;
const FAST_SOURCE = `^[${FAST_RANGES.map(([lo, hi]) => `${hex(lo)}-${hex(hi)}`).join('')}]*$`;

/** Every FAST character, alone, between ASCII letters, in SGR codes and all together, measures as the real module does. */
async function checkFastSet(realPath) {
  const real = (await import(pathToFileURL(realPath).href)).default;
  let all = '';
  for (const [lo, hi] of FAST_RANGES) {
    for (let cp = lo; cp <= hi; cp++) {
      const ch = String.fromCodePoint(cp);
      all += ch;
      if (real(ch) !== 1 || real(`a${ch}b`) !== 3 || real(`\u001b[2m${ch}\u001b[22m`) !== 1)
        return `U+${cp.toString(16)}`;
    }
  }
  return real(all) === all.length ? null : 'the whole set';
}

/**
 * string-width builds an Intl.Segmenter and the `\p{RGI_Emoji}` regular expression when its module is
 * evaluated (~35 ms) and compiles that expression on the first call with a non-ASCII character (~40 ms:
 * the first screen has one, the `│` separator). Every string on the first screen is plain text, Latin-1,
 * punctuation or box drawing, whose width is its length: this wrapper answers those itself and loads the
 * real module (lazily, on the first other string) for everything else. Measured: first screen ~75 ms sooner.
 */
export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    intercept(build, /^string-width$/, 'lazy-string-width');
    const checked = new Map();
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, async (args) => {
      const resolveDir = dirname(args.path);
      if (!checked.has(args.path)) checked.set(args.path, await checkFastSet(args.path).catch((e) => String(e)));
      const bad = checked.get(args.path);
      if (bad !== null) {
        return {
          contents: `export { default } from ${JSON.stringify(args.path)};`,
          resolveDir,
          loader: 'js',
          warnings: [
            { text: `string-width at ${args.path} measures ${bad} differently: bundled without the fast path` },
          ],
        };
      }
      // require() makes esbuild wrap the real module so that it is evaluated on first use, not at start-up.
      // strip-ansi resolves from the real module's folder: the same version it uses.
      const contents = `import stripAnsi from 'strip-ansi';
const FAST = /${FAST_SOURCE}/;
let real;
export default function stringWidth(input, options) {
  // Same option defaults as string-width: narrow ambiguous characters, ANSI codes stripped.
  if (typeof input === 'string' && (options === undefined || (options !== null && (options.ambiguousIsNarrow ?? true)))) {
    const text = !options?.countAnsiEscapeCodes && (input.includes('\\u001B') || input.includes('\\u009B')) ? stripAnsi(input) : input;
    if (FAST.test(text)) return text.length;
  }
  real ??= require(${JSON.stringify(args.path)}).default;
  return real(input, options);
}
`;
      return { contents, resolveDir, loader: 'js' };
    });
  },
};

/**
 * sip.js's SIP grammar is a peggy parser in bytecode form whose peg$parse() builds its tables on every call:
 * among them it decodes ~240 bytecode strings into arrays of numbers (peg$decode), which took ~40 % of each
 * header parse (sip.js parses every header it reads; src/sip/grammar-cache.ts skips the repeats, but the first
 * chat with a new peer and every new value still parse). The decoded bytecode depends on nothing but those
 * string literals and is only read, so it is decoded once, at module level; the rest of the tables (which
 * capture each call's input and options) stay per call. Falls back to the unmodified module if its shape changed.
 */
export const pegBytecodeOnce = {
  name: 'peg-bytecode-once',
  setup(build) {
    build.onLoad({ filter: /[\\/]sip\.js[\\/]lib[\\/]grammar[\\/]pegjs[\\/]dist[\\/]grammar\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const decl = '    const peg$bytecode = [\n';
      const close = '\n    ];\n';
      const decode = 'function peg$decode(s) {\n        return s.split("").map((ch) => ch.charCodeAt(0) - 32);\n    }';
      const entry = 'function peg$parse(input, options) {\n';
      const start = src.indexOf(decl);
      const end = start < 0 ? -1 : src.indexOf(close, start);
      const array = end < 0 ? '' : src.slice(start + decl.length - 2, end + close.length - 2);
      const fine =
        start >= 0 &&
        end > start &&
        src.split('peg$bytecode').length === 3 &&
        src.includes('const bc = peg$bytecode[index];') &&
        src.split(decode).length === 2 &&
        src.split(entry).length === 2 &&
        // Only decode calls on string literals inside the array: nothing that could see a call's state.
        /^\[\n(\s*peg\$decode\("(?:[^"\\]|\\.)*"\),?\n)+\s*\]$/.test(array);
      if (!fine) {
        return {
          contents: src,
          loader: 'js',
          warnings: [
            { text: 'sip.js grammar changed shape: bundled unmodified (it decodes its bytecode on every parse)' },
          ],
        };
      }
      const once =
        'function peg$decodeOnce(s) {\n    return s.split("").map((ch) => ch.charCodeAt(0) - 32);\n}\n' +
        `const peg$bytecodeOnce = ${array.replaceAll('peg$decode(', () => 'peg$decodeOnce(')};\n`;
      const contents =
        src.slice(0, start) + '    const peg$bytecode = peg$bytecodeOnce;\n' + src.slice(end + close.length);
      // (A function as the replacement: the bytecode strings are full of `$` patterns that replace() would expand.)
      return { contents: contents.replace(entry, () => once + entry), loader: 'js' };
    });
  },
};
