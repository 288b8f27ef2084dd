// Real OTR peers for interop tests and benchmarks: the libotr C program and the potr script in
// tests/interop/peers/, driven over JSON lines, plus a router that carries wire messages between any
// two conversation sides (a peer process or an in-process OtrSession) until they fall silent.
//
// This file never imports src/otr: the engine side is typed structurally (EngineSessionLike), so the
// peer-against-peer tests run even while the engine is being written, and a drift of the engine's
// API from the contract shows up as a type error in the test that pairs them.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(here, '..', '..');
export const PEERS_DIR = join(REPO_ROOT, 'tests', 'interop', 'peers');
/** Git-ignored: compiled peers and the peers' private keys (generated once, reused by later runs). */
export const BUILD_DIR = join(REPO_ROOT, 'tests', 'interop', 'build');
export const KEY_DIR = join(BUILD_DIR, 'keys');
export const PYTHON = '/usr/bin/python3';
export const POTR_SCRIPT = join(PEERS_DIR, 'potr-peer.py');
const LIBOTR_SOURCE = join(PEERS_DIR, 'libotr-peer.c');

export class PeerError extends Error {
  override name = 'PeerError';
}

/**
 * Compiles libotr-peer.c unless a binary of this exact source exists. The binary's name carries the
 * source's hash, so an edited source is rebuilt, and parallel test processes racing on the build
 * each compile to a private name and rename (atomic) onto the same result.
 */
export function ensureLibotrPeer(): string {
  const src = readFileSync(LIBOTR_SOURCE);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const bin = join(BUILD_DIR, `libotr-peer-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${bin}.tmp.${process.pid}`;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', tmp, LIBOTR_SOURCE, '-lotr', '-lgcrypt'], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new PeerError(`gcc failed building ${LIBOTR_SOURCE}:\n${r.error?.message ?? ''}${r.stderr}`);
  }
  renameSync(tmp, bin);
  // binaries of earlier sources are never used again (a running one keeps its file open regardless)
  for (const f of readdirSync(BUILD_DIR)) {
    if (/^libotr-peer-[0-9a-f]{12}$/.test(f) && join(BUILD_DIR, f) !== bin) rmSync(join(BUILD_DIR, f), { force: true });
  }
  return bin;
}

export type PeerKind = 'libotr' | 'potr';

/** Path of the long-term key file a peer uses for an account (created by the peer when absent). */
export function peerKeyFile(kind: PeerKind, account: string): string {
  mkdirSync(KEY_DIR, { recursive: true });
  return join(KEY_DIR, `${kind}-${account.replace(/[^A-Za-z0-9._-]/g, '_')}.key`);
}

export function peerCommand(kind: PeerKind, ...args: string[]): { cmd: string; args: string[] } {
  return kind === 'libotr' ? { cmd: ensureLibotrPeer(), args } : { cmd: PYTHON, args: [POTR_SCRIPT, ...args] };
}

// ------------------------------------------------------------------------------------ peer protocol

export type OtrStateName = 'plaintext' | 'encrypted' | 'finished';
export type SmpEventName = 'asked' | 'success' | 'failure' | 'aborted' | 'cheated' | 'error' | 'in_progress';

export type PeerEvent =
  | { ev: 'ready'; fingerprint: string; instance_tag: number | null; library: string; version: string }
  | { ev: 'wire'; wire: string }
  | { ev: 'message'; text: string; encrypted: boolean }
  | { ev: 'state'; state: OtrStateName; version: 2 | 3 | null; fingerprint: string | null; their_instance?: number }
  | { ev: 'smp'; event: SmpEventName; question?: string; progress?: number }
  | { ev: 'otr_event'; name: string; message?: string; gcry?: string }
  | { ev: 'new_fingerprint'; fingerprint: string }
  | { ev: 'still_secure' }
  | { ev: 'fingerprint'; ours: string; theirs: string | null }
  | { ev: 'symkey'; use: number; usedata: string /* hex */; key: string /* hex */ }
  | { ev: 'symkey_sent'; key: string /* hex */ }
  | { ev: 'error'; message: string }
  | { ev: 'done'; op: string; id?: string };

