// Command-line arguments -> a validated run configuration. Pure: no I/O, so it is unit-tested directly.
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { resolveConfigDir } from '../chat-storage/paths.js';

export type TransportName = 'udp' | 'tcp' | 'tls';

export interface RunConfig {
  mode: 'tui' | 'headless';
  user: string;
  displayName?: string;
  /** Address to listen on (serverless) or to bind (with a registrar). */
  host: string;
  /** Port to listen on; undefined = first free port from 5060. */
  port?: number;
  transport: TransportName;
  registrar?: string;
  domain?: string;
  password?: string;
  outboundProxy?: string;
  configDir: string;
  otr: boolean | undefined; // undefined: the settings file decides
  logFile?: string;
  msrpRelay?: string;
  tlsCert?: string;
  tlsKey?: string;
  savePassword: boolean;
  /** Seconds between keep-alive pings to the registrar over TCP/TLS (RFC 5626); 0 = none; undefined = 30. */
  keepAlive?: number;
  /** Where accepted files go (--download-dir). */
  downloadDir: string;
  /** Where a call's sound comes from: a WAV file, `tone:HZ`, `silence`; undefined = the sound device. */
  audioIn?: string;
  /** Where what we hear goes: a WAV file written in real time, `none`; undefined = the sound device. */
  audioOut?: string;
  /** The sound server's device name (pw-cat/pacat/arecord target), or the tool to use: pipewire, pulse, alsa. */
  audioDevice?: string;
}

export type CliCommand =
  | { kind: 'run'; config: RunConfig }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'import'; configDir: string; files: string[]; account?: string }
  | { kind: 'history'; configDir: string; peer?: string; grep?: string }
  | { kind: 'genkey'; configDir: string; yes: boolean };

export class UsageError extends Error {
  override name = 'UsageError';
}

