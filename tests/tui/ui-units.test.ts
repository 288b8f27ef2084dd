import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Key } from 'ink';
import { parseCommand, normalizeUri, tokenize } from '../../src/ui/commands.js';
import { complete } from '../../src/ui/complete.js';
import { PLAIN_KEY, splitChunk } from '../../src/ui/App.js';
import { InputHistory } from '../../src/ui/input-history.js';
import { keyAction, type KeyMode } from '../../src/ui/keymap.js';
import { screenLayout } from '../../src/ui/layout.js';
import { noticeRow } from '../../src/ui/NoticeRow.js';
import { currentCoreNotice, INFO_NOTICE_MS } from '../../src/ui/hooks/use-notice.js';
import { noChatRows } from '../../src/ui/MainPane.js';
import { hhmm } from '../../src/ui/format.js';
import { fingerprintGroups } from '../../src/keys/fingerprint.js';
import { editLine, lineOf } from '../../src/ui/line-edit.js';
import { inputRow } from '../../src/ui/InputLine.js';
import { sanitize, textWidth, truncate, wrapSegs, rowWidth, type Row } from '../../src/ui/text.js';
import { viewport, buildLineRows } from '../../src/ui/chat-rows.js';
import { headerRows } from '../../src/ui/ChatView.js';
import { selectedSession, sessionRow } from '../../src/ui/SessionList.js';
import { tabBarRow } from '../../src/ui/TabBar.js';
import { statusRow } from '../../src/ui/StatusLine.js';
import { verifyRows } from '../../src/ui/VerifyView.js';
import { helpRows } from '../../src/ui/HelpView.js';
import type { ChatLine } from '../../src/chat/types.js';
import { session, otr, line, BOB_FP } from './ui-fixture-core.js';

const text = (r: Row): string => r.map((s) => s.text).join('');

const noKey: Key = PLAIN_KEY;

describe('ui text helpers', () => {
  it('wraps at spaces, hard-breaks long words, honours newlines', () => {
    assert.deepEqual(wrapSegs([{ text: 'aaa bbb ccc' }], 7).map(text), ['aaa bbb', 'ccc']);
    assert.deepEqual(wrapSegs([{ text: 'abcdefghij' }], 4).map(text), ['abcd', 'efgh', 'ij']);
    assert.deepEqual(wrapSegs([{ text: 'one\ntwo' }], 10).map(text), ['one', 'two']);
    assert.deepEqual(wrapSegs([{ text: '' }], 10).map(text), ['']);
    assert.deepEqual(wrapSegs([{ text: 'aa bb cc dd' }], 5).map(text), ['aa bb', 'cc dd']);
  });

  it('keeps styles across a wrap', () => {
    const rows = wrapSegs([{ text: 'hello ' }, { text: 'world wide', color: 'red' }], 8);
    assert.deepEqual(rows, [[{ text: 'hello' }], [{ text: 'world', color: 'red' }], [{ text: 'wide', color: 'red' }]]);
    const mixed = wrapSegs([{ text: 'ab' }, { text: 'cd', color: 'red' }], 10);
    assert.deepEqual(mixed, [[{ text: 'ab' }, { text: 'cd', color: 'red' }]]);
  });

  it('counts wide characters as two columns and never exceeds the width', () => {
    assert.equal(textWidth('日本'), 4);
    assert.equal(textWidth('e\u0301'), 1);
    for (const r of wrapSegs([{ text: '日本語のテキストです' }], 5)) assert.ok(rowWidth(r) <= 5);
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 4), 'abc');
  });

  it('neutralises terminal controls and bidi overrides', () => {
    assert.equal(sanitize('a\u001b[31mb'), 'a\uFFFD[31mb');
    assert.equal(sanitize('x\u202ey\u0007'), 'x\uFFFDy\uFFFD');
    assert.equal(sanitize('tab\there'), 'tab    here');
    assert.equal(sanitize('crlf\r\nline'), 'crlf\nline');
  });

  it('formats times and fingerprints', () => {
    assert.equal(hhmm(new Date(2026, 4, 3, 7, 5).getTime()), '07:05');
    assert.deepEqual(fingerprintGroups(BOB_FP.toLowerCase()), [
      'FEDCBA98',
      '76543210',
      'FEDCBA98',
      '76543210',
      'FEDCBA98',
    ]);
    assert.deepEqual(fingerprintGroups('nonsense'), ['NONSENSE']);
  });
});