export type PeerCommand =
  | {
      op: 'init';
      account: string;
      peer: string;
      protocol: string;
      policy?: string;
      fragment_size?: number;
      keyfile: string;
    }
  | { op: 'recv'; wire: string }
  | { op: 'send'; text: string }
  | { op: 'start' }
  | { op: 'end' }
  | { op: 'smp'; secret: string; question?: string }
  | { op: 'smp_respond'; secret: string }
  | { op: 'smp_abort' }
  | { op: 'fingerprint' }
  | { op: 'symkey'; use: number; usedata?: string }
  | { op: 'status' };

export interface PeerOptions {
  account?: string;
  peer?: string;
  protocol?: string;
  /** "opportunistic" (default), "manual", "always", "never", or flags: "ALLOW_V2,ALLOW_V3,..." */
  policy?: string;
  /** libotr's max_message_size / potr's maxMessageSize: fragment outgoing OTR messages longer than this */
  fragmentSize?: number;
  /** per-command time limit (ms) */
  timeoutMs?: number;
}

function isPeerEvent(x: unknown): x is PeerEvent {
  return typeof x === 'object' && x !== null && typeof (x as { ev?: unknown }).ev === 'string';
}

/** One peer process. Every command is answered by the events it caused, ending with `done`. */
export class PeerProcess {
  readonly kind: PeerKind;
  readonly log: PeerEvent[] = [];
  ready!: Extract<PeerEvent, { ev: 'ready' }>;
  private child: ChildProcessWithoutNullStreams;
  private buf = '';
  private stderr = '';
  private nextId = 1;
  private waiting: {
    id: string;
    events: PeerEvent[];
    resolve: (e: PeerEvent[]) => void;
    reject: (e: Error) => void;
  } | null = null;
  private exited: string | null = null;
  private readonly timeoutMs: number;

