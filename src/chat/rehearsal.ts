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
import { OtrSession, type DsaKeyParams, type OtrEvent } from '../otr/index.js';
import type { IncomingCall, SipCall, SipUserAgent } from '../sip/index.js';
import { MsrpChatMedia, type IncomingContent, type MsrpTlsMaterial } from './media.js';

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

/** Runs the rehearsal; never throws (a failure is logged: it only costs the first chat its head start). */
export async function rehearseChat(opts: RehearsalOptions): Promise<RehearsalResult> {
  const steps: string[] = [];
  let encrypted = false;
  const uas: SipUserAgent[] = [];
  const medias: MsrpChatMedia[] = [];
  const calls: SipCall[] = [];
  try {
    if (opts.busy()) return { steps, encrypted };
    const inbox: [IncomingContent[], IncomingContent[]] = [[], []];
    let wake = null as (() => void) | null;
    const mk = (i: 0 | 1, local: string, remote: string): MsrpChatMedia =>
      new MsrpChatMedia({
        host: opts.host,
        ...(opts.msrpTls ? { tls: opts.msrpTls } : {}),
        secureOffers: opts.secureMsrpOffers === true,
        localUri: local,
        remoteUri: remote,
        log: () => undefined,
        onMessage: (c) => {
          inbox[i].push(c);
          wake?.();
        },
        onClosed: () => undefined,
      });

    // SIP: a call from one throwaway user agent to the other; MSRP: its stream, connected.
    const caller = opts.makeUa('rehearsal-a');
    const callee = opts.makeUa('rehearsal-b');
    uas.push(caller, callee);
    await within(Promise.all([caller.start({ register: false }), callee.start({ register: false })]), 'starting SIP');
    if (opts.busy()) return { steps, encrypted };
    const a = mk(0, caller.aor, callee.aor);
    const b = mk(1, callee.aor, caller.aor);
    medias.push(a, b);
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
        calls.push(call);
        call.accept(b).then(resolve, reject);
      };
      callee.on('invite', onInvite);
    });
    const outgoing = caller.call(callee.contactUri, a);
    out = outgoing;
    calls.push(outgoing);
    const established = new Promise<void>((resolve, reject) => {
      outgoing.once('established', () => resolve());
      outgoing.once('failed', (f) => reject(new Error(`${f.statusCode} ${f.reason}`)));
    });
    await within(Promise.all([answered, established]), 'the SIP call');
    if (opts.busy()) return { steps, encrypted };
    await within(Promise.all([a.connect(), b.connect()]), 'the MSRP connection');
    steps.push('sip+msrp');
    if (opts.busy()) return { steps, encrypted };

    // OTR over that stream: the AKE, then one message each way (with a success report, as user messages ask).
    const otr = [new OtrSession({ key: opts.key }), new OtrSession({ key: opts.key })] as const;
    const got: string[] = [];
    const sendAll = async (from: 0 | 1, events: OtrEvent[]): Promise<void> => {
      for (const e of events) {
        if (e.type !== 'send') continue;
        for (const w of e.wire) await medias[from]!.send('text/plain', w, { report: false });
      }
    };
    const pump = async (done: () => boolean): Promise<void> => {
      for (let turns = 0; turns < 20 && !done(); turns++) {
        let moved = false;
        for (const i of [0, 1] as const) {
          for (const c of inbox[i].splice(0)) {
            moved = true;
            const events = otr[i].receive(c.text);
            for (const e of events) if (e.type === 'message' && e.encrypted) got.push(e.text);
            await sendAll(i, events);
          }
        }
        if (!moved) await new Promise<void>((r) => ((wake = r), setTimeout(r, 200).unref()));
        wake = null;
      }
    };
    await sendAll(0, otr[0].start());
    await within(pump(() => otr[0].state === 'encrypted' && otr[1].state === 'encrypted'), 'the OTR AKE');
    steps.push('otr');
    if (opts.busy()) return { steps, encrypted };
    await a.send('text/plain', firstWire(otr[0].send('rehearsal 1')), { report: true });
    await b.send('text/plain', firstWire(otr[1].send('rehearsal 2')), { report: true });
    await within(pump(() => got.length >= 2), 'the OTR messages');
    encrypted = otr[0].state === 'encrypted' && otr[1].state === 'encrypted' && got.length === 2;
    steps.push('data');
  } catch (e) {
    opts.log(`rehearsal: ${(e as Error).message}`);
  } finally {
    // Each clean-up step on its own, so that none can keep the next from running (the sockets must close).
    // The caller hangs up (BYE, or CANCEL when stopped early); both ends are done once the BYE is answered.
    await (async () => calls[0]?.hangup())().catch(() => undefined);
    await within((async () => Promise.all(calls.map((c) => c.whenFinished())))(), 'hanging up').catch(() => undefined);
    for (const m of medias) {
      try {
        m.close();
      } catch {
        /* closed already */
      }
    }
    for (const ua of uas) await ua.stop().catch(() => undefined);
  }
  return { steps, encrypted };
}

function firstWire(events: OtrEvent[]): string {
  for (const e of events) if (e.type === 'send' && e.wire.length === 1) return e.wire[0]!;
  throw new Error('OTR did not produce one data message');
}
