#!/usr/bin/env node
// Project rules that the type checker does not enforce (run by `npm run lint` after `tsc --noEmit`):
// - no `any` in protocol code (src/otr, src/msrp, src/sip, src/chat-storage);
// - no console output from library code (it would corrupt the terminal UI);
// - no focused tests (`test.only`, `describe.only`) left behind;
// - no secrets in logs: the OTR engine never logs key material (names like x, secret, key passed to log());
// - the layer boundaries of scripts/boundaries.mjs (which folder may import which, and through which file);
// - formatting: prettier --check over the sources (npm run format fixes it).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { checkBoundaries } from './boundaries.mjs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(fileURLToPath(import.meta.url), '..', '..');
// --root DIR lints another tree laid out like this one (tests/unit/lint-boundaries.test.ts runs it on a throwaway
// tree with a deliberate violation); prettier and its settings still come from this repository.
const rootAt = process.argv.indexOf('--root');
const root = rootAt >= 0 ? process.argv[rootAt + 1] : repo;
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(n) ? [p] : [];
  });
}
const problems = [];
const protocolDirs = ['otr', 'msrp', 'sip', 'chat-storage'].map((d) => join(root, 'src', d));
for (const file of walk(join(root, 'src'))) {
  const rel = relative(root, file);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t.startsWith('*') || t.startsWith('/*') || t.startsWith('//')) return;
    const code = line.replace(/\/\/.*$/, '');
    if (protocolDirs.some((d) => file.startsWith(d)) && /(:\s*any\b|\bas any\b|<any>)/.test(code)) {
      problems.push(`${rel}:${i + 1}: 'any' in protocol code`);
    }
    if (!rel.endsWith('cli.ts') && /\bconsole\.(log|error|warn|info|debug)\(/.test(code)) {
      problems.push(`${rel}:${i + 1}: console output from library code (use the log function)`);
    }
    if (rel.startsWith('src/otr') && /log\([^)]*\b(secret|privkey|x\b|mackey|aeskey)/i.test(code)) {
      problems.push(`${rel}:${i + 1}: something that looks secret is logged`);
    }
  });
}
for (const file of walk(join(root, 'tests'))) {
  const rel = relative(root, file);
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/\b(test|it|describe)\.only\(/.test(line)) problems.push(`${rel}:${i + 1}: focused test`);
    });
}
problems.push(...checkBoundaries(join(root, 'src')));
const fmt = spawnSync(
  process.execPath,
  [
    join(repo, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    '--config',
    join(repo, '.prettierrc.json'),
    '--check',
    '--log-level',
    'warn',
    'src/**/*.{ts,tsx}',
    'tests/**/*.{ts,tsx}',
    'scripts/**/*.{mjs,ts}',
    'bench/**/*.ts',
  ],
  { cwd: root, encoding: 'utf8' },
);
if (fmt.status !== 0) {
  const files = `${fmt.stdout}${fmt.stderr}`.split('\n').filter((l) => l.trim() !== '');
  for (const f of files) problems.push(`format: ${f.replace(/^\[warn\] /, '')}`);
  if (files.length === 0) problems.push('format: prettier --check failed');
}
for (const p of problems) console.error(p);
console.log(problems.length ? `lint: ${problems.length} problem(s)` : 'lint: ok');
process.exit(problems.length ? 1 : 0);