describe('ui commands (pure)', () => {
  const bob = session('a', 'bob', { otr: otr({ state: 'encrypted', trust: 'unverified', theirFingerprint: BOB_FP }) });
  const room = session('r', 'room', { isFocus: true });
  const ctx = { sessions: [bob, room], selected: bob };

  it('normalises chat targets', () => {
    assert.equal(normalizeUri('bob@host'), 'sip:bob@host');
    assert.equal(normalizeUri('sip:bob@127.0.0.1:5071'), 'sip:bob@127.0.0.1:5071');
    assert.equal(normalizeUri('sips:bob@host'), 'sips:bob@host');
    assert.equal(normalizeUri(''), null);
    assert.equal(normalizeUri('bob @host'), null);
    assert.equal(normalizeUri('@host'), null);
  });

  it('tokenises quoted words', () => {
    assert.deepEqual(tokenize(`authq "a b" 'c d' e`), ['authq', 'a b', 'c d', 'e']);
  });

  it('refuses OTR commands in a conference room and without a chat', () => {
    const r = parseCommand('/otr init', { sessions: [bob, room], selected: room });
    assert.equal(r.kind, 'error');
    assert.match(r.kind === 'error' ? r.message : '', /conference/);
    const n = parseCommand('/otr trust', { sessions: [], selected: null });
    assert.equal(n.kind, 'error');
    assert.deepEqual(parseCommand('/otr genkey yes', { sessions: [], selected: null }), {
      kind: 'core',
      cmd: { cmd: 'genkey' },
      done: 'Generating a new OTR key…',
    });
    const g = parseCommand('/otr policy never', { sessions: [], selected: null });
    assert.deepEqual(g.kind === 'core' ? g.cmd : null, { cmd: 'policy', value: 'never' });
  });

  it('keeps spaces inside an SMP secret and rejects an empty one', () => {
    const r = parseCommand('/otr auth  two words ', ctx);
    assert.deepEqual(r.kind === 'core' ? r.cmd : null, { cmd: 'smp', session: 'a', secret: 'two words' });
    assert.equal(parseCommand('/otr auth', ctx).kind, 'error');
    assert.equal(parseCommand('/otr authq onlyone', ctx).kind, 'error');
  });

  it('maps the UI-only commands', () => {
    assert.deepEqual(parseCommand('/verify', ctx), { kind: 'verify', session: 'a' });
    assert.deepEqual(parseCommand('/otr info', ctx), { kind: 'verify', session: 'a' });
    assert.deepEqual(parseCommand('/help', ctx), { kind: 'help' });
    assert.deepEqual(parseCommand('/quit', ctx), { kind: 'quit' });
    assert.deepEqual(parseCommand('/search  foo bar ', ctx), { kind: 'search', text: 'foo bar' });
    assert.equal(parseCommand('/hangup 9', ctx).kind, 'error');
  });

  it('completes commands, sub-commands and policy values', () => {
    assert.deepEqual(complete('/ve'), { line: '/verify ', candidates: [] });
    assert.deepEqual(complete('/otr in'), { line: '/otr in', candidates: ['info', 'init'] });
    assert.deepEqual(complete('/otr ge'), { line: '/otr genkey ', candidates: [] });
    assert.deepEqual(complete('/otr policy al'), { line: '/otr policy always ', candidates: [] });
    assert.deepEqual(complete('hello'), { line: 'hello', candidates: [] });
    assert.deepEqual(complete('/zz'), { line: '/zz', candidates: [] });
  });
});

