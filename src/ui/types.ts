// What the UI may use beyond the Core contract in src/chat/types.ts. Every addition is optional, so any Core
// works; the UI says "not available" when a capability is missing.
import type { ChatLine, Core } from '../chat/types.js';

export interface UiCoreExtensions {
  /** Full-text search over the stored history (all chats), newest last. */
  search?(text: string): Promise<ChatLine[]>;
}

export type UiCore = Core & UiCoreExtensions;

export interface RenderAppOptions {
  /** No colour at all (markers stay). Defaults to the NO_COLOR environment variable. */
  noColor?: boolean;
  /** Rung once each time a session's trust turns 'changed' (terminal bell, desktop notification, ...). */
  bell?: () => void;
  /** Streams, for tests or a pty; default the process's own. */
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Use the terminal's alternate screen (restored on exit). Default: true when stdout is a TTY. */
  alternateScreen?: boolean;
}

export interface AppHandle {
  waitUntilExit(): Promise<void>;
  unmount(): void;
}
