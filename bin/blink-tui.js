#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BLINK_TUI_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} MALLOC_MMAP_THRESHOLD_=131072 node
// Entry point. The shebang caps glibc's mmap threshold at 128 KiB: large buffers (a 1 MiB message, its
// base64 and CPIM forms) then come from mmap and go back to the system when freed, instead of staying in the
// heap for good (measured: ~15 MB less RSS after big messages). `npm start` runs this file directly too.
// It also starts Node without NODE_EXTRA_CA_CERTS, handing the value over instead: Node 20 parses that file
// before running any code (70-90 ms of every start where it names the system's CA bundle), and
// src/tls/extra-ca.ts loads the same certificates when the first TLS connection needs them.
// Runs the bundle made by `npm install` (the `prepare` script: node scripts/bundle.mjs);
// in a checkout without it, runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

// NODE_EXTRA_CA_CERTS as the shebang left it: if it is still set, Node was started some other way and loaded
// the file itself. Otherwise the deferred file goes to src/tls/extra-ca.ts, and the variable comes back for the
// processes we start (notification hooks, openssl), which should see the environment the user gave us.
{
  const handedOver = process.env.BLINK_TUI_EXTRA_CA_CERTS;
  delete process.env.BLINK_TUI_EXTRA_CA_CERTS;
  delete process.env.BLINK_TUI_DEFERRED_CA_CERTS;
  if (handedOver && !process.env.NODE_EXTRA_CA_CERTS) {
    process.env.NODE_EXTRA_CA_CERTS = handedOver;
    process.env.BLINK_TUI_DEFERRED_CA_CERTS = handedOver;
  }
}

// Keep V8's young generation at its initial size (1 MiB per semi-space) instead of letting it double up to
// 16 MiB per semi-space: a chat client retains a steady trickle of objects (lines, history records), which is
// exactly what makes V8 grow the new space, and the grown space (33.6 MiB committed) stays resident for good.
// Measured with 20 OTR sessions and 10k lines: ~30 MB less RSS per process; the extra scavenges of a 1 MiB
// semi-space cost well under a millisecond each. The growth factor is read whenever V8 considers growing,
// so setting it here (before any real allocation) takes effect, unlike --max-semi-space-size, which is only
// read when the heap is created.
// Set once start-up is over: during start-up (module loading, the first render) a growing new space means
// fewer collections and a faster first screen; the space it grew to is returned by the idle GC below.
setTimeout(() => setFlagsFromString('--semi-space-growth-factor=1'), 400).unref();

// A full GC once the process falls idle after a busy spell that grew the heap. V8 sizes the old generation by
// its allocation rate, so a burst (a 1 MiB paste, a scrollback of history, many chats opening) leaves tens of
// MB of dead objects committed until the next burst; V8's own memory reducer would only act after ~8 s. A chat
// client is idle nearly all the time, so collecting in the first quiet 100 ms costs nothing a user can feel
// (a few ms, never during activity) and keeps RSS near the live size. gc() comes from a one-off context made
// on first use, as --expose-gc only installs it in contexts created after the flag is set.
// One that frees nothing is not repeated until the heap has grown by 8 MB: V8 keeps the space it committed, so
// total_heap_size stayed above live + 8 MB and an idle client ran a futile full GC (5-14 ms, 7.7 -> 7.7 MB) every
// 100 ms for good, and whatever arrived during one (the user's first /chat, an INVITE, a message) waited for it.
let gc = null;
let elu = performance.eventLoopUtilization();
let live = getHeapStatistics().used_heap_size;
let futileAt = 0;
setInterval(() => {
  const now = performance.eventLoopUtilization();
  const busy = performance.eventLoopUtilization(now, elu).utilization;
  elu = now;
  if (busy > 0.05) return;
  const step = 8 * 1024 * 1024;
  const before = getHeapStatistics();
  if (before.total_heap_size < live + Math.max(step, live / 2) || before.total_heap_size < futileAt + step) return;
  if (gc === null) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc');
  }
  gc();
  const after = getHeapStatistics();
  live = after.used_heap_size;
  futileAt = before.used_heap_size - after.used_heap_size < 1024 * 1024 ? after.total_heap_size : 0;
  elu = performance.eventLoopUtilization();
}, 100).unref();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'dist', 'bundle', 'cli.js');
let entry;
if (existsSync(bundled)) {
  entry = await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
await entry.main(process.argv.slice(2));
