import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup } from 'ink-testing-library';
import type { CoreCommand } from '../../src/chat/types.js';
import { FixtureCore, session, otr, line, BOB_FP, OUR_FP } from './ui-fixture-core.js';
import { KEY, mount, tick, waitFor } from './ui-harness.js';

afterEach(() => cleanup());

const enc = (trust: 'unverified' | 'verified' | 'changed', p = {}) =>
  otr({ state: 'encrypted', trust, version: 3, theirFingerprint: BOB_FP, ...p });

function twoChats(): FixtureCore {
  return new FixtureCore([
    session('a', 'bob', { otr: enc('unverified') }),
    session('b', 'carol', { unread: 3, lines: [line({ text: 'carol says hi' })] }),
  ]);
}

describe('ui: input line', () => {
  it('typing a message and Enter dispatches send to the selected chat, and it appears', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.press('hello bob');
    assert.match(m.plain(), /> hello bob/);
    await m.press(KEY.enter);
    assert.deepEqual(core.userCommands(), [{ cmd: 'send', session: 'a', text: 'hello bob' }]);
    assert.match(m.plain(), /\[U\] me +hello bob \(sending\)/);
    assert.doesNotMatch(m.plain(), /> hello bob/, 'input cleared');
    m.unmount();
  });

  it('tells the core about typing (it paces the wire) and about stopping when the line is cleared; commands are not typing', async () => {
    const core = twoChats();
    const m = await mount(core);
    for (const ch of 'typing') await m.press(ch);
    const comp = () => core.commands.filter((c) => c.cmd === 'composing');
    assert.ok(
      comp().length >= 1 && comp().every((c) => c.cmd === 'composing' && c.session === 'a' && c.active),
      JSON.stringify(comp()),
    );
    for (let i = 0; i < 6; i++) await m.press(KEY.backspace);
    assert.deepEqual(comp().at(-1), { cmd: 'composing', session: 'a', active: false });
    const n = comp().length;
    await m.press('/otr');
    assert.equal(comp().length, n, 'commands are not "typing"');
    // Switching chats while typing stops composing in the chat left.
    await m.press('draft');
    await m.press(KEY.alt(2));
    assert.deepEqual(comp().at(-1), { cmd: 'composing', session: 'a', active: false });
    m.unmount();
  });

  it('keys that arrive together in one read are each applied (paste, fast typing)', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.press('hello wrld');
    await m.press(`${KEY.backspace}${KEY.backspace}${KEY.backspace}rld`);
    await m.press('\u001b[D\u001b[D\u001b[Do');
    assert.match(m.plain(), /> hello world$/m);
    await m.press(`${KEY.alt(2)}\u0005 to carol${KEY.enter}`);
    // Alt-2, Ctrl-E, more text and Enter in one read: the line (kept across the switch) goes to carol.
    assert.deepEqual(core.userCommands(), [{ cmd: 'send', session: 'b', text: 'hello world to carol' }]);
    m.unmount();
  });

  it('"//text" sends a line that starts with a slash', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.enter('//shrug');
    assert.deepEqual(core.userCommands(), [{ cmd: 'send', session: 'a', text: '/shrug' }]);
    m.unmount();
  });

  it('Up/Down walk the input history and restore the draft', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.enter('first');
    await m.enter('second');
    await m.press('draft');
    await m.press(KEY.up);
    assert.match(m.plain(), /> second/);
    await m.press(KEY.up);
    assert.match(m.plain(), /> first/);
    await m.press(KEY.down);
    assert.match(m.plain(), /> second/);
    await m.press(KEY.down);
    assert.match(m.plain(), /> draft/);
    m.unmount();
  });

  it('Tab completes commands and /otr sub-commands, and lists ambiguous ones', async () => {
    const m = await mount(twoChats());
    await m.press('/ch');
    await m.press(KEY.tab);
    await m.press('x');
    assert.match(m.plain(), /> \/chat x$/m, 'completed with a space after it');
    for (let i = 0; i < 7; i++) await m.press(KEY.backspace);
    await m.press('/otr au');
    await m.press(KEY.tab);
    assert.match(m.plain(), /> \/otr auth$/m);
    assert.match(m.plain(), /auth {2}authabort {2}authq/);
    await m.press('q');
    await m.press(KEY.tab);
    await m.press('x');
    assert.match(m.plain(), /> \/otr authq x$/m);
    m.unmount();
  });
});

