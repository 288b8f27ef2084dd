// The layer rules of the folder READMEs hold in src/ (npm run lint checks them too), and the checker catches a
// deliberate violation of each kind in a throwaway tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain ES module without types
import { checkBoundaries, importsOf } from '../../scripts/boundaries.mjs';
import { ROOT } from '../helpers/client.js';

const check = checkBoundaries as (src: string) => string[];

test('src/ keeps its layer boundaries', () => {
  assert.deepEqual(check(join(ROOT, 'src')), []);
});

test('each kind of violation is reported, with the file and the rule', () => {
  const root = mkdtempSync(join(tmpdir(), 'blink-tui-lint-'));
  const src = join(root, 'src');
  const put = (rel: string, text: string) => {
    mkdirSync(join(src, rel, '..'), { recursive: true });
    writeFileSync(join(src, rel), text);
  };
  try {
    put('otr/index.ts', "export * from './session.js';\n");
    put('otr/session.ts', "import { x } from '../chat/core.js';\nimport * as ink from 'ink';\n");
    put('chat/core.ts', "import { y } from '../otr/session.js';\nimport type { Z } from '../otr/index.js';\n");
    put('chat/types.ts', 'export type T = 1;\n');
    put('ui/App.tsx', "import type { T } from '../chat/types.js';\nconst m = await import('../chat/core.js');\n");
    put('sip/ua.ts', "import { a } from './wire.js';\n// import { b } from '../chat/core.js';\n");
    put('cli.ts', "import { y } from './otr/session.js';\n");
    const problems = check(src);
    assert.deepEqual(problems.sort(), [
      'src/chat/core.ts: imports ../otr/session.js: chat/ may use otr/ only through index.ts',
      'src/cli.ts: imports ./otr/session.js: cli.ts may use otr/ only through index.ts',
      'src/otr/session.ts: imports ../chat/core.js: otr/ may not import chat/',
      'src/otr/session.ts: imports ink: otr/ may not depend on that package',
      'src/ui/App.tsx: imports ../chat/core.js: ui/ may use chat/ only through types.ts',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('imports are found in every form: multi-line, type-only, re-exports, dynamic, side-effect; not in comments', () => {
  const text = [
    "import {\n  a,\n  b,\n} from './a.js';",
    "import type { T } from './t.js';",
    "export * from './e.js';",
    "export { x } from './x.js';",
    "const m = await import('./d.js');",
    "import './side.js';",
    "// import { no } from './comment.js';",
    "/* import { no } from './block.js'; */",
  ].join('\n');
  assert.deepEqual((importsOf as (t: string) => string[])(text).sort(), [
    './a.js',
    './d.js',
    './e.js',
    './side.js',
    './t.js',
    './x.js',
  ]);
});

test('the lint command itself fails on a deliberate boundary violation, and passes once it is gone', () => {
  const root = mkdtempSync(join(tmpdir(), 'blink-tui-lint-cmd-'));
  const put = (rel: string, text: string) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const lint = () =>
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'lint.mjs'), '--root', root], { encoding: 'utf8' });
  try {
    put('src/otr/index.ts', "export { session } from './session.js';\n");
    put('src/otr/session.ts', 'export const session = 1;\n');
    put('src/chat/types.ts', 'export type T = 1;\n');
    put('tests/unit/a.test.ts', 'export const a = 1;\n');
    put('scripts/a.mjs', 'export const a = 1;\n');
    put('bench/a.ts', 'export const a = 1;\n');
    // The protocol core reaching up into the orchestrator: the kind of import the layer rules forbid.
    put('src/otr/session.ts', "import type { T } from '../chat/types.js';\nexport const session: T = 1;\n");
    const bad = lint();
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /src\/otr\/session\.ts: imports \.\.\/chat\/types\.js: otr\/ may not import chat\//);
    assert.match(bad.stdout, /lint: 1 problem/);

    put('src/otr/session.ts', 'export const session = 1;\n');
    const good = lint();
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /lint: ok/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
