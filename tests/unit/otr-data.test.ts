import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataKeys } from '../../src/otr/data.js';
import { P } from '../../src/otr/crypto/group.js';
import { OtrProtocolError } from '../../src/otr/errors.js';
import { aesCtr, deriveSessionKeys, hmacSha1, newDhKeyPair } from '../../src/otr/keys.js';
import {
  decodeMessage,
  encodeDataAuthenticated,
  encodeDataTail,
  type DataMsg,
  type Header,
} from '../../src/otr/messages.js';
import { decodePlaintext, encodePlaintext } from '../../src/otr/tlv.js';

const H: Header = { version: 3, type: 0, senderTag: 0x100, receiverTag: 0x200 };
const code = (c: string) => (e: unknown) => e instanceof OtrProtocolError && e.code === c;

function pair() {
  const a1 = newDhKeyPair(),
    b1 = newDhKeyPair();
  return { a: new DataKeys(a1, 1, b1.pub, 1), b: new DataKeys(b1, 1, a1.pub, 1), a1, b1 };
}
const msg = (k: DataKeys, text: string) => decodeMessage(k.encrypt(H, 0, encodePlaintext(text, []))) as DataMsg;
const text = (k: DataKeys, m: DataMsg) => decodePlaintext(k.decrypt(m).plaintext).text;

test('first message uses key ids (1,1) and carries our next key; keys rotate as messages flow', () => {
  const { a, b } = pair();
  const m1 = msg(a, 'one');
  assert.equal(m1.senderKeyid, 1);
  assert.equal(m1.recipientKeyid, 1);
  assert.equal(text(b, m1), 'one');
  // B learned A's key 2.
  assert.deepEqual(b.keyids, { ourKeyid: 2, theirKeyid: 2 });
  const r1 = msg(b, 'reply');
  assert.equal(r1.senderKeyid, 1);
  assert.equal(r1.recipientKeyid, 2);
  assert.equal(text(a, r1), 'reply');
  // A saw B use its newest key (2): A rotates its own keys to 3.
  assert.deepEqual(a.keyids, { ourKeyid: 3, theirKeyid: 2 });
  for (let i = 0; i < 30; i++) {
    assert.equal(text(b, msg(a, `a${i}`)), `a${i}`);
    if (i % 3 === 0) assert.equal(text(a, msg(b, `b${i}`)), `b${i}`);
  }
  assert.ok(a.keyids.ourKeyid > 10 && b.keyids.ourKeyid > 10);
});

test('counters only go forward: replay and reordering within a key pair are refused', () => {
  const { a, b } = pair();
  const m1 = msg(a, 'one'),
    m2 = msg(a, 'two'),
    m3 = msg(a, 'three');
  assert.equal(Buffer.from(m1.ctr).toString('hex'), '0000000000000001');
  assert.equal(Buffer.from(m2.ctr).toString('hex'), '0000000000000002');
  assert.equal(text(b, m2), 'two');
  assert.throws(() => b.decrypt(m1), code('bad-counter'), 'older message after a newer one');
  assert.throws(() => b.decrypt(m2), code('bad-counter'), 'replay');
  assert.equal(text(b, m3), 'three');
  assert.throws(() => b.decrypt(m3), code('bad-counter'));
});

test('bad MAC, key ids 0 or unknown, and unusable counters are refused without changing state', () => {
  const { a, b } = pair();
  const m = msg(a, 'hello');
  const flipped = Uint8Array.from(m.encrypted);
  flipped[0]! ^= 1;
  assert.throws(
    () =>
      b.decrypt({
        ...m,
        encrypted: flipped,
        authenticated: Uint8Array.from(m.authenticated).map((v, i, arr) => (i === arr.length - 1 ? v ^ 1 : v)),
      }),
    code('bad-mac'),
  );
  assert.throws(() => b.decrypt({ ...m, mac: new Uint8Array(20) }), code('bad-mac'));
  assert.throws(() => b.decrypt({ ...m, senderKeyid: 0 }), code('bad-keyid'));
  assert.throws(() => b.decrypt({ ...m, recipientKeyid: 0 }), code('bad-keyid'));
  assert.throws(() => b.decrypt({ ...m, senderKeyid: 7 }), code('bad-keyid'));
  assert.throws(() => b.decrypt({ ...m, recipientKeyid: 3 }), code('bad-keyid'));
  // Sender keyid their_keyid-1 = 0 has no key.
  assert.deepEqual(b.keyids, { ourKeyid: 2, theirKeyid: 1 });
  assert.equal(text(b, m), 'hello', 'the genuine message is still accepted');
});