describe('ui: commands', () => {
  it('/chat accepts bob@host and sip: URIs, and selects the new chat', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.enter('/chat dave@example.org');
    await m.enter('/chat sip:erin@127.0.0.1:5071');
    assert.deepEqual(core.userCommands(), [
      { cmd: 'chat', to: 'sip:dave@example.org' },
      { cmd: 'chat', to: 'sip:erin@127.0.0.1:5071' },
    ]);
    await waitFor(() => assert.match(m.plain(), /<4 erin>/, 'the chat just started is selected'));
    m.unmount();
  });

  it('maps every /otr command to the right core command', async () => {
    const core = new FixtureCore([session('a', 'bob', { otr: enc('unverified') })]);
    const m = await mount(core);
    const cases: Array<[string, CoreCommand]> = [
      ['/otr init', { cmd: 'otr', session: 'a', action: 'start' }],
      ['/otr finish', { cmd: 'otr', session: 'a', action: 'end' }],
      ['/otr trust', { cmd: 'trust', session: 'a' }],
      ['/otr distrust', { cmd: 'distrust', session: 'a' }],
      ['/otr auth our secret words', { cmd: 'smp', session: 'a', secret: 'our secret words' }],
      [
        '/otr authq "where did we meet" paris',
        { cmd: 'smp', session: 'a', secret: 'paris', question: 'where did we meet' },
      ],
      ['/otr authq favourite colour blue', { cmd: 'smp', session: 'a', secret: 'blue', question: 'favourite colour' }],
      ['/otr authabort', { cmd: 'smp_abort', session: 'a' }],
      ['/otr genkey yes', { cmd: 'genkey' }],
      ['/otr policy always', { cmd: 'policy', session: 'a', value: 'always' }],
      ['/otr policy never', { cmd: 'policy', session: 'a', value: 'never' }],
      ['/otr policy default', { cmd: 'policy', session: 'a', value: 'default' }],
    ];
    for (const [text, expected] of cases) {
      core.commands.length = 0;
      await m.enter(text);
      assert.deepEqual(core.userCommands(), [expected], text);
    }
    m.unmount();
  });

  it('text typed into a chat not yet accepted stays on the line; right after /accept it is sent', async () => {
    const core = new FixtureCore([session('b', 'carol', { state: 'incoming', direction: 'in' })]);
    const m = await mount(core);
    await m.enter('too early');
    assert.match(m.plain(), /Accept the chat from carol first/);
    assert.match(m.plain(), /> too early/, 'the text is kept');
    assert.deepEqual(core.userCommands(), []);
    for (let i = 0; i < 9; i++) await m.press(KEY.backspace);
    core.holdAccept = true; // the core still shows the chat incoming while it accepts
    await m.enter('/accept');
    await m.enter('hi carol');
    assert.deepEqual(core.userCommands(), [
      { cmd: 'accept', session: 'b' },
      { cmd: 'send', session: 'b', text: 'hi carol' },
    ]);
    m.unmount();
  });

  it('/accept, /reject and /hangup pick the right session', async () => {
    const core = new FixtureCore([
      session('a', 'bob'),
      session('b', 'carol', { state: 'incoming', direction: 'in' }),
      session('c', 'dave', { state: 'incoming', direction: 'in' }),
    ]);
    const m = await mount(core);
    await m.enter('/accept');
    await m.enter('/reject 3');
    await m.enter('/hangup');
    assert.deepEqual(core.userCommands(), [
      { cmd: 'accept', session: 'b' },
      { cmd: 'reject', session: 'c' },
      { cmd: 'hangup', session: 'a' },
    ]);
    await m.enter('/accept');
    assert.match(m.plain(), /No incoming chat to accept/);
    m.unmount();
  });

  it('unknown commands and bad arguments give a clear message and dispatch nothing', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.enter('/frobnicate');
    assert.match(m.plain(), /Unknown command "\/frobnicate"/);
    await m.enter('/otr bogus');
    assert.match(m.plain(), /Unknown \/otr command "bogus"/);
    await m.enter('/otr policy sometimes');
    assert.match(m.plain(), /usage: \/otr policy always\|never\|default/);
    await m.enter('/chat');
    assert.match(m.plain(), /usage: \/chat user@host/);
    assert.deepEqual(core.userCommands(), []);
    m.unmount();
  });

  it('a rejected command becomes a notice; the UI keeps running', async () => {
    const core = twoChats();
    core.failWith = 'OTR was ended by bob: /otr finish or /otr init first';
    const m = await mount(core);
    await m.enter('hello');
    assert.match(m.plain(), /OTR was ended by bob: \/otr finish or \/otr init first/);
    core.failWith = null;
    await m.enter('again');
    assert.deepEqual(core.userCommands().at(-1), { cmd: 'send', session: 'a', text: 'again' });
    m.unmount();
  });

  it('a core whose command() throws synchronously does not crash the UI', async () => {
    const core = twoChats();
    core.command = () => {
      throw new Error('boom');
    };
    const m = await mount(core);
    await m.enter('hello');
    assert.match(m.plain(), /boom/);
    m.unmount();
  });

  it('/search says "not available" without a search, and shows results with one', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.enter('/search hi');
    assert.match(m.plain(), /History search is not available/);
    m.unmount();
    const core2 = new FixtureCore(twoChats().state.sessions, true);
    const m2 = await mount(core2);
    await m2.enter('/search HI');
    await waitFor(() => assert.match(m2.plain(), /1 found/));
    assert.match(m2.plain(), /Search: HI +\(Esc closes\) +1 found/);
    assert.match(m2.plain(), /carol says hi/);
    await m2.press(KEY.esc);
    assert.doesNotMatch(m2.plain(), /Search: HI/);
    m2.unmount();
  });

  it('/quit and Ctrl-C dispatch quit and end the app', async () => {
    for (const how of ['/quit', KEY.ctrlC]) {
      const core = twoChats();
      const m = await mount(core);
      if (how === '/quit') await m.enter(how);
      else await m.press(how);
      await waitFor(() => core.commands.length > 0);
      assert.deepEqual(core.userCommands(), [{ cmd: 'quit' }], how);
      m.unmount();
    }
  });

  it('F1 and /help show the help; Esc closes it', async () => {
    const m = await mount(twoChats());
    await m.press(KEY.f1);
    assert.match(m.plain(), /\/otr authq "QUESTION" SECRET/);
    await m.press(KEY.f1);
    assert.doesNotMatch(m.plain(), /\/otr authq "QUESTION" SECRET/);
    await m.enter('/help');
    assert.match(m.plain(), /PgDn for more/);
    // the help grew with the call commands: its end is two pages down
    await m.press(KEY.pageDown);
    await m.press(KEY.pageDown);
    assert.match(m.plain(), /Ctrl-N\/Ctrl-P +switch chat/);
    assert.match(m.plain(), /\[V\] verified/);
    await m.press(KEY.esc);
    assert.doesNotMatch(m.plain(), /\/otr authq "QUESTION" SECRET/);
    m.unmount();
  });
});

