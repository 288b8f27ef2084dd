// One session's SDP as a list of media sections (RFC 3264): the SIP layer's MediaNegotiator for the whole dialog,
// INVITE and every re-INVITE, both ways. Each section belongs to one stream (chat -> MSRP, audio -> RTP) or to
// nobody (port 0); m-line positions never move: a removed stream stays as a port-0 line, a new one may take a
// port-0 slot back (RFC 3264 8.1/8.2).
import type { MediaNegotiator } from '../sip/index.js';
import { composeSdp, disabledSection, splitSdp, type MediaLine, type SdpSection } from './sdp-compose.js';

/** The kinds of stream a session carries; the m= type of each. */
export type MediaKind = 'chat' | 'audio';
export const MEDIA_TYPE: Readonly<Record<MediaKind, string>> = { chat: 'message', audio: 'audio' };

export function kindOfType(type: string): MediaKind | null {
  return type === 'message' ? 'chat' : type === 'audio' ? 'audio' : null;
}

/** What one stream does with its section of the SDP. Each method sees and writes ONE section. */
export interface SectionMedia {
  readonly kind: MediaKind;
  offer(): Promise<string>;
  /** Throws when the stream cannot take the offer: its section is answered with port 0 (or the owner's choice). */
  answer(offer: SdpSection): Promise<string>;
  applyAnswer(answer: SdpSection): Promise<void>;
  close(): void;
}

/** The whole re-offer must be refused (488): the owner's choice, e.g. the user declined an audio proposal. */
export class OfferRefusedError extends Error {
  override name = 'OfferRefusedError';
  constructor(
    message: string,
    readonly statusCode = 488,
  ) {
    super(message);
  }
}

export interface SessionMediaOwner {
  /**
   * The peer offers a stream we do not have (a new m= line, or one in a port-0 slot): the stream that takes it,
   * null to refuse just that section (port 0), or throw OfferRefusedError to refuse the whole offer. May wait (the
   * user is asked).
   */
  streamFor(kind: MediaKind | null, section: SdpSection, initial: boolean): Promise<SectionMedia | null>;
  /** A stream's section went to port 0: the peer removed it (its offer) or refused it (its answer). */
  removed(media: SectionMedia, by: 'offer' | 'answer'): void;
  /** An offer/answer exchange completed (our answer written, or the peer's applied): start what it settled. */
  negotiated?: () => void;
  log?: (msg: string) => void;
}

interface Slot {
  /** The m= line as last written (ours or the peer's), for the port-0 form of a slot nobody holds. */
  media: MediaLine;
  holder: SectionMedia | null;
}

export interface SessionMediaOptions {
  host: string;
  user?: string;
  owner: SessionMediaOwner;
}

/**
 * A session's negotiator. Changes the owner wants (add(), remove()) take effect in the next offer; an offer that
 * fails (non-2xx, rollback()) puts the slots back as they were, and streams added for it are the owner's to close.
 */
export class SessionNegotiator implements MediaNegotiator {
  private slots: Slot[] = [];
  private snapshot: Slot[] | null = null;
  private readonly sessionId = String(Math.floor(Date.now() / 1000) * 1000 + Math.floor(Math.random() * 1000));
  private version = 0;
  private lastBody: string | null = null;
  private negotiatedOnce = false;
  private closed = false;

  constructor(private readonly opts: SessionMediaOptions) {}

  /** The streams in m-line order (held slots only). */
  get streams(): SectionMedia[] {
    return this.slots.flatMap((s) => (s.holder ? [s.holder] : []));
  }

  has(kind: MediaKind): boolean {
    return this.slots.some((s) => s.holder?.kind === kind);
  }

  get(kind: MediaKind): SectionMedia | undefined {
    return this.slots.find((s) => s.holder?.kind === kind)?.holder ?? undefined;
  }

  /** The m= types as they stand, port-0 slots as null. */
  get layout(): (MediaKind | null)[] {
    return this.slots.map((s) => s.holder?.kind ?? null);
  }

  /** A stream for our next offer: into the first port-0 slot of its m= type, else at the end. */
  add(media: SectionMedia): void {
    this.keepSnapshot();
    const type = MEDIA_TYPE[media.kind];
    const free = this.slots.find((s) => s.holder === null && s.media.type === type);
    if (free) free.holder = media;
    else
      this.slots.push({
        media: { type, port: 9, proto: media.kind === 'audio' ? 'RTP/AVP' : 'TCP/MSRP', formats: ['*'] },
        holder: media,
      });
  }

