import { useEffect, useState } from 'react';
import { sanitizeLine } from '../text.js';
import type { ChatLine } from '../../chat/types.js';
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

/**
 * The core's last global notice as the notice row shows it: a warning stays; an info line ("made your OTR key …")
 * fades after INFO_NOTICE_MS like the App's own notes, instead of sitting above the input for the whole session.
 */
export function currentCoreNotice(notices: readonly ChatLine[], now: number): ChatLine | null {
  const last = notices[notices.length - 1];
  if (!last) return null;
  return last.level === 'warning' || now - last.time < INFO_NOTICE_MS ? last : null;
}

/** currentCoreNotice, drawn again when the line fades. */
export function useCoreNotice(notices: readonly ChatLine[]): ChatLine | null {
  const [, redraw] = useState(0);
  const current = currentCoreNotice(notices, Date.now());
  useEffect(() => {
    if (!current || current.level === 'warning') return;
    const t = setTimeout(() => redraw((n) => n + 1), Math.max(0, current.time + INFO_NOTICE_MS - Date.now()) + 1);
    t.unref?.();
    return () => clearTimeout(t);
  }, [current]);
  return current;
}
