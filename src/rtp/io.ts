// Where our sound comes from and where what we hear goes, as the stream's 20 ms clock pulls and pushes it. Sources
// give mono 16-bit frames at whatever rate the codec needs; sinks take mono frames at OUTPUT_RATE.
import type { AudioInput, AudioOutput } from './api.js';
import { DEVICE_RATE, openDevice, type DeviceHandle, type DeviceTool } from './device.js';
import { Resampler } from './dsp.js';
import { pcmBytesLE, readWav, toMono, WavWriter } from './wav.js';

export const OUTPUT_RATE = 48000;

export interface AudioSource {
  /** The next `samples` samples at `rate` (always that many: silence when nothing is there). */
  read(rate: number, samples: number): Int16Array;
  close(): void;
}

export interface AudioSink {
  write(pcm: Int16Array): void;
  close(): void;
}

export class SilenceSource implements AudioSource {
  read(_rate: number, samples: number): Int16Array {
    return new Int16Array(samples);
  }
  close(): void {}
}

export class ToneSource implements AudioSource {
  private phase = 0;
  constructor(
    readonly hz: number,
    readonly amplitude = 0.3,
  ) {}
  read(rate: number, samples: number): Int16Array {
    const out = new Int16Array(samples);
    const inc = (2 * Math.PI * this.hz) / rate;
    for (let i = 0; i < samples; i++) {
      out[i] = Math.round(Math.sin(this.phase) * this.amplitude * 32767);
      this.phase += inc;
    }
    this.phase %= 2 * Math.PI;
    return out;
  }
  close(): void {}
}

/** Converts a stream at a fixed rate to whatever rate is asked for, keeping a small FIFO between the two. */
class RateAdapter {
  private resampler: Resampler | null = null;
  /** Converted samples not handed out yet: the first `held` of `fifo` (one buffer, reused frame after frame). */
  private fifo: Int16Array = new Int16Array(0);
  private held = 0;
  constructor(
    private readonly inRate: number,
    private readonly pull: (n: number) => Int16Array,
  ) {}
  read(rate: number, samples: number): Int16Array {
    if (!this.resampler || this.resampler.to !== rate) {
      this.resampler = new Resampler(this.inRate, rate);
      this.held = 0;
    }
    while (this.held < samples) {
      const need = Math.ceil(((samples - this.held) * this.inRate) / rate) + 1;
      const more = this.resampler.process(this.pull(need));
      if (this.fifo.length < this.held + more.length) {
        const grown = new Int16Array(2 * (this.held + more.length));
        grown.set(this.fifo.subarray(0, this.held));
        this.fifo = grown;
      }
      this.fifo.set(more, this.held);
      this.held += more.length;
    }
    const out = this.fifo.slice(0, samples);
    this.fifo.copyWithin(0, samples, this.held);
    this.held -= samples;
    return out;
  }
}

/** A WAV file played once in real time, then silence. */
export class FileSource implements AudioSource {
  private readonly pcm: Int16Array;
  private pos = 0;
  private readonly adapter: RateAdapter;
  constructor(path: string) {
    const w = readWav(path);
    this.pcm = toMono(w);
    this.adapter = new RateAdapter(w.sampleRate, (n) => {
      const part = this.pcm.subarray(this.pos, this.pos + n);
      this.pos += part.length;
      if (part.length === n) return part; // a view: the resampler only reads it
      const out = new Int16Array(n); // the end of the file, then silence
      out.set(part);
      return out;
    });
  }
  read(rate: number, samples: number): Int16Array {
    return this.adapter.read(rate, samples);
  }
  get finished(): boolean {
    return this.pos >= this.pcm.length;
  }
  close(): void {}
}

export class FileSink implements AudioSink {
  private readonly w: WavWriter;
  constructor(path: string) {
    this.w = new WavWriter(path, OUTPUT_RATE);
  }
  write(pcm: Int16Array): void {
    this.w.write(pcm);
  }
  close(): void {
    this.w.close();
  }
}

