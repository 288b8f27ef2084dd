// File transfers (RFC 5547 over MSRP, one SIP session per file as Blink does), plain or private. Private: the
// file is encrypted with a key derived from the OTR extra symmetric key of the chat with the peer (TLV 8, see
// file-crypto.ts), the offer's name/type/size travel sealed in an SDP attribute, and what MSRP carries is ciphertext.
// Received files are written to a hidden temp name in the download folder and renamed only once complete and
// checked; a plain one with a hash keeps its partial file for a resume (FILE_OFFSET).
import { createHash, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { TransferLog } from '../chat-storage/index.js';
import type { ExtraSymmetricKey } from '../otr/index.js';
import {
  FILE_CHUNK_SIZE,
  formatSha1,
  parseFileAttributes,
  parseMsrpSdp,
  queryFileOffset,
  receiveFileStream,
  sendFileStream,
  trimBodyPool,
  type FileAttributes,
  type FileSource,
  type MsrpSession,
} from '../msrp/index.js';
import type { IncomingCall, SipCall, SipUserAgent } from '../sip/index.js';
import { peerId } from '../peer-id/peer-id.js';
import { ReadAhead, hashFileHandle } from './file-io.js';
import { REAL_CLOCK, type Clock, type Timer } from './clock.js';
import { FileMedia, sendChunkSize } from './file-media.js';
import { IncomingFile, type ReceiveCheck } from './file-receive.js';
import { encryptingSource } from './file-send.js';
import { SealingSource } from './file-seal-thread.js';
import { sinkThreadMinBytes } from './file-sink-thread.js';
import {
  FILE_KEY_USE,
  PRIVATE_ATTRIBUTE,
  RECORD_PLAINTEXT,
  ciphertextSize,
  deriveFileKey,
  openMetadata,
  sealMetadata,
  type PrivateFileMeta,
} from './file-crypto.js';
import type { CoreEvent, Encryption } from './types.js';

/** `preparing`: the sender is hashing the file before its offer (bytes = hashed so far); then `offered`. */
export type FileState = 'preparing' | 'offered' | 'progress' | 'done' | 'failed' | 'cancelled';

/** What the core tells us of a chat, for private transfers and for where a file goes. */
export interface FileChatInfo {
  readonly id: string;
  readonly peer: string;
  /** Where to call the peer for a new session (its contact when serverless). */
  readonly target: string;
  readonly encrypted: boolean;
  readonly lock: Encryption;
  /** The peer's chat SDP lists our private-file feature. */
  readonly privateFiles: boolean;
  useExtraSymmetricKey(use: number, data: Uint8Array): Uint8Array | null;
  system(text: string, level: 'info' | 'warning'): void;
}

export interface FileTransferDeps {
  ua: SipUserAgent;
  mediaHost: string;
  log: (msg: string) => void;
  emit: (e: CoreEvent) => void;
  notice: (text: string, level: 'info' | 'warning') => void;
  transfers: TransferLog;
  downloadDir: string;
  /** The live chat with this id, or else the best live chat with this peer (encrypted first). */
  chat: (opts: { session?: string; peer?: string }) => FileChatInfo | null;
  /** OTR policy for a peer: used at all, and required (always-OTR contact). */
  otrPolicy: (peer: string) => { use: boolean; required: boolean };
  /** The lock of the chat an extra key arrived in (when the key arrives; files show it). */
  lockOf: (peer: string) => Encryption;
  /** Normalises a /send target (bob, bob@host, sip:...). */
  normalizeTarget: (to: string) => string;
  /** Writes (lineId null) or rewrites a chat's progress line; returns its id (null: no such chat). */
  progressLine: (session: string, lineId: string | null, text: string) => string | null;
  /** The same for a transfer with no chat open: a notice (the UI's notice row) rewritten in place; its id. */
  progressNotice: (lineId: string | null, text: string) => string;
  /** Time and timers (tests drive them); the real ones by default. */
  clock?: Clock;
}

/** How long an incoming private offer waits for the chat's TLV 8 that carries its key (the INVITE may win). */
const KEY_WAIT_MS = 10_000;
const PROGRESS_INTERVAL_MS = 100;
/** A receiver whose file is done hangs up itself if the sender's BYE does not come. */
const DONE_HANGUP_MS = 5_000;
const PARTIAL_KEEP_MS = 7 * 24 * 3600 * 1000;

const TYPES: Record<string, string> = {
  '.txt': 'text/plain',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.mp3': 'audio/mpeg',
  '.mp4': 'video/mp4',
  '.html': 'text/html',
  '.json': 'application/json',
};

export function guessType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

interface Transfer {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly peer: string;
  session: string | null;
  name: string;
  /** MIME type, as offered (private: from the sealed metadata). */
  type?: string;
  /** Plaintext size. */
  size: number;
  /** Bytes on the wire (ciphertext size when private). */
  wireSize: number;
  bytes: number;
  hash: string;
  encrypted: boolean;
  lock: Encryption;
  state: FileState;
  path?: string;
  reason?: string;
  transferId: string;
  call: SipCall | null;
  media: FileMedia | null;
  lastProgress: number;
  cancelled: boolean;
  /** finish() has been called (its result is being written). */
  ending?: boolean;
  /** The chat line that shows a progress bar and the rate, and when the data started. */
  lineId?: string | null;
  lastLine?: number;
  /** The progress line shows the hashing before the offer (not the data yet). */
  preparingShown?: boolean;
  startedAt?: number;
  startBytes?: number;
  /** Incoming: the call waiting for accept/reject, and what the offer said. */
  pending?: IncomingCall;
  offer?: FileAttributes;
  key?: Uint8Array;
  finish?: (state: 'done' | 'failed' | 'cancelled', reason?: string) => void;
}

/** What a sender offers: where its bytes come from, the selector's name and type, its hash (plain) and extra SDP. */
/** A sender's file, and the encrypting thread reading it (a large private file), until the transfer ends. */
interface Sending {
  fh: FileHandle | null;
  stop: (() => Promise<void>) | null;
}

interface SendOffer {
  readonly source: FileSource;
  readonly selector: { readonly name: string; readonly type: string };
  readonly sha1?: Uint8Array;
  readonly extra: string[];
}

/** A receiver's running transfer: its file, the MSRP stream, the hang-up after success, the check once started. */
interface Receiving {
  readonly file: IncomingFile;
  stream: { stop(): void } | null;
  doneTimer: Timer | null;
  completing: Promise<ReceiveCheck> | null;
}

/** A file name safe to create in the download folder: its last path part, no control characters, not hidden. */
export function safeFileName(name: string): string {
  const last = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  let s = last.replace(/[\x00-\x1f\x7f]/g, '_').trim();
  s = s.replace(/^\.+/, '');
  if (s === '' || s === '.' || s === '..') s = 'file';
  while (Buffer.byteLength(s, 'utf8') > 200) s = s.slice(0, -1);
  return s;
}

/** `name`, or `name-1.ext`, `name-2.ext`... whichever does not exist yet (as Blink names its copies). */
export function uniquePath(dir: string, name: string): string {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 0; ; i++) {
    const p = join(dir, i === 0 ? name : `${stem}-${i}${ext}`);
    if (!existsSync(p)) return p;
  }
}

