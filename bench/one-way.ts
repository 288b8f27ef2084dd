// One-way chat latency with OTR between two fresh clients, client to client (the headless event clock: the
// sender acknowledging `send` -> the receiver producing the `message` event), as bench/app.ts measures it, for
// looking into the p90 (which the bar holds to 2 x p50). With several `--bin`s the builds take turns, a pair of
// processes and `--messages` messages each, `--pairs` times. `--node-arg` runs the clients under node with those
// options (e.g. --max-semi-space-size=8 to see what the young generation's collections cost).
//
//   node --import tsx bench/one-way.ts [--messages 500] [--pairs 2] [--bin A --bin B] [--node-arg X]
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, HeadlessClient } from '../tests/helpers/client.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '500' },
    pairs: { type: 'string', default: '2' },
    bin: { type: 'string', multiple: true },
    'node-arg': { type: 'string', multiple: true },
  },
});
const n = Number(values.messages);
const bins = (values.bin ?? [BIN]).map((b) => resolve(b));
const nodeArgs = values['node-arg'] ? { nodeArgs: values['node-arg'] } : {};

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function run(bin: string): Promise<number[]> {
  const env = { BLINK_TUI_EVENT_CLOCK: '1' };
  const args = (u: string): string[] => ['--user', u, '--port', '0', '--transport', 'tcp'];
  const a = await HeadlessClient.start({ bin, args: args('alice'), env, ...nodeArgs });
  const b = await HeadlessClient.start({ bin, args: args('bob'), env, ...nodeArgs });
  try {
    const pb = Number(/:(\d+)/.exec(b.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
    b.onEvent((e) => {
      if (e.ev === 'incoming') b.send({ cmd: 'accept', session: e.session });
    });
    const since = a.events.length;
    a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
    const enc = await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 15000, since);
    await b.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 15000);
    const sa = String(enc.session);
    const out: number[] = [];
    // With --node-arg=--trace-gc the collections show up in stdout (the helper keeps them as non-JSON lines).
    const gcs = (): number => [...a.stderr, ...b.stderr].join('').split('Scavenge').length - 1;
    const gc0 = gcs();
    for (let i = 0; i < n; i++) {
      const text = `ping ${i} ${'x'.repeat(40)}`;
      const sb = b.events.length;
      const sA = a.events.length;
      a.send({ cmd: 'send', session: sa, text });
      const got = await b.waitFor((e) => e.ev === 'message' && e.direction === 'in' && e.text === text, 10000, sb);
      const ack = await a.waitFor((e) => e.ev === 'command' && e.cmd === 'send', 10000, sA);
      out.push(Number(got.mono) - Number(ack.mono));
    }
    if (gcs() > 0) {
      const ms = [...[...a.stderr, ...b.stderr].join('').matchAll(/Scavenge[^,]*, ([\d.]+) \//g)]
        .map((m) => Number(m[1]))
        .slice(gc0);
      console.log(`  scavenges in both clients during the ${n} messages: ${ms.length}, ms each: ${ms.join(' ')}`);
    }
    return out;
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }
}

const all = new Map<string, number[]>(bins.map((b) => [b, []]));
const load0 = loadavg()[0]!;
for (let p = 0; p < Number(values.pairs); p++) {
  for (const [i, bin] of bins.entries()) {
    const xs = await run(bin);
    all.get(bin)!.push(...xs);
    console.log(
      `pair ${p} build ${i}: p50 ${pct(xs, 50).toFixed(2)} p90 ${pct(xs, 90).toFixed(2)} p99 ${pct(xs, 99).toFixed(2)} ms`,
    );
  }
}
console.log(`load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
for (const [i, bin] of bins.entries()) {
  const xs = all.get(bin)!;
  const [p50, p90] = [pct(xs, 50), pct(xs, 90)];
  console.log(
    `build ${i} (${bin}): p50 ${p50.toFixed(2)} p90 ${p90.toFixed(2)} (${(p90 / p50).toFixed(2)} x p50) p99 ${pct(xs, 99).toFixed(2)} ms`,
  );
}