  private constructor(kind: PeerKind, timeoutMs: number) {
    this.kind = kind;
    this.timeoutMs = timeoutMs;
    const { cmd, args } = peerCommand(kind, 'peer');
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => this.onData(d));
    this.child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.child.stdin.on('error', () => {
      /* reported through 'exit' */
    });
    this.child.on('error', (e) => this.onExit(`spawn failed: ${e.message}`));
    this.child.on('exit', (code, signal) => this.onExit(`exited with ${signal ?? code}`));
  }

  static async start(kind: PeerKind, opts: PeerOptions = {}): Promise<PeerProcess> {
    const p = new PeerProcess(kind, opts.timeoutMs ?? 20_000);
    const account = opts.account ?? `${kind}@test`;
    const protocol = opts.protocol ?? 'xmpp';
    try {
      const evs = await p.command({
        op: 'init',
        account,
        peer: opts.peer ?? 'blink@test',
        protocol,
        policy: opts.policy ?? 'opportunistic',
        fragment_size: opts.fragmentSize ?? 0,
        keyfile: peerKeyFile(kind, `${account}-${protocol}`),
      });
      const ready = evs.find((e): e is Extract<PeerEvent, { ev: 'ready' }> => e.ev === 'ready');
      if (!ready) throw new PeerError(`${kind} peer did not start: ${JSON.stringify(evs)}`);
      p.ready = ready;
      return p;
    } catch (e) {
      p.kill();
      throw e;
    }
  }

  get stderrTail(): string {
    return this.stderr;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!line.trim()) continue;
      let ev: unknown;
      try {
        ev = JSON.parse(line);
      } catch {
        this.fail(new PeerError(`${this.kind} peer wrote a line that is not JSON: ${line.slice(0, 200)}`));
        continue;
      }
      if (!isPeerEvent(ev)) continue;
      this.log.push(ev);
      const w = this.waiting;
      if (!w) continue;
      if (ev.ev === 'done' && ev.id === w.id) {
        this.waiting = null;
        w.resolve(w.events);
      } else {
        w.events.push(ev);
      }
    }
  }

  private onExit(why: string): void {
    this.exited ??= why;
    this.fail(new PeerError(`${this.kind} peer ${why}; stderr: ${this.stderr.slice(-1000)}`));
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }

  /** Sends one command and resolves with the events it caused (without the closing `done`). */
  command(cmd: PeerCommand): Promise<PeerEvent[]> {
    if (this.exited) return Promise.reject(new PeerError(`${this.kind} peer ${this.exited}`));
    if (this.waiting) return Promise.reject(new PeerError(`${this.kind} peer: command sent while another runs`));
    const id = String(this.nextId++);
    return new Promise<PeerEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiting?.id !== id) return;
        this.waiting = null;
        reject(new PeerError(`${this.kind} peer: no answer to ${cmd.op} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting = {
        id,
        events: [],
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.child.stdin.write(JSON.stringify({ ...cmd, id }) + '\n');
    });
  }

  /** Asks the peer to quit; kills it if it has not gone within a second. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end(JSON.stringify({ op: 'quit' }) + '\n');
    const t = setTimeout(() => this.kill(), 1000);
    await gone;
    clearTimeout(t);
  }

  kill(): void {
    if (!this.exited && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ------------------------------------------------------------------------------------ sides + router

export interface SeenMessage {
  text: string;
  encrypted: boolean;
}
export interface SeenSmp {
  event: SmpEventName;
  question?: string;
}
export interface SeenState {
  state: OtrStateName;
  version: 2 | 3 | null;
  fingerprint: string | null;
}

/** One end of a conversation, as the router and the tests see it, whatever implements it. */
export interface Side {
  readonly label: string;
  /** wire messages produced and not yet delivered to the other side */
  readonly outbox: string[];
  readonly messages: SeenMessage[];
  readonly smp: SeenSmp[];
  /** errors reported by the implementation (typed error events, ?OTR Error: received...) */
  readonly errors: string[];
  readonly state: SeenState;
  readonly ourFingerprint: string;
  receive(wire: string): Promise<void>;
  send(text: string): Promise<void>;
  start(): Promise<void>;
  end(): Promise<void>;
  smpStart(secret: string, question?: string): Promise<void>;
  smpRespond(secret: string): Promise<void>;
  close(): Promise<void>;
}

/** libotr message events (and potr's equivalents) that mean something went wrong between the two sides. */
const PEER_ERROR_EVENTS = new Set([
  'rcvdmsg_general_err',
  'rcvdmsg_unreadable',
  'rcvdmsg_malformed',
  'rcvdmsg_not_in_private',
  'rcvdmsg_unrecognized',
  'setup_error',
  'encryption_error',
  'msg_reflected',
  'rcvdmsg_for_other_instance',
]);

const INITIAL_STATE: SeenState = { state: 'plaintext', version: null, fingerprint: null };

export class PeerSide implements Side {
  readonly outbox: string[] = [];
  readonly messages: SeenMessage[] = [];
  readonly smp: SeenSmp[] = [];
  readonly errors: string[] = [];
  readonly otrEvents: Extract<PeerEvent, { ev: 'otr_event' }>[] = [];
  state: SeenState = INITIAL_STATE;
  /** libotr only: the instance tag of the context in use (the other side's tag once v3 is up) */
  theirInstance: number | null = null;
  readonly label: string;

  constructor(readonly proc: PeerProcess) {
    this.label = `${proc.kind} ${proc.ready.version}`;
  }

  static async start(kind: PeerKind, opts: PeerOptions = {}): Promise<PeerSide> {
    return new PeerSide(await PeerProcess.start(kind, opts));
  }

  get ourFingerprint(): string {
    return this.proc.ready.fingerprint;
  }

  private async run(cmd: PeerCommand): Promise<void> {
    for (const e of await this.proc.command(cmd)) {
      switch (e.ev) {
        case 'wire':
          this.outbox.push(e.wire);
          break;
        case 'message':
          this.messages.push({ text: e.text, encrypted: e.encrypted });
          break;
        case 'state':
          this.state = { state: e.state, version: e.version, fingerprint: e.fingerprint };
          this.theirInstance = e.their_instance ?? null;
          break;
        case 'smp':
          if (e.event !== 'in_progress')
            this.smp.push(e.question === undefined ? { event: e.event } : { event: e.event, question: e.question });
          break;
        case 'otr_event':
          this.otrEvents.push(e);
          if (PEER_ERROR_EVENTS.has(e.name)) this.errors.push(`${e.name}${e.message ? `: ${e.message}` : ''}`);
          break;
        case 'error':
          this.errors.push(e.message);
          break;
        default:
          break;
      }
    }
  }

  receive(wire: string): Promise<void> {
    return this.run({ op: 'recv', wire });
  }
  /** libotr only: announces the extra symmetric key (TLV 8) and returns it (hex). */
  async symkey(use: number, usedata: string): Promise<string> {
    const before = this.proc.log.length;
    await this.run({ op: 'symkey', use, usedata });
    const ev = this.proc.log
      .slice(before)
      .find((e): e is Extract<PeerEvent, { ev: 'symkey_sent' }> => e.ev === 'symkey_sent');
    if (!ev) throw new PeerError(`${this.label}: no extra symmetric key (${this.errors.join('; ')})`);
    return ev.key;
  }
  send(text: string): Promise<void> {
    return this.run({ op: 'send', text });
  }
  start(): Promise<void> {
    return this.run({ op: 'start' });
  }
  end(): Promise<void> {
    return this.run({ op: 'end' });
  }
  smpStart(secret: string, question?: string): Promise<void> {
    return this.run(question === undefined ? { op: 'smp', secret } : { op: 'smp', secret, question });
  }
  smpRespond(secret: string): Promise<void> {
    return this.run({ op: 'smp_respond', secret });
  }
  close(): Promise<void> {
    return this.proc.close();
  }
}

/** The shape of src/otr's OtrSession that the router needs (see the engine's contract). */
export type EngineEvent =
  | { type: 'send'; wire: string[] }
  | { type: 'message'; text: string; encrypted: boolean }
  | { type: 'state'; state: OtrStateName; version: 2 | 3 | null; theirFingerprint: string | null }
  | { type: 'smp'; event: { type: string; question?: string; reason?: string } }
  | { type: 'error'; message: string; fromPeer: boolean }
  | { type: 'held'; count: number }
  | { type: 'peer-supports-otr'; versions: number[] };

export interface EngineSessionLike {
  readonly ourFingerprint: string;
  /** Milliseconds until tick() has work (the engine has no timers of its own), or null. */
  readonly tickDueIn?: number | null;
  tick?(): readonly EngineEvent[];
  receive(wire: string): readonly EngineEvent[];
  send(text: string): readonly EngineEvent[];
  start(): readonly EngineEvent[];
  end(): readonly EngineEvent[];
  smpStart(secret: string, question?: string): readonly EngineEvent[];
  smpRespond(secret: string): readonly EngineEvent[];
}

/** Our engine, in process. Its events are kept in `log` for failure messages. */
export class EngineSide implements Side {
  readonly outbox: string[] = [];
  readonly messages: SeenMessage[] = [];
  readonly smp: SeenSmp[] = [];
  readonly errors: string[] = [];
  readonly log: EngineEvent[] = [];
  state: SeenState = INITIAL_STATE;

  constructor(
    readonly session: EngineSessionLike,
    readonly label = 'blink-tui',
  ) {}

  get ourFingerprint(): string {
    return this.session.ourFingerprint;
  }

  /** Takes events the session returned from a call made directly on it (outside this wrapper). */
  apply(events: readonly EngineEvent[]): void {
    for (const e of events) {
      this.log.push(e);
      switch (e.type) {
        case 'send':
          this.outbox.push(...e.wire);
          break;
        case 'message':
          // a data message carrying only TLVs (SMP, disconnect) has no text to show
          if (e.text !== '' || !e.encrypted) this.messages.push({ text: e.text, encrypted: e.encrypted });
          break;
        case 'state':
          this.state = { state: e.state, version: e.version, fingerprint: e.theirFingerprint };
          break;
        case 'smp': {
          const t = e.event.type as SmpEventName;
          this.smp.push(e.event.question === undefined ? { event: t } : { event: t, question: e.event.question });
          break;
        }
        case 'error':
          this.errors.push(`${e.fromPeer ? 'from peer: ' : ''}${e.message}`);
          break;
        default:
          break;
      }
    }
  }

  private async call(f: () => readonly EngineEvent[]): Promise<void> {
    this.apply(f());
  }
  /** Plays the engine's timer: waits until its tick is due and runs it. False when none is pending. */
  async runTimer(): Promise<boolean> {
    const due = this.session.tickDueIn;
    if (due === null || due === undefined || !this.session.tick) return false;
    await new Promise((r) => setTimeout(r, due));
    this.apply(this.session.tick());
    return true;
  }
  receive(wire: string): Promise<void> {
    return this.call(() => this.session.receive(wire));
  }
  send(text: string): Promise<void> {
    return this.call(() => this.session.send(text));
  }
  start(): Promise<void> {
    return this.call(() => this.session.start());
  }
  end(): Promise<void> {
    return this.call(() => this.session.end());
  }
  smpStart(secret: string, question?: string): Promise<void> {
    return this.call(() => this.session.smpStart(secret, question));
  }
  smpRespond(secret: string): Promise<void> {
    return this.call(() => this.session.smpRespond(secret));
  }
  async close(): Promise<void> {
    /* nothing to release */
  }
}

export interface WireRecord {
  from: string;
  wire: string;
}

/** Carries wire messages between two sides, in order, until neither has anything left to send. */
export class Router {
  readonly transcript: WireRecord[] = [];

  constructor(
    readonly a: Side,
    readonly b: Side,
    private readonly maxMessages = 2000,
  ) {}

  /** Delivers everything queued both ways (and what that provokes) until both sides are silent. */
  async flush(): Promise<void> {
    let delivered = 0;
    for (;;) {
      await this.deliver(() => ++delivered);
      // Both silent: let an engine's pending timer fire (as the chat layer does), then deliver what it sent.
      let fired = false;
      for (const s of [this.a, this.b]) if (s instanceof EngineSide && (await s.runTimer())) fired = true;
      if (!fired) return;
    }
  }

  private async deliver(count: () => number): Promise<void> {
    while (this.a.outbox.length || this.b.outbox.length) {
      for (const [from, to] of [
        [this.a, this.b],
        [this.b, this.a],
      ] as const) {
        const batch = from.outbox.splice(0);
        for (const wire of batch) {
          this.transcript.push({ from: from.label, wire });
          if (count() > this.maxMessages)
            throw new PeerError(`${this.maxMessages} messages exchanged and still going: a loop?\n${this.tail()}`);
          await to.receive(wire);
        }
      }
    }
  }

  /** Delivers one wire message, from a or b in turn (so the two sides' actions interleave). False if none was queued. */
  private turn = 0;
  async step(): Promise<boolean> {
    for (let i = 0; i < 2; i++) {
      const [from, to] = (this.turn++ % 2 === 0 ? [this.a, this.b] : [this.b, this.a]) as [Side, Side];
      const wire = from.outbox.shift();
      if (wire === undefined) continue;
      this.transcript.push({ from: from.label, wire });
      await to.receive(wire);
      return true;
    }
    return false;
  }

  /** The last wire messages, abbreviated, for assertion messages. */
  tail(n = 12): string {
    return this.transcript
      .slice(-n)
      .map((r) => `  ${r.from}: ${r.wire.length > 120 ? `${r.wire.slice(0, 117)}...` : r.wire}`)
      .join('\n');
  }

  describe(): string {
    const side = (s: Side): string =>
      `${s.label}: state=${JSON.stringify(s.state)} smp=${JSON.stringify(s.smp)} errors=${JSON.stringify(s.errors)} ` +
      `messages=${s.messages.length}`;
    return `${side(this.a)}\n${side(this.b)}\nlast wire messages:\n${this.tail()}`;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.a.close(), this.b.close()]);
  }
}

/** Runs a bench mode of a peer and returns its JSON result line. */
export function runPeerBench(
  kind: PeerKind,
  op: 'keygen' | 'ake' | 'msg' | 'smp',
  iterations: number,
): { library: string; version: string; op: string; iterations: number; total_ms: number; ok: boolean } {
  mkdirSync(KEY_DIR, { recursive: true });
  const { cmd, args } = peerCommand(kind, 'bench', op, String(iterations), KEY_DIR);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let out: unknown;
  try {
    out = JSON.parse(line);
  } catch {
    throw new PeerError(`${kind} bench ${op} failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  }
  const o = out as { library: string; version: string; op: string; iterations: number; total_ms: number; ok: boolean };
  if (!o.ok) throw new PeerError(`${kind} bench ${op} reported failure: ${r.stderr.slice(-2000)}`);
  return o;
}

