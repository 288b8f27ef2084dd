import { readFileSync, statSync } from 'node:fs';
import { splitRawLines } from './lines.js';
import { dirname } from 'node:path';
import { atomicWriteFile, ensureDir } from './atomic.js';
import { fingerprintHuman, normalizeFingerprint } from '../keys/fingerprint.js';
import { normalizeUid } from './uid.js';
import { legacyPeerId } from '../peer-id/peer-id.js';
import { StorageError } from './errors.js';

export type PeerTrust = 'verified' | 'smp' | '';

export interface TrustedPeerEntry {
  uid: string;
  /** 40 upper-case hex digits. */
  fingerprint: string;
  trust: PeerTrust;
  /** 1-based line in the file as last read or written. */
  line: number;
}

export interface ParseProblem {
  file: string;
  line: number;
  text: string;
  message: string;
}

export interface LearnResult {
  /** This fingerprint was not known for this uid before. */
  isNew: boolean;
  /** The uid had fingerprints on record and this one is none of them: the peer's key changed. */
  changed: boolean;
}

interface Line {
  /** The line as text (invalid UTF-8 shows as U+FFFD), without its end of line. */
  raw: string;
  /** Exactly the bytes read, so even invalid UTF-8 is written back unchanged; replaced only when the entry is modified. */
  bytes: Uint8Array;
  eol: string;
  entry: { uid: string; fingerprint: string; trust: PeerTrust } | null;
}

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

// uid, whitespace, 40 hex digits in any grouping, optional trust word. Tabs are what we write; any whitespace is read.
const LINE_RE = /^\s*(\S+)\s+((?:[0-9A-Fa-f]\s*){40})(?:\s*(verified|smp))?\s*$/i;

export interface TrustedPeersOptions {
  /** Called once per unparseable line (by line number and text), however often the file is re-read. */
  onProblem?: (p: ParseProblem) => void;
}

/**
 * chat/trusted_peers, edited in place: only lines this process changes are re-rendered, everything else (comments,
 * odd spacing, malformed lines, a missing final newline) is written back byte for byte. The file is re-read whenever
 * its stat changes, so edits made by hand while the client runs take effect on the next call.
 */
export class TrustedPeers {
  private lines: Line[] = [];
  private stamp: FileStamp | null = null;
  private reported = new Set<string>();
  private currentProblems: ParseProblem[] = [];

  constructor(
    readonly file: string,
    private readonly opts: TrustedPeersOptions = {},
  ) {
    this.refresh();
  }

