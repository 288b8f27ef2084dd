// Two real ChatCores in one process, over real SIP (TCP on 127.0.0.1) and real MSRP, with a fake audio stream
// (tests/helpers/fake-audio.ts: real m=audio sections, no sound). What is checked is the session layer: audio-only
// calls, audio added to and removed from a chat by re-INVITE (180 then 200 or 488), hold, DTMF, and re-INVITE glare.
// The sound itself is tests/e2e/audio-*.test.ts's business.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatCore } from '../../src/chat/core.js';
import type { CoreEvent } from '../../src/chat/types.js';
import { openChatStorage } from '../../src/chat-storage/index.js';
import { SipUserAgent } from '../../src/sip/index.js';
import { FakeAudioStream } from '../helpers/fake-audio.js';
import { MsrpChatMedia } from '../../src/chat/media.js';
import { AudioSection, ChatSection } from '../../src/chat/sections.js';
import { SessionNegotiator } from '../../src/chat/session-media.js';

interface Side {
  core: ChatCore;
  ua: SipUserAgent;
  events: CoreEvent[];
  streams: FakeAudioStream[];
  sipLog: string[];
  until(pred: (e: CoreEvent) => boolean, what: string): Promise<CoreEvent>;
  close(): Promise<void>;
}

const get = (e: CoreEvent, k: string): unknown => (e as unknown as Record<string, unknown>)[k];

