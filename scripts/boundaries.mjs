// The layer rules the folder READMEs state, checked (npm run lint, and tests/unit/lint-boundaries.test.ts):
// which folder of src/ may import which other one, and through which file. Protocol cores never import the layers
// above them; the orchestrator reaches the cores only through their public index.ts; front ends see only the
// orchestrator's types.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * For each layer (a folder of src/, or a single file), the other layers it may import and how:
 * 'index' = only that layer's index.ts; a file name = only that file; '*' = any file of it.
 * Layers not named may not be imported at all. External packages: `packages` lists prefixes that are allowed
 * besides node: built-ins (undefined = any package).
 */
export const RULES = {
  // One identity per peer: the key every layer files a peer under (leaf: imports nothing).
  'peer-id': { may: {}, packages: [] },
  // Bytes, bigints, MPIs (leaf: imports nothing).
  bytes: { may: {}, packages: [] },
  // SDP rules the media layers share (leaf: imports nothing).
  sdp: { may: {}, packages: [] },
  // The DSA key and its fingerprints: PUBKEY, sanity check, PKCS#8, generation, display (leaf above bytes).
  keys: { may: { bytes: 'bytes.ts' }, packages: ['@noble/'] },
  otr: { may: { bytes: 'bytes.ts', keys: 'dsa-key.ts' }, packages: ['@noble/'] },
  // ZRTP (RFC 6189): a pure engine beside otr, crypto from node:crypto only.
  zrtp: { may: { bytes: 'bytes.ts' }, packages: [] },
  msrp: { may: { sdp: 'sdp.ts' }, packages: [] },
  // The audio engine (RTP/RTCP, SRTP, codecs, sound I/O): node built-ins and the Opus codec only.
  rtp: { may: { sdp: 'sdp.ts' }, packages: ['opusscript', '@evan/opus'] },
  sip: { may: { 'peer-id': 'peer-id.ts', bytes: 'bytes.ts' }, packages: ['sip.js'] },
  'chat-storage': { may: { 'peer-id': 'peer-id.ts', bytes: 'bytes.ts', keys: '*' }, packages: [] },
  secrets: { may: { 'chat-storage': 'atomic.ts' }, packages: ['@napi-rs/keyring'] },
  tls: { may: {}, packages: [] },
  // The config folder's default is the storage's own rule (chat-storage/paths.ts imports nothing but node:).
  config: { may: { 'chat-storage': 'paths.ts' }, packages: [] },
  chat: {
    may: {
      otr: 'index',
      msrp: 'index',
      sip: 'index',
      'chat-storage': 'index',
      secrets: 'index',
      'peer-id': 'peer-id.ts',
      keys: '*',
      rtp: 'index',
      zrtp: 'index',
      sdp: 'sdp.ts',
    },
    packages: [],
  },
  // The UI shows fingerprints (five groups of eight) with the one display rule.
  ui: { may: { chat: 'types.ts', keys: 'fingerprint.ts' }, packages: ['ink', 'ink-text-input', 'react'] },
  headless: { may: { chat: 'types.ts' }, packages: [] },
  // cli.ts wires everything together: each layer through its public surface (index.ts, or the one file of a
  // layer that has no index).
  'cli.ts': {
    may: {
      config: 'args.ts',
      tls: 'extra-ca.ts',
      keys: '*',
      'chat-storage': 'index',
      secrets: 'index',
      sip: 'index',
      msrp: 'index',
      otr: 'index',
      chat: 'core.ts',
      rtp: 'index',
      headless: 'index',
      ui: 'index',
    },
    packages: undefined,
  },
};

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(n) && !/\.d\.ts$/.test(n) ? [p] : [];
  });
}

/** Every module specifier a source file imports or re-exports (static and dynamic). */
export function importsOf(text) {
  const out = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  for (const re of [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ]) {
    for (let m = re.exec(code); m; m = re.exec(code)) out.push(m[1]);
  }
  return out;
}

/** How a layer is named in a message: a folder with its slash, a top-level file as it is. */
const name = (layer) => (/\.tsx?$/.test(layer) ? layer : `${layer}/`);

/** The layer a file under src/ belongs to: its first folder, or the file name for top-level files. */
function layerOf(srcDir, file) {
  const rel = relative(srcDir, file).split(sep);
  return rel.length === 1 ? rel[0] : rel[0];
}

/** Checks every file under srcDir; returns one line per violation ("file: imports X: why"). */
export function checkBoundaries(srcDir) {
  const problems = [];
  for (const file of walk(srcDir)) {
    const from = layerOf(srcDir, file);
    const rule = RULES[from];
    const rel = relative(resolve(srcDir, '..'), file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
        const tRel = relative(srcDir, target);
        if (tRel.startsWith('..')) {
          problems.push(`${rel}: imports ${spec}: outside src/`);
          continue;
        }
        const to = layerOf(srcDir, target);
        if (to === from) continue;
        if (!rule) {
          problems.push(`${rel}: imports ${spec}: ${from} has no import rule`);
          continue;
        }
        if (rule.may === '*') continue;
        const how = rule.may[to];
        const fileInLayer = relative(join(srcDir, to), target)
          .split(sep)
          .join('/')
          .replace(/\.tsx$/, '.ts');
        const wanted = how === 'index' ? 'index.ts' : how;
        if (how === undefined) problems.push(`${rel}: imports ${spec}: ${name(from)} may not import ${to}/`);
        else if (how !== '*' && fileInLayer !== wanted && fileInLayer.replace(/\.ts$/, '.tsx') !== wanted) {
          problems.push(`${rel}: imports ${spec}: ${name(from)} may use ${to}/ only through ${wanted}`);
        }
      } else if (!spec.startsWith('node:') && rule && rule.packages !== undefined) {
        if (!rule.packages.some((p) => spec === p || spec.startsWith(p.endsWith('/') ? p : `${p}/`))) {
          problems.push(`${rel}: imports ${spec}: ${name(from)} may not depend on that package`);
        }
      }
    }
  }
  return problems;
}
