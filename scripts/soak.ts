// Soak test (not part of `npm test`): two headless clients registered at a real Kamailio, OTR on, N messages of
// random sizes (1 B to 64 KiB, some non-ASCII) in random bursts both ways, while the MSRP connection between
// them is reset at random moments (the kernel kills one end's socket: `ss -K`, needs root). A chat that ends on a
// reset is replaced by a new one and the run goes on. At the end it prints what was sent, received, reported
// failed to its sender, and silently lost: neither received by the peer nor reported failed (must be 0).
//
//   npm run soak [-- --messages N] [--seed S] [--reset-min A] [--reset-max B] [--max-outstanding K]
// A reset comes after a random number of messages (A..B, default 30..150) sent in a chat, at a random moment up
// to 300 ms later, so it lands inside a burst as often as between bursts.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { HeadlessClient, type Ev } from '../tests/helpers/client.js';
import { startKamailio, type KamailioInstance } from '../tests/helpers/kamailio.js';

// ---- options -----------------------------------------------------------------------------------

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number`);
  return v;
}
const N = option('messages', 10_000);
const SEED = option('seed', Date.now() % 2 ** 31);
const RESET_MIN = option('reset-min', 30);
const RESET_MAX = option('reset-max', 150);
const MAX_OUTSTANDING = option('max-outstanding', 200);
const FINAL_WAIT_MS = option('final-wait-ms', 75_000);

// Seeded PRNG (mulberry32) so a run can be repeated with --seed.
let seedState = SEED >>> 0;
function rnd(): number {
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rnd() * n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- messages ----------------------------------------------------------------------------------

type Side = 'alice' | 'bob';
interface Msg {
  tag: string;
  from: Side;
  text: string;
  bytes: number;
  session: string;
  outId: string | null;
  status: 'delivered' | 'failed' | null;
  received: number;
  chat: number;
  failReason: string | null;
  corrupted: boolean;
  plaintext: boolean;
}

const NON_ASCII = ['ü', 'ß', 'é', 'Ж', 'ж', 'λ', '✓', '—', '€', '中', '文', '😀', '🔒', 'ñ'];
const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-_()[]{}<>/@#%&*+=';

/** A text of exactly `size` UTF-8 bytes that starts with its tag (so the smallest are the tag alone). */
function makeText(tag: string, size: number, nonAscii: boolean): string {
  const parts: string[] = [tag];
  let left = size - Buffer.byteLength(tag);
  while (left > 0) {
    if (nonAscii && left >= 4 && rnd() < 0.3) {
      const c = NON_ASCII[int(NON_ASCII.length)]!;
      const b = Buffer.byteLength(c);
      if (b <= left) {
        parts.push(c);
        left -= b;
        continue;
      }
    }
    parts.push(ASCII[int(ASCII.length)]!);
    left--;
  }
  // No trailing space: some paths trim; a letter closes every message.
  let t = parts.join('');
  if (t.endsWith(' ')) t = t.slice(0, -1) + 'x';
  return t;
}

function randomSize(): number {
  const r = rnd();
  if (r < 0.3) return 1 + int(16);
  if (r < 0.85) return 17 + int(2048 - 16);
  return 2049 + int(65536 - 2048);
}

// ---- run ---------------------------------------------------------------------------------------

const USERS = { alice: 'soak-alice-pw', bob: 'soak-bob-pw' };
const msgs = new Map<string, Msg>();
const byOut = new Map<string, Msg>(); // `${side}|${session}|${outId}`
const errors: { side: Side; session: string | null; message: string }[] = [];
const akes: Record<Side, number> = { alice: 0, bob: 0 };
const warnings: string[] = [];
let resets = 0;
/** Per chat: when its reset was done (ms since start), and when each side saw it end. */
const chatLog = new Map<number, { caller: Side; resetAt: number | null; endedAt: number | null; endReason: string }>();
let resetMisses = 0;
let chats = 0;
let chatFailures = 0;

interface Chat {
  n: number;
  sessions: Record<Side, string>;
  ended: boolean;
  encrypted: Record<Side, boolean>;
}
let chat: Chat | null = null;

function tagOf(text: unknown): string | null {
  const m = /^#([0-9a-z]+)\|/.exec(String(text));
  return m ? m[1]! : null;
}

function rssKb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function watch(side: Side, c: HeadlessClient): void {
  c.onEvent((e: Ev) => {
    // The client object keeps every event; a soak would hold every message twice over. Keep nothing.
    c.events.length = 0;
    const session = typeof e.session === 'string' ? e.session : null;
    switch (e.ev) {
      case 'message': {
        const tag = tagOf(e.text);
        if (tag === null) break;
        const m = msgs.get(tag);
        if (!m) break;
        if (e.direction === 'out' && m.from === side) {
          m.outId = String(e.id);
          byOut.set(`${side}|${session}|${m.outId}`, m);
        } else if (e.direction === 'in' && m.from !== side) {
          m.received++;
          if (e.text !== m.text) m.corrupted = true;
          if (e.encryption === 'none') m.plaintext = true;
        }
        break;
      }
      case 'delivery': {
        const m = byOut.get(`${side}|${session}|${String(e.message)}`);
        if (m && (e.status === 'delivered' || e.status === 'failed'))
          m.status = m.status === 'failed' ? 'failed' : (e.status as 'delivered' | 'failed');
        if (m && e.status === 'failed') m.failReason ??= String(e.reason ?? '');
        break;
      }
      case 'otr':
        if (e.state === 'encrypted') {
          akes[side]++;
          if (chat && chat.sessions[side] === session) chat.encrypted[side] = true;
        }
        break;
      case 'session':
        if (e.state === 'ended' && chat && chat.sessions[side] === session) {
          chat.ended = true;
          const l = chatLog.get(chat.n);
          if (l && l.endedAt === null) {
            l.endedAt = Date.now();
            l.endReason = `${side}: ${String(e.reason ?? '')}`;
          }
        }
        break;
      case 'error':
        errors.push({ side, session, message: String(e.message) });
        break;
      case 'system':
        if (e.level === 'warning') warnings.push(`${side}: ${String(e.text)}`);
        break;
    }
  });
}

function waitFor(c: HeadlessClient, pred: (e: Ev) => boolean, ms: number, what: string): Promise<Ev> {
  return new Promise((resolve, reject) => {
    let done = false;
    const t = setTimeout(() => {
      done = true;
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    c.onEvent((e) => {
      if (done || !pred(e)) return;
      done = true;
      clearTimeout(t);
      resolve(e);
    });
  });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

/** Established TCP connections of a process: `local peer` address pairs. */
function connectionsOf(pid: number): { local: string; peer: string }[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' });
  const rows: { local: string; peer: string }[] = [];
  for (const line of out.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const cols = line.trim().split(/\s+/);
    // Recv-Q Send-Q Local Peer Process
    if (cols.length >= 5) rows.push({ local: cols[2]!, peer: cols[3]! });
  }
  return rows;
}

/** Kills one end (chosen at random) of the TCP connection between the two clients: that is their MSRP stream. */
function resetMsrp(a: HeadlessClient, b: HeadlessClient): boolean {
  const ca = connectionsOf(a.proc.pid!);
  const cb = new Set(connectionsOf(b.proc.pid!).map((r) => `${r.peer}>${r.local}`));
  const direct = ca.filter((r) => cb.has(`${r.local}>${r.peer}`));
  if (direct.length === 0) return false;
  const r = direct[int(direct.length)]!;
  const port = (addr: string) => addr.slice(addr.lastIndexOf(':') + 1);
  // Kill Alice's end or Bob's end (then local and peer swap).
  const [l, p] = rnd() < 0.5 ? [r.local, r.peer] : [r.peer, r.local];
  execFileSync('ss', ['-K', '-tnH', `sport = :${port(l)} and dport = :${port(p)}`], { encoding: 'utf8' });
  return true;
}

async function newChat(a: HeadlessClient, b: HeadlessClient, domain: string): Promise<boolean> {
  const callerSide: Side = rnd() < 0.5 ? 'alice' : 'bob';
  const [caller, callee, calleeSide] = callerSide === 'alice' ? [a, b, 'bob' as Side] : [b, a, 'alice' as Side];
  const n = ++chats;
  const connecting = waitFor(caller, (e) => e.ev === 'session' && e.state === 'connecting', 20000, 'connecting');
  const incoming = waitFor(callee, (e) => e.ev === 'incoming', 20000, 'incoming');
  caller.send({ cmd: 'chat', to: `${calleeSide}@${domain}` });
  try {
    const [con, inc] = await Promise.all([connecting, incoming]);
    const c: Chat = {
      n,
      sessions: { [callerSide]: String(con.session), [calleeSide]: String(inc.session) } as Record<Side, string>,
      ended: false,
      encrypted: { alice: false, bob: false },
    };
    chat = c;
    chatLog.set(n, { caller: callerSide, resetAt: null, endedAt: null, endReason: '' });
    callee.send({ cmd: 'accept', session: String(inc.session) });
    const ok = await until(() => c.ended || (c.encrypted.alice && c.encrypted.bob), 30000);
    if (!ok || c.ended) throw new Error(c.ended ? 'chat ended before OTR was up' : 'OTR not up within 30 s');
    return true;
  } catch (e) {
    chatFailures++;
    warnings.push(`chat ${n}: ${(e as Error).message}`);
    if (chat && !chat.ended) {
      for (const [side, cl] of [
        ['alice', a],
        ['bob', b],
      ] as const)
        cl.send({ cmd: 'hangup', session: chat.sessions[side] });
      chat.ended = true;
    }
    await sleep(500);
    return false;
  }
}

function outstanding(): number {
  let n = 0;
  for (const m of msgs.values()) if (m.status === null && m.received === 0) n++;
  return n;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let kam: KamailioInstance | null = null;
  let a: HeadlessClient | null = null;
  let b: HeadlessClient | null = null;
  try {
    kam = await startKamailio({ users: USERS });
    const args = (user: Side) => [
      '--user',
      user,
      '--password',
      USERS[user],
      '--registrar',
      `sip:${kam!.domain}`,
      '--outbound-proxy',
      `sip:127.0.0.1:${kam!.tcpPort};transport=tcp`,
      '--transport',
      'tcp',
      '--port',
      '0',
    ];
    a = await HeadlessClient.start({ args: args('alice') });
    b = await HeadlessClient.start({ args: args('bob') });
    await Promise.all([a.waitFor((e) => e.ev === 'registered', 15000), b.waitFor((e) => e.ev === 'registered', 15000)]);
    a.events.length = 0;
    b.events.length = 0;
    watch('alice', a);
    watch('bob', b);
    const rssStart = { alice: rssKb(a.proc.pid), bob: rssKb(b.proc.pid) };
    console.log(
      `soak: ${N} messages, seed ${SEED}, a reset every ${RESET_MIN}-${RESET_MAX} messages, Kamailio on ${kam.tcpPort}/tcp`,
    );

    const clients: Record<Side, HeadlessClient> = { alice: a, bob: b };
    let sent = 0;
    let lastProgress = Date.now();
    let resetAfter = Infinity;
    let sending = true;
    const reset = (c: Chat) => {
      setTimeout(() => {
        if (chat !== c || c.ended || sending === false) return;
        try {
          if (resetMsrp(a!, b!)) {
            resets++;
            chatLog.get(c.n)!.resetAt = Date.now();
          } else resetMisses++;
        } catch (e) {
          resetMisses++;
          warnings.push(`reset failed: ${(e as Error).message}`);
        }
      }, int(300));
    };
    while (sent < N) {
      if (!chat || chat.ended) {
        if (chatFailures > 50) throw new Error('more than 50 chats failed to start: giving up');
        if (await newChat(a, b, kam.domain))
          resetAfter = sent + RESET_MIN + int(Math.max(1, RESET_MAX - RESET_MIN + 1));
        continue;
      }
      if (outstanding() >= MAX_OUTSTANDING) {
        await until(() => outstanding() < MAX_OUTSTANDING / 2 || (chat?.ended ?? true), 40000);
        continue;
      }
      const burst = 1 + int(40);
      const dir = int(3); // 0 alice, 1 bob, 2 both
      const c = chat;
      for (let i = 0; i < burst && sent < N; i++) {
        const sides: Side[] = dir === 0 ? ['alice'] : dir === 1 ? ['bob'] : ['alice', 'bob'];
        for (const side of sides) {
          if (sent >= N) break;
          const tag = (sent++).toString(36);
          const size = Math.max(randomSize(), tag.length + 2);
          const text = makeText(`#${tag}|`, size, rnd() < 0.25);
          const m: Msg = {
            tag,
            from: side,
            text,
            bytes: Buffer.byteLength(text),
            session: c.sessions[side],
            outId: null,
            status: null,
            received: 0,
            chat: c.n,
            failReason: null,
            corrupted: false,
            plaintext: false,
          };
          msgs.set(tag, m);
          clients[side].send({ cmd: 'send', session: m.session, text });
        }
      }
      if (sent >= resetAfter) {
        resetAfter = Infinity;
        reset(c);
      }
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        console.log(`  ${sent}/${N} sent, chat ${chat.n}, ${resets} resets, ${outstanding()} outstanding`);
      }
      await sleep(int(1000));
    }
    sending = false;
    // Every message gets a final word: delivered, failed, or received. Wait for the slow ones (MSRP's own
    // transaction and report timers are 30 s each).
    await until(() => [...msgs.values()].every((m) => m.status !== null || m.received > 0), FINAL_WAIT_MS);
    await sleep(1000);
    const rssEnd = { alice: rssKb(a.proc.pid), bob: rssKb(b.proc.pid) };

    // ---- figures ----
    const all = [...msgs.values()];
    const errorCount = new Map<string, number>();
    for (const e of errors)
      if (e.session) errorCount.set(`${e.side}|${e.session}`, (errorCount.get(`${e.side}|${e.session}`) ?? 0) + 1);
    let failedDelivery = 0;
    let failedCommand = 0;
    let failedButReceived = 0;
    let lostDelivered = 0;
    let lostNoWord = 0;
    const lostTags: string[] = [];
    for (const m of all) {
      let visibleFailure = m.status === 'failed';
      if (!visibleFailure && m.outId === null) {
        // The send command itself was refused (e.g. the chat had just ended): an error event says so.
        const k = `${m.from}|${m.session}`;
        const left = errorCount.get(k) ?? 0;
        if (left > 0) {
          errorCount.set(k, left - 1);
          visibleFailure = true;
          failedCommand++;
        }
      } else if (visibleFailure) failedDelivery++;
      if (visibleFailure && m.received > 0) failedButReceived++;
      if (m.received === 0 && !visibleFailure) {
        if (m.status === 'delivered') lostDelivered++;
        else lostNoWord++;
        lostTags.push(
          `#${m.tag} (${m.from}, chat session ${m.session}, ${m.bytes} B, ${m.status ?? 'no delivery report'}${m.outId === null ? ', no echo' : ''})`,
        );
      }
    }
    const received = all.filter((m) => m.received > 0).length;
    const sizes = all.map((m) => m.bytes);
    const nonAscii = all.filter((m) => /[^\x00-\x7f]/.test(m.text)).length;
    const silentlyLost = lostDelivered + lostNoWord;
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    console.log('');
    console.log(
      `messages sent:        ${all.length} (alice→bob ${all.filter((m) => m.from === 'alice').length}, bob→alice ${all.filter((m) => m.from === 'bob').length}); ${Math.min(...sizes)}–${Math.max(...sizes)} bytes, ${(sizes.reduce((x, y) => x + y, 0) / 1048576).toFixed(1)} MiB in all, ${nonAscii} non-ASCII`,
    );
    console.log(
      `received by the peer: ${received} (corrupted ${all.filter((m) => m.corrupted).length}, more than once ${all.filter((m) => m.received > 1).length}, shown as plaintext ${all.filter((m) => m.plaintext).length})`,
    );
    console.log(
      `failed-visible:       ${failedDelivery + failedCommand} (delivery failed ${failedDelivery}, send refused ${failedCommand}; of these received anyway ${failedButReceived})`,
    );
    console.log(
      `silently lost:        ${silentlyLost} (reported delivered but never received ${lostDelivered}, no final word and not received ${lostNoWord})`,
    );
    console.log(
      `MSRP resets:          ${resets} (${resetMisses} times no connection to reset); chats ${chats} (${chatFailures} failed to start)`,
    );
    console.log(`AKEs (otr encrypted): alice ${akes.alice}, bob ${akes.bob}`);
    console.log(`RSS alice:            ${mb(rssStart.alice)} MB at start, ${mb(rssEnd.alice)} MB at end`);
    console.log(`RSS bob:              ${mb(rssStart.bob)} MB at start, ${mb(rssEnd.bob)} MB at end`);
    console.log(`other errors:         ${errors.length - failedCommand}; warnings ${warnings.length}`);
    console.log(`duration:             ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    for (const [n, l] of chatLog) {
      const mine = all.filter((m) => m.chat === n);
      const failed = mine.filter((m) => m.status === 'failed');
      const reasons = [...new Set(failed.map((m) => (m.failReason ?? '').replace(/\d+/g, 'N')))].slice(0, 3);
      console.log(
        `  chat ${n} (${l.caller} called): sent ${mine.length}, received ${mine.filter((m) => m.received > 0).length}, failed ${failed.length}` +
          `${l.resetAt !== null ? `, reset ${l.endedAt !== null ? `${l.endedAt - l.resetAt} ms before it ended` : 'before the run ended, the chat still up'}` : ''}` +
          `${l.endReason ? ` (ended: ${l.endReason})` : ''}${reasons.length ? `; failures: ${reasons.join(' | ')}` : ''}`,
      );
    }
    if (lostTags.length)
      console.log(`lost: ${lostTags.slice(0, 20).join('; ')}${lostTags.length > 20 ? ` … (${lostTags.length})` : ''}`);
    const shownWarnings = [...new Set(warnings.map((w) => w.replace(/\d+/g, 'N')))].slice(0, 12);
    if (shownWarnings.length) console.log(`warning kinds: ${shownWarnings.join(' | ')}`);
    const shownErrors = [...new Set(errors.map((e) => e.message.replace(/\d+/g, 'N')))].slice(0, 8);
    if (shownErrors.length) console.log(`error kinds: ${shownErrors.join(' | ')}`);
    process.exitCode = silentlyLost > 0 || all.some((m) => m.corrupted || m.plaintext) ? 1 : 0;
  } finally {
    const dirs = [a?.configDir, b?.configDir];
    await Promise.all([a?.quit().catch(() => undefined), b?.quit().catch(() => undefined)]);
    for (const d of dirs) if (d) rmSync(d, { recursive: true, force: true });
    await kam?.stop();
  }
}

main().catch((e: unknown) => {
  console.error(`soak failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 2;
});