describe('ui line editor', () => {
  it('inserts, moves, erases (DEL is backspace) and kills', () => {
    let st = lineOf('helo');
    st = editLine(st, '', { ...noKey, leftArrow: true })!;
    st = editLine(st, 'l', noKey)!;
    assert.deepEqual(st, { value: 'hello', cursor: 4 });
    st = editLine(st, '', { ...noKey, delete: true })!;
    assert.deepEqual(st, { value: 'helo', cursor: 3 });
    st = editLine(st, 'a', { ...noKey, ctrl: true })!;
    assert.equal(st.cursor, 0);
    st = editLine(st, 'k', { ...noKey, ctrl: true })!;
    assert.deepEqual(st, { value: '', cursor: 0 });
    st = editLine(lineOf('one two'), 'w', { ...noKey, ctrl: true })!;
    assert.deepEqual(st, { value: 'one ', cursor: 4 });
    assert.equal(editLine(st, '', { ...noKey, return: true }), null);
    assert.deepEqual(editLine(lineOf(''), 'a\u001b[31mb\r', noKey), { value: 'a[31mb', cursor: 6 });
    const emoji = lineOf('a😀');
    assert.deepEqual(editLine(emoji, '', { ...noKey, backspace: true }), { value: 'a', cursor: 1 });
  });

  it('scrolls a long line sideways so the cursor stays on screen', () => {
    const long = 'x'.repeat(200);
    const r = inputRow('> ', undefined, lineOf(long), 40);
    assert.ok(rowWidth(r.row) <= 40);
    assert.ok(r.cursorX < 40 && r.cursorX > 2);
    const start = inputRow('> ', undefined, { value: long, cursor: 0 }, 40);
    assert.equal(start.cursorX, 2);
  });
});

describe('ui layout stays inside its width', () => {
  const s = session('a', 'a-very-long-display-name-indeed', {
    peer: 'someone-with-a-long-address@a-very-long-domain.example.org',
    loggingDisabled: true,
    unread: 12345,
    otr: otr({
      state: 'encrypted',
      trust: 'changed',
      version: 3,
      theirFingerprint: BOB_FP,
      pending: 3,
      smp: { phase: 'waiting' },
    }),
    state: 'ended',
    reason: 'connection lost '.repeat(5),
  });
  for (const w of [12, 20, 30, 45, 80]) {
    it(`at ${w} columns`, () => {
      for (const r of headerRows(s, w)) assert.ok(rowWidth(r) <= w, text(r));
      assert.ok(rowWidth(sessionRow(s, 0, true, w)) <= w, text(sessionRow(s, 0, true, w)));
      assert.ok(rowWidth(tabBarRow([s, s, s], 'a', w)) <= w, 'tabs');
      assert.ok(
        rowWidth(
          statusRow(
            {
              uri: 'sip:alice@example.org',
              registration: 'failed',
              registrationError: 'x'.repeat(99),
              transport: 'tls',
              serverless: false,
            },
            w,
          ),
        ) <= w,
        'status',
      );
      for (const r of verifyRows(s, w)) assert.ok(rowWidth(r) <= w, `verify: ${text(r)}`);
      for (const r of helpRows(w)) assert.ok(rowWidth(r) <= w, `help: ${text(r)}`);
      for (const r of buildLineRows(line({ text: 'word '.repeat(50) }), {
        width: w,
        senderWidth: 6,
        peerName: 'bob',
      })) {
        assert.ok(rowWidth(r) <= Math.max(w, 25), text(r));
      }
    });
  }
});

describe('ui viewport', () => {
  it('builds only the rows it shows, however long the history', () => {
    const lines: ChatLine[] = Array.from({ length: 100_000 }, (_, i) => line({ text: `line ${i}` }));
    let touched = 0;
    const counted = new Proxy(lines, {
      get(target, prop, recv) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) touched++;
        return Reflect.get(target, prop, recv);
      },
    });
    const t0 = performance.now();
    const vp = viewport(counted, { width: 60, senderWidth: 4, peerName: 'bob' }, 20, 0);
    const ms = performance.now() - t0;
    assert.equal(vp.rows.length, 20);
    assert.match(text(vp.rows[19]!), /line 99999$/);
    assert.ok(touched <= 22, `touched ${touched} lines`);
    assert.ok(ms < 50, `${ms} ms`);
  });

  it('clamps scrolling at the top and pads short histories at the top', () => {
    const lines = Array.from({ length: 5 }, (_, i) => line({ text: `l${i}` }));
    const vp = viewport(lines, { width: 60, senderWidth: 4, peerName: 'bob' }, 10, 0);
    assert.equal(vp.rows.length, 10);
    assert.deepEqual(vp.rows[0], []);
    assert.equal(vp.more, false);
    const many = Array.from({ length: 50 }, (_, i) => line({ text: `m${i}` }));
    const top = viewport(many, { width: 60, senderWidth: 4, peerName: 'bob' }, 10, 10_000);
    assert.equal(top.scroll, 40);
    assert.match(text(top.rows[0]!), /m0$/);
  });
});

