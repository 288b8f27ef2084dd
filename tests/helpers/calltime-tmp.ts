import { HeadlessClient } from './client.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
const da = mkdtempSync('/tmp/ct-a-'), db = mkdtempSync('/tmp/ct-b-');
const a = await HeadlessClient.start({ configDir: da, args: ['--user', 'alice', '--port', '0', '--transport', 'tcp'] });
const b = await HeadlessClient.start({ configDir: db, args: ['--user', 'bob', '--port', '0', '--transport', 'tcp'] });
await a.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
await b.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
const pb = Number(/:(\d+)/.exec(b.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
const log: string[] = [];
const now = () => (performance.timeOrigin + performance.now());
a.proc.stdout.on('data', (d: Buffer) => { for (const l of d.toString().trim().split('\n')) log.push(`${now().toFixed(1)} A ${l.slice(0, 90)}`); });
b.proc.stdout.on('data', (d: Buffer) => {
  for (const l of d.toString().trim().split('\n')) log.push(`${now().toFixed(1)} B ${l.slice(0, 90)}`);
  const m = /"ev":"incoming","session":"(\d+)"/.exec(d.toString());
  if (m) b.send({ cmd: 'accept', session: m[1] });
});
const N = Number(process.env.N ?? 8);
const totals: number[] = [];
for (let i = 0; i < N; i++) {
  const s = a.events.length;
  const t1 = performance.now();
  log.push(`${now().toFixed(1)} -- chat ${i}`);
  a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
  await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 5000, s);
  totals.push(performance.now() - t1);
  await new Promise((r) => setTimeout(r, 50));
}
console.log('totals', totals.map((t) => t.toFixed(1)).join(' '), 'median', [...totals].sort((x, y) => x - y)[Math.floor(N / 2)]!.toFixed(1));
await a.quit(); await b.quit();
const all = [...log];
for (const [n, d] of [['A', da], ['B', db]] as const) {
  for (const l of readFileSync(`${d}/logs/blink-tui.log`, 'utf8').split('\n')) {
    const m = /^(\S+) (.*)$/.exec(l); if (!m) continue;
    all.push(`${Date.parse(m[1]!).toFixed(1)} ${n}log ${m[2]!.slice(0, 160)}`);
  }
}
all.sort((x, y) => parseFloat(x) - parseFloat(y));
writeFileSync('/tmp/ct-out.txt', all.join('\n'));
