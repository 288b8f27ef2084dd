// The core's state container: immutable snapshots for front ends, ordered events, and helpers that
// replace one session's view at a time (so React can compare by identity and skip unchanged sessions).
import type { AccountView, ChatLine, CoreEvent, CoreState, SessionView } from './types.js';

/** Lines kept in memory per session; older ones stay in the history files. */
export const MAX_LINES_IN_MEMORY = 2000;
/**
 * And at most this much text (UTF-16 code units) per session: 2000 lines of 64 KiB messages would hold ~250 MB.
 * The newest line is always kept, however long.
 */
export const MAX_TEXT_IN_MEMORY = 2 * 1024 * 1024;
/**
 * An ended chat keeps only its last lines in memory (the rest is in the history files): a day of chats that came
 * and went must not pile up their whole text. The newest line is always kept.
 */
export const MAX_TEXT_ENDED = 64 * 1024;

export class StateStore {
  private state: CoreState;
  private listeners = new Set<(s: CoreState) => void>();
  private eventListeners = new Set<(e: CoreEvent) => void>();
  private lineSeq = 0;
  /** Text held in each session's lines (see MAX_TEXT_IN_MEMORY). */
  private readonly textHeld = new Map<string, number>();

  /** `now`: the time notices are stamped with (the core's clock; the wall clock by default). */
  constructor(
    account: AccountView,
    private readonly now: () => number = Date.now,
  ) {
    this.state = { account, sessions: [], notices: [] };
  }

  get(): CoreState {
    return this.state;
  }

  subscribe(fn: (s: CoreState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onEvent(fn: (e: CoreEvent) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  emit(e: CoreEvent): void {
    for (const fn of [...this.eventListeners]) {
      try {
        fn(e);
      } catch {
        // A front end's listener failing must not break the core or the other listeners.
      }
    }
  }

  private publish(next: CoreState): void {
    this.state = next;
    for (const fn of [...this.listeners]) {
      try {
        fn(next);
      } catch {
        /* see emit */
      }
    }
  }

  setAccount(patch: Partial<AccountView>): void {
    this.publish({ ...this.state, account: { ...this.state.account, ...patch } });
  }

  session(id: string): SessionView | undefined {
    return this.state.sessions.find((s) => s.id === id);
  }

  addSession(view: SessionView): void {
    this.publish({ ...this.state, sessions: [...this.state.sessions, view] });
  }

  updateSession(
    id: string,
    patch: Partial<SessionView> | ((v: SessionView) => Partial<SessionView>),
  ): SessionView | undefined {
    let updated: SessionView | undefined;
    const sessions = this.state.sessions.map((s) => {
      if (s.id !== id) return s;
      updated = { ...s, ...(typeof patch === 'function' ? patch(s) : patch) };
      if (updated.state === 'ended' && s.state !== 'ended') updated = this.trimEnded(updated);
      return updated;
    });
    if (updated) this.publish({ ...this.state, sessions });
    return updated;
  }

  private trimEnded(v: SessionView): SessionView {
    let held = this.textHeld.get(v.id) ?? 0;
    let drop = 0;
    while (held > MAX_TEXT_ENDED && drop < v.lines.length - 1) held -= v.lines[drop++]!.text.length;
    this.textHeld.set(v.id, held);
    return drop === 0 ? v : { ...v, lines: v.lines.slice(drop) };
  }

  nextLineId(): string {
    return `l${++this.lineSeq}`;
  }

  appendLine(id: string, line: Omit<ChatLine, 'id'> & { id?: string }, countUnread: boolean): ChatLine {
    const full = makeLine(line.id ?? this.nextLineId(), line);
    this.updateSession(id, (s) => {
      let held = (this.textHeld.get(id) ?? 0) + full.text.length;
      let drop = Math.max(0, s.lines.length + 1 - MAX_LINES_IN_MEMORY);
      for (let i = 0; i < drop; i++) held -= s.lines[i]!.text.length;
      while (held > MAX_TEXT_IN_MEMORY && drop < s.lines.length) held -= s.lines[drop++]!.text.length;
      this.textHeld.set(id, held);
      const lines = s.lines.slice(drop);
      lines.push(full);
      return { lines, unread: countUnread ? s.unread + 1 : s.unread };
    });
    return full;
  }

  patchLine(sessionId: string, lineId: string, patch: Partial<ChatLine>): void {
    this.updateSession(sessionId, (s) => {
      // Patches are for recent lines (delivery, held messages): search from the end, copy the array once.
      let i = s.lines.length - 1;
      while (i >= 0 && s.lines[i]!.id !== lineId) i--;
      if (i < 0) return {};
      const lines = s.lines.slice();
      lines[i] = makeLine(lineId, { ...s.lines[i]!, ...patch });
      return { lines };
    });
  }

  /**
   * A notice rewritten in place (a file transfer's progress with no chat to show it in): moved to the end, so the
   * notice row shows it; no `system` event (the transfer's `file` events carry the figures). Returns its id.
   */
  putNotice(lineId: string | null, text: string): string {
    const rest = lineId === null ? this.state.notices : this.state.notices.filter((l) => l.id !== lineId);
    const id = lineId !== null && rest.length < this.state.notices.length ? lineId : this.nextLineId();
    const line: ChatLine = { id, time: this.now(), kind: 'system', text, encryption: 'none', level: 'info' };
    this.publish({ ...this.state, notices: [...rest.slice(-50), line] });
    return id;
  }

  addNotice(text: string, level: 'info' | 'warning'): void {
    const line: ChatLine = { id: this.nextLineId(), time: this.now(), kind: 'system', text, encryption: 'none', level };
    this.publish({ ...this.state, notices: [...this.state.notices.slice(-50), line] });
    this.emit({ ev: 'system', text, level });
  }
}

/**
 * A line with every field present, in one order. Built as `{ ...line, id }`, each line got a hidden class
 * (V8 map) of its own: ~200 bytes of maps and descriptors per line, i.e. megabytes for 10k lines.
 */
function makeLine(id: string, l: Omit<ChatLine, 'id'>): ChatLine {
  return {
    id,
    time: l.time,
    kind: l.kind,
    direction: l.direction,
    sender: l.sender,
    text: l.text,
    encryption: l.encryption,
    delivery: l.delivery,
    resent: l.resent,
    failReason: l.failReason,
    level: l.level,
  };
}
