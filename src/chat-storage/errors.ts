/** Base class of every error this folder throws on purpose; callers can catch it as a family. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** private_key.dsa (or an imported key file) exists but cannot be used. The file is never touched. */
export class KeyFileError extends StorageError {
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/** The settings file has values that cannot be used. Each issue names file, line and key. */
export class SettingsError extends StorageError {
  constructor(
    readonly file: string,
    readonly issues: readonly SettingsIssue[],
  ) {
    super(`${file}: invalid settings:\n${issues.map((i) => '  ' + formatIssue(file, i)).join('\n')}`);
  }
}

export interface SettingsIssue {
  line: number | null;
  section: string;
  key: string;
  message: string;
}

export function formatIssue(file: string, i: SettingsIssue): string {
  const where = i.line === null ? file : `${file}:${i.line}`;
  return `${where}: [${i.section}] ${i.key}: ${i.message}`;
}

/** Another live blink-tui process holds the config folder. */
export class ConfigLockedError extends StorageError {
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(
      `the config folder is in use by another blink-tui (pid ${pid}, lock file ${lockFile}); ` +
        `quit that one, or use another --config-dir`,
    );
  }
}

/** A file handed to importIdentity cannot be read as what it claims to be. */
export class ImportError extends StorageError {
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/** Malformed DER, s-expression or MPI data (raised by the small parsers here). */
export class FormatError extends StorageError {}
