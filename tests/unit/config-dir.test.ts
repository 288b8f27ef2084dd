// One rule for the config folder: the command line's default (src/config/args.ts) is the storage's own
// resolveConfigDir (src/chat-storage/paths.ts). A relative XDG_CONFIG_HOME is invalid by the XDG Base Directory
// spec and ignored by both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, type CliCommand } from '../../src/config/args.js';
import { resolveConfigDir } from '../../src/chat-storage/paths.js';

function configDirOf(cmd: CliCommand): string {
  if (cmd.kind === 'run') return cmd.config.configDir;
  if (cmd.kind === 'import' || cmd.kind === 'history' || cmd.kind === 'genkey') return cmd.configDir;
  throw new Error(`no config folder in ${cmd.kind}`);
}

const ENVS: NodeJS.ProcessEnv[] = [
  { HOME: '/home/al', USER: 'al' },
  { HOME: '/home/al', USER: 'al', XDG_CONFIG_HOME: '/xdg' },
  { HOME: '/home/al', USER: 'al', XDG_CONFIG_HOME: '/xdg/' },
  { HOME: '/home/al', USER: 'al', XDG_CONFIG_HOME: 'relative/conf' },
  { HOME: '/home/al', USER: 'al', XDG_CONFIG_HOME: './conf' },
  { HOME: '/home/al', USER: 'al', XDG_CONFIG_HOME: '' },
];

test('a relative or empty XDG_CONFIG_HOME is ignored; an absolute one is used', () => {
  assert.equal(resolveConfigDir(undefined, ENVS[0]), '/home/al/.config/blink-tui');
  assert.equal(resolveConfigDir(undefined, ENVS[1]), '/xdg/blink-tui');
  assert.equal(resolveConfigDir(undefined, ENVS[2]), '/xdg/blink-tui');
  assert.equal(resolveConfigDir(undefined, ENVS[3]), '/home/al/.config/blink-tui');
  assert.equal(resolveConfigDir(undefined, ENVS[4]), '/home/al/.config/blink-tui');
  assert.equal(resolveConfigDir(undefined, ENVS[5]), '/home/al/.config/blink-tui');
  assert.equal(resolveConfigDir('rel/dir', ENVS[1]), 'rel/dir', '--config-dir is taken as given');
});

test('the command line resolves the config folder exactly as the storage does, for every subcommand', () => {
  for (const env of ENVS) {
    for (const argv of [[], ['--headless'], ['history'], ['genkey'], ['import', 'key.pem']]) {
      assert.equal(
        configDirOf(parseArgs(argv, env)),
        resolveConfigDir(undefined, env),
        `${JSON.stringify(env)} ${argv.join(' ')}`,
      );
    }
    assert.equal(configDirOf(parseArgs(['--config-dir', '/elsewhere'], env)), '/elsewhere');
  }
});
