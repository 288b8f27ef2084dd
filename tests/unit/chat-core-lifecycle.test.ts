// ChatCore's session lifecycle in process, on fakes of its ports: a fake SIP user agent and calls (events driven by
// the test) and a fake chat-stream media (connect resolved by the test). Real storage in a temporary folder, OTR off
// (src/chat/session.ts has its own tests). What is checked is what front ends see: the session events, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_SETUP_TIMEOUT_MS, ChatCore, type ChatStreamMedia } from '../../src/chat/core.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { ChatMediaOptions } from '../../src/chat/media.js';
import type { CoreEvent } from '../../src/chat/types.js';
import { openChatStorage } from '../../src/chat-storage/index.js';
import type { IncomingCall, SipCall, SipUserAgent } from '../../src/sip/index.js';

/** The core composes the session's SDP out of each stream's section: the fakes write a minimal MSRP one. */
const MSRP_SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  'm=message 2855 TCP/MSRP *\r\na=path:msrp://127.0.0.1:2855/abc;tcp\r\na=accept-types:text/plain\r\n';

class FakeCall extends EventEmitter {
  state = 'initial';
  isFocus = false;
  hangups = 0;
  accepted = 0;
  rejected: number[] = [];
  constructor(
    readonly direction: 'incoming' | 'outgoing',
    private readonly offer: string | null = MSRP_SDP,
    readonly remoteIdentity = { aor: 'bob@127.0.0.1', user: 'bob', host: '127.0.0.1', displayName: 'Bob' },
  ) {
    super();
  }
  get remoteOffer(): string | undefined {
    return this.offer ?? undefined;
  }
  whenFinished(): Promise<void> {
    return new Promise((resolve) => {
      this.once('ended', () => resolve());
      this.once('failed', () => resolve());
    });
  }
  established(): void {
    this.state = 'established';
    this.emit('established');
  }
  end(by: 'local' | 'remote'): void {
    this.state = 'ended';
    this.emit('ended', { reason: 'bye', by });
  }
  async hangup(): Promise<void> {
    this.hangups++;
    this.end('local');
  }
  async accept(): Promise<void> {
    this.accepted++;
  }
  async reject(code: number): Promise<void> {
    this.rejected.push(code);
    this.state = 'ended';
  }
}

class FakeUa extends EventEmitter {
  readonly contactUri = 'sip:alice@127.0.0.1:5999';
  readonly aor = 'sip:alice@127.0.0.1';
  readonly options = { transport: 'tcp' as const };
  readonly calls: FakeCall[] = [];
  stopped = 0;
  call(): FakeCall {
    const c = new FakeCall('outgoing');
    this.calls.push(c);
    return c;
  }
  async stop(): Promise<void> {
    this.stopped++;
  }
}

class FakeMedia implements ChatStreamMedia {
  closed = 0;
  sent: string[] = [];
  readonly transportName = 'msrp/tcp';
  readonly relayExpiresAt = null;
  private bind!: () => void;
  private readonly bound = new Promise<void>((r) => (this.bind = r));
  constructor(readonly opts: ChatMediaOptions) {}
  async createOffer(): Promise<string> {
    return MSRP_SDP;
  }
  async applyAnswer(): Promise<void> {}
  async createAnswer(): Promise<string> {
    return MSRP_SDP;
  }
  connect(): Promise<void> {
    return this.bound;
  }
  /** The test's hand on the stream: it binds, it delivers, it closes. */
  bindNow(): void {
    this.bind();
  }
  deliver(text: string): void {
    this.opts.onMessage({ contentType: 'text/plain', text } as Parameters<ChatMediaOptions['onMessage']>[0]);
  }
  close(): void {
    this.closed++;
  }
  accepts(): boolean {
    return true;
  }
  async send(_type: string, text: string): Promise<void> {
    this.sent.push(text);
  }
}

interface Rig {
  core: ChatCore;
  ua: FakeUa;
  media: FakeMedia[];
  events: CoreEvent[];
  sessionEvents(id: string): string[];
  until(pred: (e: CoreEvent) => boolean): Promise<CoreEvent>;
  done(): Promise<void>;
}

