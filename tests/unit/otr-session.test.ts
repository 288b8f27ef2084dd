import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OtrSession, DEFAULT_POLICY, ALWAYS_POLICY, type OtrEvent, type OtrPolicy } from '../../src/otr/index.js';
import { generateDsaKey } from '../../src/keys/dsa-key.js';
import { P } from '../../src/otr/crypto/group.js';
import { WS_BASE, WS_V2, WS_V3 } from '../../src/otr/query.js';
import { decodeMessage, encodeDhKey, encodeDhCommit, type DataMsg } from '../../src/otr/messages.js';
import { base64Encode, frameEncoded, unframeEncoded } from '../../src/otr/wire.js';
import { parseFragment } from '../../src/otr/fragment.js';

const keyA = generateDsaKey();
const keyB = generateDsaKey();

type Side = 'a' | 'b';
/** In-order delivery between two sessions, recording every non-send event each side produced. */
class Net {
  queue: Array<{ to: Side; wire: string }> = [];
  events: Record<Side, OtrEvent[]> = { a: [], b: [] };
  wires: Record<Side, string[]> = { a: [], b: [] };
  drop: ((to: Side, wire: string) => boolean) | null = null;
  constructor(
    public a: OtrSession,
    public b: OtrSession,
  ) {}
  push(from: Side, evs: OtrEvent[]): void {
    for (const e of evs) {
      if (e.type === 'send')
        for (const w of e.wire) {
          this.wires[from].push(w);
          this.queue.push({ to: from === 'a' ? 'b' : 'a', wire: w });
        }
      else this.events[from].push(e);
    }
  }
  run(max = 500): void {
    let n = 0;
    while (this.queue.length) {
      if (++n > max) throw new Error('message storm');
      const { to, wire } = this.queue.shift()!;
      if (this.drop?.(to, wire)) continue;
      this.push(to, this[to].receive(wire));
    }
  }
  texts(side: Side): Array<{ text: string; encrypted: boolean }> {
    return this.events[side].flatMap((e) =>
      e.type === 'message' && e.text !== '' ? [{ text: e.text, encrypted: e.encrypted }] : [],
    );
  }
  errors(side: Side): string[] {
    return this.events[side].flatMap((e) => (e.type === 'error' ? [e.message] : []));
  }
  clear(): void {
    this.events = { a: [], b: [] };
    this.wires = { a: [], b: [] };
  }
}

function sessions(
  pa: Partial<ConstructorParameters<typeof OtrSession>[0]> = {},
  pb: Partial<ConstructorParameters<typeof OtrSession>[0]> = {},
): Net {
  return new Net(new OtrSession({ key: keyA, ...pa }), new OtrSession({ key: keyB, ...pb }));
}

function establish(net: Net, who: Side = 'a'): void {
  net.push(who, net[who].start());
  net.run();
  assert.equal(net.a.state, 'encrypted');
  assert.equal(net.b.state, 'encrypted');
}

const v2only: OtrPolicy = { ...DEFAULT_POLICY, allowV3: false };

