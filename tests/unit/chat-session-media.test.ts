// The session's SDP as media sections (src/chat/session-media.ts, sdp-compose.ts): composition, m-line positions
// across re-offers, port 0 for what is refused or removed, o= versions, rollback. Streams are small fakes that
// write one section each; the negotiator is the real one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OfferRefusedError,
  SessionNegotiator,
  type MediaKind,
  type SectionMedia,
  type SessionMediaOwner,
} from '../../src/chat/session-media.js';
import { SdpComposeError, splitSdp, type SdpSection } from '../../src/chat/sdp-compose.js';

class FakeSection implements SectionMedia {
  closed = 0;
  offers: string[] = [];
  answers: SdpSection[] = [];
  direction = 'sendrecv';
  constructor(
    readonly kind: MediaKind,
    private readonly port: number,
  ) {}
  private text(): string {
    return this.kind === 'audio'
      ? `m=audio ${this.port} RTP/AVP 96 0 101\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:96 opus/48000/2\r\na=${this.direction}\r\n`
      : `m=message ${this.port} TCP/MSRP *\r\nc=IN IP4 127.0.0.1\r\na=path:msrp://127.0.0.1:${this.port}/x;tcp\r\n`;
  }
  async offer(): Promise<string> {
    return this.text();
  }
  async answer(offer: SdpSection): Promise<string> {
    this.offers.push(offer.text);
    return this.text();
  }
  async applyAnswer(answer: SdpSection): Promise<void> {
    this.answers.push(answer);
  }
  close(): void {
    this.closed++;
  }
}

interface OwnerLog {
  asked: { kind: MediaKind | null; initial: boolean }[];
  gone: { kind: MediaKind; by: string }[];
  done: number;
}

function owner(decide: (kind: MediaKind | null) => SectionMedia | null | 'refuse'): SessionMediaOwner & OwnerLog {
  const o: SessionMediaOwner & OwnerLog = {
    asked: [],
    gone: [],
    done: 0,
    streamFor: async (kind, _s, initial) => {
      o.asked.push({ kind, initial });
      const d = decide(kind);
      if (d === 'refuse') throw new OfferRefusedError('declined');
      return d;
    },
    removed: (m, by) => void o.gone.push({ kind: m.kind, by }),
    negotiated: () => void o.done++,
  };
  return o;
}

const HEAD = 'v=0\r\no=bob 7 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n';
const MSG = 'm=message 2855 TCP/MSRP *\r\na=path:msrp://127.0.0.2:2855/y;tcp\r\n';
const AUDIO = 'm=audio 50000 RTP/AVP 96 9 0 8 101 102\r\na=rtpmap:96 opus/48000/2\r\na=sendrecv\r\n';
const AUDIO_OFF = 'm=audio 0 RTP/AVP 96 9 0 8 101 102\r\n';
const AUDIO_HOLD = 'm=audio 50000 RTP/AVP 96 9 0 8 101 102\r\na=rtpmap:96 opus/48000/2\r\na=sendonly\r\n';

function lines(sdp: string): string[] {
  return splitSdp(sdp).sections.map((s) => `${s.media.type} ${s.media.port === 0 ? 0 : 'on'}`);
}
function version(sdp: string): number {
  return Number(/^o=\S+ \d+ (\d+) /m.exec(sdp)![1]);
}

test('an offer: session lines once, then one section per stream in the order they were added', async () => {
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner(() => null) });
  n.add(new FakeSection('chat', 2855));
  n.add(new FakeSection('audio', 40000));
  const offer = await n.createOffer();
  assert.match(
    offer,
    /^v=0\r\no=- \d+ 1 IN IP4 127\.0\.0\.1\r\ns=blink-tui\r\nc=IN IP4 127\.0\.0\.1\r\nt=0 0\r\nm=message /,
  );
  assert.deepEqual(lines(offer), ['message on', 'audio on']);
  assert.equal((offer.match(/^v=0/gm) ?? []).length, 1);
  // each section keeps its own c= line
  assert.equal(
    splitSdp(offer).sections.every((s) => s.text.includes('c=IN IP4 127.0.0.1')),
    true,
  );
});

