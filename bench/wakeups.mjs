// What an event-loop wake-up costs a bare Node process with a call's traffic, and whether a packet-driven send can
// save one: a peer process sends a 172-byte datagram every 20 ms on its own timer; the measured process
//   timer     sends on its own 20 ms timer and receives the peer's packets (two wake-ups per 20 ms: a call today)
//   reply     sends from the receive callback, no timer (one wake-up: a tick coalesced with the packet's arrival)
//   watchdog  as `reply`, and re-arms a 25 ms fallback timer on every packet (clearTimeout + setTimeout), the
//             timer a coalesced pacer would need for when the peer's packets stop or are lost
// and reports its voluntary context switches per second and its CPU share. Node's timers never move libuv's timer
// later: a cleared or replaced setTimeout still wakes the loop at its old due time (lib/internal/timers.js only
// reschedules for an earlier expiry), so `watchdog` wakes as often as `timer`.
//
// Plain JavaScript, so that the processes measured are bare Node (tsx's loader adds a thread and a heap to each).
//
//   node bench/wakeups.mjs [--seconds 8]
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PERIOD = 20;
const role = process.argv[2];
const secondsAt = process.argv.indexOf('--seconds');
const SECONDS = secondsAt > 0 ? Number(process.argv[secondsAt + 1]) : 8;
const payload = Buffer.alloc(172);

function evenTimer(fn) {
  const start = performance.now();
  let n = 0;
  const tick = () => {
    fn();
    n++;
    setTimeout(tick, Math.max(0, Math.round(start + n * PERIOD - performance.now())));
  };
  tick();
}

function switches() {
  return Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
}

if (role === 'peer') {
  const port = Number(process.argv[3]);
  const s = createSocket('udp4');
  s.on('message', () => {});
  s.bind(0, '127.0.0.1', () => evenTimer(() => s.send(payload, port, '127.0.0.1')));
} else if (role === 'timer' || role === 'reply' || role === 'watchdog') {
  const s = createSocket('udp4');
  let peer = null;
  let fallback;
  s.on('message', (_m, r) => {
    peer = r;
    if (role === 'timer') return;
    s.send(payload, r.port, r.address);
    if (role === 'watchdog') {
      clearTimeout(fallback);
      fallback = setTimeout(() => {}, PERIOD + 5);
    }
  });
  if (role === 'timer') evenTimer(() => peer && s.send(payload, peer.port, peer.address));
  s.bind(0, '127.0.0.1', () => process.send(s.address().port));
  setTimeout(() => {
    const c0 = switches();
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    setTimeout(() => {
      const dt = (performance.now() - t0) / 1000;
      const u = process.cpuUsage(u0);
      process.send({ cs: (switches() - c0) / dt, cpu: (u.user + u.system) / 1e6 / dt });
      process.exit(0);
    }, SECONDS * 1000);
  }, 1000);
} else {
  const self = fileURLToPath(import.meta.url);
  const run = (mode) =>
    new Promise((resolve) => {
      const m = fork(self, [mode, '--seconds', String(SECONDS)], { execArgv: [] });
      let peer = null;
      m.on('message', (msg) => {
        if (typeof msg === 'number') peer = fork(self, ['peer', String(msg)], { execArgv: [] });
        else {
          peer?.kill();
          resolve(msg);
        }
      });
    });
  console.log(`bare Node ${process.version}, 50 packets/s from a peer, ${SECONDS} s per mode`);
  for (let round = 0; round < 2; round++) {
    for (const mode of ['timer', 'reply', 'watchdog']) {
      const r = await run(mode);
      console.log(`${mode.padEnd(9)} wake-ups ${r.cs.toFixed(0).padStart(4)}/s   CPU ${(r.cpu * 100).toFixed(2)} %`);
    }
  }
}
