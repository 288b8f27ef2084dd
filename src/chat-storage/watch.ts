// Noticing hand edits of the files in the config folder at once.
import { watch, type FSWatcher } from 'node:fs';

export interface FolderWatch {
  close(): void;
}

export interface WatchOptions {
  /** Fallback poll, for file systems where fs.watch says nothing (network mounts) or cannot start. Default 10 s. */
  pollMs?: number;
  /** Events closer together than this become one call (an editor's write + rename). Default 25 ms. */
  debounceMs?: number;
}

/**
 * Calls onChange soon after any of `names` in `dir` may have changed. The watch is on the folder, not on the
 * files: editors that write a temp file and rename it over the original replace the inode a file watch would
 * follow, while the folder sees the rename under the file's name. Calls can be spurious (the caller re-reads
 * only what stat says changed). Never throws: without fs.watch (inotify limits, a folder that went away) the
 * poll goes on, and the watch is tried again at each poll.
 */
export function watchFolderFiles(
  dir: string,
  names: readonly string[],
  onChange: () => void,
  opts: WatchOptions = {},
): FolderWatch {
  const wanted = new Set(names);
  let watcher: FSWatcher | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let closed = false;
  const fire = () => {
    debounce = null;
    if (!closed) onChange();
  };
  const soon = () => {
    if (closed || debounce) return;
    debounce = setTimeout(fire, opts.debounceMs ?? 25);
    debounce.unref();
  };
  const start = () => {
    if (watcher || closed) return;
    try {
      watcher = watch(dir, { persistent: false }, (_event, filename) => {
        // No name (some platforms): could be ours.
        if (filename === null || wanted.has(String(filename))) soon();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = null;
      });
    } catch {
      watcher = null;
    }
  };
  start();
  const poll = setInterval(() => {
    start();
    onChange();
  }, opts.pollMs ?? 10_000);
  poll.unref();
  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
      watcher = null;
    },
  };
}
