import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { appendRecord, ensureDir, fsyncFile } from './atomic.js';
import { normalizeUid } from './uid.js';
import { legacyPeerId } from '../peer-id/peer-id.js';

export type Direction = 'in' | 'out';
export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'resent' | 'failed' | 'received';
export type EncryptionStatus = 'none' | 'unverified' | 'verified' | 'changed';

/** One message as stored (one JSON line). */
export interface MessageRecord {
  kind: 'message';
  /** ISO 8601, UTC. */
  time: string;
  peer: string;
  direction: Direction;
  /** Who wrote it (our uid for outgoing; in a conference, the CPIM From). */
  sender: string;
  text: string;
  delivery: DeliveryStatus;
  encryption: EncryptionStatus;
  /** The peer's fingerprint in force (40 hex digits) when the message was encrypted, else null. */
  fingerprint: string | null;
  session: string | null;
  id: string;
}

/** A later change of a message's delivery status, appended rather than rewritten. */
export interface DeliveryRecord {
  kind: 'delivery';
  time: string;
  peer: string;
  id: string;
  status: DeliveryStatus;
}

export type HistoryRecord = MessageRecord | DeliveryRecord;

export interface HistoryWarning {
  file: string;
  line: number;
  message: string;
}

export interface LoadedHistory {
  /** Messages in time order with the latest delivery status folded in. */
  messages: MessageRecord[];
  warnings: HistoryWarning[];
}

export interface HistoryOptions {
  /** Global switch (settings [logging] enabled). */
  enabled: boolean;
  /** Per-contact override: 'on'/'off' beat the global switch. */
  override?: (peer: string) => 'on' | 'off' | 'default';
  onWarning?: (w: HistoryWarning) => void;
  /**
   * Milliseconds between fsyncs of the files appended to (0: fsync every record). Each record is one append
   * either way; batching only bounds how many of the newest records a power cut can lose. Default 1000:
   * an fsync per message costs milliseconds, which is most of a loopback chat's latency.
   */
  syncIntervalMs?: number;
}

const DIRECTIONS = new Set(['in', 'out']);
const DELIVERY = new Set(['pending', 'sent', 'delivered', 'resent', 'failed', 'received']);
const ENCRYPTION = new Set(['none', 'unverified', 'verified', 'changed']);

/**
 * chat/history/<peer>/<YYYY-MM-DD>.jsonl (UTC day), append-only. With logging off for a peer nothing at all is
 * written about it: no folder, no file, no delivery updates.
 */
export class History {
  /** Files this process already checked for a torn tail before its first append. */
  private checkedTail = new Set<string>();
  private unsynced = new Set<string>();
  private syncTimer: NodeJS.Timeout | null = null;
  /** Peer folders this process has already created or found. */
  private knownFolders = new Set<string>();
  /**
   * Append descriptors kept open between fsyncs (batched mode only): a record then costs one write(2) instead of
   * mkdir + open + write + close. flush() fsyncs and closes them, so none stays open longer than the interval.
   */
  private fds = new Map<string, number>();

  constructor(
    readonly dir: string,
    private opts: HistoryOptions,
  ) {}

  setEnabled(enabled: boolean): void {
    this.opts = { ...this.opts, enabled };
  }

  isLogging(peer: string): boolean {
    const o = this.opts.override?.(normalizeUid(peer)) ?? 'default';
    return o === 'on' ? true : o === 'off' ? false : this.opts.enabled;
  }

  /** Stores a message; returns false (and writes nothing) when logging is off for that peer. */
  append(rec: Omit<MessageRecord, 'kind' | 'peer'> & { peer: string }): boolean {
    const peer = normalizeUid(rec.peer);
    if (!this.isLogging(peer)) return false;
    const full: MessageRecord = { kind: 'message', ...rec, peer };
    validateMessage(full);
    this.write(peer, full.time, full);
    return true;
  }

