import { bytesToBigint } from '../bytes/bytes.js';
import type { DsaKeyParams } from '../keys/dsa-key.js';
import { normalizeFingerprint } from '../keys/fingerprint.js';
import { FormatError } from './errors.js';
import { atomText, findList, parseSexp } from './sexp.js';

export interface LibotrAccountKey {
  account: string;
  protocol: string;
  key: DsaKeyParams;
}

/** libotr's otr.private_key: `(privkeys (account (name N) (protocol P) (private-key (dsa (p ..) .. (x ..)))) ...)`. */
export function parseLibotrPrivateKeys(text: Uint8Array | string): LibotrAccountKey[] {
  const top = parseSexp(text);
  const privkeys = top.find((e) => Array.isArray(e) && atomText(e[0]) === 'privkeys');
  if (!Array.isArray(privkeys)) throw new FormatError('no (privkeys ...) list');
  const out: LibotrAccountKey[] = [];
  for (const acct of privkeys.slice(1)) {
    if (!Array.isArray(acct) || atomText(acct[0]) !== 'account') continue;
    const name = atomText(findList(acct, 'name')?.[1]);
    const protocol = atomText(findList(acct, 'protocol')?.[1]);
    if (name === null || protocol === null) throw new FormatError('an account entry lacks its name or protocol');
    const pk = findList(acct, 'private-key');
    const dsa = pk ? findList(pk, 'dsa') : null;
    if (!dsa) throw new FormatError(`account ${name} (${protocol}) has no DSA private key`);
    const num = (n: string): bigint => {
      const v = findList(dsa, n)?.[1];
      if (!(v instanceof Uint8Array))
        throw new FormatError(`account ${name} (${protocol}): DSA parameter ${n} is missing`);
      return bytesToBigint(v);
    };
    out.push({ account: name, protocol, key: { p: num('p'), q: num('q'), g: num('g'), y: num('y'), x: num('x') } });
  }
  return out;
}

export interface LibotrFingerprint {
  line: number;
  account: string;
  remote: string;
  protocol: string;
  /** 40 upper-case hex digits. */
  fingerprint: string;
  /** libotr's free-form trust string: "" (not verified), "verified", "smp", or whatever a plugin wrote. */
  trust: string;
}

export interface LibotrFingerprintsResult {
  entries: LibotrFingerprint[];
  skipped: { line: number; text: string; reason: string }[];
}

/** libotr's otr.fingerprints: `remote<TAB>account<TAB>protocol<TAB>hex<TAB>trust`, one per line. */
export function parseLibotrFingerprints(text: string): LibotrFingerprintsResult {
  const entries: LibotrFingerprint[] = [];
  const skipped: LibotrFingerprintsResult['skipped'] = [];
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const lineText = raw.replace(/\r$/, '');
    if (lineText.trim() === '') return;
    const f = lineText.split('\t');
    if (f.length < 4) {
      skipped.push({ line: idx + 1, text: lineText, reason: 'fewer than 4 tab-separated fields' });
      return;
    }
    const fp = normalizeFingerprint(f[3]!);
    if (fp === null) {
      skipped.push({ line: idx + 1, text: lineText, reason: 'the fingerprint is not 40 hex digits' });
      return;
    }
    entries.push({ line: idx + 1, remote: f[0]!, account: f[1]!, protocol: f[2]!, fingerprint: fp, trust: f[4] ?? '' });
  });
  return { entries, skipped };
}