function rig(clock?: FakeClock): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'blink-core-'));
  const storage = openChatStorage(dir);
  const ua = new FakeUa();
  const media: FakeMedia[] = [];
  const events: CoreEvent[] = [];
  const waiters: { pred: (e: CoreEvent) => boolean; resolve: (e: CoreEvent) => void }[] = [];
  const core = new ChatCore({
    ua: ua as unknown as SipUserAgent,
    storage,
    key: null,
    otrOverride: false,
    mediaHost: '127.0.0.1',
    serverless: true,
    log: () => undefined,
    ...(clock ? { clock } : {}),
    makeChatMedia: (o) => {
      const m = new FakeMedia(o);
      media.push(m);
      return m;
    },
  });
  // No OTR in these chats, but accept and chat make sure a key exists: give them one without generating it.
  (core as unknown as { ensureKey: () => Promise<unknown> }).ensureKey = async () => null;
  core.onEvent((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) {
      if (w.pred(e)) w.resolve(e);
      else waiters.push(w);
    }
  });
  return {
    core,
    ua,
    media,
    events,
    sessionEvents: (id) =>
      events
        .filter((e) => e.ev === 'session' && e.session === id)
        .map((e) => `${String(get(e, 'state'))}${get(e, 'reason') ? `:${String(get(e, 'reason'))}` : ''}`),
    until: (pred) => {
      const hit = events.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    async done() {
      await core.quit();
      storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A field of any event (CoreEvent is a union; these tests read fields by name). */
const get = (e: CoreEvent, k: string): unknown => (e as unknown as Record<string, unknown>)[k];
const isSession = (id: string, state: string) => (e: CoreEvent) =>
  e.ev === 'session' && e.session === id && get(e, 'state') === state;

test('outgoing: connecting, active once the stream binds, ended once on hang-up (BYE, then the stream closes)', async () => {
  const r = rig();
  const id = await r.core.startChat('bob@127.0.0.1');
  const call = r.ua.calls[0]!;
  call.established();
  // Bound, not yet active: nothing moves until the stream is there.
  assert.deepEqual(r.sessionEvents(id), ['connecting']);
  r.media[0]!.bindNow();
  await r.until(isSession(id, 'active'));
  await r.core.command({ cmd: 'hangup', session: id });
  assert.deepEqual(r.sessionEvents(id), ['connecting', 'active', 'ended:ended']);
  assert.equal(call.hangups, 1);
  assert.equal(r.media[0]!.closed, 1);
  // Ended once: the BYE's own 'ended' event and a second hang-up change nothing.
  call.end('remote');
  await assert.rejects(r.core.command({ cmd: 'hangup', session: id }), /no chat session/);
  assert.deepEqual(r.sessionEvents(id), ['connecting', 'active', 'ended:ended']);
  assert.equal(r.core.getState().sessions.find((s) => s.id === id)?.state, 'ended');
  await r.done();
});

test('outgoing: a failed INVITE ends the session with its status, and a late established is ignored', async () => {
  const r = rig();
  const id = await r.core.startChat('bob@127.0.0.1');
  const call = r.ua.calls[0]!;
  call.emit('failed', { statusCode: 486, reason: 'Busy Here' });
  await r.until(isSession(id, 'ended'));
  call.established();
  r.media[0]!.bindNow();
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(r.sessionEvents(id), ['connecting', 'ended:486 Busy Here']);
  assert.equal(r.media[0]!.closed, 1);
  await r.done();
});

test('incoming: accept -> connecting -> active; what the peer sent before the session was ready is read after', async () => {
  const r = rig();
  const call = new FakeCall('incoming');
  r.ua.emit('invite', call as unknown as IncomingCall);
  const inc = await r.until((e) => e.ev === 'incoming');
  const id = String(get(inc, 'session'));
  assert.equal(r.core.getState().sessions.find((s) => s.id === id)?.state, 'incoming');
  await r.core.command({ cmd: 'accept', session: id });
  assert.equal(call.accepted, 1);
  // A second accept (or a reject) finds the session no longer incoming.
  await assert.rejects(r.core.command({ cmd: 'accept', session: id }), /not waiting to be accepted/);
  await assert.rejects(r.core.command({ cmd: 'reject', session: id }), /not waiting to be accepted/);
  call.established();
  r.media[0]!.deliver('early hello');
  r.media[0]!.bindNow();
  await r.until(isSession(id, 'active'));
  const msg = await r.until((e) => e.ev === 'message' && e.direction === 'in');
  assert.equal(get(msg, 'text'), 'early hello');
  // The peer hangs up.
  call.end('remote');
  await r.until(isSession(id, 'ended'));
  assert.deepEqual(r.sessionEvents(id), ['connecting', 'active', 'ended:ended by Bob']);
  assert.equal(call.hangups, 0, 'no BYE back to a BYE');
  await r.done();
});

test('incoming: reject answers 603 and ends the session; accept afterwards is refused', async () => {
  const r = rig();
  const call = new FakeCall('incoming');
  r.ua.emit('invite', call as unknown as IncomingCall);
  const id = String(get(await r.until((e) => e.ev === 'incoming'), 'session'));
  await r.core.command({ cmd: 'reject', session: id });
  assert.deepEqual(call.rejected, [603]);
  assert.deepEqual(r.sessionEvents(id), ['ended:rejected']);
  await assert.rejects(r.core.command({ cmd: 'accept', session: id }), /no chat session/);
  await r.done();
});

test('incoming without an offer: 488 and ended, never offered to the user', async () => {
  const r = rig();
  const call = new FakeCall('incoming', null);
  r.ua.emit('invite', call as unknown as IncomingCall);
  await r.until((e) => e.ev === 'session' && e.state === 'ended');
  assert.deepEqual(call.rejected, [488]);
  assert.equal(
    r.events.some((e) => e.ev === 'incoming'),
    false,
  );
  await r.done();
});

test("a broken stream is the reason even when the peer's BYE comes first", async () => {
  const r = rig();
  const id = await r.core.startChat('bob@127.0.0.1');
  const call = r.ua.calls[0]!;
  call.established();
  r.media[0]!.bindNow();
  await r.until(isSession(id, 'active'));
  r.media[0]!.opts.onClosed('connection reset', true);
  r.media[0]!.opts.onClosed('connection reset again', true);
  call.end('remote');
  await r.until(isSession(id, 'ended'));
  assert.deepEqual(r.sessionEvents(id), ['connecting', 'active', 'ended:connection reset']);
  const warning = r.core
    .getState()
    .sessions.find((s) => s.id === id)
    ?.lines.at(-1);
  assert.match(String(warning?.text), /^chat ended: connection reset\. .*Start a new chat/);
  await r.done();
});

test('quit ends every session with a BYE, then stops the user agent', async () => {
  const r = rig();
  const a = await r.core.startChat('bob@127.0.0.1');
  const b = await r.core.startChat('carol@127.0.0.1');
  r.ua.calls[0]!.established();
  r.media[0]!.bindNow();
  await r.until(isSession(a, 'active'));
  await r.core.command({ cmd: 'quit' });
  assert.deepEqual(r.sessionEvents(a), ['connecting', 'active', 'ended:client quit']);
  assert.deepEqual(r.sessionEvents(b), ['connecting', 'ended:client quit']);
  assert.deepEqual(
    r.ua.calls.map((c) => c.hangups),
    [1, 1],
  );
  assert.equal(r.ua.stopped, 1);
  await r.done();
});

test('on the core clock: an outgoing chat nobody answers ends after CHAT_SETUP_TIMEOUT_MS, with a CANCEL/BYE, not before', async () => {
  const clock = new FakeClock();
  const r = rig(clock);
  const id = await r.core.startChat('bob@127.0.0.1');
  const call = r.ua.calls[0]!;
  clock.advance(CHAT_SETUP_TIMEOUT_MS - 1);
  assert.deepEqual(r.sessionEvents(id), ['connecting']);
  assert.equal(call.hangups, 0);
  clock.advance(1);
  await r.until(isSession(id, 'ended'));
  assert.deepEqual(r.sessionEvents(id), ['connecting', 'ended:no answer']);
  assert.equal(call.hangups, 1);
  await r.done();
});