  updateDelivery(peer: string, id: string, status: DeliveryStatus, time: Date = new Date()): boolean {
    const p = normalizeUid(peer);
    if (!this.isLogging(p)) return false;
    if (!DELIVERY.has(status)) throw new RangeError(`unknown delivery status ${status}`);
    const rec: DeliveryRecord = { kind: 'delivery', time: time.toISOString(), peer: p, id, status };
    this.write(p, rec.time, rec);
    return true;
  }

  private write(peer: string, time: string, rec: HistoryRecord): void {
    const day = time.slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`bad record time ${time}`);
    const folder = join(this.dir, peerFolder(peer));
    if (!this.knownFolders.has(folder)) {
      ensureDir(folder);
      this.knownFolders.add(folder);
    }
    const file = join(folder, `${day}.jsonl`);
    let prefix = '';
    if (!this.checkedTail.has(file)) {
      // After a crash the file may end in half a record; start ours on a fresh line so only that half is lost.
      if (existsSync(file) && !endsWithNewline(file)) prefix = '\n';
      this.checkedTail.add(file);
    }
    const interval = this.opts.syncIntervalMs ?? 1000;
    const line = prefix + JSON.stringify(rec) + '\n';
    if (interval === 0) {
      appendRecord(file, line, 0o600, true);
      return;
    }
    this.appendOpen(folder, file, line);
    this.unsynced.add(file);
    if (!this.syncTimer) {
      this.syncTimer = setTimeout(() => this.flush(), interval);
      this.syncTimer.unref();
    }
  }

  private appendOpen(folder: string, file: string, line: string): void {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
      try {
        fd = openSync(file, flags, 0o600);
      } catch (e) {
        // The folder went away underneath us (removed by hand): make it again, once.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        ensureDir(folder);
        fd = openSync(file, flags, 0o600);
      }
      this.fds.set(file, fd);
    }
    // The string goes straight to write(2) (no Buffer of our own for a long record); a short write, which a
    // regular file gives only when the disk fills, finishes from bytes so nothing is written twice.
    const wrote = writeSync(fd, line, null, 'utf8');
    const total = Buffer.byteLength(line, 'utf8');
    if (wrote < total) {
      const bytes = Buffer.from(line, 'utf8');
      let off = wrote;
      while (off < total) off += writeSync(fd, bytes, off, total - off);
    }
  }

  /** Makes every record appended so far durable (called on a timer and when storage closes). */
  flush(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    const files = [...this.unsynced];
    this.unsynced.clear();
    try {
      for (const f of files) {
        const fd = this.fds.get(f);
        if (fd !== undefined) fsyncSync(fd);
        else fsyncFile(f);
      }
    } finally {
      for (const fd of this.fds.values()) closeSync(fd);
      this.fds.clear();
    }
  }

  peers(): string[] {
    return this.folderNames()
      .map((name) => peerFromFolder(name))
      .filter((p): p is string => p !== null)
      .sort();
  }

  private folderNames(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  }

  /**
   * Every message with a peer, oldest first; torn or malformed lines are skipped with a warning each. The folder
   * older versions wrote for outgoing chats under the wholly lower-cased uid (legacyPeerId) is read too.
   */
  load(peer: string): LoadedHistory {
    const u = normalizeUid(peer);
    const old = legacyPeerId(u);
    return this.loadFolders([peerFolder(u), ...(old !== null ? [peerFolder(old)] : [])]);
  }

  private loadFolders(names: string[]): LoadedHistory {
    const warnings: HistoryWarning[] = [];
    const paths: string[] = [];
    for (const name of names) {
      const folder = join(this.dir, name);
      if (!existsSync(folder)) continue;
      for (const f of readdirSync(folder).sort()) if (/^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f)) paths.push(join(folder, f));
    }
    const byId = new Map<string, MessageRecord>();
    const messages: MessageRecord[] = [];
    const late: DeliveryRecord[] = [];
    for (const path of paths) {
      for (const rec of readRecords(path, warnings)) {
        if (rec.kind === 'message') {
          const copy = { ...rec };
          messages.push(copy);
          byId.set(copy.id, copy);
        } else {
          const m = byId.get(rec.id);
          if (m) m.delivery = rec.status;
          else late.push(rec);
        }
      }
    }
    for (const d of late) {
      const m = byId.get(d.id);
      if (m) m.delivery = d.status;
    }
    messages.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const w of warnings) this.opts.onWarning?.(w);
    return { messages, warnings };
  }

  /** Case-insensitive substring search over message text, for one peer or all. */
  search(text: string, opts: { peer?: string } = {}): LoadedHistory {
    const needle = text.toLocaleLowerCase();
    // One peer: its folder and its older lower-cased one. All peers: every folder once.
    const groups = opts.peer ? [null] : this.folderNames().map((n) => [n]);
    const messages: MessageRecord[] = [];
    const warnings: HistoryWarning[] = [];
    for (const g of groups) {
      const h = g === null ? this.load(opts.peer!) : this.loadFolders(g);
      warnings.push(...h.warnings);
      for (const m of h.messages) if (m.text.toLocaleLowerCase().includes(needle)) messages.push(m);
    }
    messages.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    return { messages, warnings };
  }
}

