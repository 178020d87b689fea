// The one subprocess wrapper. Argument arrays only; a shell only for scripts the user wrote in
// sess.yaml (hooks, commands), whose variable parts reach them through the environment.
//
// Built on node:child_process rather than execa: execa costs ~55 ms to import, a third of the budget
// of a no-op `sess up` (README, "How it is built"). What execa would give is here instead: output
// kept within a cap (a clear error past it, or its head and tail for a program's caller), a
// timeout named in the error, the command shown quoted, and every spawn in the SESS_DEBUG log.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { openSync, closeSync } from 'node:fs';
import { processStartTime } from './proc.js';
import { SubprocessError, CancelledError } from '../common/errors.js';
import { CappedOutput } from './cappedOutput.js';
import { debug } from './log.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  input?: string;
  /** Return the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Forward the child's output to our stderr as it comes (hooks), keeping a tail for errors. */
  echo?: boolean;
  /** Kill it (its whole process group) after this long; the error says so. */
  timeoutMs?: number;
  /**
   * Keep at most this many bytes of each of stdout and stderr (its first and last halves), for a
   * command whose output goes to a program and may be of any size (`exec` over MCP). Without it,
   * output past BUFFER_CAP fails the command.
   */
  maxOutputBytes?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** It ran out of `timeoutMs` and was killed. */
  timedOut?: boolean;
  /** With `maxOutputBytes`: the bytes of each stream dropped from its middle. */
  omitted?: { stdout: number; stderr: number };
}

/** What sess keeps of a command's output in memory at most, without `maxOutputBytes`: far above any it reads. */
export const BUFFER_CAP = 64 * 1024 * 1024;

const TAIL_LINES = 20;

export function tailLines(text: string, lines = TAIL_LINES): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

/** A command as a shell would take it: arguments with spaces or specials in single quotes. */
export function quoteCommand(file: string, args: string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const shown = quoteCommand(file, args);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(CancelledError.from(options.signal));
    debug(`spawn ${shown}`);
    // Own process group, so that an abort can end the child and everything it started.
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const capped = options.maxOutputBytes !== undefined;
    const out = {
      stdout: new CappedOutput(options.maxOutputBytes ?? BUFFER_CAP),
      stderr: new CappedOutput(options.maxOutputBytes ?? BUFFER_CAP),
    };
    let aborted = false;
    let timedOut = false;
    let overflowed = false;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      aborted = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 2000).unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    // bytes, not strings: the budget is in bytes, and a character split between chunks survives
    const take = (stream: CappedOutput) => (d: Buffer) => {
      stream.push(d);
      if (options.echo) process.stderr.write(d);
      if (!capped && stream.omitted > 0 && !overflowed) {
        overflowed = true;
        killGroup('SIGKILL');
      }
    };
    child.stdout!.on('data', take(out.stdout));
    child.stderr!.on('data', take(out.stderr));
    if (capped) {
      // A helper the command left running (`server &`, setsid) holds the pipes open and would hold
      // the caller until it ends: for a program's caller the command is over when it exits, and
      // its output is what came before that, plus a moment to drain.
      child.once('exit', () => {
        setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
        }, 500).unref();
      });
    }
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      debug(`${shown} could not start: ${error.message}`);
      reject(new SubprocessError(shown, null, notStarted(file, error), { cause: error }));
    });
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      debug(`${shown} (${Date.now() - started} ms, exit ${exitCode ?? signal}${timedOut ? ', timed out' : ''})`);
      if (aborted) return reject(CancelledError.from(options.signal));
      const stdout = out.stdout.text();
      const stderr = out.stderr.text();
      if (overflowed) {
        return reject(
          new SubprocessError(shown, exitCode, `its output passed ${BUFFER_CAP / 1024 / 1024} MiB and it was stopped`, { signal }),
        );
      }
      const result: RunResult = {
        stdout,
        stderr,
        exitCode,
        signal,
        ...(timedOut ? { timedOut } : {}),
        ...(capped ? { omitted: { stdout: out.stdout.omitted, stderr: out.stderr.omitted } } : {}),
      };
      if ((exitCode === 0 && !timedOut) || options.allowFailure) return resolve(result);
      const tail = tailLines(stderr.trim() ? stderr : stdout);
      if (timedOut) {
        const why = `it ran out of its ${Math.round(options.timeoutMs! / 100) / 10}s and was killed`;
        return reject(new SubprocessError(shown, exitCode, tail ? `${why}; it said:\n${tail}` : why, { signal }));
      }
      reject(new SubprocessError(shown, exitCode, tail, { signal }));
    });
  });
}

