import { useCallback, useRef } from 'react';
import type { CoreCommand, SessionView } from '../../chat/types.js';

export interface Composing {
  /** The input line changed to `value` while `session` is selected. */
  typed(session: SessionView | null, value: string): void;
  /** Typing stopped without a message (line cleared, a command, another chat selected). */
  stop(): void;
  /** A message was sent: that ends composing by itself, nothing to tell. */
  sent(): void;
}

/**
 * Tells the core when the user types in a chat and when they stop. How often that reaches the peer, and the idle
 * timeout, are the core's business (ChatSession), the same for every front end.
 */
export function useComposing(dispatch: (cmd: CoreCommand) => void): Composing {
  const told = useRef<string | null>(null);
  const stop = useCallback(() => {
    const id = told.current;
    told.current = null;
    if (id) dispatch({ cmd: 'composing', session: id, active: false });
  }, [dispatch]);
  const typed = useCallback(
    (s: SessionView | null, value: string) => {
      if (!s || s.state !== 'active' || value === '' || value.startsWith('/')) {
        stop();
        return;
      }
      if (told.current && told.current !== s.id) stop();
      told.current = s.id;
      dispatch({ cmd: 'composing', session: s.id, active: true });
    },
    [dispatch, stop],
  );
  const sent = useCallback(() => {
    told.current = null;
  }, []);
  return { typed, stop, sent };
}
