// The contract between the audio media engine (src/rtp) and the layers above it (src/chat builds the whole SDP of a
// session out of one section per stream; src/cli.ts picks the devices). The engine implements it; nothing above
// src/rtp reaches past it. Types only: the implementation lives beside it and is exported from src/rtp/index.ts.
import type { EventEmitter } from 'node:events';

/** RFC 3264 direction attributes, as written in an SDP media section. */
export type AudioDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** How the media is protected: nothing, SRTP keyed by SDES (RFC 4568), or SRTP keyed by ZRTP (RFC 6189). */
export type AudioEncryption = 'none' | 'sdes' | 'zrtp';

/** Where our sound comes from. */
export type AudioInput =
  | { kind: 'file'; path: string } // a WAV file (16-bit PCM, any common rate, mono or stereo), played in real time
  | { kind: 'tone'; hz: number } // a sine tone, for tests and for "can you hear me"
  | { kind: 'silence' }
  | { kind: 'device'; name?: string }; // the sound server's tools (pw-cat, parec, arecord), first that works

/** Where what we hear goes. */
export type AudioOutput =
  | { kind: 'file'; path: string } // a WAV file written in real time, silence included (what the user would hear)
  | { kind: 'device'; name?: string } // pw-cat, pacat, aplay: first that works
  | { kind: 'none' };

export interface AudioStreamOptions {
  /** Local address to bind RTP (even port) and RTCP (port + 1) to. */
  host: string;
  /** Address written in c= when it differs from `host`. */
  advertiseHost?: string;
  input: AudioInput;
  output: AudioOutput;
  /** Offer SRTP with SDES (a=crypto AES_CM_128_HMAC_SHA1_80) — on by default, as Blink does. */
  sdes?: boolean;
  /**
   * The codecs to offer and accept, in preference order, by rtpmap name ('opus', 'G722', 'PCMU', 'PCMA');
   * Blink's full list when absent. For tests and for a user who wants to force one.
   */
  codecs?: string[];
  log: (msg: string) => void;
}

/** RTCP-derived figures, for the UI's stats line and the headless `audio_stats` event. */
export interface AudioStats {
  rxPackets: number;
  txPackets: number;
  /** Cumulative packets lost as RTP sequence numbers show (RFC 3550 A.3). */
  lost: number;
  /** Interarrival jitter (RFC 3550 A.8), in ms. */
  jitterMs: number;
  /** Round-trip time from the peer's RTCP RR (LSR/DLSR), null until one arrives. */
  rttMs: number | null;
  /** Peak levels of the last 100 ms or so, 0..1, for the meters. */
  rxLevel: number;
  txLevel: number;
}

export type AudioStreamState = 'idle' | 'active' | 'closed';

export interface AudioStreamEvents {
  /** Media started (first negotiated and started) or the stream closed. */
  state: [AudioStreamState];
  /** A DTMF digit received (RFC 4733), once per event. */
  dtmf: [string];
  /** Something the user should read but that does not end the call ("no sound device: ... the call goes on"). */
  warning: [string];
  /** Every few seconds while active. */
  stats: [AudioStats];
}

/**
 * One m=audio stream. SDP text handed in and out is ONE media section: the m= line and its attributes, including
 * its own c= line, CRLF line ends, no session-level lines (v=, o=, s=, t=). The session layer composes and splits.
 * A stream lives as long as its m= line is in the session; re-offers (hold, resume, codec change) go through the
 * same object.
 */
export interface AudioStream extends EventEmitter<AudioStreamEvents> {
  /** Our offer, in Blink's form (opus, G722, PCMU, PCMA, telephone-event/48000 and /8000, a=rtcp, a=crypto). */
  createOffer(direction: AudioDirection): Promise<string>;
  /** The peer's answer to our last offer. Throws AudioNegotiationError when it is unusable. */
  applyAnswer(section: string): Promise<void>;
  /**
   * Our answer to the peer's offer (a new stream or a re-offer). `direction` is what we want; the answer is the
   * RFC 3264 intersection with the offer. Throws AudioNegotiationError when nothing in it can be used (no common
   * codec, only RTP/SAVP with no crypto we know...): the session layer then answers port 0 or 488.
   */
  createAnswer(offer: string, direction: AudioDirection): Promise<string>;
  /** Starts (or, after a re-negotiation, updates) sending and receiving. Idempotent. */
  start(): void;
  /** The local user's hold: nothing sent, nothing played, whatever the SDP directions say. */
  setHold(on: boolean): void;
  setMute(on: boolean): void;
  /** RFC 4733 events, one after the other; resolves when the last one's end packets are sent. */
  sendDtmf(digits: string): Promise<void>;
  readonly codec: string | null; // e.g. 'opus/48000', 'PCMU/8000' once negotiated
  readonly encryption: AudioEncryption;
  readonly localPort: number;
  stats(): AudioStats;
  /** Stops media, closes sockets and devices, ends the output file properly. Idempotent. */
  close(): void;
}
