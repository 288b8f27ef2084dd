#!/usr/bin/env node
// Entry point. Runs the bundle made by `npm install` (the `prepare` script: node scripts/bundle.mjs);
// in a checkout without it, runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'dist', 'bundle', 'cli.js');
let entry;
if (existsSync(bundled)) {
  entry = await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
await entry.main(process.argv.slice(2));
