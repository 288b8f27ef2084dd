import './ui-force-color.js';
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup } from 'ink-testing-library';
import { FixtureCore, session, otr, line, BOB_FP, OUR_FP } from './ui-fixture-core.js';
import { mount, mountSized, stripAnsi, waitFor } from './ui-harness.js';

const GREEN = '\u001b[32m';
const YELLOW = '\u001b[33m';
const RED = '\u001b[31m';
const CYAN = '\u001b[36m';

function row(frame: string, needle: string): string {
  const r = frame.split('\n').find((l) => stripAnsi(l).includes(needle));
  assert.ok(r !== undefined, `no row with ${JSON.stringify(needle)} in:\n${stripAnsi(frame)}`);
  return r;
}

/** The colour code that is in force right where `marker` starts in a row. */
function colourAt(r: string, marker: string): string | null {
  const i = r.indexOf(marker);
  assert.ok(i >= 0, `marker ${marker} not in ${JSON.stringify(r)}`);
  const before = r.slice(0, i);
  const codes = [...before.matchAll(/\u001b\[(\d+)m/g)].map((m) => Number(m[1]));
  let fg: number | null = null;
  for (const c of codes) {
    if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) fg = c;
    if (c === 39 || c === 0) fg = null;
  }
  return fg === null ? null : `\u001b[${fg}m`;
}

const enc = (trust: 'unverified' | 'verified' | 'changed') =>
  otr({ state: 'encrypted', trust, version: 3, theirFingerprint: BOB_FP });

function allStates(): FixtureCore {
  return new FixtureCore([
    session('a', 'bob', { otr: enc('verified') }),
    session('b', 'carol', { otr: enc('unverified'), unread: 2 }),
    session('c', 'room', {
      isFocus: true,
      peer: 'room@conf.example.org',
      otr: otr({ disabledReason: 'conference room' }),
    }),
    session('d', 'dave', { otr: enc('changed') }),
    session('e', 'erin'),
    session('f', 'frank', { state: 'incoming', direction: 'in' }),
  ]);
}

afterEach(() => cleanup());

describe('ui: session list and tab bar', () => {
  it('shows every lock state with its marker and colour', async () => {
    const m = await mount(allStates());
    const f = m.frame();
    assert.equal(colourAt(row(f, '1 bob'), '[V]'), GREEN);
    const carol = row(f, '2 carol');
    assert.equal(colourAt(carol, '[U]'), YELLOW);
    assert.match(stripAnsi(carol), /\(2\)/);
    assert.match(stripAnsi(row(f, '3 room')), /conf/);
    assert.equal(colourAt(row(f, '4 dave'), '[!]'), RED);
    const erin = stripAnsi(row(f, '5 erin'));
    assert.doesNotMatch(erin.split('│')[0] ?? '', /\[[UV!]\]/, 'plaintext shows no lock');
    const frank = row(f, '6 frank');
    assert.match(stripAnsi(frank), /\/accept/);
    assert.ok(frank.includes('\u001b[7m'), 'incoming session is highlighted');
    m.unmount();
  });

  it('tab bar lists sessions with letters, unread counts and "key changed"', async () => {
    const m = await mount(allStates());
    const tabs = m.plain().trimEnd().split('\n').at(-1) ?? '';
    assert.match(tabs, /<1 bob V>/);
    assert.match(tabs, /\[2 carol U 2\]/);
    assert.match(tabs, /\[4 dave ! key changed\]/);
    assert.match(tabs, /\[6 frank new\]/);
    m.unmount();
  });

  it('an incoming session says how to accept it', async () => {
    const core = allStates();
    const m = await mount(core);
    core.addSession(session('g', 'gina', { state: 'incoming', direction: 'in' }));
    await waitFor(() => assert.match(m.plain(), /Incoming chat from gina \(7\): \/accept 7 or \/reject 7/));
    m.unmount();
  });
});