function defaultUser(env: NodeJS.ProcessEnv): string {
  const u = env.USER || env.LOGNAME || safeUserName() || 'user';
  return u.replace(/[^A-Za-z0-9._~!$&'()*+,;=-]/g, '') || 'user';
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

const VALUE_FLAGS = new Set([
  'user',
  'display-name',
  'host',
  'port',
  'transport',
  'registrar',
  'domain',
  'password',
  'outbound-proxy',
  'config-dir',
  'log-file',
  'msrp-relay',
  'audio-in',
  'audio-out',
  'audio-device',
  'tls-cert',
  'tls-key',
  'grep',
  'account',
  'keepalive',
  'download-dir',
]);
const BOOL_FLAGS = new Set(['headless', 'no-otr', 'otr', 'help', 'version', 'save-password', 'yes']);

export const USAGE = `usage: blink-tui [options]                 start the terminal client (serverless on 127.0.0.1 by default)
       blink-tui --headless [options]      JSON-lines control on stdin/stdout
       blink-tui import FILE...            import an OTR identity (PKCS#8 PEM, libotr otr.private_key / otr.fingerprints)
       blink-tui history [PEER] [--grep TEXT]
       blink-tui genkey [--yes]            make a new OTR key (the old one is kept as a dated backup)

options:
  --user NAME            SIP user (default: $USER)
  --display-name NAME    display name
  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               SIP port (default: first free from 5060)
  --transport T          udp | tcp | tls (default udp)
  --registrar URI        register to this registrar (e.g. sip:example.org); without it: serverless
  --domain DOMAIN        SIP domain (default: the registrar's host)
  --password PW          SIP password (else the OS keychain, BLINK_TUI_PASSWORD, or the secrets file)
  --save-password        store --password in the OS keychain (or the secrets file)
  --outbound-proxy URI   send every request through this proxy
  --keepalive SECONDS    ping the registrar this often over TCP/TLS (RFC 5626; default 30, 0 = off)
  --msrp-relay URI       MSRP relay (RFC 4976), e.g. msrps://relay.example.org:2855;tcp
  --config-dir DIR       config folder (default $XDG_CONFIG_HOME/blink-tui or ~/.config/blink-tui)
  --no-otr / --otr       turn OTR off / on for this run (default: the settings file, OTR on)
  --download-dir DIR     where accepted files go (default $XDG_DOWNLOAD_DIR, else
                         $XDG_DATA_HOME/blink-tui/downloads or ~/.local/share/blink-tui/downloads)
  --log-file FILE        write the protocol log here (default <config-dir>/logs/blink-tui.log)
  --tls-cert FILE --tls-key FILE   certificate for the TLS listener
  --audio-in FILE.wav    a call's sound from this WAV file (16-bit PCM; also tone:HZ, silence); default: microphone
  --audio-out FILE.wav   what the call sounds like, written to this WAV file in real time (or none); default: speaker
  --audio-device NAME    sound device for calls (PipeWire, PulseAudio or ALSA name)
  --help, --version`;

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const flags = new Map<string, string | boolean>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (VALUE_FLAGS.has(name)) {
        const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      } else if (BOOL_FLAGS.has(name)) {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        flags.set(name, true);
      } else {
        throw new UsageError(`unknown option --${name} (see --help)`);
      }
    } else if (a === '-h') {
      flags.set('help', true);
    } else {
      positional.push(a);
    }
  }
  if (flags.get('help')) return { kind: 'help' };
  if (flags.get('version')) return { kind: 'version' };
  const configDir = resolveConfigDir(flags.get('config-dir') as string | undefined, env);
  const sub = positional[0];
  if (sub === 'import') {
    if (positional.length < 2) throw new UsageError('import needs at least one file');
    return {
      kind: 'import',
      configDir,
      files: positional.slice(1),
      account: flags.get('account') as string | undefined,
    };
  }
  if (sub === 'history') {
    return { kind: 'history', configDir, peer: positional[1], grep: flags.get('grep') as string | undefined };
  }
  if (sub === 'genkey') return { kind: 'genkey', configDir, yes: flags.get('yes') === true };
  if (sub !== undefined) throw new UsageError(`unknown command "${sub}" (see --help)`);

  const transport = ((flags.get('transport') as string | undefined) ?? 'udp').toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls') {
    throw new UsageError(`--transport must be udp, tcp or tls, not "${transport}"`);
  }
  let port: number | undefined;
  const portArg = flags.get('port') as string | undefined;
  if (portArg !== undefined) {
    port = Number(portArg);
    // 0: any free port (scripts and tests that start many clients).
    if (!/^\d+$/.test(portArg) || port > 65535) throw new UsageError(`--port must be 0..65535, not "${portArg}"`);
  }
  const registrar = flags.get('registrar') as string | undefined;
  if (registrar !== undefined && !/^sips?:/.test(registrar) && !/^[\w.-]+(:\d+)?$/.test(registrar)) {
    throw new UsageError(`--registrar must be a SIP URI like sip:example.org, not "${registrar}"`);
  }
  const keepAliveArg = flags.get('keepalive') as string | undefined;
  if (keepAliveArg !== undefined && !/^\d+(\.\d+)?$/.test(keepAliveArg)) {
    throw new UsageError(`--keepalive must be a number of seconds, not "${keepAliveArg}"`);
  }
  if (flags.get('otr') && flags.get('no-otr')) throw new UsageError('--otr and --no-otr contradict each other');
  const tlsCert = flags.get('tls-cert') as string | undefined;
  const tlsKey = flags.get('tls-key') as string | undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const config: RunConfig = {
    mode: flags.get('headless') ? 'headless' : 'tui',
    user: (flags.get('user') as string | undefined) ?? defaultUser(env),
    displayName: flags.get('display-name') as string | undefined,
    host: (flags.get('host') as string | undefined) ?? '127.0.0.1',
    port,
    transport,
    registrar: registrar === undefined ? undefined : /^sips?:/.test(registrar) ? registrar : `sip:${registrar}`,
    domain: flags.get('domain') as string | undefined,
    password: flags.get('password') as string | undefined,
    outboundProxy: flags.get('outbound-proxy') as string | undefined,
    configDir,
    otr: flags.get('no-otr') ? false : flags.get('otr') ? true : undefined,
    logFile: flags.get('log-file') as string | undefined,
    msrpRelay: flags.get('msrp-relay') as string | undefined,
    tlsCert,
    tlsKey,
    savePassword: flags.get('save-password') === true,
    ...(keepAliveArg !== undefined ? { keepAlive: Number(keepAliveArg) } : {}),
    downloadDir: (flags.get('download-dir') as string | undefined) ?? defaultDownloadDir(env),
    ...(typeof flags.get('audio-in') === 'string' ? { audioIn: flags.get('audio-in') as string } : {}),
    ...(typeof flags.get('audio-out') === 'string' ? { audioOut: flags.get('audio-out') as string } : {}),
    ...(typeof flags.get('audio-device') === 'string' ? { audioDevice: flags.get('audio-device') as string } : {}),
  };
  if (config.savePassword && config.password === undefined) throw new UsageError('--save-password needs --password');
  if (!/^[A-Za-z0-9._~!$&'()*+,;=-]+$/.test(config.user))
    throw new UsageError(`--user "${config.user}" is not a valid SIP user part`);
  return { kind: 'run', config };
}

/** The XDG download folder when the user has one set, else blink-tui's own folder under XDG_DATA_HOME. */
export function defaultDownloadDir(env: NodeJS.ProcessEnv): string {
  if (env.XDG_DOWNLOAD_DIR) return env.XDG_DOWNLOAD_DIR;
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(data, 'blink-tui', 'downloads');
}
