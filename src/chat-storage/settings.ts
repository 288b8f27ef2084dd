import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFile, ensureDir } from './atomic.js';
import { formatIssue, SettingsError, type SettingsIssue } from './errors.js';
import { IniDocument } from './ini.js';

export interface OtrSettings {
  enabled: boolean;
  allowV2: boolean;
  allowV3: boolean;
  requireEncryption: boolean;
  sendWhitespaceTag: boolean;
  whitespaceStartAke: boolean;
  errorStartAke: boolean;
  /** Largest OTR message sent in one piece over gateways; 0 = never fragment (MSRP has no size limit). */
  fragmentSize: number;
}

export interface ChatSettings {
  otr: OtrSettings;
  logging: { enabled: boolean };
  notifications: { bell: boolean; desktop: boolean; speech: boolean };
}

export interface LoadedSettings {
  settings: ChatSettings;
  /** Non-fatal remarks (unknown keys, stray lines), each naming file and line. */
  warnings: string[];
  /** The file was absent and has just been written with the defaults. */
  created: boolean;
}

export function defaultSettings(): ChatSettings {
  // OTR policy defaults follow libotr's OTRL_POLICY_DEFAULT (opportunistic): v2+v3, whitespace tag, start AKE on tag/error.
  return {
    otr: {
      enabled: true,
      allowV2: true,
      allowV3: true,
      requireEncryption: false,
      sendWhitespaceTag: true,
      whitespaceStartAke: true,
      errorStartAke: true,
      fragmentSize: 0,
    },
    logging: { enabled: true },
    notifications: { bell: true, desktop: false, speech: false },
  };
}

type BoolKey = { kind: 'bool'; get: (s: ChatSettings) => boolean; put: (s: ChatSettings, v: boolean) => void };
type IntKey = {
  kind: 'int';
  min: number;
  max: number;
  zeroOk: boolean;
  get: (s: ChatSettings) => number;
  put: (s: ChatSettings, v: number) => void;
};
type KeySpec = (BoolKey | IntKey) & { help: string };

const SCHEMA: Record<string, Record<string, KeySpec>> = {
  otr: {
    enabled: { kind: 'bool', get: (s) => s.otr.enabled, put: (s, v) => (s.otr.enabled = v), help: 'use OTR at all' },
    allow_v2: {
      kind: 'bool',
      get: (s) => s.otr.allowV2,
      put: (s, v) => (s.otr.allowV2 = v),
      help: 'speak OTR version 2',
    },
    allow_v3: {
      kind: 'bool',
      get: (s) => s.otr.allowV3,
      put: (s, v) => (s.otr.allowV3 = v),
      help: 'speak OTR version 3',
    },
    require_encryption: {
      kind: 'bool',
      get: (s) => s.otr.requireEncryption,
      put: (s, v) => (s.otr.requireEncryption = v),
      help: 'never send plaintext',
    },
    send_whitespace_tag: {
      kind: 'bool',
      get: (s) => s.otr.sendWhitespaceTag,
      put: (s, v) => (s.otr.sendWhitespaceTag = v),
      help: 'advertise OTR with a whitespace tag',
    },
    whitespace_start_ake: {
      kind: 'bool',
      get: (s) => s.otr.whitespaceStartAke,
      put: (s, v) => (s.otr.whitespaceStartAke = v),
      help: 'start OTR on a received whitespace tag',
    },
    error_start_ake: {
      kind: 'bool',
      get: (s) => s.otr.errorStartAke,
      put: (s, v) => (s.otr.errorStartAke = v),
      help: 'start OTR on a received OTR error',
    },
    fragment_size: {
      kind: 'int',
      min: 40,
      max: 1_000_000,
      zeroOk: true,
      get: (s) => s.otr.fragmentSize,
      put: (s, v) => (s.otr.fragmentSize = v),
      help: 'split OTR messages for gateways; 0 = never (MSRP needs none)',
    },
  },
  logging: {
    enabled: {
      kind: 'bool',
      get: (s) => s.logging.enabled,
      put: (s, v) => (s.logging.enabled = v),
      help: 'keep chat history (off: nothing about messages is written)',
    },
  },
  notifications: {
    bell: {
      kind: 'bool',
      get: (s) => s.notifications.bell,
      put: (s, v) => (s.notifications.bell = v),
      help: 'terminal bell on a new message',
    },
    desktop: {
      kind: 'bool',
      get: (s) => s.notifications.desktop,
      put: (s, v) => (s.notifications.desktop = v),
      help: 'desktop notification',
    },
    speech: {
      kind: 'bool',
      get: (s) => s.notifications.speech,
      put: (s, v) => (s.notifications.speech = v),
      help: 'speak new messages',
    },
  },
};