test('v3 conversation: query, AKE, fingerprints, ssid, many messages each way with key rotation', () => {
  const net = sessions();
  establish(net);
  assert.equal(net.a.version, 3);
  assert.equal(net.a.theirFingerprint, net.b.ourFingerprint);
  assert.equal(net.b.theirFingerprint, net.a.ourFingerprint);
  assert.match(net.a.ourFingerprint, /^[0-9A-F]{40}$/);
  assert.deepEqual(net.a.ssid, net.b.ssid);
  assert.equal(net.a.ssid!.length, 8);
  assert.equal(net.a.theirInstanceTag, net.b.instanceTag);
  const st = net.events.a.filter((e) => e.type === 'state');
  assert.deepEqual(st, [{ type: 'state', state: 'encrypted', version: 3, theirFingerprint: net.b.ourFingerprint }]);
  // ssid display: one side reads the first half in bold, the other the second.
  assert.notEqual(net.a.ssidDisplay!.bold, net.b.ssidDisplay!.bold);
  net.clear();
  const keyids = new Set<number>();
  for (let i = 0; i < 40; i++) {
    net.push('a', net.a.send(`a->b ${i} ✓ ünïcödé`));
    if (i % 2 === 0) net.push('b', net.b.send(`b->a ${i}`));
    net.run();
  }
  for (const w of net.wires.a) {
    const m = decodeMessage(unframeEncoded(w));
    if (m.kind === 'data') keyids.add(m.senderKeyid);
    assert.ok(!w.includes('a->b'), 'no plaintext on the wire');
  }
  assert.ok(keyids.size > 10, `keys rotated (${keyids.size} sender key ids)`);
  assert.deepEqual(
    net.texts('b').map((t) => t.text),
    Array.from({ length: 40 }, (_, i) => `a->b ${i} ✓ ünïcödé`),
  );
  assert.ok(net.texts('b').every((t) => t.encrypted));
  assert.equal(net.texts('a').length, 20);
  assert.deepEqual(net.errors('a'), []);
  assert.deepEqual(net.errors('b'), []);
});

test('MAC keys are revealed on the wire after rotation', () => {
  const net = sessions();
  establish(net);
  let revealed = 0;
  for (let i = 0; i < 6; i++) {
    net.push('a', net.a.send(`x${i}`));
    net.run();
    net.push('b', net.b.send(`y${i}`));
    net.run();
  }
  for (const w of [...net.wires.a, ...net.wires.b]) {
    if (!w.startsWith('?OTR:')) continue;
    const m = decodeMessage(unframeEncoded(w));
    if (m.kind === 'data') {
      assert.equal(m.oldMacKeys.length % 20, 0);
      revealed += m.oldMacKeys.length / 20;
    }
  }
  assert.ok(revealed >= 4, `revealed ${revealed} MAC keys`);
});

test('v2 conversation (no instance tags on the wire)', () => {
  const net = sessions({ policy: v2only }, {});
  establish(net);
  assert.equal(net.a.version, 2);
  assert.equal(net.b.version, 2);
  for (const w of net.wires.b) assert.ok(w.startsWith('?OTR:AAI'), w.slice(0, 10));
  net.push('a', net.a.send('hello v2'));
  net.push('b', net.b.send('hi v2'));
  net.run();
  assert.deepEqual(
    net.texts('b').map((t) => t.text),
    ['hello v2'],
  );
  assert.deepEqual(
    net.texts('a').map((t) => t.text),
    ['hi v2'],
  );
});

for (const version of [3, 2] as const) {
  test(`v${version} with forced fragmentation both ways`, () => {
    const pol = version === 2 ? v2only : DEFAULT_POLICY;
    const net = sessions({ maxFragmentSize: 80, policy: pol }, { maxFragmentSize: 120, policy: pol });
    establish(net);
    for (const w of [...net.wires.a.slice(1), ...net.wires.b]) {
      assert.ok(w.length <= 120);
      assert.equal(parseFragment(w)!.version, version);
    }
    const long = 'long message '.repeat(50);
    net.push('a', net.a.send(long));
    net.push('b', net.b.send('short'));
    net.run();
    assert.deepEqual(
      net.texts('b').map((t) => t.text),
      [long],
    );
    assert.deepEqual(
      net.texts('a').map((t) => t.text),
      ['short'],
    );
  });
}

test('crossed start: both send queries at once (as Blink does) and still converge, repeatedly', () => {
  for (let i = 0; i < 5; i++) {
    const net = sessions({
      queryText: ' I would like to start an Off-the-Record private conversation, but you do not seem to support that.',
    });
    net.push('a', net.a.start());
    net.push('b', net.b.start());
    net.run();
    assert.equal(net.a.state, 'encrypted');
    assert.equal(net.b.state, 'encrypted');
    assert.deepEqual(net.a.ssid, net.b.ssid);
    net.push('a', net.a.send('ping'));
    net.push('b', net.b.send('pong'));
    net.run();
    assert.deepEqual(
      net.texts('b').map((t) => t.text),
      ['ping'],
    );
    assert.deepEqual(
      net.texts('a').map((t) => t.text),
      ['pong'],
    );
  }
});

