// The one subprocess wrapper. Argument arrays only; a shell only for scripts the user wrote in
// sess.yaml (hooks, commands), whose variable parts reach them through the environment.
//
// Built on node:child_process rather than execa: execa costs ~55 ms to import, a third of the budget
// of a no-op `sess up`, and the few features we need (abort, stderr tail, debug log) fit here.
import { spawn, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { openSync, closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { SubprocessError, CancelledError } from '../errors.js';
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
  timeoutMs?: number;
  /**
   * Keep at most this many bytes of each of stdout and stderr (its first and last halves), for a
   * command whose output goes to a program and may be of any size (`exec` over MCP).
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
    const capped = options.maxOutputBytes !== undefined
      ? { stdout: new CappedOutput(options.maxOutputBytes), stderr: new CappedOutput(options.maxOutputBytes) }
      : undefined;
    let aborted = false;
    let timedOut = false;
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
    if (capped) {
      // bytes, not strings: the budget is in bytes, and a character split between chunks survives
      child.stdout!.on('data', (d: Buffer) => capped.stdout.push(d));
      child.stderr!.on('data', (d: Buffer) => capped.stderr.push(d));
    } else {
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (options.echo) process.stderr.write(d);
      });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (options.echo) process.stderr.write(d);
      });
    }
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
      reject(new SubprocessError(shown, null, String(error.message), { cause: error }));
    });
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      debug(`${shown} (${Date.now() - started} ms, exit ${exitCode ?? signal})`);
      if (aborted) return reject(CancelledError.from(options.signal));
      if (capped) {
        stdout = capped.stdout.text();
        stderr = capped.stderr.text();
      }
      const result: RunResult = {
        stdout,
        stderr,
        exitCode,
        signal,
        ...(timedOut ? { timedOut } : {}),
        ...(capped ? { omitted: { stdout: capped.stdout.omitted, stderr: capped.stderr.omitted } } : {}),
      };
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
export function runInteractive(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<number> {
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
      child.once('error', (error) =>
        reject(new SubprocessError(command, null, error.message, { cause: error })),
      );
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

/**
 * Start time of a process in clock ticks since boot (/proc/PID/stat field 22): with the pid it
 * identifies a process for good, so a recycled pid is never taken for ours. null when the process
 * is gone or a zombie.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Process group of a live process (/proc/PID/stat field 5), or null. */
export function processGroupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

export function isProcessAlive(pid: number, start: string): boolean {
  const now = processStartTime(pid);
  return now !== null && (start === 'unknown' || now === start);
}

function groupAlive(pgid: number): boolean {
  // cheap first: a running leader means a running group
  if (processStartTime(pgid) !== null) return true;
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill(0) succeeds on zombies (an orphan's leader may never be reaped here): only members that
  // still run count, which takes a look through /proc
  return processesInGroup(pgid).length > 0;
}

export function processesInGroup(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[2]) === pgid) {
        members.push(Number(entry));
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return members;
}

/**
 * Stop a service's process group: `signal`, up to `graceMs` for it to go, then SIGKILL. Does nothing
 * if the pid now belongs to another process.
 */
export async function stopProcessGroup(
  pid: number,
  start: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<'stopped' | 'killed' | 'gone'> {
  const now = processStartTime(pid);
  // A live leader with another start time means the pid was recycled: not ours. A dead leader can
  // leave members of its group behind; the kernel does not reuse a pid while its group exists.
  if (now !== null && start !== 'unknown' && now !== start) return 'gone';
  if (!groupAlive(pid)) return 'gone';
  sendToGroup(pid, signal);
  const deadline = Date.now() + graceMs;
  let wait = 2;
  while (Date.now() < deadline) {
    if (!groupAlive(pid)) return 'stopped';
    await sleep(wait);
    wait = Math.min(wait * 2, 50);
  }
  sendToGroup(pid, 'SIGKILL');
  for (let i = 0; i < 100 && groupAlive(pid); i++) await sleep(20);
  return 'killed';
}

function sendToGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
}

/** Processes whose environment carries `NAME=value...` (prefix match): how doctor finds ours. */
export function processesWithEnv(name: string, valuePrefix: string): { pid: number; value: string }[] {
  const found: { pid: number; value: string }[] = [];
  const needle = `${name}=${valuePrefix}`;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!environ.includes(needle)) continue;
    const item = environ.split('\0').find((kv) => kv.startsWith(needle));
    if (item && processStartTime(Number(entry)) !== null) {
      found.push({ pid: Number(entry), value: item.slice(name.length + 1) });
    }
  }
  return found;
}

/** Which process listens on a TCP port, when /proc lets us see it (for error messages). */
export function findPortHolder(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1]!.split(':')[1]!, 16);
      if (localPort === port && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1]!)) return Number(entry);
      } catch {
        /* raced */
      }
    }
  }
  return null;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(CancelledError.from(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(CancelledError.from(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run a command and hand over its output line by line (stdout and stderr) until it ends or `signal` aborts. */
export function streamLines(
  file: string,
  args: string[],
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
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

/**
 * End processes whose command line holds these arguments in a row (a `compose -p PROJECT ...` that
 * a killed sess left running). Returns how many there were.
 */
export async function killProcessesWithArgs(args: string[]): Promise<number> {
  const needle = args.join('\0');
  const found: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (`\0${cmdline}`.includes(`\0${needle}\0`) && processStartTime(Number(entry)) !== null) found.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && found.some((p) => processStartTime(p) !== null); i++) await sleep(50);
  for (const pid of found) {
    try {
      if (processStartTime(pid) !== null) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return found.length;
}
