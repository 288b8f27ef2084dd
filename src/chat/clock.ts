// Time as the chat layer sees it, so that tests can drive every deadline of a session, the core and a transfer.

/** A wall clock for line times and rates, and timers for deadlines. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer): void;
}
/** An opaque timer handle; unref() keeps it from holding the process open. */
export interface Timer {
  unref(): unknown;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};
