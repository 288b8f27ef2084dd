// The layer rules of the folder READMEs hold in src/ (npm run lint checks them too), and the checker catches a
// deliberate violation of each kind in a throwaway tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
