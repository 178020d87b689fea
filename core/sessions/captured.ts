// `exec` and `logs` for a program rather than a terminal (the MCP tools): output captured and
// bounded instead of streamed, a deadline instead of Ctrl+C, everything said in the result.
// The terminal versions stay in inspect.ts: `sess exec` is attached to the terminal on purpose.
import { constants as osConstants } from 'node:os';
import { CappedOutput } from '../../adapters/cappedOutput.js';
import { run } from '../../adapters/process.js';
import { SubprocessError, UsageError } from '../../common/errors.js';
import { logs } from './inspect.js';
import { openRepo } from '../state/repo.js';
import { requireSession } from './names.js';

export interface CapturedExecOptions {
  cwd: string;
  target: string;
  /** the command and its arguments: run as they are, never through a shell */
  argv: string[];
  timeoutMs: number;
  /** kept of each of stdout and stderr */
  maxOutputBytes: number;
  signal?: AbortSignal;
}

export interface CapturedExec {
  session: string;
  command: string[];
  /** the command's exit code; 128 + the signal's number when a signal ended it, as a shell says */
  exitCode: number;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** bytes dropped from the middle of each stream to stay within the limit */
  omittedBytes: { stdout: number; stderr: number };
  limits: { timeoutMs: number; maxOutputBytes: number };
}

/** Run a command in the session's worktree with its env, and hand back what it did. */
export async function execCaptured(options: CapturedExecOptions): Promise<CapturedExec> {
  if (options.argv.length === 0) throw new UsageError('nothing to run', { hint: 'give the command as an array: ["npm", "test"]' });
  const repo = await openRepo(options.cwd);
  const record = requireSession(repo, options.target);
  const [file, ...args] = options.argv as [string, ...string[]];
  const started = Date.now();
  const limits = { timeoutMs: options.timeoutMs, maxOutputBytes: options.maxOutputBytes };
  const base = { session: record.name, command: options.argv };
  try {
    const r = await run(file, args, {
      cwd: record.worktree,
      env: { ...process.env, ...record.hostEnv },
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
      allowFailure: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      ...base,
      exitCode: r.exitCode ?? 128 + (r.signal ? (osConstants.signals[r.signal] ?? 15) : 15),
      signal: r.signal,
      timedOut: !!r.timedOut,
      durationMs: Date.now() - started,
      stdout: r.stdout,
      stderr: r.stderr,
      omittedBytes: r.omitted ?? { stdout: 0, stderr: 0 },
      limits,
    };
  } catch (error) {
    // as a shell says it: 127 for a command that is not there, 126 for one that cannot run
    const code = error instanceof SubprocessError ? (error.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
    if (code !== 'ENOENT' && code !== 'EACCES') throw error;
    return {
      ...base,
      exitCode: code === 'ENOENT' ? 127 : 126,
      signal: null,
      timedOut: false,
      durationMs: Date.now() - started,
      stdout: '',
      stderr: `sess: ${file}: ${code === 'ENOENT' ? 'command not found' : 'permission denied'}\n`,
      omittedBytes: { stdout: 0, stderr: 0 },
      limits,
    };
  }
}

export interface CapturedLogsOptions {
  cwd: string;
  target: string;
  /** only these services (none: every service) */
  services: string[];
  /** the last N lines of each service */
  tail: number;
  /** kept of the whole text */
  maxBytes: number;
  signal?: AbortSignal;
}

export interface CapturedLogs {
  session: string;
  services: string[];
  tail: number;
  /** `service | line` lines, as `sess logs` prints them */
  text: string;
  bytes: number;
  omittedBytes: number;
  limits: { maxBytes: number };
}

/** The last lines of a session's logs, within a byte limit. */
export async function logsCaptured(options: CapturedLogsOptions): Promise<CapturedLogs> {
  const repo = await openRepo(options.cwd);
  const record = requireSession(repo, options.target);
  const out = new CappedOutput(options.maxBytes);
  await logs({
    cwd: options.cwd,
    target: record.name,
    services: options.services,
    follow: false,
    tail: options.tail,
    ...(options.signal ? { signal: options.signal } : {}),
    write: (text) => out.push(text),
  });
  return {
    session: record.name,
    services: options.services.length ? options.services : Object.keys(record.services),
    tail: options.tail,
    text: out.text(),
    bytes: out.total,
    omittedBytes: out.omitted,
    limits: { maxBytes: options.maxBytes },
  };
}