it('/otr genkey asks for confirmation; /otr genkey yes dispatches genkey', async () => {
  const { parseCommand } = await import('../../src/ui/commands.js');
  const ask = parseCommand('/otr genkey', { sessions: [], selected: null });
  assert.equal(ask.kind, 'error');
  assert.match((ask as { message: string }).message, /genkey yes/);
  const go = parseCommand('/otr genkey yes', { sessions: [], selected: null });
  assert.deepEqual(go.kind === 'core' ? go.cmd : null, { cmd: 'genkey' });
});

describe('keymap', () => {
  const k = (p: Partial<Key>): Key => ({ ...PLAIN_KEY, ...p });
  const chat: KeyMode = { overlay: null, smpPrompt: false };
  it('gives each key one action, overlays and the SMP prompt first', () => {
    assert.deepEqual(keyAction('c', k({ ctrl: true }), { overlay: 'verify', smpPrompt: true }), { kind: 'quit' });
    assert.deepEqual(keyAction('v', PLAIN_KEY, { overlay: 'verify', smpPrompt: false }), { kind: 'verify-trust' });
    assert.deepEqual(keyAction('v', k({ meta: true }), { overlay: 'verify', smpPrompt: false }), { kind: 'none' });
    assert.deepEqual(keyAction('q', PLAIN_KEY, { overlay: 'verify', smpPrompt: false }), { kind: 'close-overlay' });
    assert.deepEqual(keyAction('x', PLAIN_KEY, { overlay: 'verify', smpPrompt: false }), { kind: 'none' });
    assert.deepEqual(keyAction('', k({ escape: true }), { overlay: null, smpPrompt: true }), { kind: 'abort-smp' });
    assert.deepEqual(keyAction('', k({ escape: true }), { overlay: 'help', smpPrompt: false }), {
      kind: 'close-overlay',
    });
    assert.deepEqual(keyAction('', k({ escape: true }), chat), { kind: 'clear-notice' });
    assert.deepEqual(keyAction('3', k({ meta: true }), chat), { kind: 'select', index: 2 });
    assert.deepEqual(keyAction('n', k({ ctrl: true }), chat), { kind: 'cycle', delta: 1 });
    assert.deepEqual(keyAction('p', k({ ctrl: true }), chat), { kind: 'cycle', delta: -1 });
    assert.deepEqual(keyAction('', k({ pageUp: true }), chat), { kind: 'scroll', dir: 1 });
    assert.deepEqual(keyAction('', k({ pageDown: true }), { overlay: 'help', smpPrompt: false }), {
      kind: 'help-scroll',
      dir: 1,
    });
    assert.deepEqual(keyAction('', k({ return: true }), { overlay: null, smpPrompt: true }), { kind: 'smp-submit' });
    assert.deepEqual(keyAction('', k({ upArrow: true }), { overlay: null, smpPrompt: true }), { kind: 'smp-edit' });
    assert.deepEqual(keyAction('', k({ return: true }), chat), { kind: 'submit' });
    assert.deepEqual(keyAction('', k({ upArrow: true }), chat), { kind: 'history', dir: 'up' });
    assert.deepEqual(keyAction('', k({ tab: true }), chat), { kind: 'complete' });
    assert.deepEqual(keyAction('a', PLAIN_KEY, chat), { kind: 'edit' });
  });
});

describe('input history', () => {
  it('walks back and forth and keeps the draft', () => {
    const h = new InputHistory(3);
    assert.equal(h.up('x'), null);
    for (const v of ['one', 'two', 'two', 'three', 'four']) h.push(v);
    assert.equal(h.up('draft'), 'four');
    assert.equal(h.up('four'), 'three');
    assert.equal(h.up('three'), 'two');
    assert.equal(h.up('two'), 'two', 'the oldest kept (3 at most; no duplicate in a row)');
    assert.equal(h.down(), 'three');
    assert.equal(h.down(), 'four');
    assert.equal(h.down(), 'draft');
    assert.equal(h.down(), null);
  });
});

