// An in-memory Core for rendering tests of src/ui: it applies commands to a CoreState the way the real core is
// expected to (send appends an outgoing line, trust turns the lock green, ...) and records every command.
// It stands in for src/chat only in these tests; it does no networking and no OTR.
import type { ChatLine, Core, CoreCommand, CoreEvent, CoreState, OtrView, SessionView } from '../../src/chat/types.js';
import type { UiCoreExtensions } from '../../src/ui/types.js';

export const OUR_FP = '0123456789ABCDEF0123456789ABCDEF01234567';
export const BOB_FP = 'FEDCBA9876543210FEDCBA9876543210FEDCBA98';

let seq = 0;
export function line(p: Partial<ChatLine> & { text: string }): ChatLine {
  seq += 1;
  return {
    id: `l${seq}`,
    time: Date.UTC(2026, 0, 1, 10, 2),
    kind: 'message',
    direction: 'in',
    encryption: 'none',
    ...p,
  };
}

export function otr(p: Partial<OtrView> = {}): OtrView {
  return {
    state: 'plaintext',
    trust: null,
    version: null,
    theirFingerprint: null,
    ourFingerprint: OUR_FP,
    smp: null,
    pending: 0,
    ...p,
  };
}

export function session(id: string, peerUser: string, p: Partial<SessionView> = {}): SessionView {
  return {
    id,
    peer: `${peerUser}@example.org`,
    peerUri: `sip:${peerUser}@example.org`,
    displayName: peerUser,
    state: 'active',
    isFocus: false,
    direction: 'out',
    transport: 'msrp/tcp',
    otr: otr(),
    loggingDisabled: false,
    remoteComposing: false,
    unread: 0,
    lines: [],
    ...p,
  };
}

export class FixtureCore implements Core, UiCoreExtensions {
  state: CoreState;
  readonly commands: CoreCommand[] = [];
  private listeners = new Set<(s: CoreState) => void>();
  private eventListeners = new Set<(e: CoreEvent) => void>();
  /** When set, command() rejects with this message (to check that errors become notices). */
  failWith: string | null = null;
  searchResults: ChatLine[] | null = null;
  search?: (text: string) => Promise<ChatLine[]>;

  constructor(sessions: SessionView[] = [], withSearch = false) {
    this.state = {
      account: { uri: 'sip:alice@example.org', registration: 'registered', transport: 'tcp', serverless: false },
      sessions,
      notices: [],
    };
    if (withSearch) {
      this.search = async (text: string) =>
        this.state.sessions.flatMap((s) => s.lines).filter((l) => l.text.toLowerCase().includes(text.toLowerCase()));
    }
  }

  getState(): CoreState {
    return this.state;
  }
  subscribe(listener: (state: CoreState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onEvent(listener: (event: CoreEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }
  emit(ev: CoreEvent): void {
    for (const l of this.eventListeners) l(ev);
  }

  setState(next: CoreState): void {
    this.state = next;
    for (const l of this.listeners) l(next);
  }
  updateSession(id: string, f: (s: SessionView) => SessionView): void {
    this.setState({ ...this.state, sessions: this.state.sessions.map((s) => (s.id === id ? f(s) : s)) });
  }
  addSession(s: SessionView): void {
    this.setState({ ...this.state, sessions: [...this.state.sessions, s] });
  }
  addLine(id: string, l: ChatLine): void {
    this.updateSession(id, (s) => ({ ...s, lines: [...s.lines, l] }));
  }

  private lockOf(s: SessionView): ChatLine['encryption'] {
    if (s.otr.state !== 'encrypted') return 'none';
    return s.otr.trust ?? 'unverified';
  }

  /** Leave an accepted chat 'incoming' (a core still setting it up). */
  holdAccept = false;

  async command(cmd: CoreCommand): Promise<void> {
    this.commands.push(cmd);
    if (this.failWith) throw new Error(this.failWith);
    switch (cmd.cmd) {
      case 'chat': {
        const user = cmd.to.replace(/^sips?:/, '').split('@')[0] ?? 'x';
        this.addSession(session(`s${this.state.sessions.length + 1}`, user, { state: 'connecting', direction: 'out' }));
        return;
      }
      case 'accept':
        if (this.holdAccept) return;
        return this.updateSession(cmd.session, (s) => ({ ...s, state: 'active' }));
      case 'reject':
      case 'hangup':
        return this.updateSession(cmd.session, (s) => ({ ...s, state: 'ended' }));
      case 'send':
        return this.updateSession(cmd.session, (s) => ({
          ...s,
          lines: [
            ...s.lines,
            line({ text: cmd.text, direction: 'out', encryption: this.lockOf(s), delivery: 'pending' }),
          ],
        }));
      case 'otr':
        return this.updateSession(cmd.session, (s) => ({
          ...s,
          otr:
            cmd.action === 'start'
              ? { ...s.otr, state: 'encrypted', trust: 'unverified', version: 3, theirFingerprint: BOB_FP }
              : { ...s.otr, state: 'plaintext', trust: null },
        }));
      case 'smp':
        return this.updateSession(cmd.session, (s) => ({ ...s, otr: { ...s.otr, smp: { phase: 'waiting' } } }));
      case 'smp_respond':
      case 'smp_abort':
        return this.updateSession(cmd.session, (s) => ({ ...s, otr: { ...s.otr, smp: null } }));
      case 'trust':
        return this.updateSession(cmd.session, (s) => ({ ...s, otr: { ...s.otr, trust: 'verified' } }));
      case 'distrust':
        return this.updateSession(cmd.session, (s) => ({ ...s, otr: { ...s.otr, trust: 'unverified' } }));
      case 'read':
        return this.updateSession(cmd.session, (s) => ({ ...s, unread: 0 }));
      case 'composing':
      case 'genkey':
      case 'policy':
      case 'quit':
        return;
    }
  }

  /** Commands other than the bookkeeping ones the UI sends by itself (read, composing). */
  userCommands(): CoreCommand[] {
    return this.commands.filter((c) => c.cmd !== 'read' && c.cmd !== 'composing');
  }
}
