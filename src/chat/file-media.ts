// The MSRP stream of one RFC 5547 file transfer, as the SIP layer's MediaNegotiator: writes the file offer
// (sendonly) or the answer (recvonly, setup passive, as Blink answers), then connects or waits for the peer.
import {
  FILE_CHUNK_SIZE,
  buildFileSelector,
  createMsrpSession,
  negotiateSetup,
  parseFileAttributes,
  parseMsrpSdp,
  type FileAttributes,
  type FileSelector,
  type MsrpMediaDescription,
  type LocalMsrpSession,
  type MsrpSession,
} from '../msrp/index.js';
import type { MediaNegotiator } from '../sip/index.js';

const CONNECT_TIMEOUT_MS = 15_000;

export interface FileOfferSpec {
  readonly selector: FileSelector;
  readonly transferId: string;
  /** More attributes (the private transfer's), without "a=". */
  readonly extra?: readonly string[];
}

export interface FileAnswerSpec {
  readonly selector: FileSelector;
  /** Echo a=x-file-offset (only when we answer FILE_OFFSET, which we always do). */
  readonly fileOffset: boolean;
  readonly transferId: string | null;
}

/** The answer's attribute saying how large a chunk this receiver takes (blink-tui only). */
export const BIG_CHUNK_ATTRIBUTE = 'x-blink-tui-max-chunk';
/** The chunk size between two blink-tui: 16 x 64 KiB (16 private records). */
export const BIG_CHUNK_SIZE = 1024 * 1024;

/**
 * The chunk size to send with, from the receiver's answer: Blink's 64 KiB unless it names a larger size it takes,
 * kept to a multiple of 64 KiB (a private record) and at most BIG_CHUNK_SIZE.
 */
export function sendChunkSize(answer: FileAttributes | null): number {
  const v = answer?.other.get(BIG_CHUNK_ATTRIBUTE);
  const base = FILE_CHUNK_SIZE;
  if (v === undefined || !/^\d{1,10}$/.test(v.trim())) return base;
  const n = Math.min(BIG_CHUNK_SIZE, Number(v.trim()));
  return Math.max(base, Math.floor(n / base) * base);
}

export class FileMedia implements MediaNegotiator {
  private session: LocalMsrpSession | null = null;
  remote: MsrpMediaDescription | null = null;
  remoteFile: FileAttributes | null = null;
  private localRole: 'active' | 'passive' | null = null;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly spec: { offer: FileOfferSpec } | { answer: FileAnswerSpec },
    private readonly onClosed: (reason: string) => void,
  ) {}

  get msrp(): MsrpSession | null {
    return this.session;
  }

  private async make(): Promise<LocalMsrpSession> {
    if (this.closed) throw new Error('the transfer was closed');
    const s = await createMsrpSession({
      host: this.host,
      // RFC 5547 and Blink: a file session takes any type and wraps nothing.
      acceptTypes: ['*'],
      acceptWrappedTypes: [],
      chunkSize: FILE_CHUNK_SIZE,
    });
    if (this.closed) {
      s.close('the transfer was closed');
      throw new Error('the transfer was closed');
    }
    this.session = s;
    s.on('close', (info) => {
      if (!this.closed) this.onClosed(info.reason);
    });
    s.on('error', () => undefined);
    return s;
  }

  async createOffer(): Promise<string> {
    if (!('offer' in this.spec)) throw new Error('a file answerer makes no offer');
    const o = this.spec.offer;
    const s = this.session ?? (await this.make());
    return s.sdp('actpass', {
      extraAttributes: [
        'sendonly',
        `file-selector:${buildFileSelector(o.selector)}`,
        'x-file-offset',
        `file-transfer-id:${o.transferId}`,
        ...(o.extra ?? []),
      ],
    });
  }

  async applyAnswer(sdp: string): Promise<void> {
    this.remote = parseMsrpSdp(sdp);
    this.remoteFile = parseFileAttributes(sdp);
    this.localRole = negotiateSetup('offerer', this.remote.setup).local;
  }

  async createAnswer(offer: string): Promise<string> {
    if (!('answer' in this.spec)) throw new Error('a file offerer makes no answer');
    const a = this.spec.answer;
    this.remote = parseMsrpSdp(offer);
    this.remoteFile = parseFileAttributes(offer);
    // Blink always answers a file offer with a=setup:passive: the sender connects.
    const n = negotiateSetup('answerer', this.remote.setup, 'passive');
    this.localRole = n.local;
    const s = this.session ?? (await this.make());
    return s.sdp(n.answer ?? n.local, {
      extraAttributes: [
        'recvonly',
        `file-selector:${buildFileSelector(a.selector)}`,
        ...(a.fileOffset ? ['x-file-offset'] : []),
        ...(a.transferId ? [`file-transfer-id:${a.transferId}`] : []),
        // Our receiver takes larger chunks than Blink's 64 KiB (a blink-tui sender then sends fewer, larger ones:
        // fewer transactions, REPORTs and event-loop turns per MiB). Blink ignores the attribute it does not know.
        `${BIG_CHUNK_ATTRIBUTE}:${BIG_CHUNK_SIZE}`,
      ],
    });
  }

  /** After the dialog is up: connect (active) or wait for the peer (passive) until the stream is bound. */
  async connect(): Promise<MsrpSession> {
    const s = this.session;
    if (!s || !this.remote || !this.localRole) throw new Error('no MSRP negotiated for this transfer');
    if (this.localRole === 'active')
      await s.startActive(this.remote.path, { timeoutMs: CONNECT_TIMEOUT_MS, tls: { rejectUnauthorized: false } });
    else await s.startPassive({ remotePath: this.remote.path, timeoutMs: CONNECT_TIMEOUT_MS });
    return s;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session?.close('transfer ended');
  }
}
