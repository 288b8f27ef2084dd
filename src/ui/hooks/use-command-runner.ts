import { useCallback, useMemo, useRef, type Dispatch, type SetStateAction } from 'react';
import { useApp } from 'ink';
import type { ChatLine, CoreCommand } from '../../chat/types.js';
import type { UiAction } from '../commands.js';
import type { Overlay } from '../MainPane.js';
import { sanitizeLine } from '../text.js';
import type { UiCore } from '../types.js';
import type { Notice } from './use-notice.js';

export interface CommandRunner {
  /** Sends a command to the core; `done` is shown at once, a rejection is shown as an error unless `quiet`. */
  dispatch(cmd: CoreCommand, done?: string, quiet?: boolean): Promise<void>;
  /** For commands nobody needs to hear about (read, composing). */
  dispatchQuiet(cmd: CoreCommand): void;
  /** First call: ask the core to quit, exit once it has; a second call exits at once. */
  quit(): void;
  /** Performs what a typed command means (src/ui/commands.ts). */
  run(a: UiAction): void;
  /** Chats the user accepted here (the core may still show them incoming for a moment). */
  accepted: ReadonlySet<string>;
}

type SetOverlay = Dispatch<SetStateAction<Overlay>>;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The call's result as a promise, also when it throws instead of rejecting. */
function settle<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `/search TEXT`: the results (or the error) replace the "searching…" pane, unless another search took its place. */
function startSearch(core: UiCore, text: string, setOverlay: SetOverlay, setNotice: (n: Notice) => void): void {
  const search = core.search;
  if (typeof search !== 'function') {
    setNotice({ text: 'History search is not available in this build.', level: 'error' });
    return;
  }
  setOverlay({ kind: 'search', search: { text, results: null } });
  settle<ChatLine[]>(() => search.call(core, text)).then(
    (results) =>
      setOverlay((o) =>
        o?.kind === 'search' && o.search.text === text ? { kind: 'search', search: { text, results } } : o,
      ),
    (err: unknown) =>
      setOverlay((o) =>
        o?.kind === 'search' && o.search.text === text
          ? { kind: 'search', search: { text, results: null, error: errorText(err) } }
          : o,
      ),
  );
}

/** Turns commands into core commands and view changes; the only place the UI talks to the core. */
export function useCommandRunner(core: UiCore, setNotice: (n: Notice) => void, setOverlay: SetOverlay): CommandRunner {
  const { exit } = useApp();
  const accepted = useRef(new Set<string>());
  const dispatch = useCallback(
    (cmd: CoreCommand, done?: string, quiet = false): Promise<void> => {
      if (done) setNotice({ text: done, level: 'info' });
      return settle(() => core.command(cmd)).catch((err: unknown) => {
        if (!quiet) setNotice({ text: sanitizeLine(errorText(err)), level: 'error' });
      });
    },
    [core, setNotice],
  );
  const dispatchQuiet = useCallback((cmd: CoreCommand) => void dispatch(cmd, undefined, true), [dispatch]);

  const quitting = useRef(false);
  const quit = useCallback(() => {
    if (quitting.current) {
      exit();
      return;
    }
    quitting.current = true;
    setNotice({ text: 'Quitting… (Ctrl-C again to force)', level: 'info' });
    void dispatch({ cmd: 'quit' }).finally(() => exit());
  }, [dispatch, exit, setNotice]);

  const run = useCallback(
    (a: UiAction) => {
      switch (a.kind) {
        case 'core':
          // A chat the user accepted takes messages at once (the core sends them once it is up).
          if (a.cmd.cmd === 'accept') accepted.current.add(a.cmd.session);
          if (a.cmd.cmd === 'quit') quit();
          else void dispatch(a.cmd, a.done);
          return;
        case 'error':
          setNotice({ text: a.message, level: 'error' });
          return;
        case 'help':
          setOverlay({ kind: 'help', scroll: 0 });
          return;
        case 'verify':
          setOverlay({ kind: 'verify', session: a.session });
          return;
        case 'quit':
          quit();
          return;
        case 'search':
          startSearch(core, a.text, setOverlay, setNotice);
          return;
      }
    },
    [core, dispatch, quit, setNotice, setOverlay],
  );
  return useMemo(
    () => ({ dispatch, dispatchQuiet, quit, run, accepted: accepted.current }),
    [dispatch, dispatchQuiet, quit, run],
  );
}