test('crossed start with duplicated messages still converges', () => {
  const net = sessions();
  const dup = new Set<string>();
  // Every AKE message is delivered twice.
  const origPush = net.push.bind(net);
  net.push = (from, evs) => {
    origPush(from, evs);
    for (const e of evs)
      if (e.type === 'send')
        for (const w of e.wire)
          if (w.startsWith('?OTR:') && !dup.has(w)) {
            dup.add(w);
            net.queue.push({ to: from === 'a' ? 'b' : 'a', wire: w });
          }
  };
  net.push('a', net.a.start());
  net.push('b', net.b.start());
  net.run();
  assert.equal(net.a.state, 'encrypted');
  assert.equal(net.b.state, 'encrypted');
  net.push('a', net.a.send('after dup'));
  net.run();
  assert.ok(net.texts('b').some((t) => t.text === 'after dup'));
});

test('whitespace tag: sent on plaintext, stripped on receipt, starts the AKE; stops once the peer talks plaintext', () => {
  const net = sessions({}, {});
  const out = net.a.send('hi there');
  const wire = (out[0] as { wire: string[] }).wire[0]!;
  assert.equal(wire, 'hi there' + WS_BASE + WS_V2 + WS_V3);
  net.push('a', out);
  net.run();
  assert.deepEqual(net.texts('b'), [{ text: 'hi there', encrypted: false }]);
  assert.ok(net.events.b.some((e) => e.type === 'peer-supports-otr'));
  assert.equal(net.a.state, 'encrypted');
  // The tag goes on the first message only (libotr's OFFER_SENT): a tag on every message made the peer restart
  // its AKE with each one.
  const c = new OtrSession({ key: keyA });
  assert.deepEqual(c.send('one'), [{ type: 'send', wire: ['one' + WS_BASE + WS_V2 + WS_V3] }]);
  assert.deepEqual(c.send('two'), [{ type: 'send', wire: ['two'] }]);
  // Nor after a Query: that offer was made already.
  const d = new OtrSession({ key: keyA });
  d.start();
  assert.deepEqual(d.send('after the query'), [{ type: 'send', wire: ['after the query'] }]);
  // A peer that answers our tag with untagged plaintext declined; after an end() in plaintext we still do not ask.
  const e = new OtrSession({ key: keyA });
  e.send('tagged');
  e.receive('plain hello');
  assert.deepEqual(e.send('reply'), [{ type: 'send', wire: ['reply'] }]);
});

test('whitespace tags never restart an AKE in progress nor an encrypted conversation; a Query mid-AKE resends the same commit', () => {
  const net = sessions();
  establish(net);
  net.clear();
  const tagged = 'hi' + WS_BASE + WS_V3;
  const ev = net.b.receive(tagged);
  assert.deepEqual(
    ev.filter((e) => e.type === 'send'),
    [],
    'no new AKE from a tag while encrypted',
  );
  assert.equal(net.b.akeInProgress, false);
  // Mid-AKE: b has sent a commit and waits for the D-H Key; a tag is ignored, a Query gets the same commit back.
  const c = new OtrSession({ key: keyA });
  const first = c.receive('?OTRv3?').find((e) => e.type === 'send') as { wire: string[] };
  assert.equal(c.authState, 'awaiting-dhkey');
  assert.deepEqual(
    c.receive('x' + WS_BASE + WS_V3).filter((e) => e.type === 'send'),
    [],
  );
  const again = c.receive('?OTRv3?').find((e) => e.type === 'send') as { wire: string[] };
  assert.deepEqual(again.wire, first.wire);
});

