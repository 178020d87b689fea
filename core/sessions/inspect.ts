// Read-only commands: ls, status, env, exec, logs, history. None takes the session lock: state files
// are replaced atomically, so a reader always sees a whole one.
import { runInteractive } from '../../adapters/process.js';
import { UsageError } from '../../common/errors.js';
import { readHistory, type Release } from '../state/history.js';
import { openRepo } from '../state/repo.js';
import { findSession, noSession, requireSession } from './names.js';
import { listCreating, listSessions, type SessionRecord } from '../state/store.js';
import { creatingView, sessionView, type SessionView } from './view.js';
import { runtimesIn } from '../../modes/placement.js';
import type { LiveStates } from '../../modes/service.js';
import { lookAt, sessionCtx, stashOf } from '../state/liveness.js';
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
  const states = await lookAt(repo, records);
  const sizes = options.size ? await diskUse(records) : undefined;
  const listed: ListedSession[] = records.map((record) => ({
    ...listedSession(record, own(states, record.name) ?? {}),
    ...(sizes ? { disk: own(sizes, record.name)! } : {}),
  }));
  const creating = listCreating(repo).map((mark): ListedSession => ({ ...creatingView(mark), lastUp: null }));
  return [...listed, ...creating].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A session as `ls` shows it, from its record and what its runtimes found running. */
export function listedSession(record: SessionRecord, live: LiveStates): ListedSession {
  return {
    ...sessionView(record, live),
    lastUp: record.lastUp,
    ...(record.pr ? { pr: { number: record.pr.number, remote: record.pr.remote, commit: record.pr.commit } } : {}),
  };
}

/** Worktree (du) and what the runtimes hold besides (volumes) of each session: only on request, it walks them. */
async function diskUse(records: SessionRecord[]): Promise<Record<string, { worktree: number; volumes: number }>> {
  const { diskUsage } = await import('../../adapters/fs.js');
  const runtimes = runtimesIn(records.flatMap((r) => Object.values(r.services).map((s) => s.runtime)));
  const held = await Promise.all(runtimes.map((rt) => rt.diskUse(records.map((r) => ({ name: r.name, stash: stashOf(r, rt.name) })))));
  const out = dict<{ worktree: number; volumes: number }>();
  await Promise.all(
    records.map(async (r) => {
      out[r.name] = { worktree: await diskUsage(r.worktree), volumes: held.reduce((sum, h) => sum + (own(h, r.name) ?? 0), 0) };
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
  const states = await lookAt(repo, [record]);
  return sessionView(record, own(states, record.name) ?? {});
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
  const write = (service: string, line: string) => options.write(`${service.padEnd(width)} | ${line}\n`);
  const chosen = names.map((n) => own(record.services, n)!);
  // each runtime shows its services' logs; without -f one runtime after the other
  const runs: Promise<void>[] = [];
  for (const runtime of runtimesIn(chosen.map((s) => s.runtime))) {
    const run = runtime.logs(
      sessionCtx(repo, record, runtime.name),
      chosen.filter((s) => s.runtime === runtime.name),
      {
        follow: options.follow,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        write,
      },
    );
    if (options.follow) runs.push(run);
    else await run;
  }
  await Promise.all(runs);
}