export function renderDefaultSettings(): string {
  const d = defaultSettings();
  const out = [
    '# blink-tui settings. Edit by hand; checked when blink-tui starts.',
    '# Booleans: true/false (also yes/no, on/off, 1/0). Lines starting with # or ; are comments.',
    '',
  ];
  for (const [section, keys] of Object.entries(SCHEMA)) {
    out.push(`[${section}]`);
    for (const [key, spec] of Object.entries(keys)) {
      out.push(`# ${spec.help}`);
      out.push(`${key} = ${spec.get(d)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

function parseBool(v: string): boolean | null {
  const t = v.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(t)) return true;
  if (['false', 'no', 'off', '0'].includes(t)) return false;
  return null;
}

/** Validates a settings text; throws SettingsError listing every bad value (file, line, key). */
export function parseSettings(text: string, file: string): { settings: ChatSettings; warnings: string[] } {
  const doc = IniDocument.parse(text);
  const settings = defaultSettings();
  const issues: SettingsIssue[] = [];
  const warnings: string[] = doc.problems().map((p) => `${file}:${p.line}: ${p.message}: ${JSON.stringify(p.text)}`);
  for (const e of doc.entries()) {
    const spec = SCHEMA[e.section]?.[e.key];
    if (!spec) {
      const where = SCHEMA[e.section]
        ? `[${e.section}] has no key "${e.key}" (known: ${Object.keys(SCHEMA[e.section]!).join(', ')})`
        : `unknown section [${e.section}] (known: ${Object.keys(SCHEMA).join(', ')})`;
      warnings.push(formatIssue(file, { line: e.line, section: e.section, key: e.key, message: `${where}; ignored` }));
      continue;
    }
    if (spec.kind === 'bool') {
      const b = parseBool(e.value);
      if (b === null)
        issues.push({ line: e.line, section: e.section, key: e.key, message: `"${e.value}" is not true or false` });
      else spec.put(settings, b);
    } else {
      const t = e.value.trim();
      const n = /^\d+$/.test(t) ? Number(t) : NaN;
      if (!Number.isSafeInteger(n) || (n === 0 ? !spec.zeroOk : n < spec.min || n > spec.max))
        issues.push({
          line: e.line,
          section: e.section,
          key: e.key,
          message: `"${e.value}" must be ${spec.zeroOk ? '0 or ' : ''}a whole number from ${spec.min} to ${spec.max}`,
        });
      else spec.put(settings, n);
    }
  }
  if (!settings.otr.allowV2 && !settings.otr.allowV3 && settings.otr.enabled) {
    const l = doc.get('otr', 'allow_v3') ?? doc.get('otr', 'allow_v2');
    issues.push({
      line: l?.line ?? null,
      section: 'otr',
      key: 'allow_v2/allow_v3',
      message: 'OTR is enabled but both versions are disallowed; allow one or set enabled = false',
    });
  }
  if (settings.otr.requireEncryption && !settings.otr.enabled) {
    const l = doc.get('otr', 'require_encryption');
    issues.push({
      line: l?.line ?? null,
      section: 'otr',
      key: 'require_encryption',
      message: 'requires OTR, but [otr] enabled = false',
    });
  }
  if (issues.length) throw new SettingsError(file, issues);
  return { settings, warnings };
}

/** Reads (and on first run writes, with comments) the settings file. */
export function loadSettings(file: string, opts: { create?: boolean } = {}): LoadedSettings {
  if (!existsSync(file)) {
    if (opts.create === false) return { settings: defaultSettings(), warnings: [], created: false };
    ensureDir(dirname(file));
    atomicWriteFile(file, renderDefaultSettings(), { mode: 0o644 });
    return { settings: defaultSettings(), warnings: [], created: true };
  }
  const { settings, warnings } = parseSettings(readFileSync(file, 'utf8'), file);
  return { settings, warnings, created: false };
}

/** Changes one value in place (other lines untouched), after validating it. */
export function setSetting(file: string, section: string, key: string, value: boolean | number): ChatSettings {
  const spec = SCHEMA[section]?.[key];
  if (!spec) throw new SettingsError(file, [{ line: null, section, key, message: 'no such setting' }]);
  if ((spec.kind === 'bool') !== (typeof value === 'boolean'))
    throw new SettingsError(file, [
      { line: null, section, key, message: `expects a ${spec.kind === 'bool' ? 'boolean' : 'number'}` },
    ]);
  const doc = IniDocument.parse(existsSync(file) ? readFileSync(file) : renderDefaultSettings());
  doc.set(section, key, String(value));
  const { settings } = parseSettings(doc.toString(), file);
  ensureDir(dirname(file));
  atomicWriteFile(file, doc.toBytes(), { mode: 0o644 });
  return settings;
}
