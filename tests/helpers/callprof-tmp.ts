import { HeadlessClient } from './client-prof-tmp.js';
import { mkdtempSync } from 'node:fs';
const pd = process.env.PD ?? '/tmp/prof';
const env = {};
const a = await HeadlessClient.start({ env, args: ['--user', 'alice', '--port', '0', '--transport', 'tcp'] });
const b = await HeadlessClient.start({ env, args: ['--user', 'bob', '--port', '0', '--transport', 'tcp'] });
console.log('pids a', a.proc.pid, 'b', b.proc.pid);
await a.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
await b.waitFor((e) => e.ev === 'system' && /OTR key/.test(String(e.text)));
const pb = Number(/:(\d+)/.exec(b.uri.replace(/^sip:[^@]*@[^:]*/, ''))?.[1]);
b.proc.stdout.on('data', (d: Buffer) => {
  const m = /"ev":"incoming","session":"(\d+)"/.exec(d.toString());
  if (m) b.send({ cmd: 'accept', session: m[1] });
});
await new Promise((r) => setTimeout(r, 700));
const N = Number(process.env.N ?? 1);
for (let i = 0; i < N; i++) {
const s = a.events.length;
const t1 = performance.now();
a.send({ cmd: 'chat', to: `sip:bob@127.0.0.1:${pb};transport=tcp` });
await a.waitFor((e) => e.ev === 'otr' && e.state === 'encrypted', 5000, s);
console.log('total', (performance.now() - t1).toFixed(1));
await new Promise((r) => setTimeout(r, 700));
}
await a.quit(); await b.quit();
