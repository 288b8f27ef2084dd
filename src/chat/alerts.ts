// Security alerts (a peer's key changed): terminal bell, desktop notification, spoken warning, and an
// optional user hook command. Each channel is best-effort: a missing program is skipped, never an error.
import { spawn, spawnSync } from 'node:child_process';

export interface AlertSettings {
  bell: boolean;
  desktop: boolean;
  speech: boolean;
  /** A command run with the title and body as its two arguments (settings: notify_command). */
  hookCommand?: string;
}

const found = new Map<string, boolean>();
function has(program: string): boolean {
  let v = found.get(program);
  if (v === undefined) {
    v = spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
    found.set(program, v);
  }
  return v;
}

function run(cmd: string, args: string[], log: (m: string) => void): void {
  try {
    const p = spawn(cmd, args, { stdio: 'ignore', detached: false });
    p.on('error', (e) => log(`alert: ${cmd}: ${e.message}`));
    p.unref();
  } catch (e) {
    log(`alert: ${cmd}: ${(e as Error).message}`);
  }
}

export function makeAlerter(
  settings: () => AlertSettings,
  ringBell: () => void,
  log: (m: string) => void,
): (title: string, body: string) => void {
  return (title, body) => {
    const s = settings();
    if (s.bell) ringBell();
    if (s.desktop && has('notify-send')) run('notify-send', ['--urgency=critical', `blink-tui: ${title}`, body], log);
    if (s.speech) {
      if (has('spd-say')) run('spd-say', [body], log);
      else if (has('espeak-ng')) run('espeak-ng', [body], log);
      else if (has('espeak')) run('espeak', [body], log);
    }
    if (s.hookCommand) run('sh', ['-c', `${s.hookCommand} "$1" "$2"`, 'blink-tui-alert', title, body], log);
  };
}
