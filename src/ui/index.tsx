// Entry point of the terminal UI: renderApp(core, opts) puts the full-screen chat UI on the terminal.
import { render } from 'ink';
import { App } from './App.js';
import type { AppHandle, RenderAppOptions, UiCore } from './types.js';

export { App, type AppProps } from './App.js';
export { parseCommand, normalizeUri, tokenize, type UiAction, type CommandContext } from './commands.js';
export { complete } from './complete.js';
export { sessionLock, LOCK_MARKER, LOCK_WORD, LOCK_COLOR, type Lock } from './lock.js';
export { fingerprintGroups, fingerprintHuman as groupedFingerprint } from '../keys/fingerprint.js';
export type { UiCore, UiCoreExtensions, RenderAppOptions, AppHandle } from './types.js';
export { ChatView } from './ChatView.js';
export { SessionList } from './SessionList.js';
export { StatusLine } from './StatusLine.js';
export { TabBar } from './TabBar.js';
export { VerifyView } from './VerifyView.js';
export { HelpView } from './HelpView.js';

/** NO_COLOR (https://no-color.org): set and not empty means no colour; an explicit option wins. */
export function resolveNoColor(opt: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (opt !== undefined) return opt;
  const v = env['NO_COLOR'];
  return v !== undefined && v !== '';
}

const ENTER_ALT = '\u001b[?1049h';
const LEAVE_ALT = '\u001b[?1049l';

export function renderApp(core: UiCore, opts: RenderAppOptions = {}): AppHandle {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const alt = opts.alternateScreen ?? stdout.isTTY === true;
  if (alt) stdout.write(ENTER_ALT);
  let left = false;
  const leaveAlt = (): void => {
    if (alt && !left) {
      left = true;
      stdout.write(LEAVE_ALT);
    }
  };
  const instance = render(<App core={core} noColor={resolveNoColor(opts.noColor)} bell={opts.bell} />, {
    stdout,
    stdin,
    // Ctrl-C is a key of the app: it asks the core to quit (unregister, hang up) before the UI goes away.
    exitOnCtrlC: false,
    patchConsole: true,
    incrementalRendering: false,
  });
  const done = instance.waitUntilExit().then(
    () => leaveAlt(),
    (err: unknown) => {
      leaveAlt();
      throw err;
    },
  );
  return {
    waitUntilExit: () => done,
    unmount: () => {
      instance.unmount();
      leaveAlt();
    },
  };
}
