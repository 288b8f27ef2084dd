import { splitRawLines } from './lines.js';
/**
 * A small line-preserving INI document: `[section]`, `key = value`, `#`/`;` comment lines. Reading and editing keep
 * every line that is not touched exactly as it was, so hand-made layout and comments survive the program's writes.
 * Comments are whole lines only: a `#` inside a value is part of the value.
 */
export interface IniLine {
  raw: string;
  /** The bytes as read (even invalid UTF-8 is written back unchanged); null once the line is (re)written by us. */
  bytes: Uint8Array | null;
  eol: string;
  kind: 'blank' | 'comment' | 'section' | 'entry' | 'bad';
  section: string;
  key?: string;
  value?: string;
}

export interface IniEntry {
  section: string;
  key: string;
  value: string;
  /** 1-based. */
  line: number;
}

export interface IniProblem {
  line: number;
  text: string;
  message: string;
}

const SECTION_RE = /^\s*\[([^\]]*)\]\s*$/;
const ENTRY_RE = /^\s*([^=\s][^=]*?)\s*=\s?(.*?)\s*$/;

export class IniDocument {
  lines: IniLine[] = [];

  static parse(input: string | Uint8Array): IniDocument {
    const data =
      typeof input === 'string'
        ? Buffer.from(input, 'utf8')
        : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const doc = new IniDocument();
    let section = '';
    let pos = 0;
    if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
      // A BOM from a Windows editor is not part of the first key.
      doc.lines.push({ raw: '\ufeff', bytes: data.subarray(0, 3), eol: '', kind: 'blank', section });
      pos = 3;
    }
    for (const { raw, bytes, eol } of splitRawLines(data, pos)) {
      const t = raw.trim();
      if (t === '') doc.lines.push({ raw, bytes, eol, kind: 'blank', section });
      else if (t.startsWith('#') || t.startsWith(';')) doc.lines.push({ raw, bytes, eol, kind: 'comment', section });
      else {
        const s = SECTION_RE.exec(raw);
        if (s) {
          section = s[1]!.trim();
          doc.lines.push({ raw, bytes, eol, kind: 'section', section });
          continue;
        }
        const e = ENTRY_RE.exec(raw);
        if (e)
          doc.lines.push({ raw, bytes, eol, kind: 'entry', section, key: e[1]!.trim().toLowerCase(), value: e[2]! });
        else doc.lines.push({ raw, bytes, eol, kind: 'bad', section });
      }
    }
    return doc;
  }

  problems(): IniProblem[] {
    const out: IniProblem[] = [];
    this.lines.forEach((l, i) => {
      if (l.kind === 'bad')
        out.push({
          line: i + 1,
          text: l.raw,
          message: 'not "key = value", "[section]" or a # comment; ignored and kept',
        });
    });
    return out;
  }

  /** Section names in first-appearance order ('' for keys before any header). */
  sections(): string[] {
    const out: string[] = [];
    for (const l of this.lines)
      if ((l.kind === 'section' || l.kind === 'entry') && !out.includes(l.section)) out.push(l.section);
    return out;
  }

  entries(section?: string): IniEntry[] {
    const out: IniEntry[] = [];
    this.lines.forEach((l, i) => {
      if (l.kind === 'entry' && (section === undefined || l.section === section))
        out.push({ section: l.section, key: l.key!, value: l.value!, line: i + 1 });
    });
    return out;
  }

  /** The last assignment wins, as in most INI readers. */
  get(section: string, key: string): IniEntry | undefined {
    const k = key.toLowerCase();
    const all = this.entries(section).filter((e) => e.key === k);
    return all[all.length - 1];
  }

  set(section: string, key: string, value: string): void {
    const k = key.toLowerCase();
    if (/[\r\n]/.test(value)) throw new RangeError('INI values are single lines');
    const existing = this.get(section, k);
    const rendered = `${k} = ${value}`;
    if (existing) {
      const l = this.lines[existing.line - 1]!;
      if (l.value === value) return;
      l.raw = rendered;
      l.bytes = null;
      l.value = value;
      return;
    }
    const fresh: IniLine = { raw: rendered, bytes: null, eol: '\n', kind: 'entry', section, key: k, value };
    // After the last entry (or header) of the section's last block, so new keys sit with their section.
    let at = -1;
    this.lines.forEach((l, i) => {
      if (l.section === section && (l.kind === 'entry' || l.kind === 'section')) at = i;
    });
    if (at < 0 && section === '') {
      this.lines.unshift(fresh);
      return;
    }
    if (at < 0) {
      this.terminateLast();
      if (this.lines.length > 0 && this.lines[this.lines.length - 1]!.kind !== 'blank')
        this.lines.push({ raw: '', bytes: null, eol: '\n', kind: 'blank', section: this.lastSection() });
      this.lines.push({ raw: `[${section}]`, bytes: null, eol: '\n', kind: 'section', section });
      this.lines.push(fresh);
      return;
    }
    const prev = this.lines[at]!;
    if (prev.eol === '') prev.eol = '\n';
    if (at === this.lines.length - 1) fresh.eol = '\n';
    this.lines.splice(at + 1, 0, fresh);
  }

  delete(section: string, key: string): boolean {
    const k = key.toLowerCase();
    const before = this.lines.length;
    this.lines = this.lines.filter((l) => !(l.kind === 'entry' && l.section === section && l.key === k));
    return this.lines.length !== before;
  }

  /** Removes a section's header and entries; comment lines inside it go too, blank lines stay. */
  deleteSection(section: string): boolean {
    const before = this.lines.length;
    this.lines = this.lines.filter((l) => !(l.section === section && l.kind !== 'blank'));
    return this.lines.length !== before;
  }

  toString(): string {
    return this.lines.map((l) => l.raw + l.eol).join('');
  }

  /** Byte-exact for every line not changed by this program. */
  toBytes(): Uint8Array {
    return Buffer.concat(
      this.lines.flatMap((l) => [l.bytes ?? Buffer.from(l.raw, 'utf8'), Buffer.from(l.eol, 'latin1')]),
    );
  }

  private terminateLast(): void {
    const last = this.lines[this.lines.length - 1];
    if (last && last.eol === '') last.eol = '\n';
  }

  private lastSection(): string {
    return this.lines[this.lines.length - 1]?.section ?? '';
  }
}