/** The peers' library versions, as they report them. */
export function peerVersion(kind: PeerKind): string {
  const { cmd, args } = peerCommand(kind, 'version');
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new PeerError(`${kind} version failed: ${r.stderr}`);
  return r.stdout.trim();
}

// ------------------------------------------------------------------------------------ scenarios
// The conversations every pairing goes through, written once against `Side`, so libotr<->potr,
// engine<->libotr and engine<->potr are held to the same expectations.

function terminalSmp(s: Side): SmpEventName | undefined {
  return s.smp.find((e) => e.event !== 'asked')?.event;
}

/** `starter` sends a query; both sides must end encrypted at `version` with each other's fingerprint. */
export async function establish(router: Router, starter: Side, other: Side, version: 2 | 3): Promise<void> {
  await starter.start();
  await router.flush();
  for (const [s, peer] of [
    [starter, other],
    [other, starter],
  ] as const) {
    assert.equal(s.state.state, 'encrypted', `${s.label} is not encrypted after the AKE\n${router.describe()}`);
    assert.equal(s.state.version, version, `${s.label} negotiated the wrong version\n${router.describe()}`);
    assert.equal(
      s.state.fingerprint,
      peer.ourFingerprint,
      `${s.label} sees the wrong fingerprint\n${router.describe()}`,
    );
    assert.deepEqual(s.errors, [], `${s.label} reported errors\n${router.describe()}`);
  }
}

