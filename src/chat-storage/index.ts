// The storage's public face for the orchestrator and cli.ts; everything else in src/chat-storage is internal
// (tests import the files directly; config/ and secrets/ each use one named file, see scripts/boundaries.mjs).
// The config folder: open it (lock, key, trusted_peers, contacts, history, settings) and change a setting.
export { openChatStorage } from './storage.js';
export type { ChatStorage } from './storage.js';
export { setSetting } from './settings.js';
// Trust as trusted_peers records it, and the problems it reports in a hand-edited file.
export type { ParseProblem, PeerTrust } from './trusted-peers.js';
// Hand edits: watch the folder's files while the client runs.
export { watchFolderFiles } from './watch.js';
export type { FolderWatch } from './watch.js';
// `blink-tui import`: an existing identity from Blink or libotr.
export { importIdentity } from './import.js';
export { openZrtpCache, zrtpCachePaths } from './zrtp-cache.js';
export type { ZrtpCacheStore, ZrtpCacheRecord } from './zrtp-cache.js';
// File transfers, one record each (direction, name, size, hash, result, encryption).
export { TransferLog } from './transfers.js';
export type { TransferRecord } from './transfers.js';
