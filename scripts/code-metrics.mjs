#!/usr/bin/env node
// Figures for "one concept, one place" (issue 11), read from the syntax tree with the TypeScript compiler API:
// - the largest functions and methods of src/ in lines (top 10);
// - how many definitions each shared concept has (DSA key type, PUBKEY encoding, fingerprint bytes and display,
//   PKCS#8 parsing, DSA key generation, bigint/byte/MPI/hex/base64/compare helpers, the SDP address type), each
//   listed with its place so a reader can check what was counted. Definitions, not uses: a call is never counted.
//
// Usage: node scripts/code-metrics.mjs [--rev <commit>] [--format] [--json] [--top N]
//   --rev     measure a commit instead of the work tree (its src/ is unpacked into a temporary folder);
//   --top N   list the N largest functions (10 by default);
//   --format  run prettier over that copy first, so a commit from before the formatter is measured in the same
//             line layout as today's code (line counts otherwise compare one-line bodies with formatted ones).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = join(fileURLToPath(import.meta.url), '..', '..');

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(n) && !/\.d\.ts$/.test(n) ? [p] : [];
  });
}

/** The name a reader would search for: `Class.method`, `function`, or the variable an arrow is assigned to. */
function nameOf(node) {
  const own = node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) ? node.name.text : undefined;
  if (ts.isConstructorDeclaration(node)) return `${className(node)}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    const cls = className(node);
    return cls ? `${cls}.${own ?? '?'}` : (own ?? '?');
  }
  if (own) return own;
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyDeclaration(p) && ts.isIdentifier(p.name)) return `${className(p) ?? ''}.${p.name.text}`;
  return undefined;
}

function className(node) {
  for (let p = node.parent; p; p = p.parent) {
    if ((ts.isClassDeclaration(p) || ts.isClassExpression(p)) && p.name) return p.name.text;
    if (ts.isObjectLiteralExpression(p)) return undefined;
  }
  return undefined;
}

const isFunctionLike = (n) =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessor(n) ||
  ts.isSetAccessor(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n);

/** Property names of an interface, a type literal, or an intersection/extension of them (one level). */
function memberNames(node) {
  const members = ts.isInterfaceDeclaration(node)
    ? node.members
    : ts.isTypeAliasDeclaration(node) && ts.isTypeLiteralNode(node.type)
      ? node.type.members
      : [];
  return new Set(members.filter((m) => m.name && ts.isIdentifier(m.name)).map((m) => m.name.text));
}

// Each concept: a test on a function definition (name, body text, class) or on a type definition.
const FN_CONCEPTS = [
  // PUBKEY (OTR: type 0x0000 then MPIs p, q, g, y): writing it and reading it.
  ['PUBKEY encode', (f) => /pub(lic)?key/i.test(f.name) && (/serial|encode|write/i.test(f.name) || f.cls === 'Writer')],
  [
    'PUBKEY parse',
    (f) =>
      /pub(lic)?key/i.test(f.name) &&
      (/parse|decode|read/i.test(f.name) || (f.cls === 'Reader' && !/of/i.test(f.name))),
  ],
  // The fingerprint: SHA-1 over the key's PUBKEY (a function named for fingerprints or fp that hashes).
  [
    'fingerprint bytes (SHA-1 of the key)',
    (f) => /fingerprint|^fpOf$|\bfp/i.test(f.name) && /sha1|'sha1'/.test(f.body),
  ],
  // Its display: groups of eight hex digits.
  [
    'fingerprint display (groups of eight)',
    (f) => /fingerprint|^fp/i.test(f.short) && /(\{1,8\}|\{8\}|\+ ?8\b|8\)|join\(' '\))/.test(f.body),
  ],
  ['PKCS#8 parsing', (f) => /pkcs8/i.test(f.name) && !/export|encode/i.test(f.name)],
  ['DER reader', (f) => /^(readDer|parseDer|derChildren|readTlv)$/i.test(f.short)],
  ['DSA key generation', (f) => /generateKeyPair(Sync)?\(\s*'dsa'/.test(f.body)],
  ['bigint to bytes', (f) => /^(bigint|bigInt)To(Minimal)?Bytes$|^padBytes$|^toFixedBytes$/.test(f.short)],
  ['bytes to bigint', (f) => /^bytesTo(Bigint|BigInt)$|^toBigint$/.test(f.short)],
  ['bit length of a bigint', (f) => /^bitLength$/.test(f.short)],
  ['byte length of a bigint', (f) => /^byteLength$/.test(f.short)],
  [
    'modular exponentiation (bigint)',
    (f) => /^modPow(Bigint)?$/.test(f.short) && !/dhFor|createDiffieHellman/.test(f.body),
  ],
  ['MPI encode', (f) => /^(encodeMpi|mpiBytes|mpi)$/.test(f.short) && f.cls !== 'Reader'],
  [
    'MPI read',
    (f) => /^readMpi(Magnitude)?$/.test(f.short) || (f.cls === 'Reader' && /^mpi(WithBytes|Magnitude)?$/.test(f.short)),
  ],
  ['concatenate bytes', (f) => /^concat(Bytes)?$/.test(f.short)],
  ['bytes to hex', (f) => /^(toHex|hex|bytesToHex)$/.test(f.short)],
  ['hex to bytes', (f) => /^(fromHex|unhex|hexToBytes)$/.test(f.short)],
  ['base64 encode', (f) => /^(base64Encode|toBase64)$/.test(f.short)],
  ['base64 decode (strict)', (f) => /^(base64Decode|fromBase64)$/.test(f.short)],
  [
    'constant-time compare',
    (f) => /^(constantTimeEqual|equalBytes|ctEqual|timingSafe\w*|bytesEqual)$/.test(f.short) && f.params === 2,
  ],
  ['order of byte strings (compare)', (f) => /^compareBytes$/.test(f.short)],
  // SDP: the o=/c= address type, which every writer of SDP needs.
  ['SDP address type (IP4/IP6)', (f) => /\?\s*'IP6'\s*:\s*'IP4'/.test(f.body)],
];

function isDsaKeyType(node) {
  const m = memberNames(node);
  return (
    ['p', 'q', 'g', 'y'].every((k) => m.has(k)) ||
    (ts.isInterfaceDeclaration(node) &&
      m.has('x') &&
      !!node.heritageClauses?.some((h) => /Dsa|PublicKey/.test(h.getText())))
  );
}

function isDsaKeyAlias(node) {
  return ts.isTypeAliasDeclaration(node) && /^(Omit|Pick)<\s*(Dsa\w*|\w*PublicKey)/.test(node.type.getText());
}

/**
 * A definition that calls another definition of the same concept (a wrapper that changes the error type, a
 * method over the one function) is not a copy of the rule: it is listed, marked, and not counted.
 */
function classify(defs) {
  const shorts = new Set(defs.map((d) => d.short));
  const out = { copies: [], delegates: [] };
  for (const d of defs) {
    const calls = [...shorts].some((n) => (n !== d.short && d.calls?.has(n)) || d.calls?.has(`import:${n}`));
    (calls ? out.delegates : out.copies).push(`${d.file}:${d.line} ${d.name}`);
  }
  return out;
}

export function measure(srcDir, top = 10) {
  const functions = [];
  const concepts = new Map([['DSA key type', []], ...FN_CONCEPTS.map(([n]) => [n, []])]);
  for (const file of walk(srcDir)) {
    const rel = relative(join(srcDir, '..'), file);
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(
      file,
      text,
      ts.ScriptTarget.Latest,
      true,
      file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    );
    const lineOf = (pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;
    // `import { parsePublicKey as parseKey }`: a call to parseKey is a call to parsePublicKey.
    const imported = new Map();
    sf.statements.filter(ts.isImportDeclaration).forEach((d) => {
      const named = d.importClause?.namedBindings;
      if (named && ts.isNamedImports(named))
        for (const e of named.elements) imported.set(e.name.text, (e.propertyName ?? e.name).text);
    });
    /** The names a body calls (`f(...)`, `x.f(...)`), through import aliases. */
    const callsOf = (body) => {
      const out = new Set();
      const see = (n) => {
        if (ts.isCallExpression(n)) {
          const e = n.expression;
          const id = ts.isIdentifier(e) ? e.text : ts.isPropertyAccessExpression(e) ? e.name.text : undefined;
          if (id) out.add(imported.get(id) ?? id);
          // A same-named function of another module (a wrapper that changes the error type) is still another one.
          if (id && imported.has(id)) out.add(`import:${imported.get(id)}`);
        }
        ts.forEachChild(n, see);
      };
      see(body);
      return out;
    };
    const visit = (node) => {
      if (isFunctionLike(node) && node.body) {
        const name = nameOf(node);
        const start = lineOf(node.getStart(sf));
        const end = lineOf(node.getEnd());
        const f = {
          name: name ?? '(anonymous)',
          short: (name ?? '').split('.').pop(),
          cls: className(node),
          file: rel,
          line: start,
          lines: end - start + 1,
          body: node.body.getText(sf),
          calls: callsOf(node.body),
          params: node.parameters.length,
        };
        if (name) functions.push(f);
        for (const [concept, test] of FN_CONCEPTS) if (name && test(f)) concepts.get(concept).push(f);
      }
      if (
        (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) &&
        (isDsaKeyType(node) || isDsaKeyAlias(node))
      ) {
        concepts
          .get('DSA key type')
          .push({ name: node.name.text, short: node.name.text, file: rel, line: lineOf(node.getStart(sf)), body: '' });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  functions.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
  return {
    top: functions.slice(0, top).map(({ name, file, line, lines }) => ({ name, file, line, lines })),
    concepts: Object.fromEntries([...concepts].map(([concept, defs]) => [concept, classify(defs)])),
  };
}

function snapshot(rev, format) {
  const dir = mkdtempSync(join(tmpdir(), 'code-metrics-'));
  execFileSync('sh', ['-c', `git -C "${repo}" archive "${rev}" src | tar -x -C "${dir}"`]);
  if (format) {
    execFileSync(
      join(repo, 'node_modules', '.bin', 'prettier'),
      ['--config', join(repo, '.prettierrc.json'), '--write', 'src/**/*.{ts,tsx}'],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
  }
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const revAt = args.indexOf('--rev');
  const rev = revAt >= 0 ? args[revAt + 1] : undefined;
  const format = args.includes('--format');
  const dir = rev ? snapshot(rev, format) : repo;
  try {
    const topAt = args.indexOf('--top');
    const m = measure(join(dir, 'src'), topAt >= 0 ? Number(args[topAt + 1]) : 10);
    if (args.includes('--json')) {
      console.log(JSON.stringify(m, null, 2));
    } else {
      const label = rev
        ? `${execFileSync('git', ['-C', repo, 'rev-parse', '--short', rev]).toString().trim()}${format ? ' (formatted with prettier first)' : ''}`
        : 'work tree';
      console.log(`# ${label}\n\nLargest functions in src/ (lines):`);
      for (const f of m.top) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}  ${f.file}:${f.line}`);
      console.log('\nDefinitions per concept (each one that implements the rule itself):');
      for (const [concept, { copies, delegates }] of Object.entries(m.concepts)) {
        console.log(`  ${String(copies.length).padStart(2)}  ${concept}`);
        for (const d of copies) console.log(`        ${d}`);
        for (const d of delegates) console.log(`        (delegates to one of these, not counted) ${d}`);
      }
    }
  } finally {
    if (rev) rmSync(dir, { recursive: true, force: true });
  }
}
