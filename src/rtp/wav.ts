// WAV files: a reader for 16-bit PCM (mono or stereo, any rate, WAVE_FORMAT_PCM or EXTENSIBLE) and a writer that
// keeps the file valid while it grows: the header is written first and its sizes are patched every second and at
// close, so a file cut short by a crash still plays up to its last patch. The reader checks every chunk length
// against the file before reading it.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { RtpParseError } from './errors.js';

export interface WavData {
  sampleRate: number;
  channels: number;
  /** Interleaved 16-bit samples. */
  samples: Int16Array;
}

export function parseWav(b: Uint8Array): WavData {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tag = (o: number) => String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
  if (b.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new RtpParseError('bad-type', 'not a RIFF/WAVE file');
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  while (off + 8 <= b.length) {
    const id = tag(off);
    const len = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (len < 16 || body + 16 > b.length) throw new RtpParseError('truncated', 'fmt chunk too short');
      let format = dv.getUint16(body, true);
      if (format === 0xfffe && len >= 40 && body + 26 <= b.length) format = dv.getUint16(body + 24, true);
      fmt = {
        format,
        channels: dv.getUint16(body + 2, true),
        rate: dv.getUint32(body + 4, true),
        bits: dv.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new RtpParseError('bad-type', 'data chunk before fmt');
      if (fmt.format !== 1 || fmt.bits !== 16) throw new RtpParseError('bad-type', 'only 16-bit PCM WAV is supported');
      if (fmt.channels < 1 || fmt.channels > 2) throw new RtpParseError('bad-type', `${fmt.channels} channels`);
      if (fmt.rate < 1000 || fmt.rate > 192000) throw new RtpParseError('bad-type', `sample rate ${fmt.rate}`);
      // a writer that died before patching leaves 0 or a too-large size: take what is there
      const avail = Math.min(len === 0 ? b.length - body : len, b.length - body) & ~1;
      const samples = new Int16Array(avail >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = dv.getInt16(body + i * 2, true);
      return { sampleRate: fmt.rate, channels: fmt.channels, samples };
    }
    off = body + len + (len & 1);
  }
  throw new RtpParseError('truncated', 'no data chunk');
}

export function readWav(path: string): WavData {
  return parseWav(readFileSync(path));
}

/** Interleaved stereo (or mono) to mono. */
export function toMono(w: WavData): Int16Array {
  if (w.channels === 1) return w.samples;
  const out = new Int16Array(w.samples.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (w.samples[2 * i]! + w.samples[2 * i + 1]!) >> 1;
  return out;
}

export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Uint8Array {
  const h = new Uint8Array(44);
  const dv = new DataView(h.buffer);
  const put = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) h[o + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true);
  dv.setUint16(22, channels, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * channels * 2, true);
  dv.setUint16(32, channels * 2, true);
  dv.setUint16(34, 16, true);
  put(36, 'data');
  dv.setUint32(40, dataBytes, true);
  return h;
}

export function encodeWav(sampleRate: number, mono: Int16Array): Uint8Array {
  const out = new Uint8Array(44 + mono.length * 2);
  out.set(wavHeader(sampleRate, 1, mono.length * 2));
  const dv = new DataView(out.buffer);
  for (let i = 0; i < mono.length; i++) dv.setInt16(44 + i * 2, mono[i]!, true);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A copy of the samples as 16-bit little-endian bytes: one memcpy on a little-endian host (all Node targets). */
export function pcmBytesLE(pcm: Int16Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
  const b = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) b.writeInt16LE(pcm[i]!, i * 2);
  return b;
}

/** A mono 16-bit WAV file written as audio arrives. */
export class WavWriter {
  private fd: number | null;
  private dataBytes = 0;
  /**
   * About 100 ms of samples, written in one go when full: the frames are copied in here as they come (a copy per
   * frame into one reused buffer, rather than a new Buffer per frame and a concatenation per write).
   */
  private pending: Uint8Array;
  private pendingBytes = 0;
  private lastPatch = 0;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(sampleRate, 1, 0));
    this.pending = new Uint8Array(Math.max(2, Math.round(sampleRate / 5)) & ~1);
  }

  write(pcm: Int16Array): void {
    if (this.fd === null) return;
    let bytes: Uint8Array = LITTLE_ENDIAN
      ? new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)
      : pcmBytesLE(pcm);
    while (bytes.length > 0) {
      const n = Math.min(bytes.length, this.pending.length - this.pendingBytes);
      this.pending.set(bytes.subarray(0, n), this.pendingBytes);
      this.pendingBytes += n;
      bytes = bytes.subarray(n);
      // write about every 100 ms, patch the header about every second
      if (this.pendingBytes === this.pending.length) this.flush();
    }
  }

  flush(): void {
    if (this.fd === null) return;
    if (this.pendingBytes) {
      writeSync(this.fd, this.pending, 0, this.pendingBytes, 44 + this.dataBytes);
      this.dataBytes += this.pendingBytes;
      this.pendingBytes = 0;
    }
    if (this.dataBytes - this.lastPatch >= this.sampleRate * 2) this.patch();
  }

  private patch(): void {
    if (this.fd === null) return;
    writeSync(this.fd, wavHeader(this.sampleRate, 1, this.dataBytes), 0, 44, 0);
    this.lastPatch = this.dataBytes;
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    this.patch();
    closeSync(this.fd);
    this.fd = null;
  }
}
