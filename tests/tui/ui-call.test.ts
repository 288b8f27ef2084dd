// The call in the terminal UI, pure parts: slash commands for calls, the header's call segments, the session list
// marker, the keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blankSessionView } from '../../src/chat/blank.js';
import type { AudioView, SessionView, ZrtpView } from '../../src/chat/types.js';
import { callSegments, duration, encryptionSegment, meter, sasRow } from '../../src/ui/call.js';
import { verifyRows } from '../../src/ui/VerifyView.js';
import { headerRows, chatStatusRow } from '../../src/ui/ChatView.js';
import { parseCommand } from '../../src/ui/commands.js';
import { keyAction } from '../../src/ui/keymap.js';
import { sessionRow } from '../../src/ui/SessionList.js';
import type { Key } from 'ink';

const text = (row: { text: string }[]) => row.map((s) => s.text).join('');

function audio(patch: Partial<AudioView> = {}): AudioView {
  return {
    state: 'active',
    codec: 'opus/48000',
    encryption: 'sdes',
    localHold: false,
    remoteHold: false,
    muted: false,
    since: 1_000_000,
    rxLevel: 0.3,
    txLevel: 0,
    rxPackets: 250,
    lost: 3,
    jitterMs: 2.25,
    rttMs: 0.4,
    ...patch,
  };
}

function session(patch: Partial<SessionView> = {}): SessionView {
  return { ...blankSessionView({ id: '1', peer: 'bob@example.org', direction: 'out', state: 'active' }), ...patch };
}

test('/call, /audio, /audio off, /hold, /resume, /mute, /dtmf map to the core commands', () => {
  const s = session({ audio: audio() });
  const ctx = { sessions: [s], selected: s };
  assert.deepEqual(parseCommand('/call bob@example.org', ctx), {
    kind: 'core',
    cmd: { cmd: 'call', to: 'sip:bob@example.org' },
    done: 'Calling sip:bob@example.org (audio)…',
  });
  const cmd = (line: string) => {
    const a = parseCommand(line, ctx);
    return a.kind === 'core' ? a.cmd : a;
  };
  assert.deepEqual(cmd('/audio'), { cmd: 'audio', session: '1', action: 'add' });
  assert.deepEqual(cmd('/audio off'), { cmd: 'audio', session: '1', action: 'remove' });
  assert.deepEqual(cmd('/hold'), { cmd: 'audio', session: '1', action: 'hold' });
  assert.deepEqual(cmd('/resume'), { cmd: 'audio', session: '1', action: 'resume' });
  assert.deepEqual(cmd('/mute'), { cmd: 'audio', session: '1', action: 'mute' });
  assert.deepEqual(cmd('/dtmf 12#'), { cmd: 'dtmf', session: '1', digits: '12#' });
  assert.equal(parseCommand('/dtmf 12x', ctx).kind, 'error');
  assert.equal(parseCommand('/call', ctx).kind, 'error');
  // no audio: hold and dtmf say so
  const plain = session();
  assert.match(
    String((parseCommand('/hold', { sessions: [plain], selected: plain }) as { message: string }).message),
    /No audio/,
  );
});

test('/accept and /reject answer an audio proposal on a running chat', () => {
  const s = session({ audio: audio({ state: 'proposed', codec: null, since: null }) });
  const a = parseCommand('/accept', { sessions: [s], selected: s });
  assert.deepEqual(a, { kind: 'core', cmd: { cmd: 'accept', session: '1' } });
  assert.match(text(chatStatusRow(s, false, false)), /wants to add audio: \/accept or \/reject/);
  assert.match(text(sessionRow(s, 0, true, 30)), /\/accept/);
});

test('the header shows the call: state, duration, codec, SRTP or not, meters; stats on Ctrl-T', () => {
  const s = session({ audio: audio(), media: ['chat', 'audio'] });
  const [, details] = headerRows(s, 200, false, 1_000_000 + 83_000);
  const d = text(details);
  assert.match(d, /☎ on call 01:23 · opus\/48000 · SRTP \(SDES\) · mic ▯▯▯▯▯ spk ▮+▯*/);
  assert.doesNotMatch(d, /jitter/);
  assert.match(text(headerRows(s, 200, true, 1_000_000)[1]), /lost 3 · jitter 2\.3 ms · RTT 0 ms/);
  const clear = text(headerRows(session({ audio: audio({ encryption: 'none' }) }), 200)[1]);
  assert.match(clear, /NOT ENCRYPTED/);
  const held = text(headerRows(session({ audio: audio({ state: 'held', localHold: true }) }), 200)[1]);
  assert.match(held, /on hold \(you\)/);
  assert.match(text(sessionRow(s, 0, false, 30)), /☎ bob/);
  // an audio-only call shows no MSRP transport
  assert.doesNotMatch(text(headerRows(session({ audio: audio(), media: ['audio'] }), 200)[1]), /msrp/);
});

test('meter and duration', () => {
  assert.equal(meter(0), '▯▯▯▯▯');
  assert.equal(meter(1), '▮▮▮▮▮');
  assert.ok(meter(0.05).startsWith('▮') && meter(0.05).endsWith('▯'));
  assert.equal(duration(3_723_000), '1:02:03');
  assert.equal(duration(59_999), '00:59');
  assert.match(text(callSegments(audio({ state: 'connecting', since: null, codec: null }), 0, false)), /calling…/);
});

