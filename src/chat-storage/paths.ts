import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** Where everything lives; one object so tests and the CLI agree on names. */
export interface ChatPaths {
  configDir: string;
  chatDir: string;
  privateKey: string;
  trustedPeers: string;
  contacts: string;
  settings: string;
  historyDir: string;
  lockFile: string;
}

/**
 * The one rule for the config folder (the command line's default too, src/config/args.ts): `--config-dir` wins,
 * then `$XDG_CONFIG_HOME/blink-tui`, then `~/.config/blink-tui`. A relative XDG_CONFIG_HOME is ignored, as the XDG
 * Base Directory spec says ("all paths set in these environment variables must be absolute"): it would name a
 * different folder in every working directory.
 */
export function resolveConfigDir(explicit?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'blink-tui');
  return join(env['HOME'] || homedir(), '.config', 'blink-tui');
}

export function chatPaths(configDir: string): ChatPaths {
  const chatDir = join(configDir, 'chat');
  return {
    configDir,
    chatDir,
    privateKey: join(chatDir, 'private_key.dsa'),
    trustedPeers: join(chatDir, 'trusted_peers'),
    contacts: join(chatDir, 'contacts'),
    settings: join(chatDir, 'settings.ini'),
    historyDir: join(chatDir, 'history'),
    lockFile: join(configDir, 'blink-tui.lock'),
  };
}
