import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parsePem, parsePkcs8DsaDer, parseTraditionalDsaDer } from '../keys/pkcs8.js';
import { EncodingError } from '../bytes/bytes.js';
import { checkDsaKey, fingerprintHex, fingerprintHuman, sameKey, type DsaKeyParams } from '../keys/dsa-key.js';
import { FormatError, ImportError, StorageError } from './errors.js';
import { KeyStore } from './key-store.js';
import { parseLibotrFingerprints, parseLibotrPrivateKeys } from './libotr.js';
import { chatPaths } from './paths.js';
import { TrustedPeers, type PeerTrust } from './trusted-peers.js';

/** An import source's bytes; a file that cannot be read is an ImportError naming it and the reason. */
function readSource(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ImportError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
}

/** Reads a PEM DSA private key (PKCS#8 as current Blink writes `otr.key`, or OpenSSL's "DSA PRIVATE KEY"). */
export function readPemDsaKey(file: string, passphrase?: string): DsaKeyParams {
  return parsePemDsaKey(readSource(file).toString('utf8'), file, passphrase);
}

export function parsePemDsaKey(text: string, file = '<pem>', passphrase?: string): DsaKeyParams {
  let blocks;
  try {
    blocks = parsePem(text);
  } catch (e) {
    throw new ImportError(file, (e as Error).message, { cause: e });
  }
  if (blocks.length === 0) throw new ImportError(file, 'holds no PEM block (expected "-----BEGIN PRIVATE KEY-----")');
  for (const b of blocks) {
    try {
      let key: DsaKeyParams;
      if (b.label === 'PRIVATE KEY') key = parsePkcs8DsaDer(b.der);
      else if (b.label === 'DSA PRIVATE KEY') key = parseTraditionalDsaDer(b.der);
      else if (b.label === 'ENCRYPTED PRIVATE KEY') {
        if (passphrase === undefined) throw new ImportError(file, 'the key is encrypted: give its passphrase');
        let der: Buffer;
        try {
          der = createPrivateKey({ key: text, format: 'pem', passphrase }).export({ type: 'pkcs8', format: 'der' });
        } catch (e) {
          throw new ImportError(file, `cannot decrypt the key (wrong passphrase?): ${(e as Error).message}`, {
            cause: e,
          });
        }
        key = parsePkcs8DsaDer(Uint8Array.from(der));
      } else continue;
      checkDsaKey(key);
      return key;
    } catch (e) {
      if (e instanceof ImportError) throw e;
      if (e instanceof FormatError || e instanceof EncodingError)
        throw new ImportError(file, `"${b.label}" is not a usable DSA key: ${e.message}`, { cause: e });
      throw e;
    }
  }
  throw new ImportError(file, `has no private key block (found: ${blocks.map((b) => b.label).join(', ')})`);
}

export interface ImportSources {
  /** A PEM DSA key, e.g. current Blink's `otr.key`. */
  pemKey?: string;
  pemPassphrase?: string;
  /** libotr's `otr.private_key` (Pidgin, irssi). */
  libotrPrivateKey?: string;
  /** libotr's `otr.fingerprints`. */
  libotrFingerprints?: string;
  /** Which libotr account's key (and fingerprints) to take when the files hold several; matched on the name. */
  account?: string;
}

export interface ImportOptions {
  /** An existing, different private_key.dsa is replaced (and kept as a dated backup) only when this is true. */
  replaceKey?: boolean;
  now?: Date;
}

export interface ImportSummary {
  key: null | {
    source: string;
    /** libotr account the key came from, when it came from libotr. */
    account: string | null;
    fingerprint: string;
    action: 'installed' | 'unchanged' | 'replaced' | 'kept-existing';
    backupPath: string | null;
    /** Fingerprint of the key that is in force after the import. */
    activeFingerprint: string;
  };
  /** Other accounts found in otr.private_key that were not taken. */
  otherAccounts: string[];
  fingerprints: null | {
    source: string;
    added: number;
    trustUpdated: number;
    unchanged: number;
    skipped: { line: number; reason: string }[];
  };
  /** One line per fact, ready to print. */
  messages: string[];
}

function mapTrust(t: string): PeerTrust {
  const s = t.trim().toLowerCase();
  if (s === '') return '';
  if (s === 'smp') return 'smp';
  // libotr's trust is free text set by the UI: any non-empty value means the user verified it.
  return 'verified';
}

/** Strips an XMPP resource and an `xmpp:`/`sip:` scheme so the uid matches how we key peers. */
function remoteUid(remote: string): string {
  return remote.replace(/^(xmpp|sips?):/i, '').split('/')[0]!;
}

