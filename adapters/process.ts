// The one subprocess wrapper. Argument arrays only; a shell only for scripts the user wrote in
// sess.yaml (hooks, commands), whose variable parts reach them through the environment.
//
// Built on node:child_process rather than execa: execa costs ~55 ms to import, a third of the budget
// of a no-op `sess up`, and the few features we need (abort, stderr tail, debug log) fit here.
import { spawn, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { openSync, closeSync } from 'node:fs';
import { processStartTime } from './proc.js';
import { SubprocessError, CancelledError } from '../common/errors.js';
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
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

const TAIL_LINES = 20;

export function tailLines(text: string, lines = TAIL_LINES): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const shown = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(CancelledError.from(options.signal));
    // Own process group, so that an abort can end the child and everything it started.
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let aborted = false;
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
    const timer = options.timeoutMs ? setTimeout(() => killGroup('SIGKILL'), options.timeoutMs) : undefined;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (options.echo) process.stderr.write(d);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (options.echo) process.stderr.write(d);
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      reject(new SubprocessError(shown, null, String(error.message), { cause: error }));
    });
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      debug(`${shown} (${Date.now() - started} ms, exit ${exitCode ?? signal})`);
      if (aborted) return reject(CancelledError.from(options.signal));
      const result = { stdout, stderr, exitCode, signal };
      if (exitCode === 0 || options.allowFailure) return resolve(result);
      const tail = tailLines(stderr.trim() ? stderr : stdout);
      reject(new SubprocessError(shown, exitCode, tail, { signal }));
    });
  });
}

/** A script the user wrote (a hook, a cmd probe), through /bin/sh, with the session env. */
export function runShell(script: string, options: RunOptions): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], options);
}

/** Run a command attached to our terminal (sess exec); resolves with its exit code. */
export function runInteractive(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt).on('SIGTERM', onTerm);
    child.on('error', (error: NodeJS.ErrnoException) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      // as a shell says it: 127 for a command that is not there, 126 for one that cannot run
      if (error.code === 'ENOENT' || error.code === 'EACCES') {
        process.stderr.write(`sess: ${file}: ${error.code === 'ENOENT' ? 'command not found' : 'permission denied'}\n`);
        return resolve(error.code === 'ENOENT' ? 127 : 126);
      }
      reject(new SubprocessError(file, null, error.message, { cause: error }));
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
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
        resolve({ pid, start: processStartTime(pid) ?? 'unknown' });
      });
    });
  } finally {
    closeSync(fd);
  }
}

/** Run a command and hand over its output line by line (stdout and stderr) until it ends or `signal` aborts. */
export function streamLines(file: string, args: string[], onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const split = () => {
      let rest = '';
      return (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      };
    };
    child.stdout!.setEncoding('utf8').on('data', split());
    child.stderr!.setEncoding('utf8').on('data', split());
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.on('error', () => resolve());
    child.on('close', () => {
      signal?.removeEventListener('abort', stop);
      resolve();
    });
  });
}
