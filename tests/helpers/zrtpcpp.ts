// Driver for tests/interop/peers/zrtpcpp-peer.cpp (GNU ZRTP C++ with Blink's standard configuration): compiles it
// against a ZRTPCPP source build named by ZRTPCPP_DIR, runs it, reads its lines. See tests/interop/peers/README.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const interop = fileURLToPath(new URL('../interop/', import.meta.url));

/** Why ZRTPCPP tests cannot run here, or false when they can. */
export function zrtpcppUnavailable(): string | false {
  const d = process.env['ZRTPCPP_DIR'];
  if (!d) return 'ZRTPCPP_DIR is not set (GNU ZRTP C++ is built from source, see tests/interop/peers/README.md)';
  if (!existsSync(join(d, 'build/clients/no_client/libzrtpcppcore.a'))) return `no libzrtpcppcore.a under ${d}/build`;
  return false;
}

export function zrtpcppBinary(): string {
  const d = process.env['ZRTPCPP_DIR']!;
  const src = join(interop, 'peers', 'zrtpcpp-peer.cpp');
  const out = join(interop, 'build', 'zrtpcpp-peer');
  if (existsSync(out) && statSync(out).mtimeMs > statSync(src).mtimeMs) return out;
  mkdirSync(join(interop, 'build'), { recursive: true });
  const r = spawnSync(
    'g++',
    [
      '-O1',
      '-w',
      '-o',
      out,
      src,
      ...['zrtp', '.', 'build', 'build/clients/no_client', 'zrtp/libzrtpcpp'].flatMap((i) => ['-I', join(d, i)]),
      join(d, 'build/clients/no_client/libzrtpcppcore.a'),
      '-lpthread',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`building the ZRTPCPP peer failed:\n${r.stderr}`);
  return out;
}

export class ZrtpcppPeer {
  readonly lines: { at: number; text: string }[] = [];
  private constructor(private readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      const at = performance.now();
      for (const text of parts) this.lines.push({ at, text });
    });
  }

  static spawn(localPort: number, remotePort: number, zidFile: string, seconds = 20): ZrtpcppPeer {
    const proc = spawn(zrtpcppBinary(), [String(localPort), String(remotePort), zidFile, '4242', String(seconds)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return new ZrtpcppPeer(proc);
  }

  async waitLine(re: RegExp, ms = 15_000): Promise<{ at: number; text: string }> {
    const end = Date.now() + ms;
    for (;;) {
      const l = this.lines.find((x) => re.test(x.text));
      if (l) return l;
      if (Date.now() > end)
        throw new Error(`ZRTPCPP peer: ${re} not seen; got:\n${this.lines.map((x) => x.text).join('\n')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Media start: the engine begins sending Hello. */
  start(): number {
    this.proc.stdin!.write('start\n');
    return performance.now();
  }

  verify(): void {
    this.proc.stdin!.write('verify\n');
  }

  kill(): void {
    this.proc.kill();
  }
}