test('whitespace tag: an unknown version tag before ours is skipped (an OTRv4 client sends its own first)', () => {
  const WS_V4 = '  \t\t \t  ';
  const b = new OtrSession({ key: keyB });
  const ev = b.receive('hello' + WS_BASE + WS_V4 + WS_V3);
  assert.deepEqual(ev[0], { type: 'message', text: 'hello', encrypted: false, tlvs: [] });
  assert.ok(
    ev.some((e) => e.type === 'send'),
    'the AKE starts',
  );
  assert.equal(b.authState, 'awaiting-dhkey');
});

test('whitespace tag with WHITESPACE_START_AKE off only displays the text', () => {
  const b = new OtrSession({ key: keyB, policy: { ...DEFAULT_POLICY, whitespaceStartAke: false } });
  const ev = b.receive('yo' + WS_BASE + WS_V3);
  assert.deepEqual(
    ev.filter((e) => e.type === 'send'),
    [],
  );
  assert.deepEqual(ev[0], { type: 'message', text: 'yo', encrypted: false, tlvs: [] });
});

test('end(): TLV 1 -> the peer goes to finished; its sends are held, not leaked; end() again -> plaintext', () => {
  const net = sessions();
  establish(net);
  net.clear();
  net.push('a', net.a.end());
  net.run();
  assert.equal(net.a.state, 'plaintext');
  assert.equal(net.b.state, 'finished');
  assert.deepEqual(
    net.events.b.filter((e) => e.type === 'state'),
    [{ type: 'state', state: 'finished', version: null, theirFingerprint: net.a.ourFingerprint }],
  );
  const ev = net.b.send('are you there?');
  assert.ok(
    ev.every((e) => e.type !== 'send'),
    'nothing is sent in FINISHED',
  );
  assert.ok(ev.some((e) => e.type === 'held'));
  assert.ok(ev.some((e) => e.type === 'error'));
  const ev2 = net.b.end();
  assert.deepEqual(ev2, [{ type: 'state', state: 'plaintext', version: null, theirFingerprint: null }]);
  assert.deepEqual(net.a.end(), [], 'end() in plaintext does nothing');
});

test('a message held in FINISHED goes out encrypted after a new AKE', () => {
  const net = sessions();
  establish(net);
  net.push('a', net.a.end());
  net.run();
  net.clear();
  net.b.send('held while finished');
  net.push('b', net.b.refresh());
  net.run();
  assert.equal(net.b.state, 'encrypted');
  assert.deepEqual(net.texts('a'), [{ text: 'held while finished', encrypted: true }]);
});

test('REQUIRE_ENCRYPTION: plaintext is never sent; it is held, a query goes out, and it is sent once encrypted', () => {
  const net = sessions({ policy: ALWAYS_POLICY }, {});
  const e1 = net.a.send('secret one');
  const e2 = net.a.send('secret two');
  assert.deepEqual(
    e1.filter((e) => e.type === 'held'),
    [{ type: 'held', count: 1 }],
  );
  assert.deepEqual(e2, [{ type: 'held', count: 2 }]);
  const sent = e1.flatMap((e) => (e.type === 'send' ? e.wire : []));
  assert.equal(sent.length, 1);
  assert.match(sent[0]!, /^\?OTRv23\?/);
  net.push('a', e1);
  net.run();
  assert.equal(net.a.state, 'encrypted');
  for (const w of net.wires.a) assert.ok(!w.includes('secret'), 'plaintext never on the wire');
  assert.deepEqual(net.texts('b'), [
    { text: 'secret one', encrypted: true },
    { text: 'secret two', encrypted: true },
  ]);
  // An unencrypted message received under REQUIRE_ENCRYPTION is shown with a warning.
  const w = new OtrSession({ key: keyA, policy: ALWAYS_POLICY }).receive('plain');
  assert.ok(w.some((e) => e.type === 'error' && !e.fromPeer));
});

