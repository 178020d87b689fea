// Sessions by name: branch -> session name, what a command's argument refers to, the session lock.
import { acquireLock, describeHolder, type Lock } from '../../adapters/fs.js';
import { hasLocalBranch, isValidBranchName } from '../../adapters/git.js';
import { UsageError, WorkError } from '../../common/errors.js';
import { lockTimeoutMs, paths, type Repo } from '../state/repo.js';
import { listCreating, listSessions, readCreating, readSession, type CreatingMark, type SessionRecord } from '../state/store.js';
import type { Progress } from '../../common/progress.js';

/** `feature/login` -> `feature-login`: safe as a folder name and in a compose project name. */
export function sessionNameOf(branch: string): string {
  return branch
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '')
    .replace(/\.lock$/, '-lock');
}

const MAX_BRANCH_BYTES = 200;

export function validateBranch(branch: string): void {
  const refuse = (why: string) => {
    throw new UsageError(`invalid branch name "${branch}": ${why}`);
  };
  if (!branch) refuse('empty');
  // the session's folders and files are named after it: a file name has at most 255 bytes
  if (Buffer.byteLength(branch) > MAX_BRANCH_BYTES) {
    throw new UsageError(
      `invalid branch name "${branch.slice(0, 40)}…": ${Buffer.byteLength(branch)} bytes long, sess takes at most ${MAX_BRANCH_BYTES}`,
    );
  }
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

/** What a command's session argument names: a session, or one whose first `up` is running. */
export function findSession(repo: Repo, target: string): { name: string; record?: SessionRecord; creating?: CreatingMark } | undefined {
  for (const name of new Set([target, sessionNameOf(target)])) {
    const record = readSession(repo, name);
    if (record) return { name, record };
    const creating = readCreating(repo, name);
    if (creating) return { name, creating };
  }
  return undefined;
}

/** The name of an existing session (or one being created: a command that locks it waits). Unknown -> exit 2. */
export function requireSessionName(repo: Repo, target: string): string {
  const found = findSession(repo, target);
  if (!found) throw noSession(repo, target);
  return found.name;
}

/** An existing session's record, for logs/exec/env/history. Unknown -> exit 2. */
export function requireSession(repo: Repo, target: string): SessionRecord {
  const found = findSession(repo, target);
  if (found?.record) return found.record;
  if (found?.creating) {
    throw new WorkError(`session ${found.name} is being created: its first \`sess up\` (pid ${found.creating.pid}) is still running`, {
      hint: `try again once it is up (\`sess status ${found.name}\` shows when)`,
    });
  }
  throw noSession(repo, target);
}

export function noSession(repo: Repo, target: string, why = ''): UsageError {
  const known = [...listSessions(repo).map((s) => s.name), ...listCreating(repo).map((c) => c.name)].sort();
  return new UsageError(`no session "${target}" in this repository${why}`, {
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
