// The input line's slash commands, parsed into what the App does: a core command, a UI action, or a message
// for the user. Pure, so every mapping is tested without a terminal.
import type { CoreCommand, SessionView } from '../chat/types.js';

export type UiAction =
  | { kind: 'core'; cmd: CoreCommand; done?: string }
  | { kind: 'help' }
  | { kind: 'verify'; session: string }
  | { kind: 'quit' }
  | { kind: 'search'; text: string }
  | { kind: 'error'; message: string };

export interface CommandContext {
  sessions: readonly SessionView[];
  selected: SessionView | null;
}

export const COMMANDS = [
  '/accept',
  '/accept-file',
  '/audio',
  '/call',
  '/cancel-file',
  '/chat',
  '/dtmf',
  '/hangup',
  '/help',
  '/hold',
  '/mute',
  '/open',
  '/otr',
  '/quit',
  '/reject',
  '/reject-file',
  '/resume',
  '/sas',
  '/search',
  '/send',
  '/unmute',
  '/verify',
] as const;
export const OTR_SUBCOMMANDS = [
  'auth',
  'authabort',
  'authq',
  'distrust',
  'finish',
  'genkey',
  'info',
  'init',
  'policy',
  'trust',
] as const;
export const POLICY_VALUES = ['always', 'default', 'never'] as const;

/** Splits on whitespace; "double" or 'single' quotes group words (for SMP questions). */
export function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** `bob@host` -> `sip:bob@host`; `sip:`/`sips:` URIs pass as they are. */
export function normalizeUri(target: string): string | null {
  const t = target.trim();
  if (t === '' || /\s/.test(t)) return null;
  if (/^sips?:/i.test(t)) return t.length > 4 && /:.+/.test(t) ? t : null;
  if (t.startsWith('@') || t.endsWith('@')) return null;
  return `sip:${t}`;
}

function byNumber(ctx: CommandContext, arg: string | undefined): SessionView | null | 'bad' {
  if (arg === undefined) return null;
  if (!/^\d+$/.test(arg)) return 'bad';
  return ctx.sessions[Number(arg) - 1] ?? 'bad';
}

function name(s: SessionView): string {
  return s.displayName || s.peer;
}

function needSession(ctx: CommandContext): SessionView | string {
  return ctx.selected ?? 'No chat selected: /chat user@host starts one.';
}