test('o= version: the same for an unchanged offer, one more for a changed one (RFC 3264 8)', async () => {
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner(() => null) });
  const audio = new FakeSection('audio', 40000);
  n.add(audio);
  const v1 = version(await n.createOffer());
  await n.applyAnswer(HEAD + AUDIO);
  const v2 = version(await n.createOffer());
  await n.applyAnswer(HEAD + AUDIO);
  audio.direction = 'sendonly';
  const v3 = version(await n.createOffer());
  assert.deepEqual([v1, v2, v3], [1, 1, 2]);
});

test("the peer's chat + audio offer, audio refused by the owner: m=audio 0 with the offer's formats, chat answered", async () => {
  const chat = new FakeSection('chat', 2856);
  const o = owner((k) => (k === 'chat' ? chat : null));
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: o });
  const answer = await n.createAnswer(HEAD + MSG + AUDIO);
  assert.deepEqual(lines(answer), ['message on', 'audio 0']);
  assert.match(answer, /^m=audio 0 RTP\/AVP 96 9 0 8 101 102\r$/m);
  assert.deepEqual(o.asked, [
    { kind: 'chat', initial: true },
    { kind: 'audio', initial: true },
  ]);
  // the chat section got the session-level c= line of the offer
  assert.match(chat.offers[0]!, /c=IN IP4 127\.0\.0\.2/);
});

test("Blink's audio re-INVITE on a chat: the answer keeps the message line and answers the audio line (never message alone)", async () => {
  const chat = new FakeSection('chat', 2856);
  const audio = new FakeSection('audio', 40002);
  const o = owner((k) => (k === 'chat' ? chat : audio));
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: o });
  await n.createAnswer(HEAD + MSG);
  const answer = await n.createAnswer(HEAD + MSG + AUDIO);
  assert.deepEqual(lines(answer), ['message on', 'audio on']);
  assert.deepEqual(o.asked.at(-1), { kind: 'audio', initial: false });
  assert.deepEqual(n.layout, ['chat', 'audio']);
  assert.equal(o.done, 2);
});

test('a re-offer the owner declines is refused as a whole (488) and the session stays as it was', async () => {
  const chat = new FakeSection('chat', 2856);
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner((k) => (k === 'chat' ? chat : 'refuse')) });
  await n.createAnswer(HEAD + MSG);
  await assert.rejects(n.createAnswer(HEAD + MSG + AUDIO), OfferRefusedError);
  assert.deepEqual(n.layout, ['chat']);
  // the next offer of ours is still the chat alone
  assert.deepEqual(lines(await n.createOffer()), ['message on']);
});

test('the peer removes audio (port 0): the stream is handed back, the line stays, a later audio takes the slot again', async () => {
  const chat = new FakeSection('chat', 2856);
  const audio = new FakeSection('audio', 40002);
  const o = owner((k) => (k === 'chat' ? chat : audio));
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: o });
  await n.createAnswer(HEAD + MSG + AUDIO);
  const answer = await n.createAnswer(HEAD + MSG + AUDIO_OFF);
  assert.deepEqual(lines(answer), ['message on', 'audio 0']);
  assert.deepEqual(o.gone, [{ kind: 'audio', by: 'offer' }]);
  assert.deepEqual(n.layout, ['chat', null]);
  // our own offer now carries the port-0 line in its place
  assert.deepEqual(lines(await n.createOffer()), ['message on', 'audio 0']);
  await n.applyAnswer(HEAD + MSG + AUDIO_OFF);
  // adding audio again reuses the slot: still two m-lines
  n.add(new FakeSection('audio', 40004));
  assert.deepEqual(lines(await n.createOffer()), ['message on', 'audio on']);
});

