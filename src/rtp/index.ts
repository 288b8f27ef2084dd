// The audio engine's public surface: createAudioStream and the names the session layer, the CLI, tests and
// benchmarks use. Import from here.
import type { AudioStream, AudioStreamOptions } from './api.js';
import { RtpAudioStream } from './stream.js';

export type * from './api.js';
export { AudioNegotiationError, RtpParseError, SrtpDowngradeError, SrtpError } from './errors.js';
export { RtpAudioStream } from './stream.js';
export { SrtpContext, SRTP_PROFILES, isSrtpProfile, type SrtpMasterKey, type SrtpProfile } from './srtp.js';
export { goertzel, peakLevel } from './dsp.js';
export { readWav, parseWav, encodeWav, toMono, type WavData } from './wav.js';

/** Binds an even RTP port and the next one on opts.host; the stream then waits for createOffer / createAnswer. */
export async function createAudioStream(opts: AudioStreamOptions): Promise<AudioStream> {
  return RtpAudioStream.create(opts);
}
