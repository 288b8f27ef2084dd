// Opus through opusscript (libopus compiled to WebAssembly: runs on Node 20 with no native build). Mono at
// 48 kHz, VOIP application, in-band FEC on with an expected loss of 10 % so the encoder spends bits on it.
// Decoding goes through OpusDecoder (libopus's own opus_decode in @evan/opus's wasm): opusscript has no decode_fec
// flag, and a lost packet is best rebuilt from the next one's FEC, or else by libopus's concealment.
import { createRequire } from 'node:module';
import type OpusScriptType from 'opusscript';
import { OpusDecoder } from './opus-decoder.js';

const require = createRequire(import.meta.url);
type OpusScriptCtor = typeof OpusScriptType;
let ctor: OpusScriptCtor | null = null;
function load(): OpusScriptCtor {
  return (ctor ??= require('opusscript') as OpusScriptCtor);
}

const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_COMPLEXITY = 4010;
/**
 * Encoder complexity 5 of 0-10 (libopus's default is 9 or 10; baresip uses 10). In opusscript's WebAssembly the
 * encoder is the largest single cost of an Opus call: 0.37 ms a 20 ms frame at 10, 0.17 at 5. Complexity 1 would cut
 * a running call's CPU by ~0.5-0.9 % of a core, but it drops the encoder's search (no delayed-decision quantization,
 * a simpler pitch estimator): a synthetic voiced signal came through at 12.5 dB SNR against 14.0 at 5, and nobody
 * has listened to it. What people hear is not traded for a CPU figure without a listening test.
 */
const COMPLEXITY = 5;

export class OpusCodecState {
  private readonly enc: InstanceType<OpusScriptCtor>;
  private readonly dec: OpusDecoder;
  constructor() {
    const O = load();
    this.enc = new O(48000, 1, O.Application.VOIP);
    this.enc.encoderCTL(OPUS_SET_INBAND_FEC, 1);
    this.enc.encoderCTL(OPUS_SET_PACKET_LOSS_PERC, 10);
    this.enc.encoderCTL(OPUS_SET_COMPLEXITY, COMPLEXITY);
    this.dec = new OpusDecoder(48000, 960);
  }
  encode(pcm: Int16Array): Uint8Array {
    const b = this.enc.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), pcm.length);
    return new Uint8Array(b);
  }
  decode(payload: Uint8Array): Int16Array {
    return this.dec.decode(payload);
  }
  /** A lost frame: from the next packet's in-band FEC when it is here, else libopus's concealment. */
  recover(next: Uint8Array | null): Int16Array {
    return next ? this.dec.decodeFec(next) : this.dec.conceal();
  }
  close(): void {
    this.enc.delete();
    this.dec.close();
  }
}
