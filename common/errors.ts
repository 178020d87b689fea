// Shared by every layer (a leaf module): core throws these, adapters throw SubprocessError.
// Typed errors: core throws these, cli/main.ts maps them to a message, a hint and the exit code of
// SPEC.md. Nothing in the codebase throws a plain object.

export class SessError extends Error {
  get exitCode(): number {
    return 1;
  }
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad usage: a flag, a branch name, a session that does not exist. Nothing was changed. */
export class UsageError extends SessError {
  override get exitCode(): number {
    return 2;
  }
}

/** sess.yaml (or a compose file it names) is invalid. Nothing was changed. */
export class ConfigError extends SessError {
  override get exitCode(): number {
    return 2;
  }

  constructor(
    readonly file: string,
    readonly problems: { path: string; message: string }[],
    options: { hint?: string } = {},
  ) {
    super(`${file}: invalid configuration\n` + problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n'), options);
  }
}

/** The work failed; whatever this command changed was rolled back. */
export class WorkError extends SessError {}

export class SubprocessError extends SessError {
  constructor(
    readonly command: string,
    readonly exitCodeOfChild: number | null,
    readonly stderrTail: string,
    options: { cause?: unknown; signal?: string | null } = {},
  ) {
    const how = options.signal ? `was killed by ${options.signal}` : `exited with ${exitCodeOfChild}`;
    super(`\`${command}\` ${how}${stderrTail ? `:\n${indent(stderrTail)}` : ''}`, options);
  }
}

/** Ctrl+C or SIGTERM while a command was changing things; it was rolled back. */
export class CancelledError extends SessError {
  override get exitCode(): number {
    return 130;
  }

  constructor(signal = 'SIGINT') {
    super(`interrupted by ${signal}`);
  }

  /**
   * The interrupt an AbortSignal was aborted with: its reason names the signal (see withSignals) or
   * says who else interrupted (`the MCP client's cancellation`).
   */
  static from(signal: AbortSignal | undefined): CancelledError {
    const reason: unknown = signal?.reason;
    return new CancelledError(typeof reason === 'string' && reason ? reason : 'SIGINT');
  }
}

/** A step failed and undoing it also failed somewhere: the original failure plus every cleanup failure. */
export class RollbackError extends SessError {
  constructor(
    readonly original: unknown,
    readonly cleanupFailures: { step: string; error: unknown }[],
  ) {
    super(
      `${messageOf(original)}\nrollback incomplete:\n` + cleanupFailures.map((f) => `  - ${f.step}: ${messageOf(f.error)}`).join('\n'),
      { hint: 'run `sess doctor --fix` to finish the cleanup', cause: original },
    );
  }

  override get exitCode(): number {
    return this.original instanceof SessError ? this.original.exitCode : 1;
  }
}

/**
 * A state file sess cannot read: truncated, garbage, or valid JSON of the wrong shape. Raised before
 * the command changes anything; the hint says how to repair it.
 */
export class CorruptStateError extends SessError {
  constructor(
    readonly file: string,
    message: string,
    options: { hint?: string } = {},
  ) {
    super(message, options);
  }
}

/** Another sess command holds the lock of this session (or the port ledger) for too long. */
export class LockTimeoutError extends SessError {}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
