// Read-only commands: ls, status, env, exec, logs, history. None takes the session lock: state files
// are replaced atomically, so a reader always sees a whole one.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { runInteractive, sleep } from '../adapters/process.js';
import { UsageError } from '../errors.js';
import { readHistory, type Release } from './history.js';
import { openRepo, paths } from './repo.js';
import { requireSession } from './session.js';
import { listSessions } from './store.js';
import { sessionView, type SessionView } from './view.js';
import { dotenv } from './dotenv.js';

export async function ls(cwd: string): Promise<SessionView[]> {
  const repo = await openRepo(cwd);
  return listSessions(repo).map((record) => sessionView(record));
}

export async function status(cwd: string, target: string): Promise<SessionView> {
  const repo = await openRepo(cwd);
  return sessionView(requireSession(repo, target));
}

export async function history(cwd: string, target: string): Promise<Release[]> {
  const repo = await openRepo(cwd);
  return readHistory(repo, requireSession(repo, target).name);
}

export type EnvFormat = 'dotenv' | 'shell' | 'json';

export async function env(cwd: string, target: string, format: EnvFormat): Promise<string> {
  const repo = await openRepo(cwd);
  const vars = requireSession(repo, target).hostEnv;
  if (format === 'json') return JSON.stringify(vars, null, 2) + '\n';
  if (format === 'shell') {
    return Object.entries(vars)
      .map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'`)
      .join('\n') + '\n';
  }
  if (format === 'dotenv') return dotenv(vars);
  throw new UsageError(`unknown env format "${format}"`, { hint: 'use dotenv, shell or json' });
}

/** Run CMD in the session's worktree with its env; resolves with CMD's exit code. */
export async function exec(cwd: string, target: string, argv: string[]): Promise<number> {
  if (argv.length === 0) throw new UsageError('nothing to run', { hint: 'sess exec <session> -- CMD [ARGS...]' });
  const repo = await openRepo(cwd);
  const record = requireSession(repo, target);
  return runInteractive(argv[0]!, argv.slice(1), {
    cwd: record.worktree,
    env: { ...process.env, ...record.hostEnv },
  });
}

export interface LogsOptions {
  cwd: string;
  target: string;
  services: string[];
  follow: boolean;
  tail?: number;
  signal?: AbortSignal;
  write: (text: string) => void;
}

export async function logs(options: LogsOptions): Promise<void> {
  const repo = await openRepo(options.cwd);
  const record = requireSession(repo, options.target);
  const known = Object.keys(record.services);
  for (const s of options.services) {
    if (!known.includes(s)) {
      throw new UsageError(`session ${record.name} has no service "${s}"`, { hint: `services: ${known.join(', ')}` });
    }
  }
  const names = options.services.length ? options.services : known;
  const width = Math.max(...names.map((n) => n.length));
  const readers = names.map((name) => ({
    name,
    prefix: `${name.padEnd(width)} | `,
    file: paths.logFile(repo, record.name, name),
    offset: 0,
    partial: '',
  }));
  for (const r of readers) {
    const text = readFrom(r.file, 0);
    r.offset = Buffer.byteLength(text);
    let lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    else r.partial = lines.pop() ?? '';
    if (options.tail !== undefined) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
    if (lines.length) options.write(lines.map((l) => r.prefix + l).join('\n') + '\n');
  }
  while (options.follow && !options.signal?.aborted) {
    for (const r of readers) {
      const text = readFrom(r.file, r.offset);
      if (!text) continue;
      r.offset += Buffer.byteLength(text);
      const lines = (r.partial + text).split('\n');
      r.partial = lines.pop() ?? '';
      if (lines.length) options.write(lines.map((l) => r.prefix + l).join('\n') + '\n');
    }
    await sleep(200, options.signal).catch(() => undefined);
  }
}

function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return '';
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