describe('ui: keys', () => {
  it('Alt-2 switches to the second chat and marks it read; Ctrl-N/Ctrl-P cycle', async () => {
    const core = twoChats();
    const m = await mount(core);
    assert.match(m.plain(), /<1 bob U>/);
    await m.press(KEY.alt(2));
    assert.match(m.plain(), /<2 carol/);
    assert.match(m.plain(), /carol says hi/);
    await waitFor(() => assert.ok(core.commands.some((c) => c.cmd === 'read' && c.session === 'b')));
    await waitFor(() => assert.equal(core.state.sessions[1]?.unread, 0));
    await m.enter('to carol');
    assert.deepEqual(core.userCommands().at(-1), { cmd: 'send', session: 'b', text: 'to carol' });
    await m.press(KEY.ctrlN);
    assert.match(m.plain(), /<1 bob U>/);
    await m.press(KEY.ctrlP);
    assert.match(m.plain(), /<2 carol/);
    await m.press(KEY.alt(7));
    assert.match(m.plain(), /No chat number 7/);
    m.unmount();
  });
});

describe('ui: SMP prompt', () => {
  it('opens when the peer asks, shows the question, and Enter answers with smp_respond', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.press('draft text');
    core.updateSession('a', (s) => ({
      ...s,
      otr: { ...s.otr, smp: { phase: 'asked', question: 'where did we meet?' } },
    }));
    await waitFor(() => assert.match(m.plain(), /bob wants to verify you and asks: where did we meet\?/));
    assert.match(m.plain(), /^answer>$/m);
    await m.press('paris');
    await m.press(KEY.enter);
    assert.deepEqual(core.userCommands(), [{ cmd: 'smp_respond', session: 'a', secret: 'paris' }]);
    assert.match(m.plain(), /> draft text/, 'the draft message is kept');
    m.unmount();
  });

  it('Esc aborts the verification with smp_abort', async () => {
    const core = twoChats();
    const m = await mount(core);
    core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, smp: { phase: 'asked' } } }));
    await waitFor(() => assert.match(m.plain(), /bob wants to verify you: type the shared secret/));
    await m.press(KEY.esc);
    assert.deepEqual(core.userCommands(), [{ cmd: 'smp_abort', session: 'a' }]);
    assert.doesNotMatch(m.plain(), /answer> /);
    m.unmount();
  });

  it('/otr auth answers a pending question instead of asking a new one, even typed at the prompt', async () => {
    const core = twoChats();
    core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, smp: { phase: 'asked' } } }));
    const m = await mount(core);
    assert.match(m.plain(), /^answer>$/m);
    await m.enter('/otr auth xyz');
    assert.deepEqual(core.userCommands(), [{ cmd: 'smp_respond', session: 'a', secret: 'xyz' }]);
    m.unmount();
  });

  it('/otr auth and /otr authabort typed at the prompt close it, though the core still shows the question', async () => {
    for (const [typed, sent] of [
      ['/otr auth xyz', { cmd: 'smp_respond', session: 'a', secret: 'xyz' }],
      ['/otr authabort', { cmd: 'smp_abort', session: 'a' }],
    ] as const) {
      const core = twoChats();
      core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, smp: { phase: 'asked' } } }));
      // A core that has not reported the outcome yet: the question stays in its state.
      const command = core.command.bind(core);
      core.command = async (cmd: CoreCommand) => {
        if (cmd.cmd === 'smp_respond' || cmd.cmd === 'smp_abort') core.commands.push(cmd);
        else await command(cmd);
      };
      const m = await mount(core);
      assert.match(m.plain(), /^answer>$/m);
      await m.enter(typed);
      assert.deepEqual(core.userCommands(), [sent]);
      assert.equal(core.state.sessions[0]?.otr.smp?.phase, 'asked');
      await waitFor(() => assert.doesNotMatch(m.plain(), /answer>|wants to verify you/));
      assert.match(m.plain(), /^>$/m, 'the input line is back');
      m.unmount();
    }
  });

  it('"//" at the prompt answers with a secret that starts with a slash', async () => {
    const core = twoChats();
    core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, smp: { phase: 'asked' } } }));
    const m = await mount(core);
    await m.enter('//slash');
    assert.deepEqual(core.userCommands(), [{ cmd: 'smp_respond', session: 'a', secret: '/slash' }]);
    m.unmount();
  });

  it('a question on another chat is announced', async () => {
    const core = twoChats();
    const m = await mount(core);
    core.updateSession('b', (s) => ({ ...s, otr: { ...s.otr, smp: { phase: 'asked' } } }));
    await waitFor(() => assert.match(m.plain(), /carol wants/));
    assert.match(m.plain(), /carol wants to verify you: Alt-2 to answer/);
    m.unmount();
  });
});