function endsWithNewline(file: string): boolean {
  const size = statSync(file).size;
  if (size === 0) return true;
  const buf = readFileSync(file);
  return buf[buf.length - 1] === 0x0a;
}

function readRecords(path: string, warnings: HistoryWarning[]): HistoryRecord[] {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const out: HistoryRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const isLast = i === lines.length - 1;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      warnings.push({
        file: path,
        line: i + 1,
        message: isLast
          ? 'incomplete last record (interrupted write); skipped'
          : 'unreadable record (torn by an earlier crash or edited); skipped',
      });
      return;
    }
    const r = asRecord(rec);
    if (!r) {
      warnings.push({ file: path, line: i + 1, message: 'record lacks required fields; skipped' });
      return;
    }
    out.push(r);
  });
  return out;
}

function asRecord(v: unknown): HistoryRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const str = (k: string) => typeof o[k] === 'string';
  if (o['kind'] === 'delivery') {
    return str('time') && str('peer') && str('id') && DELIVERY.has(o['status'] as string)
      ? (o as unknown as DeliveryRecord)
      : null;
  }
  if (o['kind'] !== 'message') return null;
  if (!(str('time') && str('peer') && str('sender') && str('text') && str('id'))) return null;
  if (
    !DIRECTIONS.has(o['direction'] as string) ||
    !DELIVERY.has(o['delivery'] as string) ||
    !ENCRYPTION.has(o['encryption'] as string)
  )
    return null;
  if (o['fingerprint'] !== null && !str('fingerprint')) return null;
  if (o['session'] !== null && !str('session')) return null;
  return o as unknown as MessageRecord;
}

function validateMessage(m: MessageRecord): void {
  if (!DIRECTIONS.has(m.direction)) throw new RangeError(`bad direction ${m.direction}`);
  if (!DELIVERY.has(m.delivery)) throw new RangeError(`bad delivery status ${m.delivery}`);
  if (!ENCRYPTION.has(m.encryption)) throw new RangeError(`bad encryption status ${m.encryption}`);
}

/**
 * A file-system-safe, reversible folder name for a uid: bytes outside [A-Za-z0-9@._+-] become %XX, and a leading dot
 * is escaped so no name can be "." or ".." or hidden.
 */
export function peerFolder(uid: string): string {
  const bytes = Buffer.from(uid, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9@_+-]/.test(c) || (c === '.' && i > 0)) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out || '%00';
}

export function peerFromFolder(name: string): string | null {
  try {
    return decodeURIComponent(name);
  } catch {
    return null;
  }
}