/** A conversation: turns of several messages each way (keys rotate at every turn), all read in order. */
export async function converse(router: Router, a: Side, b: Side, turns = 8): Promise<void> {
  const sent = new Map<Side, string[]>([
    [a, []],
    [b, []],
  ]);
  const before = new Map<Side, number>([
    [a, a.messages.length],
    [b, b.messages.length],
  ]);
  for (let t = 0; t < turns; t++) {
    const from = t % 2 === 0 ? a : b;
    for (let i = 0; i < 3; i++) {
      // plain ASCII, non-ASCII (UTF-8 on the wire) and a long line that needs several fragments
      const text =
        i === 0
          ? `turn ${t} message ${i} from ${from.label}`
          : i === 1
            ? `naïve café ✓ ${t} — 日本語 🙂`
            : `${t}:`.padEnd(700, 'x');
      sent.get(from)!.push(text);
      await from.send(text);
      await router.flush();
    }
  }
  for (const [to, from] of [
    [b, a],
    [a, b],
  ] as const) {
    // keys rotate: each turn answers the other side's newest D-H key, so a side's sender key id moves on
    if (turns >= 4) {
      const ids = new Set(dataSenderKeyIds(router, from));
      assert.ok(ids.size >= 2, `${from.label} never rotated its D-H key (sender key ids ${[...ids].join(',')})`);
    }
    const got = to.messages.slice(before.get(to));
    assert.deepEqual(
      got,
      sent.get(from)!.map((text) => ({ text, encrypted: true })),
      `${to.label} did not read what ${from.label} sent\n${router.describe()}`,
    );
    assert.deepEqual(to.errors, [], `${to.label} reported errors\n${router.describe()}`);
  }
}

