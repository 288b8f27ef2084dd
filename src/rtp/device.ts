// Sound devices through the sound server's command-line tools, raw s16le mono PCM through pipes: PipeWire
// (pw-cat), PulseAudio (parec / pacat), ALSA (arecord / aplay), the first that starts and keeps running. When none
// does, `onFail` says why once and the stream goes on without sound (the call does not end for it).
import { spawn, type ChildProcess } from 'node:child_process';

export const DEVICE_RATE = 48000;

interface Tool {
  cmd: string;
  args: (name: string | undefined) => string[];
}

const RATE = String(DEVICE_RATE);
const CAPTURE: Tool[] = [
  {
    cmd: 'pw-cat',
    args: (n) => ['--record', '--format', 's16', '--rate', RATE, '--channels', '1', ...(n ? ['--target', n] : []), '-'],
  },
  {
    cmd: 'parec',
    args: (n) => [
      '--format=s16le',
      `--rate=${RATE}`,
      '--channels=1',
      '--latency-msec=20',
      ...(n ? [`--device=${n}`] : []),
    ],
  },
  { cmd: 'arecord', args: (n) => ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', RATE, '-c', '1', ...(n ? ['-D', n] : [])] },
];
const PLAYBACK: Tool[] = [
  {
    cmd: 'pw-cat',
    args: (n) => [
      '--playback',
      '--format',
      's16',
      '--rate',
      RATE,
      '--channels',
      '1',
      ...(n ? ['--target', n] : []),
      '-',
    ],
  },
  {
    cmd: 'pacat',
    args: (n) => [
      '--playback',
      '--format=s16le',
      `--rate=${RATE}`,
      '--channels=1',
      '--latency-msec=40',
      ...(n ? [`--device=${n}`] : []),
    ],
  },
  { cmd: 'aplay', args: (n) => ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', RATE, '-c', '1', ...(n ? ['-D', n] : [])] },
];

/** How long a tool must stay up to count as working (they fail fast when there is no server or device). */
const SETTLE_MS = 400;

export interface DeviceHandle {
  proc: ChildProcess;
  tool: string;
}

/**
 * Tries each tool in turn; resolves with the first still running after SETTLE_MS, or null with the reasons.
 * `spawnFn` is for tests (a tool list that cannot exist here).
 */
export async function openDevice(
  mode: 'capture' | 'playback',
  name: string | undefined,
  tools: Tool[] = mode === 'capture' ? CAPTURE : PLAYBACK,
): Promise<{ handle: DeviceHandle | null; reasons: string[] }> {
  const reasons: string[] = [];
  for (const t of tools) {
    const r = await tryTool(t, name, mode);
    if (typeof r === 'string') reasons.push(`${t.cmd}: ${r}`);
    else return { handle: { proc: r, tool: t.cmd }, reasons };
  }
  return { handle: null, reasons };
}

function tryTool(t: Tool, name: string | undefined, mode: 'capture' | 'playback'): Promise<ChildProcess | string> {
  return new Promise((resolve) => {
    let done = false;
    let stderr = '';
    const proc = spawn(t.cmd, t.args(name), {
      stdio: mode === 'capture' ? ['ignore', 'pipe', 'pipe'] : ['pipe', 'ignore', 'pipe'],
    });
    proc.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 500) stderr += d.toString('utf8');
    });
    const finish = (v: ChildProcess | string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    proc.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ENOENT' ? 'not installed' : e.message));
    proc.on('exit', (code, sig) =>
      finish(`exited (${sig ?? code})${stderr ? ': ' + stderr.trim().split('\n')[0] : ''}`),
    );
    // stdin of a playback tool may break if it dies: keep that from becoming an uncaught error
    proc.stdin?.on('error', () => {});
    const timer = setTimeout(() => finish(proc), SETTLE_MS);
  });
}

export const DEVICE_TOOLS = { CAPTURE, PLAYBACK };
export type { Tool as DeviceTool };
