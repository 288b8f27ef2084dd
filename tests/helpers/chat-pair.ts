// Two ChatSessions in process, on their ports: real OtrSessions on both sides and an in-memory transport that
// behaves as an MSRP stream does (in order per direction, end-to-end reports that the receiver may turn into
// failures), with random delays. Used by the chat-session unit tests.
import {
  ChatSession,
  type ChatTransport,
  type Clock,
  type OtrSetup,
  type SessionDeps,
  type TrustPort,
} from '../../src/chat/session.js';
import { StateStore } from '../../src/chat/state.js';
import { blankSessionView, memoryTrust } from '../../src/chat/blank.js';
import type { CoreEvent } from '../../src/chat/types.js';
import type { DsaKeyParams } from '../../src/keys/dsa-key.js';
import { OtrSession } from '../../src/otr/index.js';

/** What a side may change: its clock, its trusted_peers, whether OTR is required or not used at all. */
export interface SideOptions {
  clock?: Clock;
  trust?: TrustPort;
  /** OTR required (an always-OTR contact): nothing typed goes out before the conversation is private. */
  required?: boolean;
  /** No OTR on this side (a client without it). */
  noOtr?: boolean;
}

export interface Side {
  name: string;
  chat: ChatSession;
  store: StateStore;
  events: CoreEvent[];
  received: string[];
  /** line id -> text, for our outgoing messages */
  sent: Map<string, string>;
  /** Every body this side put on the transport, as sent. */
  wire: string[];
  /** Titles of the security alerts it raised. */
  alerts: string[];
}

/** Random delays: 0..maxDelay ms per message, order kept per direction (one TCP connection). */
export class Pipe {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly maxDelay: number) {}
  deliver<T>(fn: () => T): Promise<T> {
    const delay = Math.floor(Math.random() * (this.maxDelay + 1));
    const run = this.tail.then(
      () =>
        new Promise<T>((res, rej) =>
          setTimeout(() => {
            try {
              res(fn());
            } catch (e) {
              rej(e as Error);
            }
          }, delay),
        ),
    );
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly comment: string,
  ) {
    super(`MSRP ${code} ${comment}`);
  }
}

export function side(
  name: string,
  peer: string,
  key: DsaKeyParams,
  initiator: boolean,
  opts: SideOptions = {},
): Side & { attach(to: () => Side, pipe: Pipe): void } {
  const { clock } = opts;
  const store = new StateStore({ uri: `sip:${name}@test`, registration: 'none', transport: 'tcp', serverless: true });
  const view = blankSessionView({ id: '1', peer, direction: initiator ? 'out' : 'in', state: 'active' });
  store.addSession(view);
  const deps: SessionDeps = {
    store,
    trust: opts.trust ?? memoryTrust(),
    history: () => null,
    alert: (title) => void s.alerts.push(title),
    log: () => undefined,
    ...(clock ? { clock } : {}),
  };
  const setup: OtrSetup = opts.noOtr
    ? { make: null, reason: 'not used in this test', required: false }
    : { make: () => new OtrSession({ key }), required: opts.required ?? false };
  const chat = new ChatSession('1', peer, deps, setup);
  const s: Side & { attach(to: () => Side, pipe: Pipe): void } = {
    name,
    chat,
    store,
    events: [],
    received: [],
    sent: new Map(),
    wire: [],
    alerts: [],
    attach(to, pipe) {
      const transport: ChatTransport = {
        accepts: () => true,
        send: (type, text, opts) =>
          pipe.deliver(() => {
            s.wire.push(text);
            let refused: { code: number; comment: string } | null = null;
            to().chat.receiveContent(type, text, {
              refuse: (code, comment) => {
                refused ??= { code, comment };
              },
            });
            const r = refused as { code: number; comment: string } | null;
            if (r && opts.report) throw new StatusError(r.code, r.comment);
          }),
      };
      chat.attach(transport, { localLoggingOff: false, initiator });
    },
  };
  store.onEvent((e) => {
    s.events.push(e);
    if (e.ev === 'message' && e.direction === 'in') s.received.push(e.text);
  });
  return s;
}

export function send(s: Side, text: string): void {
  s.sent.set(s.chat.sendText(text), text);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