/** `blink-tui import ...`: brings an identity and known fingerprints into the config folder and says what it did. */
export function importIdentity(configDir: string, sources: ImportSources, opts: ImportOptions = {}): ImportSummary {
  const paths = chatPaths(configDir);
  const summary: ImportSummary = { key: null, otherAccounts: [], fingerprints: null, messages: [] };
  if (sources.pemKey && sources.libotrPrivateKey)
    throw new StorageError('import one private key at a time (a PEM key or a libotr key, not both)');

  let incoming: { key: DsaKeyParams; source: string; account: string | null } | null = null;
  if (sources.pemKey)
    incoming = { key: readPemDsaKey(sources.pemKey, sources.pemPassphrase), source: sources.pemKey, account: null };
  if (sources.libotrPrivateKey) {
    const file = sources.libotrPrivateKey;
    const data = readSource(file);
    let accounts;
    try {
      accounts = parseLibotrPrivateKeys(data);
    } catch (e) {
      if (e instanceof FormatError || e instanceof EncodingError)
        throw new ImportError(file, `is not a libotr private key file: ${e.message}`, { cause: e });
      throw e;
    }
    if (accounts.length === 0) throw new ImportError(file, 'holds no account keys');
    const chosen = sources.account ? accounts.filter((a) => a.account === sources.account) : accounts;
    if (chosen.length === 0)
      throw new ImportError(
        file,
        `has no key for account ${sources.account} (it has: ${accounts.map((a) => `${a.account} (${a.protocol})`).join(', ')})`,
      );
    const distinct = chosen.filter((a, i) => chosen.findIndex((b) => sameKey(a.key, b.key)) === i);
    if (distinct.length > 1)
      throw new ImportError(
        file,
        `holds keys for several accounts (${chosen.map((a) => `${a.account} (${a.protocol})`).join(', ')}): say which one`,
      );
    const pick = chosen[0]!;
    try {
      checkDsaKey(pick.key);
    } catch (e) {
      throw new ImportError(file, `the key of ${pick.account} is not a usable DSA key: ${(e as Error).message}`, {
        cause: e,
      });
    }
    incoming = { key: pick.key, source: file, account: pick.account };
    summary.otherAccounts = accounts
      .filter((a) => !sameKey(a.key, pick.key))
      .map((a) => `${a.account} (${a.protocol})`);
  }

  if (incoming) {
    const store = new KeyStore(paths.privateKey);
    const existing = store.load();
    const fp = fingerprintHex(incoming.key);
    let action: NonNullable<ImportSummary['key']>['action'];
    let backupPath: string | null = null;
    if (!existing) {
      store.save(incoming.key);
      action = 'installed';
    } else if (sameKey(existing, incoming.key)) {
      action = 'unchanged';
    } else if (opts.replaceKey) {
      backupPath = store.replace(incoming.key, opts.now).backupPath;
      action = 'replaced';
    } else {
      action = 'kept-existing';
    }
    const active = action === 'kept-existing' ? fingerprintHex(existing!) : fp;
    summary.key = {
      source: incoming.source,
      account: incoming.account,
      fingerprint: fp,
      action,
      backupPath,
      activeFingerprint: active,
    };
    const from = incoming.account ? `${incoming.source} (account ${incoming.account})` : incoming.source;
    summary.messages.push(
      action === 'installed'
        ? `imported the private key ${fingerprintHuman(fp)} from ${from}`
        : action === 'unchanged'
          ? `the private key from ${from} is already in use (${fingerprintHuman(fp)})`
          : action === 'replaced'
            ? `replaced the private key with ${fingerprintHuman(fp)} from ${from}; the old one is kept as ${backupPath}`
            : `kept the existing private key ${fingerprintHuman(active)}: ${from} holds a different one (${fingerprintHuman(fp)}); import again with the replace option to switch`,
    );
    for (const o of summary.otherAccounts) summary.messages.push(`not imported: the key of ${o}`);
  }

  if (sources.libotrFingerprints) {
    const file = sources.libotrFingerprints;
    const parsed = parseLibotrFingerprints(readSource(file).toString('utf8'));
    const tp = new TrustedPeers(paths.trustedPeers);
    const fsum = {
      source: file,
      added: 0,
      trustUpdated: 0,
      unchanged: 0,
      skipped: parsed.skipped.map((s) => ({ line: s.line, reason: s.reason })),
    };
    for (const e of parsed.entries) {
      if (sources.account && e.account !== sources.account) {
        fsum.skipped.push({ line: e.line, reason: `belongs to account ${e.account}` });
        continue;
      }
      const uid = remoteUid(e.remote);
      const trust = mapTrust(e.trust);
      const before = tp.trustOf(uid, e.fingerprint);
      if (before === null) {
        tp.setTrust(uid, e.fingerprint, trust);
        fsum.added++;
      } else if (trust !== '' && before !== trust && before === '') {
        // Never downgrade: a verification made here outranks an unverified entry from elsewhere.
        tp.setTrust(uid, e.fingerprint, trust);
        fsum.trustUpdated++;
      } else fsum.unchanged++;
    }
    summary.fingerprints = fsum;
    summary.messages.push(
      `fingerprints from ${file}: ${fsum.added} added, ${fsum.trustUpdated} newly verified, ${fsum.unchanged} already known, ${fsum.skipped.length} skipped`,
    );
    for (const s of fsum.skipped) summary.messages.push(`  ${file}:${s.line}: skipped: ${s.reason}`);
  }
  if (!incoming && !sources.libotrFingerprints)
    throw new StorageError('nothing to import: give a PEM key, a libotr private key and/or a libotr fingerprints file');
  return summary;
}