describe('ui header: registration trouble', () => {
  it('shows the reason and when the next attempt comes, and drops both once registered', () => {
    const at = new Date(2026, 0, 1, 13, 4, 5).getTime();
    const failed = text(
      statusRow(
        {
          uri: 'sip:alice@example.org',
          registration: 'failed',
          registrationError: 'connection to the registrar lost',
          registrationRetryAt: at,
          transport: 'tcp',
          serverless: false,
        },
        120,
      ),
    );
    assert.match(failed, /failed \(tcp\)  connection to the registrar lost  next try 13:04:05/);
    const ok = text(
      statusRow({ uri: 'sip:alice@example.org', registration: 'registered', transport: 'tcp', serverless: false }, 120),
    );
    assert.doesNotMatch(ok, /next try|lost/);
  });
});

describe('screen layout', () => {
  it('leaves the last terminal row empty and gives the rest to status, list, pane, notice, input and tab bar', () => {
    assert.deepEqual(screenLayout({ cols: 80, rows: 24 }), {
      cols: 80,
      height: 23,
      listW: 19,
      chatW: 59,
      mainH: 19,
      page: 16,
      inputY: 21,
    });
    const l = screenLayout({ cols: 120, rows: 40 });
    assert.equal(1 + l.mainH + 1 + 1 + 1, l.height, 'status + main + notice + input + tab bar');
    assert.equal(l.listW + 2 + l.chatW, l.cols, 'list, separator and pane fill the width');
  });

  it('drops the session list below 60 columns and bounds its width', () => {
    assert.deepEqual(screenLayout({ cols: 59, rows: 24 }), {
      cols: 59,
      height: 23,
      listW: 0,
      chatW: 59,
      mainH: 19,
      page: 16,
      inputY: 21,
    });
    assert.equal(screenLayout({ cols: 60, rows: 24 }).listW, 18);
    assert.equal(screenLayout({ cols: 60, rows: 24 }).chatW, 40);
    assert.equal(screenLayout({ cols: 200, rows: 24 }).listW, 30);
    assert.equal(screenLayout({ cols: 200, rows: 24 }).chatW, 168);
  });

  it('never goes below 20 columns and 8 rows, and pages by at least one row', () => {
    assert.deepEqual(screenLayout({ cols: 5, rows: 3 }), {
      cols: 20,
      height: 8,
      listW: 0,
      chatW: 20,
      mainH: 4,
      page: 1,
      inputY: 6,
    });
    assert.deepEqual(screenLayout({ cols: 0, rows: 0 }), screenLayout({ cols: 20, rows: 9 }));
  });
});

describe('splitting one terminal read into keys', () => {
  const k = (p: Partial<Key>): Key => ({ ...PLAIN_KEY, ...p });
  it('leaves single keys, escape sequences and plain text alone', () => {
    const up = k({ upArrow: true });
    assert.deepEqual(splitChunk('a', PLAIN_KEY), [['a', PLAIN_KEY]]);
    assert.deepEqual(splitChunk('\u001b[A', up), [['\u001b[A', up]]);
    assert.deepEqual(splitChunk('hello world', PLAIN_KEY), [['hello world', PLAIN_KEY]]);
  });

  it('splits text runs, Backspace, Enter, Tab and Ctrl-letters in order', () => {
    assert.deepEqual(splitChunk('abc\u007f\u007fx\r', PLAIN_KEY), [
      ['abc', PLAIN_KEY],
      ['', k({ backspace: true })],
      ['', k({ backspace: true })],
      ['x', PLAIN_KEY],
      ['', k({ return: true })],
    ]);
    assert.deepEqual(splitChunk('\u0001x\t\n\b', PLAIN_KEY), [
      ['a', k({ ctrl: true })],
      ['x', PLAIN_KEY],
      ['', k({ tab: true })],
      ['', k({ return: true })],
      ['', k({ backspace: true })],
    ]);
    assert.deepEqual(
      splitChunk('a\u0000b', PLAIN_KEY),
      [
        ['a', PLAIN_KEY],
        ['b', PLAIN_KEY],
      ],
      'NUL is dropped',
    );
  });
});

