// A chat rehearsed in-process once, in idle time after start-up, so that the user's first chat is as quick as
// every later one. A fresh process met each part of a chat setup for the first time inside the first call: V8
// compiled and first ran sip.js (parser, grammar, transactions, dialogs), our SIP transport, the SDP, MSRP and
// CPIM code, node's net internals and the OTR engine (AKE, key derivation, data messages), on both sides, one
// after the other. The rehearsal runs that code on throwaway objects: two SIP user agents of our own on
// 127.0.0.1 (the user's transport, TLS with our own certificate) place a call with the same
// MsrpChatMedia a chat uses, the two MSRP streams connect, two OtrSessions holding our key run the AKE over
// them and send one message each way, and the call is hung up. Nothing of it reaches the state, the history,
// the user's SIP user agent or any other host.
//
// It yields between steps and stops at the next one once `busy()` says a real chat has begun (that chat then
// warms what is left itself).
import { OtrSession, type DsaKeyParams } from '../otr/index.js';
import type { IncomingCall, SipCall, SipUserAgent } from '../sip/index.js';
import { MsrpChatMedia, type IncomingContent, type MsrpTlsMaterial } from './media.js';
import { blankSessionView, memoryTrust } from './blank.js';
import { ChatSection } from './sections.js';
import { ChatSession } from './session.js';
import { SessionNegotiator } from './session-media.js';
import { StateStore } from './state.js';

export interface RehearsalOptions {
  key: DsaKeyParams;
  /** Where MSRP listens (the chat's media host). */
  host: string;
  /** A throwaway SIP user agent on 127.0.0.1, port 0 (not started). */
  makeUa: (user: string) => SipUserAgent;
  /** MSRP over TLS as the chats use it (ChatMediaOptions.tls / secureOffers). */
  msrpTls?: () => Promise<MsrpTlsMaterial>;
  secureMsrpOffers?: boolean;
  /** True once a real chat exists: the rehearsal stops at its next step. */
  busy: () => boolean;
  log: (msg: string) => void;
}

export interface RehearsalResult {
  /** The steps that ran to their end, in order (a stopped rehearsal lists fewer). */
  steps: string[];
  /** Both OTR sessions reached 'encrypted' and each read the other's message. */
  encrypted: boolean;
}

const STEP_TIMEOUT_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} took over ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    t.unref();
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/** What the rehearsal opened, all closed at its end whatever happened. */
interface Rehearsal {
  readonly opts: RehearsalOptions;
  readonly uas: SipUserAgent[];
  readonly medias: MsrpChatMedia[];
  readonly calls: SipCall[];
  /** The two chat sessions, made once the stream is up; what arrives before is kept for them in `early`. */
  readonly chats: [ChatSession | null, ChatSession | null];
  readonly early: [IncomingContent[], IncomingContent[]];
}

/** Runs the rehearsal; never throws (a failure is logged: it only costs the first chat its head start). */
export async function rehearseChat(opts: RehearsalOptions): Promise<RehearsalResult> {
  const steps: string[] = [];
  let encrypted = false;
  const r: Rehearsal = { opts, uas: [], medias: [], calls: [], chats: [null, null], early: [[], []] };
  try {
    if (opts.busy()) return { steps, encrypted };
    const media = await connectCall(r);
    if (!media) return { steps, encrypted };
    steps.push('sip+msrp');
    if (opts.busy()) return { steps, encrypted };
    encrypted = await runChat(r, media, steps);
  } catch (e) {
    opts.log(`rehearsal: ${(e as Error).message}`);
  } finally {
    await tearDown(r);
  }
  return { steps, encrypted };
}

/** Content for side `i`: to its chat session, or kept until it exists. */
function deliver(r: Rehearsal, i: 0 | 1, c: IncomingContent): void {
  const chat = r.chats[i];
  if (!chat) return void r.early[i].push(c);
  chat.receiveContent(c.contentType, c.text, c.refuse ? { refuse: c.refuse } : {});
}

/**
 * SIP: a call from one throwaway user agent to the other; MSRP: its stream, connected. Null when a real chat
 * began meanwhile.
 */
