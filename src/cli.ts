// Arguments -> config -> storage, keys, SIP user agent, chat core -> the terminal UI or headless mode.
// Heavy modules (ink/react, sip.js) are loaded only on the path that needs them, to keep start-up short.
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs, USAGE, UsageError, type CliCommand, type RunConfig } from './config/args.js';
import { fingerprintHuman } from './keys/fingerprint.js';
import { deferredExtraCa } from './tls/extra-ca.js';
import type { AudioInput, AudioOutput } from './rtp/index.js';

const VERSION = '0.1.0';

export async function main(argv: string[]): Promise<void> {
  let cmd: CliCommand;
  try {
    cmd = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`blink-tui: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(USAGE + '\n');
      return;
    case 'version':
      process.stdout.write(`blink-tui ${VERSION}\n`);
      return;
    case 'import':
      return runImport(cmd.configDir, cmd.files, cmd.account);
    case 'history':
      return runHistory(cmd.configDir, cmd.peer, cmd.grep);
    case 'genkey':
      return runGenkey(cmd.configDir, cmd.yes);
    case 'run':
      return run(cmd.config);
  }
}

function makeLogger(file: string): (msg: string) => void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch {
    // reported on first write
  }
  let broken = false;
  // Lines logged in one turn of the event loop go out in one append after it (setImmediate), not one
  // open+write+close each: a chat's setup logs ~16 SIP lines per side, which cost 0.5-1 ms on its critical path.
  // Each line keeps the time it was logged at; 'exit' writes what is left whichever way the process ends.
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0 || broken) return;
    const text = pending.join('');
    pending = [];
    try {
      appendFileSync(file, text, { mode: 0o600 });
    } catch {
      broken = true;
    }
  };
  process.on('exit', flush);
  return (msg: string) => {
    if (broken) return;
    if (pending.length === 0) setImmediate(flush).unref();
    pending.push(`${new Date().toISOString()} ${msg}\n`);
  };
}

// ---- the client: start-up steps, the front end, one way out ------------------------------------------

/** A start-up step that cannot go on: its message goes to the user (stderr, or a headless `fatal` event), exit 1. */
class StartupError extends Error {
  override name = 'StartupError';
}

/** What start-up opened, closed once in reverse order: after a failed step, or when the front end is done. */
class Teardown {
  private readonly steps: (() => void)[] = [];
  add(close: () => void): void {
    this.steps.push(close);
  }
  run(): void {
    for (const close of this.steps.splice(0).reverse()) close();
  }
}

interface StartupContext {
  readonly config: RunConfig;
  readonly headless: boolean;
  readonly log: (msg: string) => void;
  readonly teardown: Teardown;
  /** Warnings found before the core exists (storage, extra CA file), shown once a front end listens. */
  readonly problems: string[];
  /** Notes about the saved password, shown likewise. */
  readonly secretNotes: string[];
  /** Where extra-CA warnings go once the core exists (before that: problems). */
  noticeSink: ((m: string) => void) | null;
}

type ChatStorage = import('./chat-storage/index.js').ChatStorage;
type SipUserAgent = import('./sip/index.js').SipUserAgent;
type ChatCore = import('./chat/core.js').ChatCore;
type TlsMaterial = { key: string; cert: string };
type ExtraCa = ReturnType<typeof deferredExtraCa>;

/** The running client, as start-up leaves it for the front end. */
interface Client {
  readonly ua: SipUserAgent;
  readonly core: ChatCore;
  /** Resolves once the core has quit (every session ended, SIP stopped). */
  readonly quitted: Promise<void>;
  /** Notices, registration, key and rehearsal: once a front end listens. */
  readonly greet: () => void;
}

async function run(config: RunConfig): Promise<void> {
  const ctx: StartupContext = {
    config,
    headless: config.mode === 'headless',
    log: makeLogger(config.logFile ?? join(config.configDir, 'logs', 'blink-tui.log')),
    teardown: new Teardown(),
    problems: [],
    secretNotes: [],
    noticeSink: null,
  };
  ctx.log(`starting: ${JSON.stringify({ ...config, password: config.password ? '(set)' : undefined })}`);
  let failure: string | null = null;
  try {
    const client = await startClient(ctx);
    await runFrontEnd(ctx, client);
  } catch (e) {
    if (!(e instanceof StartupError)) throw e;
    failure = e.message;
  } finally {
    ctx.teardown.run();
  }
  if (failure !== null) {
    if (ctx.headless) process.stdout.write(JSON.stringify({ ev: 'fatal', message: failure }) + '\n');
    else process.stderr.write(`blink-tui: ${failure}\n`);
    process.exitCode = 1;
    return;
  }
  ctx.log('stopped');
  // sip.js and ink may keep handles (timers, stdin) alive: leave explicitly once everything is closed.
  setImmediate(() => process.exit(process.exitCode ?? 0));
}

/** The start-up steps, in order; each either succeeds or throws StartupError. */
async function startClient(ctx: StartupContext): Promise<Client> {
  const storage = await openStorage(ctx);
  const key = loadKey(storage);
  const password = await findPassword(ctx);
  const tls = loadTlsMaterial(ctx);
  // NODE_EXTRA_CA_CERTS, taken away from Node's start-up by the launcher and trusted from the first TLS
  // connection on (src/tls/extra-ca.ts). Its warnings come before the core exists when registration is the
  // first TLS connection.
  const extraCa = deferredExtraCa(process.env.BLINK_TUI_DEFERRED_CA_CERTS, (m) => {
    ctx.log(`tls: ${m}`);
    if (ctx.noticeSink) ctx.noticeSink(m);
    else ctx.problems.push(m);
  });
  const ua = await startSip(ctx, password, tls, extraCa);
  const { core, quitted } = await makeCore(ctx, { ua, storage, key, password, tls, extraCa });
  ctx.noticeSink = (m) => core.notice(m, 'warning');
  return { ua, core, quitted, greet: () => greet(ctx, ua, core, key !== null) };
}

async function openStorage(ctx: StartupContext): Promise<ChatStorage> {
  const { openChatStorage } = await import('./chat-storage/index.js');
  let storage: ChatStorage;
  try {
    storage = openChatStorage(ctx.config.configDir, { onProblem: (m) => ctx.problems.push(m) });
  } catch (e) {
    throw new StartupError((e as Error).message);
  }
  ctx.teardown.add(() => storage.close());
  return storage;
}

function loadKey(storage: ChatStorage): ReturnType<ChatStorage['keys']['load']> {
  try {
    return storage.keys.load();
  } catch (e) {
    // A key file that cannot be read is the user's identity: report it, never replace it.
    throw new StartupError(
      `${(e as Error).message}. Fix or move the file (blink-tui never replaces a key silently); /otr genkey makes a new one.`,
    );
  }
}

/** With a registrar: --password (saved with --save-password), else the one saved before. Problems become notes. */
async function findPassword(ctx: StartupContext): Promise<string | undefined> {
  const { config } = ctx;
  let password = config.password;
  if (!config.registrar) return password;
  try {
    const { openSecretStore } = await import('./secrets/index.js');
    const opened = await openSecretStore(config.configDir);
    const account = `${config.user}@${config.domain ?? hostOf(config.registrar)}`;
    if (password !== undefined && config.savePassword) {
      await opened.store.set('blink-tui', account, password);
      ctx.secretNotes.push(`password saved (${opened.store.description})`);
    } else if (password === undefined) {
      password = (await opened.store.get('blink-tui', account)) ?? undefined;
      if (password === undefined)
        ctx.secretNotes.push(`no password for ${account}: pass --password (and --save-password to keep it)`);
    }
  } catch (e) {
    ctx.secretNotes.push(`secrets: ${(e as Error).message}`);
  }
  return password;
}

/** The SIP TLS certificate: --tls-cert/--tls-key, or over TLS a self-signed one made once in the config folder. */
function loadTlsMaterial(ctx: StartupContext): TlsMaterial | undefined {
  const { config } = ctx;
  let tlsCert = config.tlsCert;
  let tlsKey = config.tlsKey;
  if (config.transport === 'tls' && !tlsCert) {
    // A TLS listener needs a certificate: make a self-signed one once, in the config folder.
    try {
      ({ cert: tlsCert, key: tlsKey } = ensureSelfSignedCert(join(config.configDir, 'tls'), config.user));
    } catch (e) {
      throw new StartupError(`${(e as Error).message}; or pass --tls-cert FILE --tls-key FILE`);
    }
  }
  if (!tlsCert || !tlsKey) return undefined;
  try {
    return { key: readFileSync(tlsKey, 'utf8'), cert: readFileSync(tlsCert, 'utf8') };
  } catch (e) {
    throw new StartupError(`cannot read the TLS certificate or key: ${(e as Error).message}`);
  }
}

async function startSip(
  ctx: StartupContext,
  password: string | undefined,
  tls: TlsMaterial | undefined,
  extraCa: ExtraCa,
): Promise<SipUserAgent> {
  const { config, log } = ctx;
  const { SipUserAgent, findFreePort } = await import('./sip/index.js');
  let port = config.port;
  if (port === undefined) {
    try {
      port = await findFreePort(config.transport, config.host, 5060);
    } catch (e) {
      throw new StartupError((e as Error).message);
    }
  }
  const ua = new SipUserAgent({
    user: config.user,
    ...(config.displayName ? { displayName: config.displayName } : {}),
    transport: config.transport,
    host: config.host,
    port,
    ...(config.registrar ? { registrar: config.registrar } : {}),
    ...(config.domain ? { domain: config.domain } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(config.outboundProxy ? { outboundProxy: config.outboundProxy } : {}),
    ...(config.keepAlive !== undefined ? { keepAliveInterval: config.keepAlive } : {}),
    // With a registrar, its certificate is verified; serverless peers on a LAN use self-signed certificates.
    tls: {
      ...(tls ?? {}),
      rejectUnauthorized: config.registrar !== undefined,
      // (Serverless peers are not verified: no need to build the trust for them.)
      ...(extraCa && config.registrar !== undefined ? { secureContext: () => extraCa.context(tls) } : {}),
    },
    log: (level, category, message) => log(`sip ${level} ${category}: ${message}`),
  });
  // Registration runs once the screen is up (see greet): a slow or dead registrar must not keep the user
  // looking at nothing (it took 32 s, sip.js's timer F, before the first frame with an unreachable one).
  try {
    await ua.start({ register: false });
  } catch (e) {
    throw new StartupError(`cannot start SIP on ${config.host}:${port}/${config.transport}: ${(e as Error).message}`);
  }
  return ua;
}

async function makeCore(
  ctx: StartupContext,
  parts: {
    ua: SipUserAgent;
    storage: ChatStorage;
    key: ReturnType<ChatStorage['keys']['load']>;
    password: string | undefined;
    tls: TlsMaterial | undefined;
    extraCa: ExtraCa;
  },
): Promise<{ core: ChatCore; quitted: Promise<void> }> {
  const { config, headless, log } = ctx;
  const { ua, storage, key, password, extraCa } = parts;
  const { ChatCore } = await import('./chat/core.js');
  let msrpCert = parts.tls;
  // The relay's TLS trust is built only when a relay connection is opened (msrps: relays only).
  const relay = config.msrpRelay
    ? {
        uri: config.msrpRelay,
        username: config.user,
        password: password ?? '',
        ...(extraCa ? { tls: () => ({ secureContext: extraCa.context() }) } : {}),
      }
    : undefined;
  let resolveQuit!: () => void;
  const quitted = new Promise<void>((r) => (resolveQuit = r));
  const core = new ChatCore({
    ua,
    storage,
    key,
    ...(config.otr !== undefined ? { otrOverride: config.otr } : {}),
    mediaHost: config.host,
    downloadDir: config.downloadDir,
    ...(relay ? { msrpRelay: relay } : {}),
    // MSRP over TLS: offered when SIP runs over TLS, and accepted when a peer offers it (with the SIP TLS
    // certificate, or the self-signed one in the config folder, made on first need).
    msrpTls: async () => {
      if (!msrpCert) {
        const files = ensureSelfSignedCert(join(config.configDir, 'tls'), config.user);
        msrpCert = { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8') };
      }
      return msrpCert;
    },
    secureMsrpOffers: config.transport === 'tls',
    serverless: !config.registrar,
    log,
    ringBell: headless ? () => undefined : () => process.stdout.write('\u0007'),
    ...(process.env.BLINK_TUI_NOTIFY_COMMAND ? { notifyCommand: process.env.BLINK_TUI_NOTIFY_COMMAND } : {}),
    onQuit: () => resolveQuit(),
    // BLINK_TUI_ZRTP=0: calls offer and answer SDES keys only, for tests and benchmarks.
    zrtp: process.env.BLINK_TUI_ZRTP !== '0',
    // The audio engine is loaded with the first call (Opus compiles on load), not at start-up.
    makeAudioStream: async (audioLog) => {
      const { createAudioStream } = await import('./rtp/index.js');
      // BLINK_TUI_AUDIO_CODECS=PCMU (a comma list): offer and accept only these, for benchmarks and tests.
      const codecs = process.env.BLINK_TUI_AUDIO_CODECS?.split(',').filter((c) => c.trim() !== '');
      return createAudioStream({
        host: config.host,
        ...audioDevices(config),
        ...(codecs && codecs.length > 0 ? { codecs } : {}),
        log: audioLog,
      });
    },
  });
  return { core, quitted };
}

/** --audio-in / --audio-out / --audio-device as the engine's input and output (the sound device by default). */
export function audioDevices(config: RunConfig): { input: AudioInput; output: AudioOutput } {
  const device = config.audioDevice !== undefined ? { name: config.audioDevice } : {};
  const inArg = config.audioIn;
  const tone = inArg === undefined ? null : /^tone:(\d+(?:\.\d+)?)$/.exec(inArg);
  const input: AudioInput =
    inArg === undefined
      ? { kind: 'device', ...device }
      : inArg === 'silence'
        ? { kind: 'silence' }
        : tone
          ? { kind: 'tone', hz: Number(tone[1]) }
          : { kind: 'file', path: inArg };
  const outArg = config.audioOut;
  const output: AudioOutput =
    outArg === undefined
      ? { kind: 'device', ...device }
      : outArg === 'none'
        ? { kind: 'none' }
        : { kind: 'file', path: outArg };
  return { input, output };
}

/** Notices and the first events go out once a front end listens; then registration, the key and the rehearsal. */
function greet(ctx: StartupContext, ua: SipUserAgent, core: ChatCore, haveKey: boolean): void {
  const { config, headless, log } = ctx;
  if (headless) core.emit({ ev: 'ready', uri: ua.contactUri });
  for (const p of ctx.problems) core.notice(p, 'warning');
  for (const n of ctx.secretNotes) core.notice(n, 'info');
  // The core reports every registration state (registering, registered, failed with its reason) as it comes.
  if (config.registrar) void ua.register().catch(() => undefined);
  // Make the OTR key now, in the background, so the first chat does not wait for it — after the first
  // screen is drawn (DSA generation blocks for ~0.1 s); a chat started before then waits for it anyway.
  if (!haveKey) {
    const t = setTimeout(
      () => void core.ensureKey().catch((e: Error) => core.notice(`OTR key: ${e.message}`, 'warning')),
      headless ? 0 : 300,
    );
    t.unref();
  }
  // Rehearse a chat in-process once start-up is over (src/chat/rehearsal.ts), so that the first real chat is as
  // quick as the ones after it; it gives way as soon as a real chat begins. BLINK_TUI_REHEARSAL=0 turns it off
  // (the benchmark measures what it buys).
  if (process.env.BLINK_TUI_REHEARSAL !== '0') {
    const t = setTimeout(
      () => {
        const t0 = performance.now();
        void core.rehearse().then(
          (r) =>
            log(
              `rehearsal: ${r.steps.join(' ')}${r.encrypted ? '' : ' (stopped early)'} in ${(performance.now() - t0).toFixed(1)} ms`,
            ),
          (e: Error) => log(`rehearsal: ${e.message}`),
        );
      },
      headless ? 0 : 300,
    );
    t.unref();
  }
}

/** Headless (JSON lines) or the terminal UI, until the user quits; SIGINT/SIGTERM quit as well. */
async function runFrontEnd(ctx: StartupContext, client: Client): Promise<void> {
  const { core, quitted, greet: onStart } = client;
  const shutdown = async (): Promise<void> => {
    await core.command({ cmd: 'quit' }).catch(() => undefined);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());

  if (ctx.headless) {
    const { runHeadless } = await import('./headless/index.js');
    await runHeadless(core, {
      input: process.stdin,
      output: process.stdout,
      onStart,
      clock: process.env.BLINK_TUI_EVENT_CLOCK === '1',
    });
    await quitted;
    return;
  }
  // ink draws only a final frame when it believes it runs under CI (CI=true in the environment, as in a
  // CI job that opens a terminal), and its colour detection drops to none: on a real terminal the user
  // wants the live, coloured screen.
  if (process.stdout.isTTY) {
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
  }
  const { renderApp } = await import('./ui/index.js');
  const app = renderApp(core, { bell: () => process.stdout.write('\u0007') });
  onStart();
  await Promise.race([app.waitUntilExit(), quitted]);
  await shutdown();
  app.unmount();
}

function ensureSelfSignedCert(dir: string, user: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '3650',
      '-subj',
      `/CN=${user}.blink-tui.invalid`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) {
    throw new Error(
      `could not make a self-signed TLS certificate with openssl: ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  chmodSync(key, 0o600);
  return { cert, key };
}

function hostOf(uri: string): string {
  return uri
    .replace(/^sips?:/i, '')
    .replace(/^[^@]*@/, '')
    .split(/[:;]/)[0]!;
}

async function runImport(configDir: string, files: string[], account?: string): Promise<void> {
  const { importIdentity } = await import('./chat-storage/index.js');
  const sources: Record<string, string> = {};
  for (const f of files) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      process.stderr.write(`blink-tui: cannot read ${f}: ${(e as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) sources.pemKey = f;
    else if (/\(privkeys/.test(text)) sources.libotrPrivateKey = f;
    else if (/^[^\t\n]+\t[^\t\n]+\t[^\t\n]+\t[0-9a-fA-F]{40}/m.test(text)) sources.libotrFingerprints = f;
    else {
      process.stderr.write(
        `blink-tui: ${f} is neither a PEM DSA key, a libotr otr.private_key nor an otr.fingerprints file\n`,
      );
      process.exitCode = 1;
      return;
    }
  }
  try {
    const summary = importIdentity(configDir, { ...sources, ...(account ? { account } : {}) });
    for (const m of summary.messages) process.stdout.write(m + '\n');
  } catch (e) {
    process.stderr.write(`blink-tui: import failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

async function runHistory(configDir: string, peer?: string, grep?: string): Promise<void> {
  const { openChatStorage } = await import('./chat-storage/index.js');
  let storage;
  try {
    storage = openChatStorage(configDir, { lock: false, onProblem: (m) => process.stderr.write(`warning: ${m}\n`) });
  } catch (e) {
    process.stderr.write(`blink-tui: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const result =
    grep !== undefined ? storage.history.search(grep, peer ? { peer } : {}) : peer ? storage.history.load(peer) : null;
  if (!result) {
    for (const p of storage.history.peers()) process.stdout.write(p + '\n');
    return;
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w.file}:${w.line}: ${w.message}\n`);
  const LOCK: Record<string, string> = { none: '   ', unverified: '[U]', verified: '[V]', changed: '[!]' };
  for (const m of result.messages) {
    const t = m.time.replace('T', ' ').slice(0, 19);
    const who = m.direction === 'out' ? 'me' : m.sender;
    process.stdout.write(
      `${t} ${m.peer} ${LOCK[m.encryption] ?? '   '} ${who}: ${m.text}${m.delivery === 'failed' ? '  (not delivered)' : ''}\n`,
    );
  }
}

async function runGenkey(configDir: string, yes: boolean): Promise<void> {
  const { openChatStorage } = await import('./chat-storage/index.js');
  const { generateDsaKey } = await import('./keys/dsa-key.js');
  let storage;
  try {
    storage = openChatStorage(configDir);
  } catch (e) {
    process.stderr.write(`blink-tui: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    if (storage.keys.exists() && !yes) {
      process.stderr.write(
        'blink-tui: you already have an OTR key; a new one makes every peer see a changed fingerprint. Run again with --yes to replace it (the old key is kept as a dated backup).\n',
      );
      process.exitCode = 1;
      return;
    }
    const r = await storage.keys.regenerate(generateDsaKey);
    process.stdout.write(`new OTR key: ${fingerprintHuman(r.fingerprint)}\n`);
    if (r.backupPath) process.stdout.write(`old key kept in ${r.backupPath}\n`);
  } finally {
    storage.close();
  }
}
