import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFile, ensureDir } from './atomic.js';
import { IniDocument } from './ini.js';
import { normalizeUid } from './uid.js';
import { legacyPeerId } from '../peer-id/peer-id.js';
import { StorageError } from './errors.js';

export type Tristate = 'on' | 'off' | 'default';

export interface Contact {
  uid: string;
  displayName: string | null;
  /** Always use OTR with this peer (on), never (off), or follow the settings (default). */
  otr: Tristate;
  /** Per-contact override of the global logging setting. */
  logging: Tristate;
  notes: string;
}

export type ContactPatch = Partial<Omit<Contact, 'uid'>>;

export interface ContactProblem {
  file: string;
  line: number;
  text: string;
  message: string;
}

export const CONTACTS_HEADER = `# blink-tui contacts: one [user@domain] section per peer. Edit freely; comments are kept.
#   name = display name
#   otr = on | off | default        (on: always use OTR with this peer; default: follow settings.ini)
#   logging = on | off | default    (override the global history setting for this peer)
#   notes = free text on one line (write \\n for a line break)
# Verification and fingerprints live in trusted_peers.
`;

const KEYS = new Set(['name', 'otr', 'logging', 'notes']);

/** chat/contacts: INI sections per peer, edited in place; re-read when changed on disk. */
export class Contacts {
  private doc = new IniDocument();
  private stamp = '';
  private reported = new Set<string>();
  private current: ContactProblem[] = [];

  constructor(
    readonly file: string,
    private readonly opts: { onProblem?: (p: ContactProblem) => void } = {},
  ) {
    this.refresh();
  }

  refresh(): void {
    let st: string;
    try {
      const s = statSync(this.file);
      st = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      this.doc = new IniDocument();
      this.stamp = '';
      this.current = [];
      return;
    }
    if (st === this.stamp) return;
    try {
      this.doc = IniDocument.parse(readFileSync(this.file));
    } catch (e) {
      throw new StorageError(`${this.file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
        cause: e,
      });
    }
    this.stamp = st;
    this.check();
  }

  private check(): void {
    const probs: ContactProblem[] = this.doc.problems().map((p) => ({ file: this.file, ...p }));
    for (const e of this.doc.entries()) {
      const text = this.doc.lines[e.line - 1]!.raw;
      if (e.section === '')
        probs.push({
          file: this.file,
          line: e.line,
          text,
          message: `"${e.key}" is outside any [user@domain] section; ignored`,
        });
      else if (!KEYS.has(e.key))
        probs.push({
          file: this.file,
          line: e.line,
          text,
          message: `unknown key "${e.key}" (known: name, otr, logging, notes); ignored`,
        });
      else if ((e.key === 'otr' || e.key === 'logging') && parseTristate(e.value) === null)
        probs.push({
          file: this.file,
          line: e.line,
          text,
          message: `${e.key} must be on, off or default; "${e.value}" is treated as default`,
        });
    }
    probs.sort((a, b) => a.line - b.line);
    this.current = probs;
    for (const p of probs) {
      const key = `${p.text}\u0000${p.message}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.opts.onProblem?.(p);
    }
  }

  problems(): ContactProblem[] {
    this.refresh();
    return [...this.current];
  }

  list(): Contact[] {
    this.refresh();
    return this.doc
      .sections()
      .filter((s) => s !== '')
      .map((s) => this.read(s));
  }

  get(uid: string): Contact | null {
    this.refresh();
    const u = normalizeUid(uid);
    const sec = this.section(u);
    return sec === undefined ? null : { ...this.read(sec), uid: u };
  }

  /** The section for `u`, else the one older versions wrote under its wholly lower-cased uid (legacyPeerId). */
  private section(u: string): string | undefined {
    const sections = this.doc.sections().filter((s) => s !== '');
    const exact = sections.find((s) => normalizeUid(s) === u);
    if (exact !== undefined) return exact;
    const old = legacyPeerId(u);
    return old === null ? undefined : sections.find((s) => normalizeUid(s) === old);
  }

  /** What applies to a peer with no section: everything default. */
  effective(uid: string): Contact {
    return (
      this.get(uid) ?? { uid: normalizeUid(uid), displayName: null, otr: 'default', logging: 'default', notes: '' }
    );
  }

  set(uid: string, patch: ContactPatch): Contact {
    this.refresh();
    const u = normalizeUid(uid);
    const sec = this.section(u) ?? u;
    if (patch.displayName !== undefined) {
      if (patch.displayName === null || patch.displayName === '') this.doc.delete(sec, 'name');
      else this.doc.set(sec, 'name', oneLine(patch.displayName));
    }
    if (patch.otr !== undefined) this.doc.set(sec, 'otr', patch.otr);
    if (patch.logging !== undefined) this.doc.set(sec, 'logging', patch.logging);
    if (patch.notes !== undefined) {
      if (patch.notes === '') this.doc.delete(sec, 'notes');
      else this.doc.set(sec, 'notes', escapeNotes(patch.notes));
    }
    if (!this.doc.sections().includes(sec)) this.doc.set(sec, 'otr', 'default');
    this.save();
    return { ...this.read(sec), uid: u };
  }

  remove(uid: string): boolean {
    this.refresh();
    const sec = this.section(normalizeUid(uid));
    if (sec === undefined) return false;
    this.doc.deleteSection(sec);
    this.save();
    return true;
  }

  private read(section: string): Contact {
    const v = (k: string) => this.doc.get(section, k)?.value;
    const name = v('name');
    return {
      uid: normalizeUid(section),
      displayName: name === undefined || name === '' ? null : name,
      otr: parseTristate(v('otr') ?? 'default') ?? 'default',
      logging: parseTristate(v('logging') ?? 'default') ?? 'default',
      notes: unescapeNotes(v('notes') ?? ''),
    };
  }

  private save(): void {
    ensureDir(dirname(this.file));
    let bytes = this.doc.toBytes();
    if (this.stamp === '' && bytes[0] !== 0x23) bytes = Buffer.concat([Buffer.from(CONTACTS_HEADER, 'utf8'), bytes]);
    atomicWriteFile(this.file, bytes, { mode: 0o600 });
    this.stamp = '';
    this.refresh();
  }
}

function parseTristate(v: string): Tristate | null {
  const t = v.trim().toLowerCase();
  if (['on', 'yes', 'true', 'always', '1'].includes(t)) return 'on';
  if (['off', 'no', 'false', 'never', '0'].includes(t)) return 'off';
  if (t === 'default' || t === '') return 'default';
  return null;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

function escapeNotes(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n').trim();
}

function unescapeNotes(s: string): string {
  return s.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}
