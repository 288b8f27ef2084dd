// The codecs we speak, in Blink's offer order with Blink's payload types, and a per-stream codec instance that
// turns 20 ms of PCM into one RTP payload and back. `sampleRate` is the PCM rate of the codec, `clockRate` the RTP
// timestamp rate (they differ for G.722: 16 kHz audio on an 8 kHz clock, RFC 3551 4.5.2).
import { decodeG711, encodeG711 } from './g711.js';
import { G722Decoder, G722Encoder } from './g722.js';
import { OpusCodecState } from './opus.js';

export interface CodecSpec {
  /** rtpmap encoding name as we write it. */
  name: 'opus' | 'G722' | 'PCMU' | 'PCMA';
  pt: number;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  sampleRate: number;
}

export const CODECS: readonly CodecSpec[] = [
  { name: 'opus', pt: 96, clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1', sampleRate: 48000 },
  { name: 'G722', pt: 9, clockRate: 8000, sampleRate: 16000 },
  { name: 'PCMU', pt: 0, clockRate: 8000, sampleRate: 8000 },
  { name: 'PCMA', pt: 8, clockRate: 8000, sampleRate: 8000 },
];

/** telephone-event (RFC 4733) as Blink offers it: one per clock rate. */
export const TELEPHONE_EVENTS: readonly { pt: number; clockRate: number }[] = [
  { pt: 101, clockRate: 48000 },
  { pt: 102, clockRate: 8000 },
];

export const FRAME_MS = 20;

export function findCodec(name: string, clockRate: number): CodecSpec | undefined {
  return CODECS.find((c) => c.name.toLowerCase() === name.toLowerCase() && c.clockRate === clockRate);
}

export interface Codec {
  readonly spec: CodecSpec;
  /** PCM samples in one 20 ms frame at `spec.sampleRate`. */
  readonly frameSamples: number;
  /** RTP timestamp ticks in one 20 ms frame. */
  readonly frameTicks: number;
  encode(pcm: Int16Array): Uint8Array;
  decode(payload: Uint8Array): Int16Array;
  /**
   * The codec's own rebuilding of a lost frame (Opus: FEC from the next packet, or its concealment); without it the
   * stream repeats and fades the last frame.
   */
  recover?(next: Uint8Array | null): Int16Array;
  close(): void;
}

export function createCodec(spec: CodecSpec): Codec {
  const frameSamples = (spec.sampleRate * FRAME_MS) / 1000;
  const frameTicks = (spec.clockRate * FRAME_MS) / 1000;
  const base = { spec, frameSamples, frameTicks };
  switch (spec.name) {
    case 'PCMU':
    case 'PCMA': {
      const law = spec.name === 'PCMU' ? 'u' : 'a';
      return { ...base, encode: (p) => encodeG711(p, law), decode: (b) => decodeG711(b, law), close() {} };
    }
    case 'G722': {
      const enc = new G722Encoder();
      const dec = new G722Decoder();
      return { ...base, encode: (p) => enc.encode(p), decode: (b) => dec.decode(b), close() {} };
    }
    case 'opus': {
      const st = new OpusCodecState();
      return {
        ...base,
        encode: (p) => st.encode(p),
        decode: (b) => st.decode(b),
        recover: (next) => st.recover(next),
        close: () => st.close(),
      };
    }
  }
}