/** Why a command did not start, as a shell would say it. */
function notStarted(file: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `${file}: command not found`;
  if (error.code === 'EACCES') return `${file}: permission denied`;
  return error.message;
}

/** A script the user wrote (a hook, a cmd probe), through /bin/sh, with the session env. */
export function runShell(script: string, options: RunOptions): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], options);
}

/** Run a command attached to our terminal (sess exec); resolves with its exit code. */
export function runInteractive(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<number> {
  const shown = quoteCommand(file, args);
  const started = Date.now();
  debug(`spawn ${shown} (attached to the terminal)`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: 'inherit' });
    // A Ctrl+C at a terminal reaches the child as well as us (one foreground process group): sent
    // again, it would reach it twice (a REPL, a test runner asking "are you sure?"). Elsewhere (a
    // `kill -INT` of sess), only we got it: then it is passed on. SIGTERM is only ever ours.
    const fromTerminal = !!process.stdin.isTTY;
    const onInt = () => {
      if (!fromTerminal) child.kill('SIGINT');
    };
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt).on('SIGTERM', onTerm);
    child.on('error', (error: NodeJS.ErrnoException) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      debug(`${shown} could not start: ${error.message}`);
      // as a shell says it: 127 for a command that is not there, 126 for one that cannot run
      if (error.code === 'ENOENT' || error.code === 'EACCES') {
        process.stderr.write(`sess: ${notStarted(file, error)}\n`);
        return resolve(error.code === 'ENOENT' ? 127 : 126);
      }
      reject(new SubprocessError(shown, null, error.message, { cause: error }));
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      debug(`${shown} (${Date.now() - started} ms, exit ${code ?? signal})`);
      // killed by a signal: 128 + its number, as a shell reports it
      resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 15) : 15));
    });
  });
}

export interface DetachedProcess {
  pid: number;
  start: string;
}

/**
 * Start a long-running service: detached, in its own process group, output appended to a log
 * file, not tied to our lifetime. The marker in its environment lets `doctor` find it even if we
 * die between the spawn and recording its pid.
 */
export function spawnDetached(
  command: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Promise<DetachedProcess> {
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    const stdio: StdioOptions = ['ignore', fd, fd];
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      stdio,
      detached: true,
    });
    return new Promise((resolve, reject) => {
      child.once('error', (error) => reject(new SubprocessError(command, null, error.message, { cause: error })));
      child.once('spawn', () => {
        child.unref();
        const pid = child.pid!;
        debug(`spawn detached /bin/sh -c ${quoteCommand(command, []).trim()} (pid ${pid}, log ${options.logFile})`);
        resolve({ pid, start: processStartTime(pid) ?? 'unknown' });
      });
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Run a command and hand over its output line by line (stdout and stderr) until it ends or
 * `signal` aborts; a last line without a newline is handed over too. Rejects when the command
 * cannot start (not installed).
 */
export function streamLines(
  file: string,
  args: string[],
  onLine: (line: string) => void,
  signal?: AbortSignal,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  const shown = quoteCommand(file, args);
  const started = Date.now();
  debug(`spawn ${shown} (streamed)`);
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    const splitters = [lineSplitter(onLine), lineSplitter(onLine)];
    child.stdout!.setEncoding('utf8').on('data', splitters[0]!.push);
    child.stderr!.setEncoding('utf8').on('data', splitters[1]!.push);
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', stop);
      debug(`${shown} could not start: ${error.message}`);
      reject(new SubprocessError(shown, null, notStarted(file, error), { cause: error }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', stop);
      for (const s of splitters) s.flush();
      debug(`${shown} (${Date.now() - started} ms, exit ${code ?? sig})`);
      resolve();
    });
  });
}

function lineSplitter(onLine: (line: string) => void): { push: (chunk: string) => void; flush: () => void } {
  let rest = '';
  return {
    push: (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    },
    flush: () => {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}
