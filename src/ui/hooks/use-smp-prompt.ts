import { useCallback, useEffect, useRef } from 'react';
import type { SessionView } from '../../chat/types.js';
import { sessionName } from '../SessionList.js';
import type { Notice } from './use-notice.js';
import { useRefState } from './use-ref-state.js';

export interface SmpPrompt {
  /** The session whose verification prompt is open for this selection, or null. */
  promptFor(selected: SessionView | null): SessionView | null;
  /** Close the prompt of a session until its peer asks again. */
  dismiss(id: string): void;
}

/**
 * The peer's SMP question: the prompt opens on the selected chat; questions on other chats are announced; a
 * dismissed prompt reopens only for a new question.
 */
export function useSmpPrompt(
  sessions: SessionView[],
  selectedId: string | null,
  notify: (n: Notice) => void,
): SmpPrompt {
  const [, setDismissed, dismissedRef] = useRefState<ReadonlySet<string>>(new Set());
  const asked = useRef(new Set<string>());
  useEffect(() => {
    const now = new Set<string>();
    for (const s of sessions) {
      if (s.otr.smp?.phase !== 'asked') continue;
      now.add(s.id);
      if (!asked.current.has(s.id) && s.id !== selectedId) {
        const n = sessions.indexOf(s) + 1;
        notify({ text: `${sessionName(s)} wants to verify you: Alt-${n} to answer`, level: 'info' });
      }
    }
    asked.current = now;
    setDismissed((d) => {
      const keep = [...d].filter((id) => now.has(id));
      return keep.length === d.size ? d : new Set(keep);
    });
  }, [sessions, selectedId]);
  const promptFor = useCallback(
    (s: SessionView | null) => (s && s.otr.smp?.phase === 'asked' && !dismissedRef.current.has(s.id) ? s : null),
    [dismissedRef],
  );
  const dismiss = useCallback((id: string) => setDismissed((d) => new Set(d).add(id)), [setDismissed]);
  return { promptFor, dismiss };
}