function forge(
  from: { priv: bigint; pub: bigint },
  to: bigint,
  opts: { ctr: bigint; nextDh: bigint; senderKeyid?: number; recipientKeyid?: number },
): DataMsg {
  const k = deriveSessionKeys(from.pub, from.priv, to);
  const top = Buffer.alloc(8);
  top.writeBigUInt64BE(opts.ctr);
  const enc = aesCtr(k.sendAes, encodePlaintext('forged', []), top);
  const auth = encodeDataAuthenticated(H, 0, opts.senderKeyid ?? 1, opts.recipientKeyid ?? 1, opts.nextDh, top, enc);
  return decodeMessage(encodeDataTail(auth, hmacSha1(k.sendMac, auth), new Uint8Array(0))) as DataMsg;
}

test("a correctly MAC'd message whose next D-H key is 0, 1, p-1 or p is refused", () => {
  const { b, a1, b1 } = pair();
  for (const nextDh of [0n, 1n, P - 1n, P]) {
    assert.throws(() => b.decrypt(forge(a1, b1.pub, { ctr: 1n, nextDh })), code('bad-group-element'));
  }
  assert.throws(() => b.decrypt(forge(a1, b1.pub, { ctr: 0n, nextDh: 5n })), code('bad-counter'), 'all-zero counter');
  assert.equal(decodePlaintext(b.decrypt(forge(a1, b1.pub, { ctr: 1n, nextDh: 5n })).plaintext).text, 'forged');
});

test('old MAC keys are revealed in the next message after their keys retire, and only used ones', () => {
  // A speaks first: (a1,b1) is only ever used by A to send, so retiring a1 reveals nothing.
  const { a, b } = pair();
  const m1 = msg(a, 'x');
  assert.equal(m1.oldMacKeys.length, 0);
  text(b, m1);
  text(a, msg(b, 'y')); // recipient keyid 2 = A's newest: A retires a1
  assert.equal(msg(a, 'z').oldMacKeys.length, 0);

  // B speaks first: A receives with (a1,b1), so when a1 retires its receiving MAC key must be revealed.
  const p = pair();
  const recv11 = deriveSessionKeys(p.a1.pub, p.a1.priv, p.b1.pub).recvMac;
  text(p.a, msg(p.b, 'b first')); // A verified a MAC with (a1,b1); A learns b2
  text(p.b, msg(p.a, 'a answers')); // sent with (a1,b2) and recipient keyid 2: B retires b1
  text(p.a, msg(p.b, 'b again')); // recipient keyid 2 = A's newest: A retires a1
  const next = msg(p.a, 'reveal');
  assert.equal(next.oldMacKeys.length % 20, 0);
  const revealed = [];
  for (let i = 0; i < next.oldMacKeys.length; i += 20)
    revealed.push(Buffer.from(next.oldMacKeys.subarray(i, i + 20)).toString('hex'));
  assert.ok(
    revealed.includes(Buffer.from(recv11).toString('hex')),
    'the used receiving MAC key of the retired key pair is revealed',
  );
  // A key is revealed once.
  assert.equal(msg(p.a, 'again').oldMacKeys.length, 0);
});

test('the extra symmetric key is the same on both ends of a message', () => {
  const { a, b } = pair();
  const k = a.sendingExtraKey();
  const d = b.decrypt(msg(a, 'use key'));
  assert.deepEqual(d.extraKey, k);
  assert.equal(k.length, 32);
});

test("decodePlaintext gives TextDecoder's text for long ASCII, non-ASCII, BOM-led and malformed UTF-8, with and without TLVs", () => {
  const td = new TextDecoder('utf-8');
  const cases: Uint8Array[] = [
    new TextEncoder().encode('a'.repeat(300)),
    new TextEncoder().encode('é'.repeat(300)),
    new TextEncoder().encode('\ufeff' + 'b'.repeat(300)),
    Uint8Array.from([...new TextEncoder().encode('c'.repeat(300)), 0xff, 0xc3, 0x28, 0xe2, 0x82]),
    new TextEncoder().encode('short'),
  ];
  for (const b of cases) {
    assert.equal(decodePlaintext(b).text, td.decode(b));
    const withTlv = Uint8Array.from([...b, 0, 0, 0, 0, 0]);
    const r = decodePlaintext(withTlv);
    assert.equal(r.text, td.decode(b));
    assert.deepEqual(r.tlvs, [{ type: 0, value: new Uint8Array(0) }]);
  }
});