describe('notice row', () => {
  const asked = session('a', 'bob', {
    otr: otr({ state: 'encrypted', smp: { phase: 'asked', question: 'our pet?\u001b[2J' } }),
  });
  const secret = session('b', 'carol', { otr: otr({ state: 'encrypted', smp: { phase: 'asked' } }) });
  const warn = line({ kind: 'system', text: 'trusted_peers line 7\u0007 could not be parsed', level: 'warning' });
  const info = line({ kind: 'system', text: 'ready', level: 'info' });

  it('shows the open verification prompt first, its question sanitised', () => {
    const r = noticeRow(asked, { text: 'Calling…', level: 'info' }, [warn]);
    assert.equal(text(r), ' bob wants to verify you and asks: our pet?\uFFFD[2J  (Enter answers, Esc aborts)');
    assert.equal(r[0]?.color, 'yellow');
    assert.equal(
      text(noticeRow(secret, null, [])),
      ' carol wants to verify you: type the shared secret  (Enter answers, Esc aborts)',
    );
  });

  it('then the UI notice (errors red, progress dim), then the core notice that came last', () => {
    assert.deepEqual(noticeRow(null, { text: 'No chat number 4.', level: 'error' }, [warn]), [
      { text: ' No chat number 4.', color: 'red', dim: false },
    ]);
    assert.deepEqual(noticeRow(null, { text: 'Calling…', level: 'info' }, []), [
      { text: ' Calling…', color: undefined, dim: true },
    ]);
    assert.deepEqual(noticeRow(null, null, [info, warn]), [
      { text: ' trusted_peers line 7\uFFFD could not be parsed', color: 'red' },
    ]);
    assert.deepEqual(noticeRow(null, null, [warn, info]), [{ text: ' ready', color: undefined }]);
    assert.deepEqual(noticeRow(null, null, []), []);
  });

  it("the core's info notice fades like the UI's own; its warning stays", () => {
    const t0 = 1_700_000_000_000;
    const made = line({ kind: 'system', text: 'made your OTR key', level: 'info', time: t0 });
    const bad = line({ kind: 'system', text: 'trusted_peers line 7 broken', level: 'warning', time: t0 });
    assert.equal(currentCoreNotice([made], t0 + INFO_NOTICE_MS - 1), made);
    assert.equal(currentCoreNotice([made], t0 + INFO_NOTICE_MS), null);
    assert.equal(currentCoreNotice([made, bad], t0 + 3_600_000), bad);
    assert.equal(currentCoreNotice([bad, made], t0 + INFO_NOTICE_MS), null, 'only the last one is the row');
    assert.equal(currentCoreNotice([], t0), null);
  });
});

describe('main pane without a chat', () => {
  it('says how to start one, then the latest core notices that fit, clipped', () => {
    const notices = Array.from({ length: 6 }, (_, i) =>
      line({ kind: 'system', text: `notice ${i} ${'x'.repeat(40)}`, level: i === 5 ? 'warning' : 'info' }),
    );
    const rows = noChatRows(notices, 30, 6);
    assert.equal(rows.length, 6);
    assert.equal(text(rows[0]!), ' No chats yet.');
    assert.deepEqual(rows[2], []);
    assert.match(text(rows[3]!), /^ -- notice 3 x+/);
    assert.match(text(rows[5]!), /^ -- notice 5 x+/);
    assert.equal(rows[5]![0]?.color, 'red');
    for (const r of rows.slice(3)) assert.ok(rowWidth(r) <= 30);
    assert.equal(noChatRows([], 30, 6).length, 3);
  });
});

describe('selected chat', () => {
  it('is the chat with the selected id, else the first, else none', () => {
    const a = session('a', 'bob');
    const b = session('b', 'carol');
    assert.equal(selectedSession([a, b], 'b'), b);
    assert.equal(selectedSession([a, b], null), a);
    assert.equal(selectedSession([a, b], 'gone'), a);
    assert.equal(selectedSession([], 'b'), null);
  });
});
