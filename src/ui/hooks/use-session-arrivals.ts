import { useEffect, useRef } from 'react';
import type { SessionView } from '../../chat/types.js';
import { sessionName } from '../SessionList.js';
import type { Notice } from './use-notice.js';

/** A chat the user starts becomes the selected one; incoming chats do not steal the view, they are announced. */
export function useSessionArrivals(
  sessions: SessionView[],
  select: (id: string) => void,
  notify: (n: Notice) => void,
): void {
  const known = useRef<Set<string> | null>(null);
  known.current ??= new Set(sessions.map((s) => s.id));
  useEffect(() => {
    const prev = known.current ?? new Set<string>();
    known.current = new Set(sessions.map((s) => s.id));
    const fresh = sessions.filter((s) => !prev.has(s.id));
    const mine = fresh.filter((s) => s.direction === 'out');
    const pick = mine[mine.length - 1];
    if (pick) select(pick.id);
    for (const s of fresh) {
      if (s.direction === 'in' && s.state === 'incoming' && pick?.id !== s.id) {
        const n = sessions.indexOf(s) + 1;
        notify({ text: `Incoming chat from ${sessionName(s)} (${n}): /accept ${n} or /reject ${n}`, level: 'info' });
      }
    }
  }, [sessions]);
}