describe('ui: chat header', () => {
  const cases: Array<[string, ReturnType<typeof otr>, string, string | null]> = [
    ['verified', enc('verified'), '[V] OTR verified', GREEN],
    ['unverified', enc('unverified'), '[U] OTR unverified', YELLOW],
    ['changed', enc('changed'), '[!] OTR KEY CHANGED', RED],
    ['plaintext', otr(), 'plaintext', null],
  ];
  for (const [name, o, word, colour] of cases) {
    it(`shows ${name}`, async () => {
      const m = await mount(new FixtureCore([session('a', 'bob', { otr: o })]));
      const h = row(m.frame(), 'bob (bob@example.org)');
      assert.ok(stripAnsi(h).includes(word), stripAnsi(h));
      if (colour) assert.equal(colourAt(h, word.slice(0, 3)), colour);
      if (name !== 'plaintext') assert.match(stripAnsi(row(m.frame(), 'msrp/tcp')), /OTR v3 · msrp\/tcp/);
      m.unmount();
    });
  }

  it('shows "not logged", the reason OTR is off, and the session state', async () => {
    const m = await mount(
      new FixtureCore([
        session('a', 'bob', {
          loggingDisabled: true,
          state: 'ended',
          reason: 'BYE',
          otr: otr({ disabledReason: 'disabled for this contact' }),
        }),
      ]),
    );
    assert.match(stripAnsi(row(m.frame(), 'bob (bob@example.org)')), /plaintext/);
    const h = stripAnsi(row(m.frame(), 'msrp/tcp'));
    assert.match(h, /not logged/);
    assert.match(h, /OTR off: disabled for this contact/);
    assert.match(h, /ended \(BYE\)/);
    m.unmount();
  });
});