  /** Re-reads the file if it changed on disk since we last saw it. Cheap: one stat. */
  refresh(): void {
    const st = statOrNull(this.file);
    if (st && this.stamp && sameStamp(st, this.stamp)) return;
    if (!st) {
      this.lines = [];
      this.stamp = null;
      this.currentProblems = [];
      return;
    }
    let data: Buffer;
    try {
      data = readFileSync(this.file);
    } catch (e) {
      throw new StorageError(`${this.file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
        cause: e,
      });
    }
    this.stamp = st;
    this.parse(data);
  }

  private parse(data: Buffer): void {
    this.lines = [];
    const problems: ParseProblem[] = [];
    for (const { raw, bytes, eol } of splitRawLines(data)) {
      this.lines.push({ raw, bytes, eol, entry: null });
      const lineNo = this.lines.length;
      const t = raw.trim();
      if (t === '' || t.startsWith('#')) continue;
      const m = LINE_RE.exec(raw);
      const fp = m ? normalizeFingerprint(m[2]!) : null;
      if (!m || !fp) {
        problems.push({
          file: this.file,
          line: lineNo,
          text: raw,
          message:
            'not "uid<TAB>fingerprint<TAB>trust" (fingerprint: 40 hex digits; trust: verified, smp or empty); kept as is',
        });
        continue;
      }
      this.lines[lineNo - 1]!.entry = {
        uid: normalizeUid(m[1]!),
        fingerprint: fp,
        trust: (m[3]?.toLowerCase() ?? '') as PeerTrust,
      };
    }
    this.currentProblems = problems;
    const occurrences = new Map<string, number>();
    for (const p of problems) {
      // Keyed by text (and which copy of it), not line number, so inserting a line above does not report it again.
      const n = (occurrences.get(p.text) ?? 0) + 1;
      occurrences.set(p.text, n);
      const key = `${n}\u0000${p.text}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.opts.onProblem?.(p);
    }
  }

  /** Lines that could not be parsed, as of the last read. */
  problems(): ParseProblem[] {
    this.refresh();
    return [...this.currentProblems];
  }

  entries(): TrustedPeerEntry[] {
    this.refresh();
    const out: TrustedPeerEntry[] = [];
    this.lines.forEach((l, i) => {
      if (l.entry) out.push({ ...l.entry, line: i + 1 });
    });
    return out;
  }

  /**
   * Fingerprints on record for `uid`, in file order, without duplicates. Lines under the wholly lower-cased uid
   * that older versions wrote for outgoing chats (see legacyPeerId) count too, so a key change is still seen.
   */
  fingerprints(uid: string): string[] {
    const u = normalizeUid(uid);
    const old = legacyPeerId(u);
    const seen = new Set<string>();
    const all = this.entries();
    for (const e of all) if (e.uid === u) seen.add(e.fingerprint);
    if (old !== null) for (const e of all) if (e.uid === old) seen.add(e.fingerprint);
    return [...seen];
  }

  /**
   * null when the pair was never seen; '' when learned but not verified. A verification recorded under the
   * older lower-cased uid still counts (the strongest of the two lines wins) until a write migrates it.
   */
  trustOf(uid: string, fingerprint: string): PeerTrust | null {
    const u = normalizeUid(uid);
    const fp = mustFp(fingerprint);
    const i = this.find(u, fp);
    const old = legacyPeerId(u);
    const j = old === null ? -1 : this.find(old, fp);
    if (i < 0 && j < 0) return null;
    return strongest(i < 0 ? null : this.lines[i]!.entry!.trust, j < 0 ? null : this.lines[j]!.entry!.trust);
  }

  isVerified(uid: string, fingerprint: string): boolean {
    const t = this.trustOf(uid, fingerprint);
    return t === 'verified' || t === 'smp';
  }

  /** Records a fingerprint seen for `uid` (every one is kept: that is what makes a key change visible). */
  learn(uid: string, fingerprint: string): LearnResult {
    const u = normalizeUid(uid);
    const fp = mustFp(fingerprint);
    this.refresh();
    const known = this.fingerprints(u);
    if (known.includes(fp)) {
      // Also known under the older lower-cased uid: the peer just proved this key, move that line to its uid.
      if (this.migrate(u, fp)) this.save();
      return { isNew: false, changed: false };
    }
    this.append(u, fp, '');
    this.save();
    return { isNew: true, changed: known.length > 0 };
  }

  /** Sets the trust of one uid+fingerprint (adding the pair if unknown). Only that line is rewritten. */
  setTrust(uid: string, fingerprint: string, trust: PeerTrust): void {
    const u = normalizeUid(uid);
    const fp = mustFp(fingerprint);
    this.refresh();
    const migrated = this.migrate(u, fp);
    const i = this.find(u, fp);
    if (i < 0) {
      this.append(u, fp, trust);
    } else {
      const l = this.lines[i]!;
      if (l.entry!.trust === trust && !migrated) return;
      if (l.entry!.trust !== trust) {
        l.entry = { uid: u, fingerprint: fp, trust };
        l.raw = render(u, fp, trust);
        l.bytes = Buffer.from(l.raw, 'utf8');
      }
    }
    this.save();
  }

  /** Forgets one uid+fingerprint (all lines holding it, the older lower-cased uid's too). */
  forget(uid: string, fingerprint: string): boolean {
    const u = normalizeUid(uid);
    const old = legacyPeerId(u);
    const fp = mustFp(fingerprint);
    this.refresh();
    const before = this.lines.length;
    this.lines = this.lines.filter(
      (l) => !(l.entry && (l.entry.uid === u || l.entry.uid === old) && l.entry.fingerprint === fp),
    );
    if (this.lines.length === before) return false;
    this.save();
    return true;
  }

  /**
   * Moves uid+fp lines written under the older lower-cased uid to `uid`: one line remains, under `uid`, with the
   * strongest trust either had. Returns whether anything changed (the caller saves).
   */
  private migrate(uid: string, fp: string): boolean {
    const old = legacyPeerId(uid);
    if (old === null) return false;
    const legacy = this.lines.flatMap((l, i) =>
      l.entry && l.entry.uid === old && l.entry.fingerprint === fp ? [i] : [],
    );
    if (legacy.length === 0) return false;
    const trust = legacy.reduce<PeerTrust | null>((t, i) => strongest(t, this.lines[i]!.entry!.trust), null)!;
    const i = this.find(uid, fp);
    const keep = i >= 0 ? i : legacy[0]!;
    const l = this.lines[keep]!;
    const t = strongest(i >= 0 ? l.entry!.trust : null, trust)!;
    l.entry = { uid, fingerprint: fp, trust: t };
    l.raw = render(uid, fp, t);
    l.bytes = Buffer.from(l.raw, 'utf8');
    const drop = new Set(legacy.filter((j) => j !== keep));
    this.lines = this.lines.filter((_, j) => !drop.has(j));
    return true;
  }

  private find(uid: string, fp: string): number {
    this.refresh();
    return this.lines.findIndex((l) => l.entry !== null && l.entry.uid === uid && l.entry.fingerprint === fp);
  }

  private append(uid: string, fp: string, trust: PeerTrust): void {
    const last = this.lines[this.lines.length - 1];
    // A file without a final newline gets one, or the new entry would be glued to the last line.
    if (last && last.eol === '') last.eol = '\n';
    const raw = render(uid, fp, trust);
    this.lines.push({ raw, bytes: Buffer.from(raw, 'utf8'), eol: '\n', entry: { uid, fingerprint: fp, trust } });
  }

  serialize(): Uint8Array {
    return Buffer.concat(this.lines.flatMap((l) => [l.bytes, Buffer.from(l.eol, 'latin1')]));
  }

  private save(): void {
    ensureDir(dirname(this.file));
    atomicWriteFile(this.file, this.serialize(), { mode: 0o600 });
    this.stamp = statOrNull(this.file);
  }
}

const RANK: Record<PeerTrust, number> = { '': 0, smp: 1, verified: 2 };

function strongest(a: PeerTrust | null, b: PeerTrust | null): PeerTrust | null {
  if (a === null) return b;
  if (b === null) return a;
  return RANK[b] > RANK[a] ? b : a;
}

function render(uid: string, fp: string, trust: PeerTrust): string {
  return `${uid}\t${fingerprintHuman(mustFp(fp))}\t${trust}`;
}

function mustFp(fp: string): string {
  const n = normalizeFingerprint(fp);
  if (n === null) throw new RangeError(`not a fingerprint (40 hex digits): ${JSON.stringify(fp)}`);
  return n;
}

function statOrNull(file: string): FileStamp | null {
  try {
    const s = statSync(file);
    return { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
  } catch {
    return null;
  }
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