test('plaintext received while encrypted is shown but flagged', () => {
  const net = sessions();
  establish(net);
  const ev = net.a.receive('oops in the clear');
  assert.deepEqual(ev[0], { type: 'message', text: 'oops in the clear', encrypted: false, tlvs: [] });
  assert.ok(ev.some((e) => e.type === 'error'));
});

test('?OTR Error: is reported fromPeer; ERROR_START_AKE answers with a query', () => {
  const a = new OtrSession({ key: keyA });
  const ev = a.receive('?OTR Error: You transmitted an unreadable encrypted message.');
  assert.deepEqual(ev[0], {
    type: 'error',
    message: 'You transmitted an unreadable encrypted message.',
    fromPeer: true,
  });
  assert.match((ev[1] as { wire: string[] }).wire[0]!, /^\?OTRv23\?/);
  const b = new OtrSession({ key: keyA, policy: { ...DEFAULT_POLICY, errorStartAke: false } });
  assert.deepEqual(b.receive('?OTR Error: x'), [{ type: 'error', message: 'x', fromPeer: true }]);
});

test('query versions and policy pick the version; no common version -> no AKE', () => {
  const a = new OtrSession({ key: keyA, policy: v2only });
  const ev = a.receive('?OTRv3?');
  assert.deepEqual(ev, [{ type: 'peer-supports-otr', versions: [3] }]);
  const b = new OtrSession({ key: keyA });
  const ev2 = b.receive('?OTR?v2?');
  const w = (ev2[1] as { wire: string[] }).wire[0]!;
  assert.equal(decodeMessage(unframeEncoded(w)).header.version, 2);
  assert.equal(b.queryMessage().startsWith('?OTRv23? '), true);
  assert.equal(
    new OtrSession({ key: keyA, policy: { ...DEFAULT_POLICY, allowV2: false } }).queryMessage().startsWith('?OTRv3?'),
    true,
  );
});

test('OTR disabled by policy: messages pass through untouched', () => {
  const off = { ...DEFAULT_POLICY, allowV2: false, allowV3: false };
  const a = new OtrSession({ key: keyA, policy: off });
  assert.deepEqual(a.send('x'), [{ type: 'send', wire: ['x'] }]);
  assert.deepEqual(a.receive('?OTRv23?'), [{ type: 'message', text: '?OTRv23?', encrypted: false, tlvs: [] }]);
});

test('unreadable data messages: error message to the peer; IGNORE_UNREADABLE honoured; plaintext state too', () => {
  const net = sessions();
  establish(net);
  // A valid message from a to b, then corrupted (MAC fails).
  const w = (net.a.send('hello').find((e) => e.type === 'send') as { wire: string[] }).wire[0]!;
  const bin = unframeEncoded(w);
  const bad = Uint8Array.from(bin);
  bad[bad.length - 30]! ^= 1; // inside the MAC
  const ev = net.b.receive(frameEncoded(bad));
  assert.ok(ev.some((e) => e.type === 'error' && !e.fromPeer));
  const reply = ev.find((e) => e.type === 'send') as { wire: string[] };
  assert.match(reply.wire[0]!, /^\?OTR Error: /);
  // The good one still decrypts afterwards.
  assert.deepEqual(net.b.receive(w)[0], { type: 'message', text: 'hello', encrypted: true, tlvs: [] });
  // Replayed: unreadable.
  assert.ok(net.b.receive(w).some((e) => e.type === 'error'));
  // With IGNORE_UNREADABLE set (byte after the header), silence.
  const ign = Uint8Array.from(bad);
  ign[11] = 1;
  assert.deepEqual(net.b.receive(frameEncoded(ign)), []);
  // A data message to a session in plaintext.
  const fresh = new OtrSession({ key: keyB, instanceTag: net.b.instanceTag });
  const ev2 = fresh.receive(w);
  assert.ok(ev2.some((e) => e.type === 'send' && e.wire[0]!.startsWith('?OTR Error:')));
});

