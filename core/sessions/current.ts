// The session of the current folder: inside a session's worktree, a command that takes <session>
// may be given none (`sess status`, `sess down`, `sess exec -- npm test`).
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { UsageError } from '../../common/errors.js';
import { openRepo, type Repo } from '../state/repo.js';
import { listCreating, listSessions } from '../state/store.js';
import { findSession } from './names.js';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The session whose worktree holds `cwd`, if any (a session being created counts once its worktree is known). */
export function sessionOfFolder(repo: Repo, cwd: string): string | undefined {
  const here = real(cwd);
  const inside = (worktree: string) => {
    const wt = real(worktree);
    return here === wt || here.startsWith(wt.endsWith(sep) ? wt : wt + sep);
  };
  for (const record of listSessions(repo)) if (inside(record.worktree)) return record.name;
  for (const mark of listCreating(repo)) if (mark.worktree && inside(mark.worktree)) return mark.name;
  return undefined;
}

/** What a command's omitted <session> means: the session of the current folder, or exit 2 naming the sessions. */
export async function currentSession(cwd: string, command: string): Promise<string> {
  const repo = await openRepo(cwd);
  const name = sessionOfFolder(repo, cwd);
  if (name) return name;
  const known = [...listSessions(repo).map((s) => s.name), ...listCreating(repo).map((c) => c.name)].sort();
  throw new UsageError(`which session? ${cwd} is not inside a session's worktree`, {
    hint: known.length ? `\`sess ${command} <session>\`; sessions: ${known.join(', ')}` : 'start one with `sess up <branch>`',
  });
}

/**
 * `sess logs [session] [services...]`: the first word is a session when it names one; inside a
 * session's worktree it may be the first service instead (`sess logs web`).
 */
export function logsTarget(cwd: string, words: string[]): Promise<{ target: string; services: string[] }> {
  return sessionAndServices(cwd, words, 'logs');
}

/**
 * `sess <command> [session] [services...]` (logs, restart): the first word is a session when it
 * names one; inside a session's worktree it may be the first service instead.
 */
export async function sessionAndServices(cwd: string, words: string[], command: string): Promise<{ target: string; services: string[] }> {
  const [first, ...rest] = words;
  if (first === undefined) return { target: await currentSession(cwd, command), services: [] };
  const repo = await openRepo(cwd);
  if (findSession(repo, first)) return { target: first, services: rest };
  const here = sessionOfFolder(repo, cwd);
  // not a session here: the command reports the unknown session, with the sessions it knows
  return here ? { target: here, services: words } : { target: first, services: rest };
}
