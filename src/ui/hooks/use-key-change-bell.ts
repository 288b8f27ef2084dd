import { useEffect, useRef } from 'react';
import type { SessionView, Trust } from '../../chat/types.js';

/** A changed key rings once per change, whichever session it is in. */
export function useKeyChangeBell(sessions: SessionView[], bell?: () => void): void {
  const trusts = useRef(new Map<string, Trust | null>());
  useEffect(() => {
    let ring = false;
    const next = new Map<string, Trust | null>();
    for (const s of sessions) {
      const was = trusts.current.get(s.id);
      if (s.otr.trust === 'changed' && was !== 'changed') ring = true;
      next.set(s.id, s.otr.trust);
    }
    trusts.current = next;
    if (ring && bell) {
      try {
        bell();
      } catch {
        // A failing notifier must not take the UI down.
      }
    }
  }, [sessions, bell]);
}