test('heartbeat: a received data message answers with an empty IGNORE_UNREADABLE message only after a quiet period', () => {
  let now = 1_000_000;
  const net = sessions({ now: () => now }, { now: () => now });
  establish(net);
  net.clear();
  net.push('a', net.a.send('first'));
  net.run();
  // b has just sent its AKE messages: that counts as sending (libotr), so no heartbeat yet.
  assert.equal(net.wires.b.length, 0, 'no heartbeat right after the AKE');
  net.push('a', net.a.send('second'));
  net.run();
  assert.equal(net.wires.b.length, 0, 'no heartbeat within the interval');
  now += 61_000;
  net.push('a', net.a.send('third'));
  net.run();
  const hb = net.wires.b.map((w) => decodeMessage(unframeEncoded(w)) as DataMsg);
  assert.equal(hb.length, 1, 'heartbeat after the interval');
  assert.equal(hb[0]!.flags & 1, 1);
  assert.deepEqual(net.texts('a'), [], 'heartbeats are not displayed');
});

test('instance tags: ours is >= 0x100; messages for another instance or from invalid senders are ignored', () => {
  for (let i = 0; i < 50; i++) assert.ok(new OtrSession({ key: keyA }).instanceTag >= 0x100);
  assert.throws(() => new OtrSession({ key: keyA, instanceTag: 0xff }), RangeError);
  const a = new OtrSession({ key: keyA, instanceTag: 0x1000 });
  const h = (s: number, r: number) => ({ version: 3 as const, type: 0, senderTag: s, receiverTag: r });
  const commit = (s: number, r: number) =>
    frameEncoded(encodeDhCommit(h(s, r), new Uint8Array(196), new Uint8Array(32)));
  assert.equal(a.receive(commit(0x2000, 0x1001)).length, 0, 'other receiver');
  assert.equal(a.receive(commit(0xff, 0)).length, 0, 'sender tag < 0x100');
  assert.equal(a.receive(commit(0x2000, 0x50)).length, 0, 'receiver tag in 1..0xff');
  assert.equal(a.receive(commit(0x2000, 0)).length, 1, 'receiver 0 is fine for a D-H Commit');
  assert.equal(a.receive(commit(0x2000, 0x1000)).length, 1);
  // A D-H Key with receiver 0 is not accepted.
  const b = new OtrSession({ key: keyB, instanceTag: 0x3000 });
  b.receive('?OTRv3?');
  assert.equal(b.authState, 'awaiting-dhkey');
  assert.deepEqual(b.receive(frameEncoded(encodeDhKey(h(0x2000, 0), 5n))), []);
  // Fragments addressed elsewhere are dropped before reassembly.
  assert.deepEqual(a.receive('?OTR|00002000|00001001,1,1,?OTR:AAMC.,'), []);
});

test('data messages from another instance of the peer are unreadable for this session', () => {
  const net = sessions();
  establish(net);
  const w = (net.a.send('x').find((e) => e.type === 'send') as { wire: string[] }).wire[0]!;
  const bin = unframeEncoded(w);
  bin.set([0, 0, 0x99, 0x99], 3); // change the sender instance tag
  const ev = net.b.receive(frameEncoded(bin));
  assert.ok(ev.some((e) => e.type === 'error'));
  assert.equal(net.b.state, 'encrypted');
});

