import { ensureDir, removeStaleTemps } from './atomic.js';
import { Contacts } from './contacts.js';
import { History } from './history.js';
import { KeyStore } from './key-store.js';
import { ConfigLock } from './lock.js';
import { chatPaths, type ChatPaths } from './paths.js';
import { loadSettings, type ChatSettings } from './settings.js';
import { TrustedPeers } from './trusted-peers.js';

export interface ChatStorage {
  paths: ChatPaths;
  /** null when opened read-only (lock: false). */
  lock: ConfigLock | null;
  settings: ChatSettings;
  settingsWarnings: string[];
  keys: KeyStore;
  trustedPeers: TrustedPeers;
  contacts: Contacts;
  history: History;
  close(): void;
}

export interface OpenChatStorageOptions {
  /** Take the config-folder lock (default true). Read-only tools such as `blink-tui history` pass false. */
  lock?: boolean;
  /** Every file problem (trusted_peers/contacts lines, torn history records), once each, as a printable line. */
  onProblem?: (message: string) => void;
}

/**
 * Opens everything under `<configDir>/chat`. Throws ConfigLockedError when another blink-tui holds the folder and
 * SettingsError when settings.ini has bad values. The key is not loaded here: call `keys.loadOrCreate(generator)`.
 */
export function openChatStorage(configDir: string, opts: OpenChatStorageOptions = {}): ChatStorage {
  const paths = chatPaths(configDir);
  ensureDir(paths.chatDir);
  const lock = opts.lock === false ? null : ConfigLock.acquire(paths.lockFile);
  try {
    // Only the lock holder may sweep: a read-only opener could race a live writer's temp file (pid checks aside).
    if (lock) for (const d of [paths.configDir, paths.chatDir]) removeStaleTemps(d);
    const report = opts.onProblem ?? (() => {});
    const { settings, warnings } = loadSettings(paths.settings, { create: opts.lock !== false });
    for (const w of warnings) report(w);
    const trustedPeers = new TrustedPeers(paths.trustedPeers, {
      onProblem: (p) => report(`${p.file}:${p.line}: ${p.message}: ${JSON.stringify(p.text)}`),
    });
    const contacts = new Contacts(paths.contacts, { onProblem: (p) => report(`${p.file}:${p.line}: ${p.message}`) });
    const history = new History(paths.historyDir, {
      enabled: settings.logging.enabled,
      override: (peer) => contacts.effective(peer).logging,
      onWarning: (w) => report(`${w.file}:${w.line}: ${w.message}`),
    });
    return {
      paths,
      lock,
      settings,
      settingsWarnings: warnings,
      keys: new KeyStore(paths.privateKey),
      trustedPeers,
      contacts,
      history,
      close: () => {
        history.flush();
        lock?.release();
      },
    };
  } catch (e) {
    lock?.release();
    throw e;
  }
}