export class NullSink implements AudioSink {
  write(): void {}
  close(): void {}
}

type Warn = (msg: string) => void;

/** Microphone through the first capture tool that works; silence until then, and for good if none does. */
export class DeviceSource implements AudioSource {
  private handle: DeviceHandle | null = null;
  private closed = false;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private readonly adapter: RateAdapter;
  constructor(name: string | undefined, warn: Warn, log: (m: string) => void, tools?: DeviceTool[]) {
    this.adapter = new RateAdapter(DEVICE_RATE, (n) => this.take(n));
    void openDevice('capture', name, tools).then(({ handle, reasons }) => {
      if (this.closed) {
        handle?.proc.kill();
        return;
      }
      if (!handle) {
        warn(`no sound device for capture: ${reasons.join('; ')}; the call goes on`);
        return;
      }
      log(`audio capture through ${handle.tool}`);
      this.handle = handle;
      handle.proc.stdout?.on('data', (d: Buffer) => {
        this.chunks.push(d);
        this.bytes += d.length;
        // keep at most 200 ms: a stalled reader must not build latency
        const max = DEVICE_RATE * 2 * 0.2;
        while (this.bytes > max && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
      });
      handle.proc.on('exit', () => {
        if (!this.closed) warn(`sound capture (${handle.tool}) stopped; the call goes on`);
        this.handle = null;
      });
    });
  }
  private take(n: number): Int16Array {
    const out = new Int16Array(n);
    const want = n * 2;
    if (this.bytes < want) return out; // not enough yet: silence, the device catches up
    const buf = Buffer.concat(this.chunks);
    for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(i * 2);
    const rest = buf.subarray(want);
    this.chunks = rest.length ? [rest] : [];
    this.bytes = rest.length;
    return out;
  }
  read(rate: number, samples: number): Int16Array {
    return this.adapter.read(rate, samples);
  }
  close(): void {
    this.closed = true;
    this.handle?.proc.kill();
    this.handle = null;
  }
}

export class DeviceSink implements AudioSink {
  private handle: DeviceHandle | null = null;
  private closed = false;
  constructor(name: string | undefined, warn: Warn, log: (m: string) => void, tools?: DeviceTool[]) {
    void openDevice('playback', name, tools).then(({ handle, reasons }) => {
      if (this.closed) {
        handle?.proc.kill();
        return;
      }
      if (!handle) {
        warn(`no sound device for playback: ${reasons.join('; ')}; the call goes on`);
        return;
      }
      log(`audio playback through ${handle.tool}`);
      this.handle = handle;
      handle.proc.on('exit', () => {
        if (!this.closed) warn(`sound playback (${handle.tool}) stopped; the call goes on`);
        this.handle = null;
      });
    });
  }
  write(pcm: Int16Array): void {
    const stdin = this.handle?.proc.stdin;
    if (!stdin || !stdin.writable) return;
    // drop rather than queue when the tool falls behind (writableLength grows): latency must not build up
    if (stdin.writableLength > DEVICE_RATE * 2 * 0.2) return;
    stdin.write(pcmBytesLE(pcm));
  }
  close(): void {
    this.closed = true;
    this.handle?.proc.stdin?.end();
    this.handle?.proc.kill();
    this.handle = null;
  }
}

export function openSource(input: AudioInput, warn: Warn, log: (m: string) => void): AudioSource {
  switch (input.kind) {
    case 'file':
      return new FileSource(input.path);
    case 'tone':
      return new ToneSource(input.hz);
    case 'silence':
      return new SilenceSource();
    case 'device':
      return new DeviceSource(input.name, warn, log);
  }
}

export function openSink(output: AudioOutput, warn: Warn, log: (m: string) => void): AudioSink {
  switch (output.kind) {
    case 'file':
      return new FileSink(output.path);
    case 'device':
      return new DeviceSink(output.name, warn, log);
    case 'none':
      return new NullSink();
  }
}
