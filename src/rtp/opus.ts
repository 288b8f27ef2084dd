// Opus through opusscript (libopus compiled to WebAssembly: runs on Node 20 with no native build). Mono at
// 48 kHz, VOIP application, in-band FEC on with an expected loss of 10 % so the encoder spends bits on it.
// opusscript exposes no decode_fec flag, so a lost packet is concealed by the jitter buffer, not from FEC.
import { createRequire } from 'node:module';
import type OpusScriptType from 'opusscript';

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
 * Encoder complexity 5 of 0-10 (libopus's default is 9 or 10): in opusscript's WebAssembly a 20 ms mono frame took
 * 0.37 ms to encode at 10 and 0.17 ms at 5 here (same bitrate), and the encoder was the largest single cost of a
 * call (~1.9 % of a core of ~8 %). The decoder is not affected. The quality step between 5 and 10 is small for
 * speech (it mostly trims the encoder's search); it was not measured here.
 */
const COMPLEXITY = 5;

export class OpusCodecState {
  private readonly enc: InstanceType<OpusScriptCtor>;
  private readonly dec: InstanceType<OpusScriptCtor>;
  constructor() {
    const O = load();
    this.enc = new O(48000, 1, O.Application.VOIP);
    this.enc.encoderCTL(OPUS_SET_INBAND_FEC, 1);
    this.enc.encoderCTL(OPUS_SET_PACKET_LOSS_PERC, 10);
    this.enc.encoderCTL(OPUS_SET_COMPLEXITY, COMPLEXITY);
    this.dec = new O(48000, 1, O.Application.VOIP);
  }
  encode(pcm: Int16Array): Uint8Array {
    const b = this.enc.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), pcm.length);
    return new Uint8Array(b);
  }
  decode(payload: Uint8Array): Int16Array {
    const b = this.dec.decode(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    // copy out (the Buffer is opusscript's, reused, and may not be 2-byte aligned): one memcpy on little-endian
    return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~1)));
  }
  close(): void {
    this.enc.delete();
    this.dec.delete();
  }
}