async function side(user: string): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `blink-audio-${user}-`));
  const storage = openChatStorage(dir);
  const sipLog: string[] = [];
  const ua = new SipUserAgent({
    user,
    transport: 'tcp',
    host: '127.0.0.1',
    port: 0,
    log: (_l, _c, m) => void sipLog.push(m),
    logLevel: 'debug',
  });
  await ua.start();
  const streams: FakeAudioStream[] = [];
  const core = new ChatCore({
    ua,
    storage,
    key: null,
    otrOverride: false,
    mediaHost: '127.0.0.1',
    serverless: true,
    log: () => undefined,
    makeAudioStream: async () => {
      const s = new FakeAudioStream();
      streams.push(s);
      return s;
    },
  });
  (core as unknown as { ensureKey: () => Promise<unknown> }).ensureKey = async () => null;
  const events: CoreEvent[] = [];
  const waiters: { pred: (e: CoreEvent) => boolean; resolve: (e: CoreEvent) => void }[] = [];
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
    events,
    streams,
    sipLog,
    until: (pred, what) => {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${user}: no ${what} in ${JSON.stringify(events.slice(-8))}`)),
          15000,
        );
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
      });
    },
    async close() {
      await core.quit();
      storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const audio = (session: string, state: string) => (e: CoreEvent) =>
  e.ev === 'audio' && e.session === session && e.state === state;
const sessionState = (session: string, state: string) => (e: CoreEvent) =>
  e.ev === 'session' && e.session === session && e.state === state;
const incoming = (e: CoreEvent) => e.ev === 'incoming';
const message = (session: string, text: string) => (e: CoreEvent) =>
  e.ev === 'message' && e.session === session && e.direction === 'in' && e.text === text;

/** A chat from a to b, accepted and active on both sides; returns both session ids. */
async function chat(a: Side, b: Side): Promise<{ sa: string; sb: string }> {
  const sa = await a.core.startChat(b.ua.contactUri);
  const inc = await b.until(incoming, 'incoming chat');
  const sb = String(get(inc, 'session'));
  assert.deepEqual(get(inc, 'media'), ['chat']);
  await b.core.command({ cmd: 'accept', session: sb });
  await a.until(sessionState(sa, 'active'), 'active chat');
  await b.until(sessionState(sb, 'active'), 'active chat');
  return { sa, sb };
}

async function talk(from: Side, fromId: string, to: Side, toId: string, text: string): Promise<void> {
  await from.core.command({ cmd: 'send', session: fromId, text });
  await to.until(message(toId, text), `message ${text}`);
}

test('an audio-only call: incoming with media ["audio"], accepted, active on both sides with SRTP, hung up', async () => {
  const a = await side('alice');
  const b = await side('bob');
  try {
    const sa = await a.core.startCall(b.ua.contactUri);
    const inc = await b.until(incoming, 'incoming call');
    const sb = String(get(inc, 'session'));
    assert.deepEqual(get(inc, 'media'), ['audio']);
    await b.core.command({ cmd: 'accept', session: sb });
    const ea = await a.until(audio(sa, 'active'), 'audio active');
    await b.until(audio(sb, 'active'), 'audio active');
    assert.equal(get(ea, 'encryption'), 'sdes');
    assert.equal(get(ea, 'codec'), 'PCMU/8000');
    assert.equal(a.streams.length, 1);
    assert.equal(a.streams[0]!.started > 0 && b.streams[0]!.started > 0, true);
    // no chat in it: text is refused with a reason
    await assert.rejects(a.core.command({ cmd: 'send', session: sa, text: 'hi' }), /no chat/);
    await a.core.command({ cmd: 'hangup', session: sa });
    await b.until(sessionState(sb, 'ended'), 'ended');
    await b.until(audio(sb, 'ended'), 'audio ended');
    assert.equal(a.streams[0]!.closed && b.streams[0]!.closed, true);
  } finally {
    await a.close();
    await b.close();
  }
});

test('an audio-only call rejected: 486 for the caller', async () => {
  const a = await side('alice');
  const b = await side('bob');
  try {
    const sa = await a.core.startCall(b.ua.contactUri);
    const inc = await b.until(incoming, 'incoming call');
    await b.core.command({ cmd: 'reject', session: String(get(inc, 'session')) });
    const end = await a.until(sessionState(sa, 'ended'), 'ended');
    assert.match(String(get(end, 'reason')), /^486/);
  } finally {
    await a.close();
    await b.close();
  }
});

test('audio added to a chat (180, then 200 on accept), held and resumed, DTMF, removed: the chat goes on throughout', async () => {
  const a = await side('alice');
  const b = await side('bob');
  try {
    const { sa, sb } = await chat(a, b);
    const ringing = () => a.sipLog.filter((l) => /received from .*: SIP\/2\.0 180 /.test(l)).length;
    const ringsBefore = ringing();
    const adding = a.core.command({ cmd: 'audio', session: sa, action: 'add' });
    const prop = await b.until(
      (e) => incoming(e) && get(e, 'session') === sb && (get(e, 'media') as string[]).includes('audio'),
      'proposal',
    );
    assert.deepEqual(get(prop, 'media'), ['chat', 'audio']);
    await b.until(audio(sb, 'proposed'), 'proposed');
    // 180 Ringing on the re-INVITE reached alice while bob was asked
    for (let i = 0; i < 50 && ringing() === ringsBefore; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(ringing(), ringsBefore + 1);
    await b.core.command({ cmd: 'accept', session: sb });
    await adding;
    await a.until(audio(sa, 'active'), 'audio active');
    await b.until(audio(sb, 'active'), 'audio active');
    const va = a.core.getState().sessions.find((s) => s.id === sa)!;
    assert.deepEqual(va.media, ['chat', 'audio']);
    await talk(a, sa, b, sb, 'still chatting with audio');

    // hold: alice stops sending and playing; bob sees the call held (alice's offer was sendonly)
    await a.core.command({ cmd: 'audio', session: sa, action: 'hold' });
    assert.equal(a.streams[0]!.held, true);
    assert.equal(a.streams[0]!.ourDirection, 'sendonly');
    await b.until(audio(sb, 'held'), 'held');
    assert.equal(b.streams[0]!.ourDirection, 'recvonly');
    await a.core.command({ cmd: 'audio', session: sa, action: 'resume' });
    assert.equal(a.streams[0]!.held, false);
    await b.until(
      (e) => audio(sb, 'active')(e) && b.events.indexOf(e) > b.events.findIndex(audio(sb, 'held')),
      'resumed',
    );

    await a.core.command({ cmd: 'dtmf', session: sa, digits: '12#' });
    const digits = b.events.filter((e) => e.ev === 'dtmf' && e.session === sb).map((e) => get(e, 'digit'));
    assert.deepEqual(digits, ['1', '2', '#']);

    await a.core.command({ cmd: 'audio', session: sa, action: 'remove' });
    await a.until(audio(sa, 'ended'), 'audio ended');
    await b.until(audio(sb, 'ended'), 'audio ended');
    assert.equal(a.streams[0]!.closed && b.streams[0]!.closed, true);
    await talk(b, sb, a, sa, 'chat after audio');
    assert.equal(a.core.getState().sessions.find((s) => s.id === sa)?.state, 'active');

    // and audio again, into the same m-line slot
    const again = a.core.command({ cmd: 'audio', session: sa, action: 'add' });
    await b.until(
      (e) =>
        e.ev === 'audio' &&
        e.session === sb &&
        e.state === 'proposed' &&
        b.events.filter(audio(sb, 'proposed')).length === 2,
      'second proposal',
    );
    await b.core.command({ cmd: 'accept', session: sb });
    await again;
    await b.until((e) => audio(sb, 'active')(e) && b.streams.length === 2, 'audio again');
  } finally {
    await a.close();
    await b.close();
  }
});

test('an audio proposal refused: 488 for the proposer, the chat goes on', async () => {
  const a = await side('alice');
  const b = await side('bob');
  try {
    const { sa, sb } = await chat(a, b);
    const adding = a.core.command({ cmd: 'audio', session: sa, action: 'add' });
    await b.until(audio(sb, 'proposed'), 'proposed');
    await b.core.command({ cmd: 'reject', session: sb });
    await assert.rejects(adding, /488/);
    await a.until(audio(sa, 'ended'), 'audio ended');
    assert.equal(a.streams[0]!.closed, true);
    await talk(a, sa, b, sb, 'chat after refusal');
    await talk(b, sb, a, sa, 'and back');
  } finally {
    await a.close();
    await b.close();
  }
});

test('both sides add audio at once: glare (491) resolved, one audio stream, active on both sides', async () => {
  const a = await side('alice');
  const b = await side('bob');
  try {
    const { sa, sb } = await chat(a, b);
    const both = Promise.allSettled([
      a.core.command({ cmd: 'audio', session: sa, action: 'add' }),
      b.core.command({ cmd: 'audio', session: sb, action: 'add' }),
    ]);
    await a.until(audio(sa, 'active'), 'audio active');
    await b.until(audio(sb, 'active'), 'audio active');
    const results = await both;
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled'],
    );
    // a 491 was seen, and neither side asked its user: each wanted audio itself
    assert.equal(
      [...a.sipLog, ...b.sipLog].some((l) => /SIP\/2\.0 491/.test(l)),
      true,
    );
    assert.equal(b.events.some(audio(sb, 'proposed')) || a.events.some(audio(sa, 'proposed')), false);
    const open = (s: Side) => s.streams.filter((x) => !x.closed);
    assert.equal(open(a).length, 1);
    assert.equal(open(b).length, 1);
    assert.equal(open(a)[0]!.remotePort, open(b)[0]!.localPort);
    await talk(a, sa, b, sb, 'after glare');
  } finally {
    await a.close();
    await b.close();
  }
});

test('a peer adds a chat to an audio call (taken without asking, messages both ways) and removes it: the call goes on', async () => {
  const a = await side('alice');
  // the peer: a bare user agent whose session SDP the test drives section by section (as Blink's "chat" button does)
  const ua = new SipUserAgent({ user: 'blinkish', transport: 'tcp', host: '127.0.0.1', port: 0 });
  await ua.start();
  const got: string[] = [];
  const neg = new SessionNegotiator({ host: '127.0.0.1', owner: { streamFor: async () => null, removed: () => {} } });
  neg.add(new AudioSection(new FakeAudioStream()));
  try {
    const call = ua.call(a.ua.contactUri, neg);
    const inc = await a.until(incoming, 'incoming call');
    const sa = String(get(inc, 'session'));
    await a.core.command({ cmd: 'accept', session: sa });
    await a.until(audio(sa, 'active'), 'audio active');
    await new Promise<void>((r) => (call.state === 'established' ? r() : call.once('established', () => r())));

    const chat = new MsrpChatMedia({
      host: '127.0.0.1',
      localUri: ua.aor,
      remoteUri: a.ua.aor,
      log: () => undefined,
      onMessage: (m) => void got.push(m.text),
      onClosed: () => undefined,
    });
    neg.add(new ChatSection(chat));
    await new Promise((r) => setTimeout(r, 300));
    const r1 = await call.reinvite();
    assert.equal(r1.ok, true, `${r1.statusCode} ${r1.reason}`);
    await chat.connect();
    await chat.send('text/plain', 'chat added by the peer', { report: false });
    await a.until(message(sa, 'chat added by the peer'), 'message in the added chat');
    assert.equal(a.events.some(audio(sa, 'proposed')), false);
    await a.core.command({ cmd: 'send', session: sa, text: 'and back' });
    for (let i = 0; i < 100 && !got.includes('and back'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ['and back']);
    assert.deepEqual(a.core.getState().sessions.find((s) => s.id === sa)?.media, ['audio', 'chat']);

    neg.remove('chat')?.close();
    await new Promise((r) => setTimeout(r, 300));
    const r2 = await call.reinvite();
    assert.equal(r2.ok, true);
    for (
      let i = 0;
      i < 100 &&
      a.core
        .getState()
        .sessions.find((s) => s.id === sa)
        ?.media?.includes('chat');
      i++
    )
      await new Promise((r) => setTimeout(r, 20));
    const view = a.core.getState().sessions.find((s) => s.id === sa)!;
    assert.deepEqual(view.media, ['audio']);
    await new Promise((r) => setTimeout(r, 1700)); // past the grace a closed chat stream would have had
    assert.equal(a.core.getState().sessions.find((s) => s.id === sa)?.state, 'active');
    assert.equal(a.core.getState().sessions.find((s) => s.id === sa)?.audio?.state, 'active');
  } finally {
    await ua.stop();
    await a.close();
  }
});