/** SMP started by `asker`; `responderSecret` decides success. */
export async function smp(
  router: Router,
  asker: Side,
  responder: Side,
  opts: { secret: string; responderSecret: string; question?: string },
): Promise<{ asker?: SmpEventName; responder?: SmpEventName }> {
  await asker.smpStart(opts.secret, opts.question);
  await router.flush();
  const asked = responder.smp.find((e) => e.event === 'asked');
  assert.ok(asked, `${responder.label} was not asked for the secret\n${router.describe()}`);
  assert.equal(asked.question, opts.question, `${responder.label} got the wrong question\n${router.describe()}`);
  await responder.smpRespond(opts.responderSecret);
  await router.flush();
  assertNoErrors(router, asker, responder);
  return { asker: terminalSmp(asker), responder: terminalSmp(responder) };
}

/** `ender` ends the private conversation: it goes to plaintext, the other side to finished. */
export async function finish(router: Router, ender: Side, other: Side): Promise<void> {
  await ender.end();
  await router.flush();
  assert.equal(ender.state.state, 'plaintext', `${ender.label} did not go to plaintext\n${router.describe()}`);
  assert.equal(other.state.state, 'finished', `${other.label} did not see the end\n${router.describe()}`);
  assertNoErrors(router, ender, other);
}

export function assertNoErrors(router: Router, ...sides: Side[]): void {
  for (const s of sides) assert.deepEqual(s.errors, [], `${s.label} reported errors\n${router.describe()}`);
}

/** The 16 bytes of the whitespace base tag (spec: "Tagged plaintext messages"). */
export const WHITESPACE_BASE_TAG = ' \t  \t\t\t\t \t \t \t  ';

/** A plaintext message carries the whitespace tag, and the receiver starts the AKE from it. */
export async function whitespaceStart(router: Router, sender: Side, other: Side, version: 2 | 3): Promise<void> {
  await sender.send('hello in the clear');
  const first = sender.outbox[0] ?? '';
  assert.ok(
    first.startsWith('hello in the clear') && first.includes(WHITESPACE_BASE_TAG),
    `${sender.label} sent no whitespace tag: ${JSON.stringify(first)}`,
  );
  await router.flush();
  assert.deepEqual(
    other.messages[0],
    { text: 'hello in the clear', encrypted: false },
    `tag not stripped\n${router.describe()}`,
  );
  for (const s of [sender, other]) {
    assert.equal(
      s.state.state,
      'encrypted',
      `${s.label} is not encrypted after the tagged message\n${router.describe()}`,
    );
    assert.equal(s.state.version, version, `${s.label} negotiated the wrong version\n${router.describe()}`);
  }
  assertNoErrors(router, sender, other);
}

