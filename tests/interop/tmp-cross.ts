import { writeFileSync } from 'node:fs';
import { OtrSession, generateDsaKey } from '../../src/otr/index.js';
import { EngineSide, PeerSide, Router } from '../helpers/otr-peers.js';
const N = Number(process.argv[2] ?? 100);
let fails = 0;
const KEY = generateDsaKey();
for (let i = 0; i < N; i++) {
  const peer = await PeerSide.start('potr', { account: `potr@test`, peer: 'blink@test' });
  const session = new OtrSession({ key: i % 2 ? KEY : generateDsaKey() });
  const ours = new EngineSide(session);
  const r = new Router(ours, peer);
  await ours.start(); await peer.start(); await r.flush();
  const ok = ours.state.state === 'encrypted' && peer.state.state === 'encrypted' && ours.errors.length === 0 && peer.errors.length === 0;
  if (!ok) {
    fails++;
    const f = `/tmp/akefail-${i}.json`;
    writeFileSync(f, JSON.stringify({ ours: { state: ours.state, errors: ours.errors, log: ours.log.filter(e => e.type !== 'send') }, peer: { state: peer.state, errors: peer.errors, stderr: peer.proc.stderrTail, log: peer.proc.log.slice(-30) }, transcript: r.transcript }, null, 1));
    console.log(`run ${i}: FAIL ours=${ours.state.state} peer=${peer.state.state} -> ${f}`);
  }
  await peer.close();
}
console.log('fails', fails, 'of', N);