test('hostile input never throws out of receive() and never changes an encrypted session', () => {
  const net = sessions();
  establish(net);
  const b = net.b;
  const good = (net.a.send('keep working').find((e) => e.type === 'send') as { wire: string[] }).wire[0]!;
  const inputs: string[] = [
    '?OTR:',
    '?OTR:.',
    '?OTR:AAMC',
    '?OTR:!!!!.',
    '?OTR:AAM=.',
    '?OTR:AAMDAA==.',
    '?OTR:' + 'A'.repeat(100001) + '.',
    '?OTR:' + base64Encode(Uint8Array.from([0, 3, 3, 0, 0, 1, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff])) + '.',
    '?OTR:' + base64Encode(Uint8Array.from([0, 1, 3])) + '.',
    '?OTR:' + base64Encode(Uint8Array.from([0, 3, 0x99, 0, 0, 1, 0, 0, 0, 0, 0])) + '.',
    '?OTR,0,0,x,',
    '?OTR,2,1,x,',
    '?OTR,1,65535,?OTR:AAMC,',
    '?OTR|ffffffff|00000000,1,1,junk,',
    '?OTR|1|2|3,1,1,x,',
    '?OTR Error:',
    '?OTRv',
    '?OTR?',
    '?OTRvvvvvvvv?',
    WS_BASE,
    WS_BASE + WS_V3 + WS_V3,
    '\u0000\uffff\ud800',
    '',
  ];
  // Truncations of a real data message.
  for (let n = 6; n < good.length - 1; n += 37) inputs.push(good.slice(0, n) + '.');
  for (const inp of inputs) {
    let ev: OtrEvent[] = [];
    assert.doesNotThrow(
      () => {
        ev = b.receive(inp);
      },
      inp.slice(0, 30),
    );
    assert.ok(Array.isArray(ev));
  }
  assert.equal(b.state, 'encrypted');
  assert.deepEqual(
    b.receive(good).find((e) => e.type === 'message'),
    { type: 'message', text: 'keep working', encrypted: true, tlvs: [] },
  );
});

test('D-H Key values 0, 1, p-1 and p through the session: reported, AKE keeps waiting', () => {
  const b = new OtrSession({ key: keyB, instanceTag: 0x3000 });
  b.receive('?OTRv3?');
  const h = { version: 3 as const, type: 0, senderTag: 0x2000, receiverTag: 0x3000 };
  for (const gy of [0n, 1n, P - 1n, P]) {
    const ev = b.receive(frameEncoded(encodeDhKey(h, gy)));
    assert.ok(ev.length === 1 && ev[0]!.type === 'error', gy.toString(16).slice(0, 6));
    assert.equal(b.authState, 'awaiting-dhkey');
  }
});

test('ordinary text that merely contains "?OTR," is shown, not swallowed as a fragment', () => {
  const a = new OtrSession({ key: keyA });
  assert.deepEqual(a.receive('what does ?OTR, mean'), [
    { type: 'message', text: 'what does ?OTR, mean', encrypted: false, tlvs: [] },
  ]);
});

test('fragments out of order are discarded; in order they deliver', () => {
  const net = sessions({ maxFragmentSize: 100 }, {});
  establish(net);
  const frags = (
    net.a.send('fragment me please, this is long enough'.repeat(5)).find((e) => e.type === 'send') as { wire: string[] }
  ).wire;
  assert.ok(frags.length >= 3);
  const b = net.b;
  assert.deepEqual(b.receive(frags[1]!), []);
  assert.deepEqual(b.receive(frags[0]!), []);
  assert.deepEqual(b.receive(frags[2]!), [], 'k=3 after k=1 is out of order: dropped');
  for (const f of frags) {
    const ev = b.receive(f);
    if (f === frags[frags.length - 1]) assert.equal(ev[0]!.type, 'message');
  }
});

test('SMP through the session: success, failure, question, abort', () => {
  const net = sessions();
  establish(net);
  net.clear();
  net.push('a', net.a.smpStart('correct horse', 'favourite?'));
  net.run();
  const asked = net.events.b.find((e) => e.type === 'smp');
  assert.deepEqual(asked, { type: 'smp', event: { type: 'asked', question: 'favourite?' } });
  net.push('b', net.b.smpRespond('correct horse'));
  net.run();
  assert.ok(net.events.a.some((e) => e.type === 'smp' && e.event.type === 'success'));
  assert.ok(net.events.b.some((e) => e.type === 'smp' && e.event.type === 'success'));
  net.clear();
  net.push('b', net.b.smpStart('one'));
  net.run();
  net.push('a', net.a.smpRespond('two'));
  net.run();
  assert.ok(net.events.a.some((e) => e.type === 'smp' && e.event.type === 'failure'));
  assert.ok(net.events.b.some((e) => e.type === 'smp' && e.event.type === 'failure'));
  net.clear();
  net.push('a', net.a.smpStart('x'));
  net.run();
  net.push('b', net.b.smpAbort());
  net.run();
  assert.ok(net.events.a.some((e) => e.type === 'smp' && e.event.type === 'aborted'));
  // SMP outside an encrypted session is refused locally.
  assert.equal(new OtrSession({ key: keyA }).smpStart('s')[0]!.type, 'error');
});