export class FileTransfers {
  private readonly transfers = new Map<string, Transfer>();
  private seq = 0;
  /** Extra keys the peers announced for private transfers, by a=file-transfer-id. */
  private readonly keys = new Map<string, { peer: string; key: Uint8Array; lock: Encryption }>();
  private readonly keyWaiters = new Map<string, () => void>();

  private readonly clock: Clock;

  constructor(private readonly d: FileTransferDeps) {
    this.clock = d.clock ?? REAL_CLOCK;
    this.clock.setTimeout(() => this.dropStalePartials(), 5000).unref();
  }

  /** Partial files kept for a resume go after a week, as Blink keeps its own. */
  private dropStalePartials(): void {
    try {
      const cutoff = this.clock.now() - PARTIAL_KEEP_MS;
      for (const n of readdirSync(this.d.downloadDir)) {
        if (!/^\.blink-tui-.*\.part$/.test(n)) continue;
        const p = join(this.d.downloadDir, n);
        if (statSync(p).mtimeMs < cutoff) unlinkSync(p);
      }
    } catch {
      /* no download folder yet, or a file went meanwhile */
    }
  }

  // ---- OTR ----------------------------------------------------------------------------------

  /** A TLV 8 arrived in a chat with `peer`: keep it if it is for a file. */
  onExtraKey(peer: string, k: ExtraSymmetricKey): void {
    if (k.use !== FILE_KEY_USE) return;
    const tid = Buffer.from(k.useData).toString('utf8');
    if (!/^[A-Za-z0-9._~-]{1,128}$/.test(tid)) return;
    this.keys.set(tid, { peer, key: k.key, lock: this.d.lockOf(peer) });
    if (this.keys.size > 256) this.keys.delete(this.keys.keys().next().value!);
    this.keyWaiters.get(tid)?.();
  }

