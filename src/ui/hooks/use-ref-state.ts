import { useCallback, useRef, useState } from 'react';

/**
 * State that key handlers read through a ref: several keys can arrive in one read from the terminal (a paste,
 * a fast typist, tmux send-keys) and are handled before React renders again, so each must see the last one's result.
 */
export function useRefState<T>(initial: T): [T, (next: T | ((prev: T) => T)) => void, { readonly current: T }] {
  const [value, setValue] = useState<T>(initial);
  const ref = useRef<T>(initial);
  const set = useCallback((next: T | ((prev: T) => T)) => {
    const v = typeof next === 'function' ? (next as (prev: T) => T)(ref.current) : next;
    ref.current = v;
    setValue(v);
  }, []);
  return [value, set, ref];
}
