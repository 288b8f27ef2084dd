import { useCallback, useState } from 'react';

export interface Scroll {
  /** How far a chat is scrolled up from its newest line (0: at the bottom). */
  offsetOf(id: string | null): number;
  /** Scroll a chat by `delta` rows (positive: towards older lines), never below the bottom. */
  scrollBy(id: string, delta: number): void;
  /** Back to the newest line (after the user sends in that chat). */
  reset(id: string): void;
}

/** Each chat keeps its own scroll position while others are shown. */
export function useScroll(): Scroll {
  const [scrolls, setScrolls] = useState<ReadonlyMap<string, number>>(new Map());
  const offsetOf = (id: string | null): number => (id ? (scrolls.get(id) ?? 0) : 0);
  const scrollBy = useCallback((id: string, delta: number) => {
    setScrolls((m) => {
      const n = new Map(m);
      n.set(id, Math.max(0, (m.get(id) ?? 0) + delta));
      return n;
    });
  }, []);
  const reset = useCallback((id: string) => {
    setScrolls((m) => {
      if (!m.get(id)) return m;
      const n = new Map(m);
      n.delete(id);
      return n;
    });
  }, []);
  return { offsetOf, scrollBy, reset };
}
