// Read-only commands: ls, status, env, exec, logs, history. None takes the session lock: state files
// are replaced atomically, so a reader always sees a whole one.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { runInteractive, sleep, streamLines } from '../../adapters/process.js';
import { UsageError } from '../../common/errors.js';
import { readHistory, type Release } from '../state/history.js';
import { openRepo, paths, type Repo } from '../state/repo.js';
import { findSession, noSession, requireSession } from './names.js';
import { listCreating, listSessions, type SessionRecord } from '../state/store.js';
import { creatingView, sessionView, type ComposeStates, type SessionView } from './view.js';
import { dotenv } from '../dotenv.js';
import { dict, own } from '../../common/records.js';

/** An element of `sess ls`: the SPEC shape, plus when it was last up, the sandbox it is, its disk use. */
export interface ListedSession extends SessionView {
  lastUp: string | null;
  pr?: { number: number; remote: string; commit: string };
  disk?: { worktree: number; volumes: number };
}

export async function ls(cwd: string, options: { size?: boolean } = {}): Promise<ListedSession[]> {
  const repo = await openRepo(cwd);
  const records = listSessions(repo);
  const states = await composeStates(repo, records);
  const sizes = options.size ? await diskUse(records) : undefined;
  const listed: ListedSession[] = records.map((record) => ({
    ...sessionView(record, own(states, record.name) ?? {}),
    lastUp: record.lastUp,
    ...(record.pr ? { pr: { number: record.pr.number, remote: record.pr.remote, commit: record.pr.commit } } : {}),
    ...(sizes ? { disk: own(sizes, record.name)! } : {}),
  }));
  const creating = listCreating(repo).map((mark): ListedSession => ({ ...creatingView(mark), lastUp: null }));
  return [...listed, ...creating].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Worktree (du) and volumes (the engine's own count) of each session: only on request, it walks them. */
async function diskUse(records: SessionRecord[]): Promise<Record<string, { worktree: number; volumes: number }>> {
  const { diskUsage } = await import('../../adapters/fs.js');
  const engine = records.find((r) => r.compose)?.compose?.cli.engine;
  const volumes = engine ? await import('../../adapters/compose.js').then((m) => m.volumeSizes(engine)) : {};
  const out = dict<{ worktree: number; volumes: number }>();

  await Promise.all(
    records.map(async (r) => {
      const project = r.compose?.project;
      const vol = project
        ? Object.entries(volumes)
            .filter(([n]) => n.startsWith(`${project}_`))
            .reduce((a, [, b]) => a + b, 0)
        : 0;
      out[r.name] = { worktree: await diskUsage(r.worktree), volumes: vol };
    }),
  );
  return out;
}

export async function status(cwd: string, target: string): Promise<SessionView> {
  const repo = await openRepo(cwd);
  const found = findSession(repo, target);
  if (found?.creating) return creatingView(found.creating);
  if (!found?.record) throw noSession(repo, target);
  const record = found.record;
  const states = await composeStates(repo, [record]);
  return sessionView(record, own(states, record.name) ?? {});
}

/** Container states by session, from one `docker ps` by label, only when some session uses compose. */
async function composeStates(repo: Repo, records: SessionRecord[]): Promise<Record<string, ComposeStates>> {
  const engine = records.find((r) => r.compose)?.compose?.cli.engine;
  if (!engine) return {};
  const { composeStatesOfRepo } = await import('../../modes/composeRuntime.js');
  // no engine answering: its services count as not running, the listing still works
  return composeStatesOfRepo(engine, repo.id).catch(() => ({}));
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
    return (
      Object.entries(vars)
        .map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'`)
        .join('\n') + '\n'
    );
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
  const prefix = (name: string) => `${name.padEnd(width)} | `;
  const compose = record.compose;
  const inCompose = names.filter((n) => own(record.services, n)?.runtime === 'compose' && compose);
  const onHost = names.filter((n) => !inCompose.includes(n));
  const streams: Promise<void>[] = [];
  if (compose) {
    const { composeLogsArgs } = await import('../../adapters/compose.js');
    for (const name of inCompose) {
      const args = composeLogsArgs(
        { cli: compose.cli, name: compose.project, projectDir: compose.projectDir, env: process.env },
        own(record.services, name)!.def.compose!.service,

        options.follow,
        options.tail,
      );
      // compose writes terminal control sequences even into a pipe
      const clean = (line: string) => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      // once interrupted, what compose still says ("canceled") is not the service's log
      const write = (line: string) => {
        if (!options.signal?.aborted) options.write(prefix(name) + clean(line) + '\n');
      };
      const done = streamLines(args[0]!, args.slice(1), write, options.signal);
      // without -f, one service's log after the other, as for host services
      if (options.follow) streams.push(done);
      else await done;
    }
  }
  const readers = onHost.map((name) => ({ name, file: paths.logFile(repo, record.name, name), offset: 0, partial: '' }));
  for (const r of readers) {
    const text = readFrom(r.file, 0);
    r.offset = Buffer.byteLength(text);
    let lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    // a last line still being written: shown now without -f, with -f once it is whole
    else if (options.follow) r.partial = lines.pop() ?? '';
    if (options.tail !== undefined) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
    if (lines.length) options.write(lines.map((l) => prefix(r.name) + l).join('\n') + '\n');
  }
  while (options.follow && !options.signal?.aborted) {
    for (const r of readers) {
      const text = readFrom(r.file, r.offset);
      if (!text) continue;
      r.offset += Buffer.byteLength(text);
      const lines = (r.partial + text).split('\n');
      r.partial = lines.pop() ?? '';
      if (lines.length) options.write(lines.map((l) => prefix(r.name) + l).join('\n') + '\n');
    }
    await sleep(200, options.signal).catch(() => undefined);
  }
  await Promise.all(streams);
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
