// An Opus decoder that can recover a lost frame from the next packet's in-band FEC and conceal with libopus's own
// packet-loss concealment: opusscript (our encoder) has no decode_fec flag, so the decoder calls libopus's
// opus_decode directly in the WebAssembly build that ships with @evan/opus (plain wasm32, no native code; its
// exports are libopus's C API plus malloc/free). We load the .wasm file ourselves and use only opus_decode*:
// the package's own wrapper hard-codes decode_fec = 0.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

// the project's TypeScript lib has no WebAssembly types: the few calls used here, typed by hand
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface OpusWasm {
  memory: { buffer: ArrayBuffer };
  malloc(n: number): number;
  free(p: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
}

let shared: OpusWasm | null = null;

/** One instance per process (its memory reserves 16 MiB of address space): every decoder mallocs its state in it. */
function instantiate(): OpusWasm {
  if (shared) return shared;
  const require = createRequire(import.meta.url);
  // opus.wasm rather than simd.wasm: the decoder is not faster with SIMD here, and this one validates everywhere
  const mod = new WASM.Module(readFileSync(require.resolve('@evan/opus/wasm/opus.wasm')));
  const instance = new WASM.Instance(mod, {
    // libopus writes nothing and never exits; these are the C runtime's imports
    wasi_snapshot_preview1: { fd_seek: () => 0, fd_write: () => 0, fd_close: () => 0, proc_exit: () => undefined },
    env: { emscripten_notify_memory_growth: () => undefined },
  });
  return (shared = instance.exports as OpusWasm);
}

/** libopus's largest frame: 120 ms at 48 kHz. */
const MAX_FRAME = 5760;
/** A datagram can be at most this big; an RTP payload is smaller still. */
const MAX_PACKET = 1500;

export class OpusDecoder {
  private readonly w: OpusWasm;
  private readonly st: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private closed = false;

  constructor(
    private readonly rate = 48000,
    private readonly frameSamples = 960,
  ) {
    this.w = instantiate();
    this.st = this.w.malloc(this.w.opus_decoder_get_size(1));
    this.inPtr = this.w.malloc(MAX_PACKET);
    this.outPtr = this.w.malloc(MAX_FRAME * 2);
    if (!this.st || !this.inPtr || !this.outPtr) throw new Error('opus: out of WebAssembly memory');
    const r = this.w.opus_decoder_init(this.st, rate, 1);
    if (r !== 0) throw new Error(`opus: decoder init failed (${r})`);
  }

  private run(payload: Uint8Array | null, frameSize: number, fec: boolean): Int16Array {
    if (this.closed) throw new Error('opus: decoder closed');
    let len = 0;
    if (payload) {
      // a payload larger than any real packet is refused, not truncated (the caller conceals instead)
      if (payload.length > MAX_PACKET) throw new RangeError(`Opus payload of ${payload.length} bytes`);
      new Uint8Array(this.w.memory.buffer, this.inPtr, payload.length).set(payload);
      len = payload.length;
    }
    const n = this.w.opus_decode(this.st, payload ? this.inPtr : 0, len, this.outPtr, frameSize, fec ? 1 : 0);
    if (n < 0) throw new Error(`opus: decode error ${n}`);
    // copy out: the next call reuses the buffer (and memory growth would detach a view)
    return new Int16Array(this.w.memory.buffer.slice(this.outPtr, this.outPtr + n * 2));
  }

  /** One packet's audio (mono, at the decoder's rate). Throws on a payload libopus refuses. */
  decode(payload: Uint8Array): Int16Array {
    return this.run(payload, MAX_FRAME, false);
  }

  /**
   * The frame before `next`, rebuilt from the in-band FEC (LBRR) that `next` carries; libopus conceals instead when
   * `next` has none. `next` must still be decoded normally afterwards.
   */
  decodeFec(next: Uint8Array): Int16Array {
    return this.run(next, this.frameSamples, true);
  }

  /** One frame of libopus's packet-loss concealment (no packet at all). */
  conceal(): Int16Array {
    return this.run(null, this.frameSamples, false);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.w.free(this.st);
    this.w.free(this.inPtr);
    this.w.free(this.outPtr);
  }

  get sampleRate(): number {
    return this.rate;
  }
}
