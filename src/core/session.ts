// Sessions by name: branch -> session name, what a command's argument refers to, the session lock.
import { acquireLock, describeHolder, type Lock } from '../adapters/fs.js';
import { hasLocalBranch, isValidBranchName } from '../adapters/git.js';
import { UsageError } from '../errors.js';
import { lockTimeoutMs, paths, type Repo } from './repo.js';
import { listSessions, readSession, type SessionRecord } from './store.js';
import type { Progress } from './progress.js';

/** `feature/login` -> `feature-login`: safe as a folder name and in a compose project name. */
export function sessionNameOf(branch: string): string {
  return branch.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').replace(/\.lock$/, '-lock');
}

export function validateBranch(branch: string): void {
  const refuse = (why: string) => {
    throw new UsageError(`invalid branch name "${branch}": ${why}`);
  };
  if (!branch) refuse('empty');
  if (branch.startsWith('-')) refuse('it starts with "-"');
  if (branch.includes('..')) refuse('it contains ".."');
  if (branch.includes('@{') || branch === '@' || branch === 'HEAD') refuse('it is a git revision expression');
  if (!isValidBranchName(branch)) refuse('git does not accept it (see `git check-ref-format --branch`)');
  if (!sessionNameOf(branch)) refuse('it gives an empty session name');
}

/** What `sess up <target>` means: an existing session (by name or branch) or a branch to start. */
export async function resolveUpTarget(
  repo: Repo,
  target: string,
): Promise<{ name: string; branch: string; existing: SessionRecord | undefined }> {
  if (target.startsWith('-')) throw new UsageError(`invalid branch name "${target}": it starts with "-"`);
  const byName = readSession(repo, target);
  // A session's name resumes it, unless that name is also a branch of its own: then it is ambiguous.
  if (byName && (byName.branch === target || !(await hasLocalBranch(target, repo.mainRoot, repo.commonDir)))) {
    return { name: byName.name, branch: byName.branch, existing: byName };
  }
  validateBranch(target);
  const name = sessionNameOf(target);
  const existing = readSession(repo, name);
  requireOwnName(existing, name, target);
  return { name, branch: target, existing };
}

/**
 * Two branches can make one session name (`x;y` and `x-y`): the session belongs to the branch that
 * made it. Checked again by `up` under the session's lock, where a concurrent up may have made it.
 */
export function requireOwnName(existing: SessionRecord | undefined, name: string, branch: string): void {
  if (existing && existing.branch !== branch) {
    throw new UsageError(`session name "${name}" already belongs to branch "${existing.branch}"`, {
      hint: `use \`sess up ${existing.name}\` for that session, or rename the branch`,
    });
  }
}

/** An existing session, for down/rm/status/logs/exec/env/history. Unknown -> exit 2. */
export function requireSession(repo: Repo, target: string): SessionRecord {
  const record = readSession(repo, target) ?? readSession(repo, sessionNameOf(target));
  if (record) return record;
  const known = listSessions(repo).map((s) => s.name);
  throw new UsageError(`no session "${target}" in this repository`, {
    hint: known.length ? `sessions: ${known.join(', ')}` : 'start one with `sess up <branch>`',
  });
}

/** Serialise commands on one session: the second waits (bounded, saying so), never interleaves. */
export function lockSession(repo: Repo, name: string, progress: Progress, signal?: AbortSignal): Promise<Lock> {
  return acquireLock(paths.sessionLock(repo, name), {
    timeoutMs: lockTimeoutMs(),
    what: `session ${name}`,
    signal,
    onWait: (holder) => progress.info(`waiting for ${describeHolder(holder)} to finish with session ${name}`),
  });
}