  /** Takes a stream out in our next offer (its line stays, port 0). Returns it (the caller closes it). */
  remove(kind: MediaKind): SectionMedia | undefined {
    const slot = this.slots.find((s) => s.holder?.kind === kind);
    if (!slot) return undefined;
    this.keepSnapshot();
    const h = slot.holder!;
    slot.holder = null;
    return h;
  }

  private keepSnapshot(): void {
    this.snapshot ??= this.slots.map((s) => ({ ...s }));
  }

  private commit(): void {
    this.snapshot = null;
  }

  private body(sections: string[]): string {
    const probe = composeSdp(
      { sessionId: this.sessionId, version: 0, host: this.opts.host, user: this.opts.user },
      sections,
    );
    // RFC 3264 8: the version goes up with every change, and stays when nothing changed.
    const key = probe.replace(/^o=.*$/m, '');
    if (key !== this.lastBody) {
      this.version++;
      this.lastBody = key;
    }
    return composeSdp(
      { sessionId: this.sessionId, version: this.version, host: this.opts.host, user: this.opts.user },
      sections,
    );
  }

  // ---- MediaNegotiator --------------------------------------------------------------------

  async createOffer(): Promise<string> {
    this.keepSnapshot();
    const sections: string[] = [];
    for (const slot of this.slots) {
      if (!slot.holder) {
        sections.push(disabledSection(slot.media));
        continue;
      }
      const text = await slot.holder.offer();
      const s = splitSdp(text).sections[0]!;
      slot.media = s.media;
      sections.push(s.text);
    }
    return this.body(sections);
  }

  async applyAnswer(sdp: string): Promise<void> {
    const { sections } = splitSdp(sdp);
    if (sections.length !== this.slots.length)
      throw new Error(`the answer has ${sections.length} media lines for our ${this.slots.length}`);
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      const s = sections[i]!;
      if (!slot.holder) continue;
      if (s.media.type !== slot.media.type)
        throw new Error(`answer line ${i + 1} is m=${s.media.type}, not m=${slot.media.type}`);
      if (s.media.port === 0) {
        const h = slot.holder;
        slot.holder = null;
        this.opts.owner.removed(h, 'answer');
        continue;
      }
      await slot.holder.applyAnswer(s);
    }
    this.negotiatedOnce = true;
    this.commit();
    this.opts.owner.negotiated?.();
  }

  async createAnswer(offer: string): Promise<string> {
    const { sections } = splitSdp(offer);
    if (sections.length < this.slots.length)
      throw new OfferRefusedError(
        `the offer has ${sections.length} media lines, fewer than the ${this.slots.length} before`,
      );
    const initial = !this.negotiatedOnce;
    this.keepSnapshot();
    const added: SectionMedia[] = [];
    const out: string[] = [];
    try {
      for (let i = 0; i < sections.length; i++) {
        const s = sections[i]!;
        let slot = this.slots[i];
        if (!slot) {
          slot = { media: s.media, holder: null };
          this.slots.push(slot);
        }
        slot.media = s.media;
        if (slot.holder && (s.media.port === 0 || MEDIA_TYPE[slot.holder.kind] !== s.media.type)) {
          const h = slot.holder;
          slot.holder = null;
          this.opts.owner.removed(h, 'offer');
        }
        if (s.media.port === 0) {
          out.push(disabledSection(s.media));
          continue;
        }
        if (!slot.holder) {
          const kind = kindOfType(s.media.type);
          const taken = kind !== null && this.slots.some((x) => x.holder?.kind === kind);
          const h = taken ? null : await this.opts.owner.streamFor(kind, s, initial);
          if (h) {
            slot.holder = h;
            added.push(h);
          }
        }
        if (!slot.holder) {
          out.push(disabledSection(s.media));
          continue;
        }
        try {
          out.push(splitSdp(await slot.holder.answer(s)).sections[0]!.text);
        } catch (e) {
          this.opts.owner.log?.(`m=${s.media.type} refused: ${(e as Error).message}`);
          const h = slot.holder;
          slot.holder = null;
          if (added.includes(h)) h.close();
          else this.opts.owner.removed(h, 'offer');
          out.push(disabledSection(s.media));
        }
      }
    } catch (e) {
      for (const h of added) h.close();
      this.rollback();
      throw e;
    }
    if (!out.some((x) => !/^m=\S+ 0 /.test(x))) {
      for (const h of added) h.close();
      this.rollback();
      throw new OfferRefusedError('no stream of the offer can be used');
    }
    this.negotiatedOnce = true;
    this.commit();
    const body = this.body(out);
    this.opts.owner.negotiated?.();
    return body;
  }

  /** Our offer was refused (or the peer's withdrawn): the slots go back to what they were before it. */
  rollback(): void {
    if (this.snapshot) this.slots = this.snapshot;
    this.snapshot = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.holder?.close();
  }
}
