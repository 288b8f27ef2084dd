#!/usr/bin/env node
// Runs the whole test suite with node:test: builds first (the end-to-end tests drive the built binary),
// then every tests/**/*.test.ts(x), or only those under the folders named on the command line
// (e.g. `npm test -- unit interop`). Node 20 does not expand globs itself, hence this script.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureSystemDeps } from './system-deps.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
process.chdir(root);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.test\.tsx?$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = walk('tests')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(join('tests', o))))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

// Interop, end-to-end and terminal tests need real peers (libotr, potr, Kamailio, tmux).
if (files.some((f) => !f.startsWith(join('tests', 'unit')))) ensureSystemDeps();

// Type-check everything (sources, tests, benches), then bundle: the end-to-end tests run the bundle, as users do.
const typecheck = spawnSync(
  process.execPath,
  [join('node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.json'],
  {
    stdio: 'inherit',
  },
);
if (typecheck.status !== 0) {
  console.error('type check failed: fix the errors above');
  process.exit(typecheck.status ?? 1);
}
const bundle = spawnSync(process.execPath, [join('scripts', 'bundle.mjs')], { stdio: 'inherit' });
if (bundle.status !== 0) {
  console.error('bundling failed');
  process.exit(bundle.status ?? 1);
}

// Human-readable spec output on the terminal, TAP into a file from which the closing counts are read,
// so the last lines are the plain `# pass N` / `# fail N` / `N passed, N failed` that CI reads.
const tapFile = join(tmpdir(), `blink-tui-tests-${process.pid}.tap`);
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, BLINK_TUI_TEST: '1' } },
);
let pass = 0,
  fail = 0,
  skipped = 0;
try {
  const tap = readFileSync(tapFile, 'utf8');
  pass = Number(/^# pass (\d+)/m.exec(tap)?.[1] ?? 0);
  fail = Number(/^# fail (\d+)/m.exec(tap)?.[1] ?? 0);
  skipped = Number(/^# skipped (\d+)/m.exec(tap)?.[1] ?? 0);
  rmSync(tapFile, { force: true });
} catch {
  fail = Math.max(fail, 1);
}
console.log(`# pass ${pass}`);
console.log(`# fail ${fail}`);
console.log(`${pass} passed, ${fail} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.status === 0 && fail === 0 ? 0 : 1);