  private waitForKey(tid: string): Promise<{ peer: string; key: Uint8Array; lock: Encryption } | null> {
    const have = this.keys.get(tid);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.keyWaiters.delete(tid);
        resolve(null);
      }, KEY_WAIT_MS);
      t.unref();
      this.keyWaiters.set(tid, () => {
        this.clock.clearTimeout(t);
        this.keyWaiters.delete(tid);
        resolve(this.keys.get(tid) ?? null);
      });
    });
  }

  // ---- events -------------------------------------------------------------------------------

  /** The chat line `⇡ name [#####-----] 50% 12.3 MB/s`, rewritten at most 4 times a second. */
  private progress(t: Transfer, final = false, preparing = false): void {
    const now = this.clock.now();
    if (preparing !== (t.preparingShown ?? false)) {
      // The data phase's rate starts with the data, not with the hashing before the offer.
      t.preparingShown = preparing;
      t.startedAt = undefined;
      t.startBytes = undefined;
    } else if (!final && t.lastLine !== undefined && now - t.lastLine < 250) return;
    t.lastLine = now;
    t.startedAt ??= now;
    t.startBytes ??= t.bytes;
    const frac = t.size === 0 ? 1 : Math.min(1, t.bytes / t.size);
    const width = 20;
    const filled = Math.round(frac * width);
    const secs = (now - t.startedAt) / 1000;
    // A small file is on its way within milliseconds: no rate rather than a made-up "0.0 MB/s".
    const rate = secs > 0.05 ? ` ${((t.bytes - t.startBytes) / secs / 1e6).toFixed(1)} MB/s` : '';
    const arrow = t.direction === 'out' ? '⇡' : '⇣';
    const lock = t.encrypted ? ' (encrypted)' : '';
    // Without a chat with the peer the line goes to the notice row (and the headless `system` events are spared:
    // the `file` events carry the same figures).
    const to = t.session ? '' : ` ${t.direction === 'out' ? 'to' : 'from'} ${t.peer}`;
    const text = preparing
      ? `${arrow} ${t.name}${to}: preparing (hashing) ${Math.floor(frac * 100)}% [${t.id}: /cancel-file ${t.id}]`
      : `${arrow} ${t.name}${to}${lock} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(frac * 100)}%` +
        `${rate} [${t.id}${final ? '' : `: /cancel-file ${t.id}`}]`;
    t.lineId = t.session
      ? this.d.progressLine(t.session, t.lineId ?? null, text)
      : this.d.progressNotice(t.lineId ?? null, text);
  }

  private event(t: Transfer, state: FileState, force = true): void {
    const now = this.clock.now();
    const running = state === 'progress' || state === 'preparing';
    if (running) this.progress(t, false, state === 'preparing');
    if (running && !force && now - t.lastProgress < PROGRESS_INTERVAL_MS) return;
    if (running) t.lastProgress = now;
    if (state === 'done' && t.lineId) this.progress(t, true);
    t.state = state;
    this.d.emit({
      ev: 'file',
      transfer: t.id,
      ...(t.session ? { session: t.session } : {}),
      direction: t.direction,
      state,
      name: t.name,
      ...(t.type ? { type: t.type } : {}),
      size: t.size,
      bytes: t.bytes,
      ...(t.path ? { path: t.path } : {}),
      encrypted: t.encrypted,
      ...(t.encrypted ? { lock: t.lock } : {}),
      ...(t.reason ? { reason: t.reason } : {}),
    });
  }

  private line(t: Transfer, text: string, level: 'info' | 'warning'): void {
    const chat = t.session ? this.d.chat({ session: t.session }) : null;
    if (chat) chat.system(text, level);
    else this.d.notice(text, level);
  }

  private record(t: Transfer, result: 'done' | 'failed' | 'cancelled' | 'rejected'): void {
    try {
      this.d.transfers.append({
        time: new Date().toISOString(),
        peer: t.peer,
        direction: t.direction,
        name: t.name,
        size: t.size,
        hash: t.hash,
        result,
        encryption: t.encrypted ? t.lock : 'none',
        ...(t.path ? { path: t.path } : {}),
        ...(t.reason ? { reason: t.reason } : {}),
        transferId: t.transferId,
      });
    } catch (e) {
      this.d.log(`transfer history: ${(e as Error).message}`);
    }
  }

  private get(id: string): Transfer {
    // '' (a bare /accept-file): the latest offer still waiting.
    if (id === '') {
      const waiting = [...this.transfers.values()].filter((x) => x.pending);
      const last = waiting[waiting.length - 1];
      if (!last) throw new Error('no file offer is waiting');
      return last;
    }
    const t = this.transfers.get(id);
    if (!t) throw new Error(`no file transfer ${JSON.stringify(id)}`);
    return t;
  }

  // ---- sending ------------------------------------------------------------------------------

  async send(o: { session?: string; to?: string; path: string; plain?: boolean }): Promise<string> {
    if (o.path === '~' || o.path.startsWith('~/')) o = { ...o, path: join(homedir(), o.path.slice(1)) };
    let st;
    try {
      st = statSync(o.path);
    } catch (e) {
      throw new Error(`cannot send ${o.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!st.isFile()) throw new Error(`cannot send ${o.path}: not a regular file`);
    let chat: FileChatInfo | null = null;
    let target: string;
    if (o.session !== undefined) {
      chat = this.d.chat({ session: o.session });
      if (!chat) throw new Error(`no chat session ${JSON.stringify(o.session)}`);
      target = chat.target;
    } else if (o.to !== undefined) {
      target = this.d.normalizeTarget(o.to);
      chat = this.d.chat({ peer: peerId(target) });
    } else throw new Error('send a file to whom? (a chat session or "to")');
    const peer = chat?.peer ?? peerId(target);
    const usePrivate = chat !== null && chat.encrypted && chat.privateFiles;
    const policy = this.d.otrPolicy(peer);
    if (!usePrivate) {
      if (policy.required)
        throw new Error(
          `not sent: OTR is always used with ${peer}, and this file could not be encrypted (${chat?.encrypted ? "the peer's client cannot take private files" : 'no private conversation with them'})`,
        );
      if (policy.use && o.plain !== true)
        throw new Error(
          `${basename(o.path)} would go UNENCRYPTED: ${chat?.encrypted ? `${peer}'s client cannot receive private files` : `no private conversation with ${peer} is open`}. Confirm to send it in the clear (/send! PATH, or "plain": true)`,
        );
    }
    const id = `f${++this.seq}`;
    const name = basename(o.path);
    const transferId = randomUUID();
    const t: Transfer = {
      id,
      direction: 'out',
      peer,
      session: chat?.id ?? null,
      name,
      type: guessType(name),
      size: st.size,
      wireSize: st.size,
      bytes: 0,
      hash: '',
      encrypted: usePrivate,
      lock: usePrivate ? chat!.lock : 'none',
      state: 'offered',
      transferId,
      call: null,
      media: null,
      lastProgress: 0,
      cancelled: false,
    };
    this.transfers.set(id, t);
    void this.runSend(t, o.path, target, chat).catch((e: Error) => t.finish?.('failed', e.message));
    return id;
  }

  private async runSend(t: Transfer, path: string, target: string, chat: FileChatInfo | null): Promise<void> {
    const sending: Sending = { fh: null, stop: null };
    const finished = new Promise<void>((resolve) => {
      t.finish = (state, reason) => {
        // Once, whoever comes first (the end of the data, a BYE, the connection's close, a cancel).
        if (t.ending) return;
        this.endSend(t, sending, state, reason);
        resolve();
      };
    });
    const fh = await openFile(path, 'r');
    sending.fh = fh;
    if (t.ending) {
      // Cancelled (or failed) while the file was opening: finish() found no handle to close.
      void fh.close().catch(() => undefined);
      return finished;
    }
    // 16 chunks (plain) or 16 records (private) a block: pieces never straddle two blocks.
    const reader = new ReadAhead(fh, t.size, 16 * (t.encrypted ? RECORD_PLAINTEXT : FILE_CHUNK_SIZE));
    const offer = t.encrypted ? this.privateOffer(t, chat!, reader, fh, sending) : await this.plainOffer(t, fh, reader);
    t.hash = offer.sha1 ? formatSha1(offer.sha1) : '';
    const media = new FileMedia(
      this.d.mediaHost,
      {
        offer: {
          selector: { ...offer.selector, size: t.wireSize, ...(offer.sha1 ? { sha1: offer.sha1 } : {}) },
          transferId: t.transferId,
          extra: offer.extra,
        },
      },
      (reason) => t.finish?.('failed', `MSRP connection closed: ${reason}`),
    );
    t.media = media;
    if (t.cancelled) {
      t.finish?.('cancelled');
      return finished;
    }
    this.event(t, 'offered');
    this.line(
      t,
      `offering ${t.name} (${t.size} bytes) to ${t.peer}${t.encrypted ? ', encrypted end to end' : ', UNENCRYPTED'} [${t.id}]`,
      t.encrypted ? 'info' : 'warning',
    );
    const call = this.d.ua.call(target, media);
    t.call = call;
    call.on('failed', (f) =>
      t.finish?.('failed', f.statusCode === 603 ? 'declined' : `${f.statusCode} ${f.reason}`.trim()),
    );
    call.on('ended', (e) => {
      if (t.state !== 'done') t.finish?.('failed', e.by === 'remote' ? `${t.peer} ended the transfer` : 'ended');
    });
    call.on('established', () => {
      this.startSending(t, media, offer).catch((e: Error) =>
        t.finish?.(t.cancelled ? 'cancelled' : 'failed', t.cancelled ? undefined : e.message),
      );
    });
    return finished;
  }

  /**
   * A private offer: the file key from the chat's extra symmetric key, the ciphertext read record by record, and
   * the real name, type and size sealed in the offer's attribute (the selector shows neither).
   */
  private privateOffer(
    t: Transfer,
    chat: FileChatInfo,
    reader: ReadAhead,
    fh: FileHandle,
    sending: Sending,
  ): SendOffer {
    const extraKey = chat.useExtraSymmetricKey(FILE_KEY_USE, Buffer.from(t.transferId, 'utf8'));
    if (!extraKey) throw new Error('the private conversation ended before the file key could be agreed');
    const key = deriveFileKey(extraKey, t.transferId);
    t.wireSize = ciphertextSize(t.size);
    // The offer names no hash (RFC 5547 makes it optional): every record is authenticated by GCM, bound to its
    // index, the final flag and the size, so a SHA-1 of the ciphertext would check nothing more, and computing it
    // would mean encrypting the whole file once before the offer.
    const meta: PrivateFileMeta = { name: t.name, type: guessType(t.name), size: t.size };
    // A large file is encrypted by a worker thread of its own (file-seal-thread.ts), a small one here.
    let source: FileSource;
    if (t.wireSize >= sinkThreadMinBytes()) {
      const sealer = new SealingSource(fh.fd, key, t.size);
      sending.stop = () => sealer.close();
      source = sealer;
    } else source = encryptingSource(key, t.size, reader);
    return {
      source,
      selector: { name: `${t.transferId.slice(0, 8)}.private`, type: 'application/octet-stream' },
      extra: [`${PRIVATE_ATTRIBUTE}:v1 ${sealMetadata(key, meta)}`],
    };
  }

  /**
   * A plain offer: Blink's receivers check (and resume by) the hash, so it is computed before the offer, as Blink
   * does, and the user sees it happen ("preparing").
   */
  private async plainOffer(t: Transfer, fh: FileHandle, reader: ReadAhead): Promise<SendOffer> {
    this.event(t, 'preparing');
    const sha1 = await hashFileHandle(
      fh,
      t.size,
      (done) => {
        t.bytes = done;
        this.event(t, 'preparing', false);
      },
      () => t.cancelled,
    );
    t.bytes = 0;
    return {
      source: { read: (pos, len) => reader.read(pos, len), release: (piece) => reader.release(piece) },
      selector: { name: t.name, type: guessType(t.name) },
      sha1,
      extra: [],
    };
  }

  /** The call is up: MSRP connects, a resume asks how much the receiver has, and the data goes out. */
  private async startSending(t: Transfer, media: FileMedia, offer: SendOffer): Promise<void> {
    const msrp = await media.connect();
    // Resume: both offers carry x-file-offset, and the receiver has part of this file (plain only: a private
    // transfer has a new key each time, so its ciphertext never matches an earlier partial file).
    const offset = media.remoteFile?.fileOffset && !t.encrypted ? await queryFileOffset(msrp, t.wireSize) : 0;
    t.bytes = offset;
    this.event(t, 'progress');
    await sendFileStream(msrp, offer.source, {
      total: t.wireSize,
      chunkSize: sendChunkSize(media.remoteFile),
      contentType: offer.selector.type,
      offset,
      aborted: () => t.cancelled,
      onProgress: (b) => {
        t.bytes = t.encrypted ? Math.min(t.size, Math.round((b / Math.max(1, t.wireSize)) * t.size)) : b;
        this.event(t, 'progress', false);
      },
    });
    t.bytes = t.size;
    t.finish?.('done');
  }

  /** The sender's end: the file closed, the record, the event, the hang-up and the line. */
  private endSend(t: Transfer, sending: Sending, state: 'done' | 'failed' | 'cancelled', reason?: string): void {
    t.ending = true;
    if (reason) t.reason = reason;
    // FileHandle.close waits for a read-ahead still under way.
    // The encrypting thread stops before the file closes: it never reads a closed (or reused) descriptor.
    const fh = sending.fh;
    const stop = sending.stop;
    sending.fh = null;
    sending.stop = null;
    if (fh !== null) void (stop ? stop() : Promise.resolve()).then(() => fh.close()).catch(() => undefined);
    else void stop?.();
    // The record first: whoever sees the event may look at the history at once.
    this.record(t, state);
    this.event(t, state);
    const call = t.call;
    if (call && call.state !== 'ended' && call.state !== 'failed') void call.hangup().catch(() => undefined);
    t.media?.close();
    this.line(
      t,
      state === 'done'
        ? `${t.name} sent (${t.size} bytes${t.encrypted ? `, encrypted end to end, ${t.lock}` : ', unencrypted'})`
        : `${t.name}: ${state === 'cancelled' ? 'cancelled' : 'not sent'}${t.reason ? `: ${t.reason}` : ''}`,
      state === 'done' ? 'info' : 'warning',
    );
  }

  // ---- receiving ----------------------------------------------------------------------------

  /** An INVITE whose offer has a file-selector: announce it, or refuse it (488) when we cannot take it. */
  offered(call: IncomingCall): void {
    void this.takeOffer(call).catch((e: Error) => {
      this.d.log(`file offer refused: ${e.message}`);
      void call.reject(488).catch(() => undefined);
    });
  }

  private async takeOffer(call: IncomingCall): Promise<void> {
    const sdp = call.remoteOffer ?? '';
    parseMsrpSdp(sdp); // throws on an offer without a usable a=path
    const attrs = parseFileAttributes(sdp);
    const peer = peerId(call.remoteIdentity.aor);
    if (!attrs.selector || attrs.direction !== 'sendonly')
      throw new Error('only offers to send us a file (a=sendonly) are taken');
    if (attrs.formats !== '*') throw new Error(`format list ${JSON.stringify(attrs.formats)} is not "*"`);
    if (attrs.selector.size === undefined) throw new Error('the offer gives no file size');
    const id = `f${++this.seq}`;
    const chat = this.d.chat({ peer });
    const privateValue = attrs.other.get(PRIVATE_ATTRIBUTE);
    let name = attrs.selector.name ?? 'file';
    let type = attrs.selector.type ?? 'application/octet-stream';
    let size = attrs.selector.size;
    let key: Uint8Array | undefined;
    let lock: Encryption = 'none';
    if (privateValue !== undefined) {
      const m = /^v1 (\S+)$/.exec(privateValue);
      if (!m || !attrs.transferId) throw new Error('a private offer without its v1 metadata or transfer id');
      const k = await this.waitForKey(attrs.transferId);
      if (!k) throw new Error(`no OTR key arrived for private transfer ${attrs.transferId}`);
      if (k.peer !== peer)
        throw new Error(`the key for ${attrs.transferId} came from ${k.peer}, the offer from ${peer}`);
      this.keys.delete(attrs.transferId);
      key = deriveFileKey(k.key, attrs.transferId);
      const meta = openMetadata(key, m[1]!);
      if (ciphertextSize(meta.size) !== attrs.selector.size)
        throw new Error("the private offer's size does not match its sealed metadata");
      name = meta.name;
      type = meta.type;
      size = meta.size;
      lock = k.lock;
    }
    const t: Transfer = {
      id,
      direction: 'in',
      peer,
      session: chat?.id ?? null,
      name,
      type,
      size,
      wireSize: attrs.selector.size,
      bytes: 0,
      hash: attrs.selector.sha1 ? formatSha1(attrs.selector.sha1) : '',
      encrypted: key !== undefined,
      lock,
      state: 'offered',
      transferId: attrs.transferId ?? randomUUID(),
      call,
      media: null,
      lastProgress: 0,
      cancelled: false,
      pending: call,
      offer: attrs,
      ...(key ? { key } : {}),
    };
    this.transfers.set(id, t);
    call.on('ended', () => {
      if (t.pending) {
        t.pending = undefined;
        t.reason = `${peer} withdrew the offer`;
        this.record(t, 'cancelled');
        this.event(t, 'cancelled');
      }
    });
    this.event(t, 'offered');
    this.line(
      t,
      `file ${id} from ${peer}: ${name} (${size} bytes, ${type}, ${t.encrypted ? `encrypted end to end, ${lock}` : 'unencrypted'}): /accept-file ${id} or /reject-file ${id}`,
      'info',
    );
  }

  async accept(id: string, dir?: string): Promise<void> {
    const t = this.get(id);
    const call = t.pending;
    if (t.direction !== 'in' || !call || !t.offer) throw new Error(`${id} is not waiting to be accepted`);
    t.pending = undefined;
    const offer = t.offer;
    const file = await IncomingFile.open(dir ?? this.d.downloadDir, { ...t, sha1: offer.selector?.sha1 });
    t.bytes = file.offset;
    const run: Receiving = { file, stream: null, doneTimer: null, completing: null };
    t.finish = (state, reason) => this.endReceive(t, call, run, state, reason);
    const media = new FileMedia(
      this.d.mediaHost,
      { answer: { selector: offer.selector ?? {}, fileOffset: offer.fileOffset, transferId: offer.transferId } },
      // Once every byte is in, the check decides (the sender of an empty file may hang up right after its chunk).
      (reason) => {
        if (!run.completing) t.finish?.('failed', `MSRP connection closed at ${t.bytes} of ${t.size} bytes: ${reason}`);
      },
    );
    t.media = media;
    call.on('ended', (e) => this.receiveCallEnded(t, run, e.by));
    call.on('established', () => void this.startReceiving(t, run, media));
    this.event(t, 'progress');
    try {
      await call.accept(media);
    } catch (e) {
      t.finish?.('failed', `could not accept: ${(e as Error).message}`);
      throw e;
    }
  }

  /** The receiver's check, run once whoever asks first: the last chunk, or (an empty file) the sender's BYE. */
  private completeReceive(t: Transfer, run: Receiving): Promise<ReceiveCheck> {
    return (run.completing ??= (async () => {
      const r = await run.file.check(t, (folder) => uniquePath(folder, safeFileName(t.name)));
      if (!r.ok) return r;
      t.path = r.path;
      t.bytes = t.size;
      return { ok: true };
    })());
  }

  /** The call is up: MSRP connects and the file stream starts writing into the file. */
  private async startReceiving(t: Transfer, run: Receiving, media: FileMedia): Promise<void> {
    let msrp: MsrpSession;
    try {
      msrp = await media.connect();
    } catch (e) {
      t.finish?.('failed', `no MSRP connection: ${(e as Error).message}`);
      return;
    }
    if (t.ending) return;
    run.stream = receiveFileStream(
      msrp,
      run.file.sink(() => this.completeReceive(t, run)),
      {
        total: t.wireSize,
        offset: run.file.offset,
        onProgress: (b) => {
          t.bytes = run.file.isPrivate ? run.file.decrypted : b;
          this.event(t, 'progress', false);
        },
        onEnd: (r) => {
          if (r.ok) t.finish?.('done');
          else t.finish?.('failed', r.reason);
        },
      },
    );
  }

  private receiveCallEnded(t: Transfer, run: Receiving, by: string): void {
    if (t.state === 'done') {
      if (run.doneTimer) this.clock.clearTimeout(run.doneTimer);
      t.media?.close();
      return;
    }
    // Blink completes an empty file when the sender hangs up (it sends no chunk for it).
    if ((t.wireSize === 0 && !t.encrypted) || run.completing) {
      void this.completeReceive(t, run).then((r) => (r.ok ? t.finish?.('done') : t.finish?.('failed', r.comment)));
      return;
    }
    t.finish?.(
      'failed',
      `${by === 'remote' ? `${t.peer} ended the transfer` : 'ended'} at ${t.bytes} of ${t.size} bytes`,
    );
  }

  /** The receiver's end, once, whoever comes first: the file kept or discarded, the record, the event, the hang-up. */
  private endReceive(
    t: Transfer,
    call: IncomingCall,
    run: Receiving,
    state: 'done' | 'failed' | 'cancelled',
    reason?: string,
  ): void {
    // Set before any await, so a close that follows a refusal cannot overtake it.
    if (t.ending) return;
    t.ending = true;
    if (reason) t.reason = reason;
    // The MSRP parser's spare chunk buffers go (a chat keeps a few).
    trimBodyPool();
    void (async () => {
      if (state !== 'done') {
        // No more chunks are taken (nor a final check made): the sender must not hear of success now.
        run.stream?.stop();
        await run.file.discard(t.cancelled);
      }
      // The record first: whoever sees the event may look at the history at once.
      this.record(t, state);
      this.event(t, state);
      this.line(
        t,
        state === 'done'
          ? `received ${t.name} (${t.size} bytes${t.encrypted ? `, encrypted end to end, ${t.lock}` : ', unencrypted'}): ${t.path}`
          : `${t.name}: ${state === 'cancelled' ? 'cancelled' : 'not received'}${t.reason ? `: ${t.reason}` : ''}`,
        state === 'done' ? 'info' : 'warning',
      );
      const hangup = () => {
        if (call.state !== 'ended' && call.state !== 'failed') void call.hangup().catch(() => undefined);
        t.media?.close();
      };
      if (state === 'done') {
        run.doneTimer = this.clock.setTimeout(hangup, DONE_HANGUP_MS);
        run.doneTimer.unref();
      } else {
        hangup();
      }
    })();
  }

  async reject(id: string): Promise<void> {
    const t = this.get(id);
    const call = t.pending;
    if (t.direction !== 'in' || !call) throw new Error(`${id} is not waiting to be accepted`);
    t.pending = undefined;
    await call.reject(603);
    t.reason = 'declined';
    this.record(t, 'rejected');
    this.event(t, 'cancelled');
  }

  async cancel(id: string): Promise<void> {
    const t = this.get(id);
    if (t.pending) return this.reject(id);
    if (t.ending) throw new Error(`${id} has already ended (${t.state})`);
    t.cancelled = true;
    t.finish?.('cancelled', 'cancelled by you');
  }

  /** Opens a received (or sent) file with the system's viewer (xdg-open). */
  open(id: string): void {
    const t = this.get(id);
    if (!t.path) throw new Error(`${id} has no file to open (${t.state})`);
    const child = spawn(process.env.BLINK_TUI_OPEN_COMMAND || 'xdg-open', [t.path], {
      detached: true,
      stdio: 'ignore',
    });
    child.on('error', (e) => this.d.notice(`cannot open ${t.path}: ${e.message}`, 'warning'));
    child.unref();
  }

  /**
   * A small image sent as chat content (image/*, as Blink does): saved in the download folder under its name (or
   * image-TIME.ext), shown as a line with name and size, recorded like a transfer, openable with /open.
   */
  receivedImage(session: string, peer: string, contentType: string, body: Uint8Array, filename: string | null): void {
    const ext = '.' + (contentType.split('/')[1] ?? 'bin').replace(/[^a-z0-9]/gi, '').replace(/^jpeg$/, 'jpg');
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    const name = safeFileName(filename ?? `image-${stamp}${ext}`);
    const t: Transfer = {
      id: `f${++this.seq}`,
      direction: 'in',
      peer,
      session,
      name,
      type: contentType,
      size: body.length,
      wireSize: body.length,
      bytes: body.length,
      hash: formatSha1(new Uint8Array(createHash('sha1').update(body).digest())),
      encrypted: false,
      lock: 'none',
      state: 'offered',
      transferId: randomUUID(),
      call: null,
      media: null,
      lastProgress: 0,
      cancelled: false,
    };
    this.transfers.set(t.id, t);
    try {
      mkdirSync(this.d.downloadDir, { recursive: true });
      const final = uniquePath(this.d.downloadDir, name);
      const temp = join(this.d.downloadDir, `.blink-tui-${t.id}-${process.pid}.part`);
      writeFileSync(temp, body, { mode: 0o600 });
      renameSync(temp, final);
      t.path = final;
    } catch (e) {
      t.reason = `cannot save the image: ${(e as Error).message}`;
      this.record(t, 'failed');
      this.event(t, 'failed');
      this.line(t, `an image from ${peer} could not be saved: ${t.reason}`, 'warning');
      return;
    }
    this.record(t, 'done');
    this.event(t, 'done');
    this.line(t, `image ${t.name} (${t.size} bytes, ${contentType}): ${t.path} [/open ${t.id}]`, 'info');
  }

  /** The client quits: every live transfer ends (failed, with its partial file handled as on any failure). */
  closeAll(): void {
    for (const t of this.transfers.values()) {
      if (t.pending) void t.pending.reject(480).catch(() => undefined);
      else t.finish?.('failed', 'client quit');
    }
  }
}
