// Where things live: the repository (found from any of its checkouts), its state folder in the git
// common dir, and the machine-wide $SESS_HOME of the port ledger.
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { acquireLock, describeHolder } from '../../adapters/fs.js';
import { findRepo, type RepoLocation } from '../../adapters/git.js';

export interface Repo extends RepoLocation {
  /** Stable random id of this repository, made on first use: clones never share it. */
  id: string;
  /** The main checkout's folder name ({repo} in worktree.dir). */
  name: string;
  stateDir: string;
}

export async function openRepo(cwd: string): Promise<Repo> {
  const location = await findRepo(cwd);
  const stateDir = join(location.commonDir, 'sess');
  return { ...location, id: repoId(stateDir), name: basename(location.mainRoot), stateDir };
}

/**
 * A repository known only by its state folder and id (another repository's, from the machine-wide
 * ledger): runs nothing and writes nothing. Its main checkout is the folder holding its `.git`.
 */
export function repoAt(stateDir: string, id: string): Repo {
  const commonDir = dirname(stateDir);
  const mainRoot = basename(commonDir) === '.git' ? dirname(commonDir) : commonDir;
  return { worktreeRoot: mainRoot, gitDir: commonDir, commonDir, mainRoot, id, name: basename(mainRoot), stateDir };
}

function repoId(stateDir: string): string {
  const file = join(stateDir, 'id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    /* first use */
  }
  // Made complete, then linked into place: two first commands at once agree on one id, and
  // neither ever reads a half-written file.
  mkdirSync(stateDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, randomBytes(6).toString('hex') + '\n', { mode: 0o644 });
  try {
    linkSync(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(file, 'utf8').trim();
}

export function sessHome(): string {
  if (process.env.SESS_HOME) return process.env.SESS_HOME;
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'sess');
}

export const paths = {
  sessionsDir: (repo: Repo) => join(repo.stateDir, 'sessions'),
  sessionDir: (repo: Repo, session: string) => join(repo.stateDir, 'sessions', session),
  sessionFile: (repo: Repo, session: string) => join(repo.stateDir, 'sessions', session, 'session.json'),
  journalFile: (repo: Repo, session: string) => join(repo.stateDir, 'sessions', session, 'journal.json'),
  /** a fresh session's first `up` is running (it holds the lock; no record yet) */
  creatingFile: (repo: Repo, session: string) => join(repo.stateDir, 'sessions', session, 'creating.json'),
  historyFile: (repo: Repo, session: string) => join(repo.stateDir, 'sessions', session, 'history.json'),
  logsDir: (repo: Repo, session: string) => join(repo.stateDir, 'sessions', session, 'logs'),
  logFile: (repo: Repo, session: string, service: string) => join(repo.stateDir, 'sessions', session, 'logs', `${service}.log`),
  sessionLock: (repo: Repo, session: string) => join(repo.stateDir, 'locks', `${session}.lock`),
  /** No session is named with a leading dot, so this never meets a session's lock. */
  worktreesLock: (repo: Repo) => join(repo.stateDir, 'locks', '.worktrees.lock'),
};

/**
 * git's worktree commands of two processes at once fail on each other's half-written admin folders
 * ("failed to read .git/worktrees/x/commondir"), and so does a fetch (its connectivity check reads
 * every worktree's HEAD): sess runs its own one at a time per repository. Held for a single git
 * command or a few; never while waiting on anything else. Give `signal` on a forward path only (a
 * rollback must not be cut short), and `progress` to say when it waits.
 */
export async function withWorktreesLock<T>(
  repo: Repo,
  fn: () => Promise<T>,
  options: { signal?: AbortSignal; progress?: { info(line: string): void } } = {},
): Promise<T> {
  const lock = await acquireLock(paths.worktreesLock(repo), {
    timeoutMs: lockTimeoutMs(),
    what: 'the worktrees of this repository',
    maxPollMs: 10,
    signal: options.signal,
    onWait: (holder) => options.progress?.info(`waiting for ${describeHolder(holder)} to finish with the worktrees of this repository`),
  });
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** How long a command waits for a lock someone else holds: `SESS_LOCK_TIMEOUT` seconds, default 600. */
export function lockTimeoutMs(): number {
  return Number(process.env.SESS_LOCK_TIMEOUT ?? 600) * 1000;
}

/** Owner key of a session in the machine-wide port ledger. */
export function leaseOwner(repo: Repo, session: string): string {
  return `${repo.id}/${session}`;
}