describe('ui: chat lines', () => {
  it('marks each message with its own lock and colour, system lines with --', async () => {
    const t = new Date(2026, 0, 1, 9, 7).getTime();
    const core = new FixtureCore([
      session('a', 'bob', {
        otr: enc('verified'),
        lines: [
          line({ time: t, text: 'plain hello', encryption: 'none' }),
          line({ time: t, text: 'secret one', encryption: 'unverified' }),
          line({ time: t, text: 'secret two', encryption: 'verified' }),
          line({ time: t, text: 'from a new key', encryption: 'changed' }),
          line({ time: t, kind: 'system', text: 'bob key changed!', level: 'warning' }),
          line({ time: t, kind: 'system', text: 'private conversation started' }),
          line({ time: t, text: 'my reply', direction: 'out', encryption: 'verified', delivery: 'pending' }),
          line({ time: t, text: 'lost one', direction: 'out', encryption: 'verified', delivery: 'failed' }),
          line({ time: t, text: 'got there', direction: 'out', encryption: 'verified', delivery: 'delivered' }),
          line({ time: t, text: 'again', direction: 'out', encryption: 'verified', delivery: 'resent', resent: true }),
          line({
            time: t,
            text: 'again ok',
            direction: 'out',
            encryption: 'verified',
            delivery: 'delivered',
            resent: true,
          }),
          line({
            time: t,
            text: 'gone',
            direction: 'out',
            encryption: 'verified',
            delivery: 'failed',
            failReason: 'peer left',
          }),
        ],
      }),
    ]);
    const m = await mount(core);
    const f = m.frame();
    assert.match(stripAnsi(row(f, 'plain hello')), /09:07 +bob +plain hello/);
    assert.equal(colourAt(row(f, 'secret one'), '[U]'), YELLOW);
    assert.equal(colourAt(row(f, 'secret two'), '[V]'), GREEN);
    assert.equal(colourAt(row(f, 'from a new key'), '[!]'), RED);
    const warn = row(f, 'bob key changed!');
    assert.match(stripAnsi(warn), /09:07  --  bob key changed!/);
    assert.equal(colourAt(warn, 'bob key changed!'), RED);
    assert.match(stripAnsi(row(f, 'private conversation started')), /--  private conversation started/);
    assert.match(stripAnsi(row(f, 'my reply')), /\[V\] me +my reply \(sending\)/);
    const lost = row(f, 'lost one');
    assert.equal(colourAt(lost, '(failed)'), RED);
    assert.match(stripAnsi(row(f, 'got there')), /got there \(delivered\)/);
    assert.equal(colourAt(row(f, 'again ('), '(resent)'), YELLOW);
    assert.match(stripAnsi(row(f, 'again ok')), /again ok \(resent, delivered\)/);
    assert.equal(colourAt(row(f, 'gone'), '(failed: peer left)'), RED);
    m.unmount();
  });

  it('wraps long text under the message column and shows who is typing', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const core = new FixtureCore([session('a', 'bob', { remoteComposing: true, lines: [line({ text: long })] })]);
    const m = await mount(core);
    const rows = m.plain().split('\n');
    const first = rows.findIndex((r) => r.includes('word0 '));
    assert.ok(first > 0);
    const indent = (rows[first] ?? '').indexOf('word0');
    assert.equal((rows[first + 1] ?? '').search(/word\d/), indent, 'continuation rows align with the text');
    assert.ok(rows.some((r) => r.includes('word39')));
    for (const r of rows) assert.ok(r.length <= 100, `row wider than the terminal: ${r}`);
    assert.match(m.plain(), /bob is typing\.\.\./);
    m.unmount();
  });

  it('shows room senders per line and hides OTR markers for a conference', async () => {
    const core = new FixtureCore([
      session('r', 'room', {
        isFocus: true,
        lines: [line({ text: 'hi all', sender: 'carol' }), line({ text: 'hey', sender: 'dave' })],
      }),
    ]);
    const m = await mount(core);
    assert.match(stripAnsi(row(m.frame(), 'hi all')), /carol +hi all/);
    assert.match(stripAnsi(row(m.frame(), 'hey')), /dave +hey/);
    assert.match(stripAnsi(row(m.frame(), 'room (room@example.org)')), /conference/);
    m.unmount();
  });

  it('never passes escape sequences from the peer to the terminal', async () => {
    const core = new FixtureCore([
      session('a', 'bob', {
        displayName: 'bob\u001b[32m',
        lines: [line({ text: 'x\u001b[2J\u001b[32m[V] fake\u202e' })],
      }),
    ]);
    const m = await mount(core, { noColor: true });
    assert.ok(!m.frame().includes('\u001b'), JSON.stringify(m.frame()));
    assert.match(m.frame(), /x\uFFFD\[2J\uFFFD\[32m\[V\] fake\uFFFD/);
    m.unmount();
  });

  it('PgUp scrolls back through history and PgDn returns', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => line({ text: `message number ${i}` }));
    const m = await mount(new FixtureCore([session('a', 'bob', { lines })]));
    assert.match(m.plain(), /message number 59/);
    assert.doesNotMatch(m.plain(), /message number 30\b/);
    await m.press('\u001b[5~');
    await m.press('\u001b[5~');
    assert.doesNotMatch(m.plain(), /message number 59/);
    assert.match(m.plain(), /scrolled back/);
    await m.press('\u001b[6~');
    await m.press('\u001b[6~');
    assert.match(m.plain(), /message number 59/);
    m.unmount();
  });
});