test('our removal: m=audio 0 in the same position; a refused re-INVITE (rollback) puts the stream back', async () => {
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner(() => null) });
  const chat = new FakeSection('chat', 2855);
  const audio = new FakeSection('audio', 40000);
  n.add(chat);
  n.add(audio);
  await n.createOffer();
  await n.applyAnswer(HEAD + MSG + AUDIO);
  assert.equal(n.remove('audio'), audio);
  const off = await n.createOffer();
  assert.deepEqual(lines(off), ['message on', 'audio 0']);
  n.rollback();
  assert.deepEqual(n.layout, ['chat', 'audio']);
  assert.deepEqual(lines(await n.createOffer()), ['message on', 'audio on']);
});

test("the peer's answer refuses our new audio (port 0): the stream is handed back as refused", async () => {
  const o = owner(() => null);
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: o });
  n.add(new FakeSection('chat', 2855));
  await n.createOffer();
  await n.applyAnswer(HEAD + MSG);
  n.add(new FakeSection('audio', 40000));
  await n.createOffer();
  await n.applyAnswer(HEAD + MSG + AUDIO_OFF);
  assert.deepEqual(o.gone, [{ kind: 'audio', by: 'answer' }]);
  assert.deepEqual(n.layout, ['chat', null]);
});

test('an answer with another number of m-lines, or lines of another type, is not applied', async () => {
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner(() => null) });
  n.add(new FakeSection('chat', 2855));
  n.add(new FakeSection('audio', 40000));
  await n.createOffer();
  await assert.rejects(n.applyAnswer(HEAD + MSG), /media lines/);
  await assert.rejects(n.applyAnswer(HEAD + AUDIO + MSG), /not m=message/);
});

test('a re-offer with fewer m-lines than before is refused (RFC 3264 8: lines are never removed)', async () => {
  const chat = new FakeSection('chat', 2856);
  const audio = new FakeSection('audio', 40002);
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner((k) => (k === 'chat' ? chat : audio)) });
  await n.createAnswer(HEAD + MSG + AUDIO);
  await assert.rejects(n.createAnswer(HEAD + MSG), OfferRefusedError);
  assert.deepEqual(n.layout, ['chat', 'audio']);
});

test('a hold offer reaches the stream with its direction (session-level direction counts too)', async () => {
  const audio = new FakeSection('audio', 40002);
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner(() => audio) });
  await n.createAnswer(HEAD + AUDIO);
  const seen: string[] = [];
  audio.answer = async (s) => {
    seen.push(s.direction);
    return 'm=audio 40002 RTP/AVP 96\r\na=recvonly\r\n';
  };
  await n.createAnswer(HEAD + AUDIO_HOLD);
  await n.createAnswer(HEAD.replace('t=0 0\r\n', 't=0 0\r\na=inactive\r\n') + AUDIO.replace('a=sendrecv\r\n', ''));
  assert.deepEqual(seen, ['sendonly', 'inactive']);
});

test('an offer whose every stream is refused is refused as a whole', async () => {
  const n = new SessionNegotiator({ host: '127.0.0.1', owner: owner(() => null) });
  await assert.rejects(n.createAnswer(HEAD + 'm=video 5000 RTP/AVP 96\r\n'), OfferRefusedError);
});

test('hostile SDP: only SdpComposeError, nothing allocated from what it claims', () => {
  for (const bad of [
    '',
    'v=0\r\n',
    HEAD + 'm=audio\r\n',
    HEAD + 'm=audio 99999 RTP/AVP 0\r\n',
    HEAD + 'm=audio x RTP/AVP 0\r\n',
    HEAD + 'm=audio 5000 RTP/AVP 0\r\n'.repeat(17),
    'v=0\r\n' + 'a=x\r\n'.repeat(20000),
  ]) {
    assert.throws(() => splitSdp(bad), SdpComposeError, JSON.stringify(bad.slice(0, 40)));
  }
});
