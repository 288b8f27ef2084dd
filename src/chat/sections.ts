// The two kinds of stream as sections of a session's SDP (session-media.ts): the MSRP chat, whose writer produces
// whole bodies, and the audio stream (src/rtp), which reads and writes one section and is told our direction.
import { SrtpDowngradeError, type AudioDirection, type AudioStream } from '../rtp/index.js';
import type { MediaNegotiator } from '../sip/index.js';
import { bodyOf, sectionOf, type SdpSection } from './sdp-compose.js';
import { OfferRefusedError, type SectionMedia } from './session-media.js';

export class ChatSection implements SectionMedia {
  readonly kind = 'chat' as const;
  constructor(readonly media: MediaNegotiator) {}
  async offer(): Promise<string> {
    return sectionOf(await this.media.createOffer(), 'message');
  }
  async answer(offer: SdpSection): Promise<string> {
    return sectionOf(await this.media.createAnswer(bodyOf(offer.text)), 'message');
  }
  async applyAnswer(answer: SdpSection): Promise<void> {
    await this.media.applyAnswer(bodyOf(answer.text));
  }
  close(): void {
    this.media.close();
  }
}

/** Our direction for a stream we hold or not (RFC 3264 8.4, RFC 6337 5.3: hold is sendonly, or inactive). */
export function ourDirection(localHold: boolean): AudioDirection {
  return localHold ? 'sendonly' : 'sendrecv';
}

export class AudioSection implements SectionMedia {
  readonly kind = 'audio' as const;
  /** We hold the call: our offers and answers say sendonly. */
  localHold = false;
  /** The peer's last offer was sendonly or inactive: it holds us. */
  remoteHold = false;
  /** The direction the peer answered our last offer with. */
  answeredDirection: AudioDirection | null = null;

  constructor(readonly stream: AudioStream) {}

  offer(): Promise<string> {
    return this.stream.createOffer(ourDirection(this.localHold));
  }
  async answer(offer: SdpSection): Promise<string> {
    let answer: string;
    try {
      answer = await this.stream.createAnswer(offer.text, ourDirection(this.localHold));
    } catch (e) {
      // an SDES-only RTP/SAVP re-offer on a ZRTP call: 488 for the whole re-offer keeps the call as it was (RFC 3261
      // 14.2), where port 0 would end its audio
      if (e instanceof SrtpDowngradeError) throw new OfferRefusedError(e.message);
      throw e;
    }
    this.remoteHold = offer.direction === 'sendonly' || offer.direction === 'inactive';
    return answer;
  }
  async applyAnswer(answer: SdpSection): Promise<void> {
    await this.stream.applyAnswer(answer.text);
    this.answeredDirection = answer.direction;
  }
  close(): void {
    this.stream.close();
  }
}