function otrCommand(args: string, rest: string[], ctx: CommandContext): UiAction {
  const sub = (rest[0] ?? '').toLowerCase();
  if (sub === '') return { kind: 'error', message: `usage: /otr ${OTR_SUBCOMMANDS.join('|')}` };
  if (sub === 'genkey') {
    // A new key makes every peer see a changed fingerprint: ask for an explicit confirmation.
    if ((rest[1] ?? '').toLowerCase() !== 'yes') {
      return {
        kind: 'error',
        message:
          'This replaces your OTR key (the old one is kept as a dated backup); every peer will see your fingerprint change and must verify you again. Type /otr genkey yes to go ahead.',
      };
    }
    return { kind: 'core', cmd: { cmd: 'genkey' }, done: 'Generating a new OTR key…' };
  }
  if (sub === 'policy') {
    const value = (rest[1] ?? '').toLowerCase();
    if (value !== 'always' && value !== 'never' && value !== 'default') {
      return { kind: 'error', message: 'usage: /otr policy always|never|default' };
    }
    const s = ctx.selected;
    return s
      ? { kind: 'core', cmd: { cmd: 'policy', session: s.id, value }, done: `OTR policy for ${name(s)}: ${value}` }
      : { kind: 'core', cmd: { cmd: 'policy', value }, done: `OTR policy: ${value}` };
  }
  if (!(OTR_SUBCOMMANDS as readonly string[]).includes(sub)) {
    return { kind: 'error', message: `Unknown /otr command "${sub}". Try: ${OTR_SUBCOMMANDS.join(', ')}` };
  }
  const s = needSession(ctx);
  if (typeof s === 'string') return { kind: 'error', message: s };
  if (s.isFocus) {
    return { kind: 'error', message: `OTR is not used in conference rooms (${name(s)}).` };
  }
  const session = s.id;
  switch (sub) {
    case 'init':
      return { kind: 'core', cmd: { cmd: 'otr', session, action: 'start' }, done: `Starting OTR with ${name(s)}…` };
    case 'finish':
      return { kind: 'core', cmd: { cmd: 'otr', session, action: 'end' } };
    case 'info':
      return { kind: 'verify', session };
    case 'trust':
      return { kind: 'core', cmd: { cmd: 'trust', session }, done: `${name(s)} marked verified.` };
    case 'distrust':
      return { kind: 'core', cmd: { cmd: 'distrust', session }, done: `${name(s)} marked unverified.` };
    case 'authabort':
      return { kind: 'core', cmd: { cmd: 'smp_abort', session }, done: 'Verification aborted.' };
    case 'auth': {
      // The secret is everything after "auth", spaces included, exactly as the peer must type it.
      const secret = args.replace(/^\s*\S+\s*/, '').trim();
      if (secret === '') return { kind: 'error', message: 'usage: /otr auth SECRET' };
      if (s.otr.smp?.phase === 'asked') return { kind: 'core', cmd: { cmd: 'smp_respond', session, secret } };
      return { kind: 'core', cmd: { cmd: 'smp', session, secret }, done: `Asked ${name(s)} to verify…` };
    }
    case 'authq': {
      // Quoted question: `/otr authq "where did we meet" paris`; unquoted: the last word is the secret.
      const body = args.replace(/^\s*\S+\s*/, '');
      const quoted = /^\s*(["'])(.*?)\1\s+(.+)$/.exec(body);
      let question: string;
      let secret: string;
      if (quoted) {
        question = quoted[2] ?? '';
        secret = (quoted[3] ?? '').trim();
      } else {
        const words = rest.slice(1);
        if (words.length < 2) return { kind: 'error', message: 'usage: /otr authq "QUESTION" SECRET' };
        secret = words[words.length - 1] ?? '';
        question = words.slice(0, -1).join(' ');
      }
      if (question === '' || secret === '') return { kind: 'error', message: 'usage: /otr authq "QUESTION" SECRET' };
      return { kind: 'core', cmd: { cmd: 'smp', session, secret, question }, done: `Asked ${name(s)}: ${question}` };
    }
  }
  return { kind: 'error', message: `Unknown /otr command "${sub}".` };
}

/**
 * /send PATH (to the selected chat's peer) or /send URI PATH; /send! sends it even unencrypted (the user's
 * confirmation after being told it would go in the clear). A PATH with spaces may be quoted.
 */
function sendCommand(args: string, plain: boolean, ctx: CommandContext): UiAction {
  const usage = 'usage: /send PATH  or  /send user@host PATH  (/send! to confirm sending it unencrypted)';
  const words = tokenize(args);
  if (words.length === 0) return { kind: 'error', message: usage };
  const first = words[0]!;
  const extra = plain ? { plain: true } : {};
  if (words.length > 1 && (/^sips?:/i.test(first) || /^[^/~.][^/]*@[^/]+$/.test(first))) {
    const to = normalizeUri(first);
    if (!to) return { kind: 'error', message: usage };
    const path = args
      .trim()
      .slice(args.trim().indexOf(first) + first.length)
      .trim()
      .replace(/^(["'])(.*)\1$/, '$2');
    return { kind: 'core', cmd: { cmd: 'send_file', to, path, ...extra }, done: `Offering ${path} to ${to}…` };
  }
  const s = needSession(ctx);
  if (typeof s === 'string') return { kind: 'error', message: `${s} Or: /send user@host PATH` };
  const path = args.trim().replace(/^(["'])(.*)\1$/, '$2');
  return {
    kind: 'core',
    cmd: { cmd: 'send_file', session: s.id, path, ...extra },
    done: `Offering ${path} to ${name(s)}…`,
  };
}

/** Parses one line that starts with "/". */
export function parseCommand(line: string, ctx: CommandContext): UiAction {
  const trimmed = line.trim();
  const m = /^\/(\S*)\s*([\s\S]*)$/.exec(trimmed);
  const verb = (m?.[1] ?? '').toLowerCase();
  const args = m?.[2] ?? '';
  const rest = tokenize(args);
  switch (verb) {
    case 'chat': {
      const target = args.trim();
      const to = normalizeUri(target);
      if (!to) return { kind: 'error', message: 'usage: /chat user@host  (or /chat sip:user@host:port)' };
      return { kind: 'core', cmd: { cmd: 'chat', to }, done: `Calling ${to}…` };
    }
    case 'call': {
      const to = normalizeUri(args.trim());
      if (!to)
        return { kind: 'error', message: 'usage: /call user@host  (an audio call; /audio adds audio to a chat)' };
      return { kind: 'core', cmd: { cmd: 'call', to }, done: `Calling ${to} (audio)…` };
    }
    case 'accept':
    case 'reject': {
      const pick = byNumber(ctx, rest[0]);
      if (pick === 'bad') return { kind: 'error', message: `No session number ${rest[0] ?? ''}.` };
      // an incoming chat or call, or an audio proposal on a running chat
      const waiting = (x: SessionView) => x.state === 'incoming' || x.audio?.state === 'proposed';
      const s = pick ?? (ctx.selected && waiting(ctx.selected) ? ctx.selected : (ctx.sessions.find(waiting) ?? null));
      if (!s || !waiting(s)) return { kind: 'error', message: `No incoming chat to ${verb}.` };
      return { kind: 'core', cmd: { cmd: verb, session: s.id } };
    }
    case 'audio':
    case 'hold':
    case 'resume':
    case 'mute':
    case 'unmute': {
      const s = needSession(ctx);
      if (typeof s === 'string') return { kind: 'error', message: s };
      if (s.state !== 'active') return { kind: 'error', message: `The session with ${name(s)} is not connected.` };
      if (verb === 'audio') {
        const off = (rest[0] ?? '').toLowerCase();
        if (off !== '' && off !== 'off' && off !== 'on')
          return { kind: 'error', message: 'usage: /audio (add audio to this chat) or /audio off' };
        return off === 'off'
          ? { kind: 'core', cmd: { cmd: 'audio', session: s.id, action: 'remove' }, done: 'Removing audio…' }
          : {
              kind: 'core',
              cmd: { cmd: 'audio', session: s.id, action: 'add' },
              done: `Adding audio, ringing ${name(s)}…`,
            };
      }
      if (!s.audio || s.audio.state === 'ended') return { kind: 'error', message: `No audio with ${name(s)}.` };
      const action = verb as 'hold' | 'resume' | 'mute' | 'unmute';
      return { kind: 'core', cmd: { cmd: 'audio', session: s.id, action } };
    }
    case 'sas': {
      const s = needSession(ctx);
      if (typeof s === 'string') return { kind: 'error', message: s };
      const action = (rest[0] ?? '').toLowerCase();
      if (action !== 'confirm' && action !== 'reject')
        return {
          kind: 'error',
          message: '/sas confirm (the peer reads the same SAS) or /sas reject (it reads another one)',
        };
      const z = s.audio?.zrtp;
      if (!z || z.state !== 'secure') return { kind: 'error', message: `No ZRTP SAS in the call with ${name(s)}.` };
      return {
        kind: 'core',
        cmd: { cmd: 'sas', session: s.id, action },
        done: action === 'confirm' ? `SAS ${z.sas ?? ''} confirmed.` : `SAS ${z.sas ?? ''} rejected.`,
      };
    }
    case 'dtmf': {
      const s = needSession(ctx);
      if (typeof s === 'string') return { kind: 'error', message: s };
      const digits = rest.join('');
      if (!/^[0-9*#A-Da-d]{1,64}$/.test(digits))
        return { kind: 'error', message: 'usage: /dtmf DIGITS  (0-9 * # A-D)' };
      if (!s.audio || s.audio.state === 'ended') return { kind: 'error', message: `No audio with ${name(s)}.` };
      return { kind: 'core', cmd: { cmd: 'dtmf', session: s.id, digits } };
    }
    case 'hangup': {
      const pick = byNumber(ctx, rest[0]);
      if (pick === 'bad') return { kind: 'error', message: `No session number ${rest[0] ?? ''}.` };
      const s = pick ?? ctx.selected;
      if (!s) return { kind: 'error', message: 'No chat selected.' };
      if (s.state === 'ended') return { kind: 'error', message: `The chat with ${name(s)} has already ended.` };
      return { kind: 'core', cmd: { cmd: 'hangup', session: s.id } };
    }
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    case 'help':
      return { kind: 'help' };
    case 'verify': {
      const s = needSession(ctx);
      if (typeof s === 'string') return { kind: 'error', message: s };
      if (s.isFocus) return { kind: 'error', message: `OTR is not used in conference rooms (${name(s)}).` };
      return { kind: 'verify', session: s.id };
    }
    case 'search': {
      const text = args.trim();
      if (text === '') return { kind: 'error', message: 'usage: /search TEXT' };
      return { kind: 'search', text };
    }
    case 'otr':
      return otrCommand(args, rest, ctx);
    case 'send':
    case 'send!':
      return sendCommand(args, verb === 'send!', ctx);
    case 'accept-file': {
      // /accept-file [fN] [FOLDER]: the latest offer when no id is given.
      const id = /^f\d+$/.test(rest[0] ?? '') ? rest[0]! : '';
      const dir = (id ? rest.slice(1) : rest).join(' ').trim();
      return { kind: 'core', cmd: { cmd: 'accept_file', transfer: id, ...(dir ? { dir } : {}) } };
    }
    case 'reject-file':
    case 'cancel-file':
    case 'open': {
      const id = rest[0] ?? '';
      if (verb !== 'reject-file' && !/^f\d+$/.test(id)) return { kind: 'error', message: `usage: /${verb} fN` };
      const cmd = verb === 'reject-file' ? 'reject_file' : verb === 'cancel-file' ? 'cancel_file' : 'open_file';
      return { kind: 'core', cmd: { cmd, transfer: id } };
    }
    default:
      return {
        kind: 'error',
        message: `Unknown command "/${verb}". Commands: ${COMMANDS.join(' ')} (F1 for help; "//text" sends a line starting with "/").`,
      };
  }
}