test('v3 extra symmetric key: TLV 8 carries the use, both ends derive the same key', () => {
  const net = sessions();
  establish(net);
  const { key, events } = net.a.useExtraSymmetricKey(0x00010002, Uint8Array.of(9, 9));
  assert.ok(key && key.length === 32);
  net.push('a', events);
  net.run();
  const got = net.b.receivedExtraSymmetricKey;
  assert.ok(got);
  assert.deepEqual(got.key, key);
  assert.equal(got.use, 0x00010002);
  assert.deepEqual(got.useData, Uint8Array.of(9, 9));
  const msg = net.events.b.find((e) => e.type === 'message');
  assert.ok(msg && msg.type === 'message' && msg.tlvs.some((t) => t.type === 8));
});

test('refresh() re-keys an encrypted session; messages keep flowing', () => {
  const net = sessions();
  establish(net);
  const before = net.a.ssid;
  net.push('a', net.a.refresh());
  net.run();
  assert.equal(net.a.state, 'encrypted');
  assert.notDeepEqual(net.a.ssid, before);
  assert.deepEqual(net.a.ssid, net.b.ssid);
  net.clear();
  net.push('b', net.b.send('after refresh'));
  net.run();
  assert.deepEqual(net.texts('a'), [{ text: 'after refresh', encrypted: true }]);
});

test('a lost AKE message: once the AKE is stale, the peer restarting converges', () => {
  let now = 1_000_000;
  const net = sessions({ now: () => now }, { now: () => now });
  let dropped = false;
  net.drop = (_to, w) => {
    if (!dropped && w.startsWith('?OTR:AAMR')) {
      dropped = true;
      return true;
    }
    return false;
  }; // lose the reveal sig
  net.push('a', net.a.start());
  net.run();
  assert.notEqual(net.a.state, 'encrypted');
  // Within AKE_STALE_MS a Query does not restart the exchange (the peer may be about to finish it) ...
  net.push('a', net.a.start());
  net.run();
  assert.notEqual(net.a.state, 'encrypted');
  // ... after it, it does.
  now += 10_001;
  net.push('a', net.a.start());
  net.run();
  assert.equal(net.a.state, 'encrypted');
  assert.equal(net.b.state, 'encrypted');
});

test('leaving the encrypted state abandons an SMP run in progress, with an aborted event', () => {
  const net = sessions();
  establish(net);
  net.push('a', net.a.smpStart('s'));
  net.run();
  assert.equal(net.a.smpInProgress, true);
  const ev = net.a.end();
  assert.ok(ev.some((e) => e.type === 'smp' && e.event.type === 'aborted'));
  assert.equal(net.a.smpInProgress, false);
});

test('TLVs inside data messages reach the message event; a NUL in text is refused locally', () => {
  const net = sessions();
  establish(net);
  net.clear();
  net.push(
    'a',
    net.a.send('with tlv', [
      { type: 0, value: new Uint8Array(5) },
      { type: 0x1234, value: Uint8Array.of(1) },
    ]),
  );
  net.run();
  const m = net.events.b.find((e) => e.type === 'message');
  assert.ok(m && m.type === 'message');
  assert.equal(m.text, 'with tlv');
  assert.deepEqual(
    m.tlvs.map((t) => t.type),
    [0, 0x1234],
  );
  const bad = net.a.send('a\u0000b');
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.type, 'error');
});