test('keys: Alt-M mute, Alt-H hold, Alt-X hang up audio, Ctrl-T stats', () => {
  const k = (p: Partial<Key>) => ({ ...p }) as Key;
  const mode = { overlay: null, smpPrompt: false };
  assert.deepEqual(keyAction('m', k({ meta: true }), mode), { kind: 'call', what: 'mute' });
  assert.deepEqual(keyAction('h', k({ meta: true }), mode), { kind: 'call', what: 'hold' });
  assert.deepEqual(keyAction('x', k({ meta: true }), mode), { kind: 'call', what: 'hangup-audio' });
  assert.deepEqual(keyAction('t', k({ ctrl: true }), mode), { kind: 'call', what: 'stats' });
  assert.deepEqual(keyAction('m', k({}), mode), { kind: 'edit' });
});

function zrtp(patch: Partial<ZrtpView> = {}): ZrtpView {
  return {
    state: 'secure',
    sas: 'zqze',
    sasWords: 'aardvark adroitness',
    verified: false,
    verdict: null,
    cipher: 'AES1/HS80/EC25',
    cache: 'new',
    peerZid: '00112233445566778899aabb',
    ...patch,
  };
}

test('ZRTP in the header: negotiating, unverified with the SAS, verified, and the alarms in red', () => {
  const seg = (z: ZrtpView) => encryptionSegment(audio({ encryption: 'zrtp', zrtp: z }));
  assert.match(seg(zrtp({ state: 'negotiating', sas: null })).text, /ZRTP: agreeing on keys/);
  const unverified = seg(zrtp());
  assert.equal(unverified.text, ' · ZRTP unverified · SAS Z Q Z E');
  assert.equal(unverified.color, 'yellow');
  assert.equal(seg(zrtp({ verified: true })).color, 'green');
  for (const alarm of [zrtp({ verdict: 'rejected' }), zrtp({ cache: 'mismatch' }), zrtp({ state: 'failed' })])
    assert.equal(seg(alarm).color, 'red', JSON.stringify(alarm));
  // a mismatch the user then confirmed is no longer an alarm
  assert.equal(seg(zrtp({ cache: 'mismatch', verdict: 'confirmed', verified: true })).color, 'green');
  // SDES keeps its old segment
  assert.equal(encryptionSegment(audio()).text, ' · SRTP (SDES)');
  assert.match(text(callSegments(audio({ zrtp: zrtp() }), 1_000_000, false)), /SAS Z Q Z E/);
});

test('the SAS row under the messages, and the verify view shows the SAS beside both fingerprints', () => {
  const s = session({ audio: audio({ zrtp: zrtp() }) });
  const row = text(chatStatusRow(s, false, false));
  assert.match(row, /Z Q Z E/);
  assert.match(row, /aardvark adroitness/);
  assert.match(row, /Alt-S/);
  // verified: the row gives way to the usual status
  assert.doesNotMatch(
    text(chatStatusRow(session({ audio: audio({ zrtp: zrtp({ verified: true }) }) }), false, false)),
    /SAS/,
  );
  assert.match(
    text(chatStatusRow(session({ audio: audio({ zrtp: zrtp({ verdict: 'rejected' }) }) }), false, false)),
    /REJECTED/,
  );
  const fp = 'a'.repeat(40);
  const v = session({ audio: audio({ zrtp: zrtp() }) });
  v.otr = { ...v.otr, ourFingerprint: fp, theirFingerprint: 'b'.repeat(40) };
  const rows = verifyRows(v, 100).map(text).join('\n');
  assert.match(rows, /Z Q Z E/);
  assert.match(rows, /not compared yet/);
  assert.match(rows, /A A A A|aaaaaaaa|a a a a/i);
  assert.ok(sasRow(audio()) === null, 'no SAS row without ZRTP');
});

test('/sas confirm|reject and Alt-S map to the sas command; without a SAS they say so', () => {
  const s = session({ audio: audio({ zrtp: zrtp() }) });
  const ctx = { sessions: [s], selected: s };
  const a = parseCommand('/sas confirm', ctx);
  assert.equal(a.kind, 'core');
  assert.deepEqual(a.kind === 'core' && a.cmd, { cmd: 'sas', session: '1', action: 'confirm' });
  const r = parseCommand('/sas reject', ctx);
  assert.deepEqual(r.kind === 'core' && r.cmd, { cmd: 'sas', session: '1', action: 'reject' });
  assert.equal(parseCommand('/sas', ctx).kind, 'error');
  const noZrtp = session({ audio: audio() });
  assert.equal(parseCommand('/sas confirm', { sessions: [noZrtp], selected: noZrtp }).kind, 'error');
  const k = (p: Partial<Key>) => ({ ...p }) as Key;
  const mode = { overlay: null, smpPrompt: false };
  assert.deepEqual(keyAction('s', k({ meta: true }), mode), { kind: 'call', what: 'sas-confirm' });
  assert.deepEqual(keyAction('s', k({}), { overlay: 'verify', smpPrompt: false }), {
    kind: 'call',
    what: 'sas-confirm',
  });
});
