// A manual look at the UI on a real terminal, with the in-memory FixtureCore (no network):
//   node --import tsx tests/tui/ui-demo.tsx
// Not a test (the runner only picks *.test.ts[x]).
import { renderApp } from '../../src/ui/index.js';
import { FixtureCore, session, otr, line, BOB_FP } from './ui-fixture-core.js';
const core = new FixtureCore(
  [
    session('a', 'bob', {
      otr: otr({ state: 'encrypted', trust: 'verified', version: 3, theirFingerprint: BOB_FP }),
      lines: Array.from({ length: 200 }, (_, i) =>
        line({
          text: `message ${i} ` + 'lorem ipsum '.repeat(i % 9),
          encryption: i % 3 ? 'verified' : 'unverified',
          direction: i % 2 ? 'in' : 'out',
        }),
      ),
    }),
    session('b', 'carol', { unread: 2, otr: otr({ state: 'encrypted', trust: 'unverified' }) }),
    session('c', 'room', { isFocus: true }),
    session('d', 'dave', { otr: otr({ state: 'encrypted', trust: 'changed' }) }),
  ],
  true,
);
let n = 0;
const t = setInterval(() => {
  core.addLine('b', line({ text: `tick ${n++}`, time: Date.now() }));
}, 1000);
const app = renderApp(core, { bell: () => process.stdout.write('\x07') });
await app.waitUntilExit();
clearInterval(t);
console.log(
  'exited; commands:',
  JSON.stringify(core.commands.filter((c) => c.cmd !== 'composing' && c.cmd !== 'read')),
);
