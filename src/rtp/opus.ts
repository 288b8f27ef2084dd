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

export class OpusCodecState {
  private readonly enc: InstanceType<OpusScriptCtor>;
  private readonly dec: InstanceType<OpusScriptCtor>;
  constructor() {
    const O = load();
    this.enc = new O(48000, 1, O.Application.VOIP);
    this.enc.encoderCTL(OPUS_SET_INBAND_FEC, 1);
    this.enc.encoderCTL(OPUS_SET_PACKET_LOSS_PERC, 10);
    this.dec = new O(48000, 1, O.Application.VOIP);
  }
  encode(pcm: Int16Array): Uint8Array {
    const b = this.enc.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), pcm.length);
    return new Uint8Array(b);
  }
  decode(payload: Uint8Array): Int16Array {
    const b = this.dec.decode(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    // copy out: the Buffer may not be 2-byte aligned
    const out = new Int16Array(b.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2);
    return out;
  }
  close(): void {
    this.enc.delete();
    this.dec.delete();
  }
}