async function connectCall(r: Rehearsal): Promise<readonly [MsrpChatMedia, MsrpChatMedia] | null> {
  const { opts } = r;
  const mk = (i: 0 | 1, local: string, remote: string): MsrpChatMedia =>
    new MsrpChatMedia({
      host: opts.host,
      ...(opts.msrpTls ? { tls: opts.msrpTls } : {}),
      secureOffers: opts.secureMsrpOffers === true,
      localUri: local,
      remoteUri: remote,
      log: () => undefined,
      onMessage: (c) => deliver(r, i, c),
      onClosed: () => undefined,
    });
  const caller = opts.makeUa('rehearsal-a');
  const callee = opts.makeUa('rehearsal-b');
  r.uas.push(caller, callee);
  await within(Promise.all([caller.start({ register: false }), callee.start({ register: false })]), 'starting SIP');
  if (opts.busy()) return null;
  const a = mk(0, caller.aor, callee.aor);
  const b = mk(1, callee.aor, caller.aor);
  r.medias.push(a, b);
  // Through the session negotiator a real session uses (its SDP composition and section split), not the chat's
  // stream alone: that is the code the user's first chat runs.
  const negotiatorFor = (m: MsrpChatMedia, offering: boolean): SessionNegotiator => {
    const section = new ChatSection(m);
    const neg = new SessionNegotiator({
      host: opts.host,
      owner: {
        streamFor: async (kind, _section, initial) => (kind === 'chat' && initial ? section : null),
        removed: () => undefined,
      },
    });
    if (offering) neg.add(section);
    return neg;
  };
  let out: SipCall | null = null;
  const answered = new Promise<void>((resolve, reject) => {
    // Only our own caller's INVITE is answered: the port is open on 127.0.0.1 for a moment, and anything else
    // that calls it is refused rather than handed a chat with our key.
    const onInvite = (call: IncomingCall): void => {
      if (out === null || call.callId !== out.callId) {
        void call.reject(603).catch(() => undefined);
        return;
      }
      callee.off('invite', onInvite);
      r.calls.push(call);
      call.accept(negotiatorFor(b, false)).then(resolve, reject);
    };
    callee.on('invite', onInvite);
  });
  const outgoing = caller.call(callee.contactUri, negotiatorFor(a, true));
  out = outgoing;
  r.calls.push(outgoing);
  const established = new Promise<void>((resolve, reject) => {
    outgoing.once('established', () => resolve());
    outgoing.once('failed', (f) => reject(new Error(`${f.statusCode} ${f.reason}`)));
  });
  await within(Promise.all([answered, established]), 'the SIP call');
  if (opts.busy()) return null;
  await within(Promise.all([a.connect(), b.connect()]), 'the MSRP connection');
  return [a, b];
}

/**
 * The chat itself over that stream, as a real one runs: two ChatSessions (throwaway state, no history, trust kept
 * in memory) start OTR as caller and callee do, run the AKE, and send one message each way with its report. That
 * is the code the user's first chat runs, on both sides. Returns whether both read the other's message privately.
 */
async function runChat(
  r: Rehearsal,
  media: readonly [MsrpChatMedia, MsrpChatMedia],
  steps: string[],
): Promise<boolean> {
  const { opts } = r;
  const sides = ([0, 1] as const).map((i) => rehearsalChat(opts.key, i === 0 ? 'rehearsal-b' : 'rehearsal-a'));
  for (const i of [0, 1] as const) {
    const side = sides[i]!;
    r.chats[i] = side.chat;
    side.chat.attach(media[i], { localLoggingOff: false, initiator: i === 0 });
    for (const c of r.early[i].splice(0)) deliver(r, i, c);
  }
  const until = (pred: () => boolean, what: string): Promise<void> =>
    within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (pred() || opts.busy()) return resolve();
          setTimeout(check, 2).unref();
        };
        check();
      }),
      what,
    );
  await until(() => sides.every((x) => x.encrypted()), 'the OTR AKE');
  if (opts.busy()) return false;
  steps.push('otr');
  sides[0]!.chat.sendText('rehearsal 1');
  sides[1]!.chat.sendText('rehearsal 2');
  await until(() => sides.every((x) => x.read() && x.delivered()), 'the OTR messages');
  if (opts.busy()) return false;
  const encrypted = sides.every((x) => x.encrypted() && x.read());
  steps.push('data');
  return encrypted;
}

/** Each clean-up step on its own, so that none can keep the next from running (the sockets must close). */
async function tearDown(r: Rehearsal): Promise<void> {
  for (const c of r.chats) c?.detach('rehearsal over');
  // The caller hangs up (BYE, or CANCEL when stopped early); both ends are done once the BYE is answered.
  await (async () => r.calls[0]?.hangup())().catch(() => undefined);
  await within((async () => Promise.all(r.calls.map((c) => c.whenFinished())))(), 'hanging up').catch(() => undefined);
  for (const m of r.medias) {
    try {
      m.close();
    } catch {
      /* closed already */
    }
  }
  for (const ua of r.uas) await ua.stop().catch(() => undefined);
}

/** A ChatSession on a throwaway state store: nothing reaches the user's state, history or trusted_peers. */
function rehearsalChat(
  key: DsaKeyParams,
  peer: string,
): {
  chat: ChatSession;
  encrypted: () => boolean;
  read: () => boolean;
  delivered: () => boolean;
} {
  const store = new StateStore({
    uri: 'sip:rehearsal@127.0.0.1',
    registration: 'none',
    transport: 'udp',
    serverless: true,
  });
  store.addSession({
    ...blankSessionView({ id: 'r', peer, direction: 'out', state: 'active' }),
    loggingDisabled: true,
  });
  let encrypted = false;
  let read = false;
  let delivered = false;
  store.onEvent((e) => {
    if (e.ev === 'otr') encrypted = e.state === 'encrypted';
    else if (e.ev === 'message' && e.direction === 'in') read = true;
    else if (e.ev === 'delivery' && e.status === 'delivered') delivered = true;
  });
  const chat = new ChatSession(
    'r',
    peer,
    {
      store,
      trust: memoryTrust(),
      history: () => null,
      alert: () => undefined,
      log: () => undefined,
    },
    { make: () => new OtrSession({ key }), required: false },
  );
  return { chat, encrypted: () => encrypted, read: () => read, delivered: () => delivered };
}