/** A new query while encrypted runs the AKE again; the conversation carries on. */
export async function refresh(router: Router, who: Side, other: Side, version: 2 | 3): Promise<void> {
  const from = router.transcript.length;
  await who.start();
  await router.flush();
  // a real AKE ran: a D-H Commit and a Signature message went by (base64 of version + message type)
  const v = version === 3 ? 'AAM' : 'AAI';
  const wires = router.transcript.slice(from).map((r) => r.wire);
  assert.ok(
    wires.some((w) => w.includes(`?OTR:${v}C`)),
    `no D-H Commit after the refresh\n${router.tail()}`,
  );
  assert.ok(
    wires.some((w) => w.includes(`?OTR:${v}S`)),
    `no Signature message after the refresh\n${router.tail()}`,
  );
  for (const s of [who, other]) {
    assert.equal(s.state.state, 'encrypted', `${s.label} left the encrypted state on refresh\n${router.describe()}`);
    assert.equal(s.state.version, version, router.describe());
  }
  assertNoErrors(router, who, other);
  await converse(router, who, other, 2);
}

/** Every fragment in the transcript respects the size limit, and each side sent some. */
export function assertFragmented(router: Router, size: number, sides: Side[]): void {
  for (const s of sides) {
    const mine = router.transcript.filter((r) => r.from === s.label);
    const frags = mine.filter((r) => /^\?OTR[,|]/.test(r.wire));
    assert.ok(frags.length > 0, `${s.label} sent no fragments with a ${size}-byte limit\n${router.tail()}`);
    for (const f of frags)
      assert.ok(f.wire.length <= size, `${s.label} sent a ${f.wire.length}-byte fragment: ${f.wire}`);
  }
}

/** What each side must conclude from an SMP whose secrets differ. */
export function assertSmpFailed(
  router: Router,
  r: { asker?: SmpEventName; responder?: SmpEventName },
  opts: { askerMayBeAborted?: boolean } = {},
): void {
  // The responder learns the mismatch first (at SMP3) and must report failure. The asker learns it from
  // SMP4; potr as responder sends an SMP abort instead of SMP4, so its asker can only say "aborted".
  assert.equal(r.responder, 'failure', `responder outcome\n${router.describe()}`);
  const allowed: (SmpEventName | undefined)[] = opts.askerMayBeAborted ? ['failure', 'aborted'] : ['failure'];
  assert.ok(
    allowed.includes(r.asker),
    `asker outcome ${r.asker}, expected ${allowed.join(' or ')}\n${router.describe()}`,
  );
}

/** The whole OTR messages a side sent, fragments reassembled (the router delivers them in order). */
export function sentMessages(router: Router, side: Side): string[] {
  const out: string[] = [];
  let acc = '';
  for (const r of router.transcript) {
    if (r.from !== side.label) continue;
    const m = /^\?OTR(?:\|[0-9a-f]+\|[0-9a-f]+)?,0*(\d+),0*(\d+),([^,]*),$/.exec(r.wire);
    if (!m) {
      out.push(r.wire);
      continue;
    }
    if (m[1] === '1') acc = '';
    acc += m[3];
    if (m[1] === m[2]) out.push(acc);
  }
  return out;
}

/** Sender key ids of the Data Messages a side sent (spec: "Data Message" header fields). */
export function dataSenderKeyIds(router: Router, side: Side): number[] {
  const ids: number[] = [];
  for (const w of sentMessages(router, side)) {
    const m = /^\?OTR:([A-Za-z0-9+/=]+)\./.exec(w);
    if (!m) continue;
    const b = Buffer.from(m[1]!, 'base64');
    if (b.length < 12 || b[2] !== 0x03) continue; // message type 3: Data
    const v3 = b.readUInt16BE(0) === 3;
    ids.push(b.readUInt32BE(v3 ? 12 : 4)); // v3: + sender and receiver instance tags (8) + flags (1); v2: flags (1)
  }
  return ids;
}
