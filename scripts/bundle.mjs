#!/usr/bin/env node
// Bundles the client into dist/bundle/ (run by `npm install` through `prepare`, and by the test runner).
// One bundle with a chunk per entry path starts several times faster than loading hundreds of modules
// (ink and its dependencies alone are ~700 ms unbundled): the TUI path loads ink, headless does not.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyStringWidth, pegBytecodeOnce, yogaWasmBinary } from './bundle-plugins.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  sourcemap: 'linked',
  // Native, optional: resolved at run time if installed.
  external: ['@napi-rs/keyring'],
  alias: { 'react-devtools-core': join(root, 'scripts', 'no-devtools.mjs') },
  // CommonJS dependencies inside an ES module bundle need a require.
  banner: {
    js: "import { createRequire as __blinkCreateRequire } from 'node:module'; const require = __blinkCreateRequire(import.meta.url);",
  },
  // React and ink pick their production builds (the development build checks and warns on every render).
  define: { 'process.env.NODE_ENV': '"production"' },
  // Smaller code parses faster at start-up; names are kept and the source map points at the TypeScript.
  minifyWhitespace: true,
  minifySyntax: true,
  // ink's dependencies, trimmed on the way to the first screen (see bundle-plugins.mjs).
  plugins: [lazyStringWidth, yogaWasmBinary, pegBytecodeOnce],
  logLevel: 'warning',
});