describe('ui: NO_COLOR', () => {
  it('has no escape codes at all but keeps every marker', async () => {
    const core = allStates();
    core.updateSession('a', (s) => ({
      ...s,
      lines: [
        line({ text: 'verified msg', encryption: 'verified' }),
        line({ text: 'unverified msg', encryption: 'unverified' }),
        line({ text: 'changed msg', encryption: 'changed' }),
        line({ kind: 'system', text: 'warn', level: 'warning' }),
      ],
    }));
    const m = await mount(core, { noColor: true });
    const f = m.frame();
    assert.ok(!f.includes('\u001b'), 'no escape sequences');
    for (const marker of [
      '[V] OTR verified',
      '[V] bob',
      '[U] bob',
      '[!] bob',
      '-- ',
      '(2) [U]',
      'conf',
      '[!]',
      '/accept',
      '<1 bob V>',
      'key changed',
    ]) {
      assert.ok(f.includes(marker), `missing ${marker}`);
    }
    m.unmount();
  });

  it('follows the NO_COLOR environment variable unless told otherwise', async () => {
    const { resolveNoColor } = await import('../../src/ui/index.js');
    assert.equal(resolveNoColor(undefined, { NO_COLOR: '1' }), true);
    assert.equal(resolveNoColor(undefined, { NO_COLOR: '' }), false);
    assert.equal(resolveNoColor(undefined, {}), false);
    assert.equal(resolveNoColor(false, { NO_COLOR: '1' }), false);
    assert.equal(resolveNoColor(true, {}), true);
  });
});

describe('ui: status line', () => {
  it('shows account, registration and its error, and F1 help', async () => {
    const core = new FixtureCore();
    core.setState({
      ...core.state,
      account: {
        uri: 'sip:alice@example.org',
        registration: 'failed',
        registrationError: '403 Forbidden',
        transport: 'udp',
        serverless: false,
      },
    });
    const m = await mount(core);
    const top = m.frame().split('\n')[0] ?? '';
    assert.match(stripAnsi(top), /alice@example\.org +failed \(udp\) +403 Forbidden +F1 help/);
    assert.equal(colourAt(top, 'failed'), RED);
    assert.match(m.plain(), /No chats yet/);
    assert.ok(OUR_FP.length === 40);
    m.unmount();
  });

  it('says serverless when there is no registrar', async () => {
    const core = new FixtureCore();
    core.setState({
      ...core.state,
      account: { uri: 'sip:alice@127.0.0.1:5070', registration: 'none', transport: 'tcp', serverless: true },
    });
    const m = await mount(core);
    assert.match(m.plain().split('\n')[0] ?? '', /alice@127\.0\.0\.1:5070 +serverless \(tcp\)/);
    void CYAN;
    m.unmount();
  });
});

describe('ui: terminal size', () => {
  function assertFits(frame: string, cols: number, rows: number): void {
    const lines = frame.split('\n');
    assert.ok(lines.length <= rows - 1, `${lines.length} rows in a ${rows}-row terminal`);
    for (const l of lines) assert.ok([...l].length <= cols, `row wider than ${cols}: ${JSON.stringify(l)}`);
  }

  it('fills but never exceeds the terminal, and follows a resize', async () => {
    const long = 'a fairly long message that has to wrap around several times in a narrow terminal '.repeat(3);
    const core = allStates();
    core.updateSession('a', (s) => ({
      ...s,
      lines: Array.from({ length: 30 }, (_, i) => line({ text: `${i} ${long}` })),
    }));
    const t = mountSized(core, 50, 12);
    await waitFor(() => assert.match(t.stdout.lastFrame(), /OTR verified/));
    assertFits(t.stdout.lastFrame(), 50, 12);
    assert.equal(t.stdout.lastFrame().split('\n').length, 11);
    assert.doesNotMatch(t.stdout.lastFrame(), /Sessions/, 'no session list below 60 columns; the tab bar remains');
    assert.match(t.stdout.lastFrame(), /<1 bob V>/);
    t.stdout.resize(120, 40);
    await waitFor(() => assert.match(t.stdout.lastFrame(), /Sessions/));
    assertFits(t.stdout.lastFrame(), 120, 40);
    assert.equal(t.stdout.lastFrame().split('\n').length, 39);
    t.stdout.resize(70, 9);
    await waitFor(() => assert.equal(t.stdout.lastFrame().split('\n').length, 8));
    assertFits(t.stdout.lastFrame(), 70, 9);
    t.unmount();
  });
});
