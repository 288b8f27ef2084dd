import { useEffect, useRef } from 'react';
import type { CoreCommand, SessionView } from '../../chat/types.js';

/** Reading the selected chat clears its unread count (once per count, so a core that keeps it does not loop). */
export function useMarkRead(selected: SessionView | null, dispatch: (cmd: CoreCommand) => void): void {
  const readSent = useRef('');
  useEffect(() => {
    if (!selected || selected.unread === 0) return;
    const key = `${selected.id}:${selected.lines.length}`;
    if (readSent.current === key) return;
    readSent.current = key;
    dispatch({ cmd: 'read', session: selected.id });
  }, [selected, dispatch]);
}
