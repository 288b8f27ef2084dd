import { useEffect, useState } from 'react';
import { sanitizeLine } from '../text.js';
import type { UiCore } from '../types.js';

export interface Notice {
  text: string;
  level: 'info' | 'error';
}

/** Progress notes ("Calling …") fade after this long; errors stay until the next command or Esc. */
export const INFO_NOTICE_MS = 10_000;

/** The one-line notice above the input: the core's error events, and whatever the App sets. */
export function useNotice(
  core: UiCore,
): [Notice | null, (n: Notice | null | ((prev: Notice | null) => Notice | null)) => void] {
  const [notice, setNotice] = useState<Notice | null>(null);
  useEffect(
    () =>
      core.onEvent((ev) => {
        if (ev.ev === 'error') setNotice({ text: sanitizeLine(ev.message), level: 'error' });
      }),
    [core],
  );
  useEffect(() => {
    if (!notice || notice.level !== 'info') return;
    const t = setTimeout(() => setNotice((n) => (n === notice ? null : n)), INFO_NOTICE_MS);
    t.unref?.();
    return () => clearTimeout(t);
  }, [notice]);
  return [notice, setNotice];
}