describe('ui: verification view', () => {
  it('shows both fingerprints in five groups of eight, and v dispatches trust', async () => {
    const core = twoChats();
    const m = await mount(core);
    await m.enter('/verify');
    const p = m.plain();
    assert.match(p, /Your fingerprint:/);
    // 74 columns for the pane: the five groups on one line, two spaces apart.
    const grouped = (fp: string) => fp.match(/.{8}/g)!.join('  ');
    assert.ok(p.includes(grouped(OUR_FP)), p);
    assert.ok(p.includes(grouped(BOB_FP)), p);
    assert.match(p, /\[U\] OTR unverified/);
    await m.press('v');
    assert.deepEqual(core.userCommands(), [{ cmd: 'trust', session: 'a' }]);
    await waitFor(() => assert.match(m.plain(), /\[V\] OTR verified/));
    await m.press(KEY.esc);
    assert.doesNotMatch(m.plain(), /Your fingerprint:/);
    assert.doesNotMatch(m.plain(), /> v/, 'v was not typed into the input line');
    m.unmount();
  });

  it('/otr info opens it too; without their key, v does nothing', async () => {
    const core = new FixtureCore([session('a', 'bob')]);
    const m = await mount(core);
    await m.enter('/otr info');
    assert.match(m.plain(), /none yet: no OTR conversation/);
    await m.press('v');
    assert.deepEqual(core.userCommands(), []);
    m.unmount();
  });

  it('letter-spaced groups when wide, groups of eight on separate lines when narrow', async () => {
    const { fingerprintRows } = await import('../../src/ui/VerifyView.js');
    const wide = fingerprintRows(BOB_FP, 120).map((r) => r.map((s) => s.text).join(''));
    assert.deepEqual(wide, [
      '   F E D C B A 9 8    7 6 5 4 3 2 1 0    F E D C B A 9 8    7 6 5 4 3 2 1 0    F E D C B A 9 8',
    ]);
    const rows = fingerprintRows(BOB_FP, 30).map((r) => r.map((s) => s.text).join(''));
    assert.deepEqual(rows, ['   1. FEDCBA98', '   2. 76543210', '   3. FEDCBA98', '   4. 76543210', '   5. FEDCBA98']);
  });
});

describe('ui: key change', () => {
  it('rings the bell once when a trust turns changed, and again only on a new change', async () => {
    let rings = 0;
    const core = twoChats();
    const m = await mount(core, { bell: () => rings++ });
    assert.equal(rings, 0);
    core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, trust: 'changed' } }));
    await waitFor(() => rings === 1);
    core.addLine('a', line({ text: 'more', encryption: 'changed' }));
    await waitFor(() => assert.match(m.plain(), /more/));
    await tick(80);
    assert.equal(rings, 1, 'not again for the same change');
    assert.match(m.plain(), /\[1 bob ! key changed\]|<1 bob ! key changed>/);
    core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, trust: 'verified' } }));
    await waitFor(() => assert.match(m.plain(), /<1 bob V>/));
    core.updateSession('a', (s) => ({ ...s, otr: { ...s.otr, trust: 'changed' } }));
    await waitFor(() => rings === 2);
    assert.equal(rings, 2);
    m.unmount();
  });
});
