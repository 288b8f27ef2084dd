// JSON-lines control of the chat core: one command object per stdin line, one event object per stdout line.
// The interface is documented in the README ("Headless mode"); fields may be added, none may change meaning.
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Core, CoreCommand, CoreEvent } from '../chat/types.js';

const SESSION_COMMANDS = new Set([
  'accept',
  'reject',
  'hangup',
  'send',
  'composing',
  'otr',
  'smp',
  'smp_respond',
  'smp_abort',
  'trust',
  'distrust',
  'read',
  'audio',
  'dtmf',
  'sas',
]);

const AUDIO_ACTIONS = new Set(['add', 'remove', 'hold', 'resume', 'mute', 'unmute']);

export class HeadlessCommandError extends Error {
  override name = 'HeadlessCommandError';
}

/** Validates one parsed JSON value as a command; throws HeadlessCommandError with a message fit for the client. */
export function validateCommand(v: unknown): CoreCommand {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HeadlessCommandError('a command must be a JSON object');
  const o = v as Record<string, unknown>;
  const cmd = o.cmd;
  if (typeof cmd !== 'string') throw new HeadlessCommandError('missing "cmd"');
  const str = (k: string, optional = false): string | undefined => {
    const x = o[k];
    if (x === undefined && optional) return undefined;
    if (typeof x !== 'string') throw new HeadlessCommandError(`"${cmd}" needs a string "${k}"`);
    return x;
  };
  if (SESSION_COMMANDS.has(cmd)) str('session');
  switch (cmd) {
    case 'chat':
    case 'call':
      str('to');
      break;
    case 'audio':
      if (typeof o.action !== 'string' || !AUDIO_ACTIONS.has(o.action))
        throw new HeadlessCommandError(`"audio" needs "action": one of ${[...AUDIO_ACTIONS].join(', ')}`);
      break;
    case 'dtmf':
      if (typeof o.digits !== 'string' || !/^[0-9*#A-Da-d]{1,64}$/.test(o.digits))
        throw new HeadlessCommandError('"dtmf" needs "digits": 1 to 64 of 0-9 * # A-D');
      break;
    case 'sas':
      if (o.action !== 'confirm' && o.action !== 'reject')
        throw new HeadlessCommandError('"sas" needs "action": "confirm" or "reject"');
      break;
    case 'send':
      str('text');
      break;
    case 'composing':
      if (typeof o.active !== 'boolean') throw new HeadlessCommandError('"composing" needs a boolean "active"');
      break;
    case 'otr':
      if (o.action !== 'start' && o.action !== 'end')
        throw new HeadlessCommandError('"otr" needs "action": "start" or "end"');
      break;
    case 'smp':
      str('secret');
      str('question', true);
      break;
    case 'smp_respond':
      str('secret');
      break;
    case 'policy':
      str('session', true);
      if (o.value !== 'always' && o.value !== 'never' && o.value !== 'default') {
        throw new HeadlessCommandError('"policy" needs "value": "always", "never" or "default"');
      }
      break;
    case 'send_file':
      str('path');
      if (o.session === undefined) str('to');
      else str('session');
      if (o.plain !== undefined && typeof o.plain !== 'boolean')
        throw new HeadlessCommandError('"send_file": "plain" is true or false');
      break;
    case 'accept_file':
      str('transfer');
      str('dir', true);
      break;
    case 'reject_file':
    case 'cancel_file':
    case 'open_file':
      str('transfer');
      break;
    case 'accept':
    case 'reject':
    case 'hangup':
    case 'smp_abort':
    case 'trust':
    case 'distrust':
    case 'read':
    case 'genkey':
    case 'quit':
      break;
    default:
      throw new HeadlessCommandError(`unknown command "${cmd}"`);
  }
  return o as unknown as CoreCommand;
}

export interface HeadlessOptions {
  input: Readable;
  output: Writable;
  /** Runs once the output listens, so the first events (ready, notices) are not lost. */
  onStart?: () => void;
  /**
   * Timing for benchmarks (BLINK_TUI_EVENT_CLOCK=1): every event carries `mono`, the time it was produced on the
   * system's monotonic clock in ms (comparable between processes on one machine), taken before it is serialized;
   * every command is acknowledged with `{"ev":"command","cmd":C,"mono":T}` once parsed, before it runs. Client to
   * client times then leave out the JSON coding and pipes of this adapter, which a terminal user does not have.
   */
  clock?: boolean;
}

/** Milliseconds on the monotonic clock (CLOCK_MONOTONIC: the same in every process on this machine). */
function monoMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/**
 * Splits a byte stream into lines at LF, CRLF or a lone CR (as readline does with crlfDelay: Infinity).
 * Finds LF in the bytes and decodes each piece once: readline decodes every read and runs its line-ending regex
 * over the whole accumulated line each time (~4 ms per MiB of a large `send` text). Pieces of a long line are
 * kept as strings (V8's heap, which the GC compacts) rather than as Buffers to concatenate (malloc, which keeps
 * freed megabytes resident).
 */
async function* lines(input: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending: string[] = [];
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
      // LF never occurs inside a UTF-8 sequence, so the decoder holds nothing back at this point.
      pending.push(decoder.write(buf.subarray(0, nl)));
      buf = buf.subarray(nl + 1);
      let line = pending.length === 1 ? pending[0]! : pending.join('');
      pending = [];
      if (line.endsWith('\r')) line = line.slice(0, -1);
      yield* splitCr(line);
    }
    if (buf.length > 0) pending.push(decoder.write(buf));
  }
  pending.push(decoder.end());
  const last = pending.join('');
  if (last !== '') yield* splitCr(last.endsWith('\r') ? last.slice(0, -1) : last);
}

function splitCr(line: string): string[] {
  return line.includes('\r') ? line.split('\r') : [line];
}

/** Runs until a quit command or the end of input; resolves once the core has shut down. */
export async function runHeadless(core: Core, opts: HeadlessOptions): Promise<void> {
  const write = (e: CoreEvent | Record<string, unknown>): void => {
    opts.output.write(JSON.stringify(opts.clock ? { ...e, mono: monoMs() } : e) + '\n');
  };
  const off = core.onEvent(write);
  opts.onStart?.();
  const input = lines(opts.input);
  try {
    for await (const raw of input) {
      const line = raw.trim();
      if (line === '') continue;
      let cmd: CoreCommand;
      try {
        cmd = validateCommand(JSON.parse(line));
      } catch (e) {
        const msg = e instanceof SyntaxError ? `not JSON: ${e.message}` : (e as Error).message;
        write({ ev: 'error', message: msg });
        continue;
      }
      if (opts.clock) write({ ev: 'command', cmd: cmd.cmd });
      if (cmd.cmd === 'quit') break;
      // Commands run concurrently (a chat can be set up while another sends); each reports its own failure.
      core.command(cmd).catch((e: unknown) => {
        write({
          ev: 'error',
          message: (e as Error).message,
          ...('session' in cmd && cmd.session ? { session: cmd.session } : {}),
        });
      });
    }
  } finally {
    await input.return(undefined);
    await core.command({ cmd: 'quit' }).catch(() => undefined);
    off();
  }
}
