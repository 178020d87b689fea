// Pull request sandboxes: `sess up --pr N [--remote R]` runs the pull request's head as session
// pr-N on local branch pr/N, tracking R/pr/N (where the fetched head is kept).
import { fetchRef, git, resolveCommit, remoteUrl } from '../../adapters/git.js';
import { CancelledError, SessError, UsageError, WorkError } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { withWorktreesLock, type Repo } from '../state/repo.js';
import { listSessions, readSession, type SessionRecord } from '../state/store.js';
import { rmRecord } from './teardown.js';
import { hasWork, workOfItsOwn } from '../state/work.js';
import { lockSession } from './names.js';

export interface PullRequestHead {
  number: number;
  remote: string;
  /** the remote's ref: refs/pull/N/head (GitHub) or refs/merge-requests/N/head (GitLab) */
  ref: string;
  commit: string;
  branch: string;
}

/** What git's fetch says when a worktree changed under its connectivity check. */
const WORKTREE_RACE = /worktrees\/|bad object|did not send all necessary objects/i;

const PR_REFS = (n: number) => [`refs/pull/${n}/head`, `refs/merge-requests/${n}/head`];

/** Pull request numbers are 32-bit on every forge; past that a number would be silently rounded. */
const MAX_PR = 2 ** 31 - 1;

export function parsePrNumber(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--pr expects a pull request number, not "${value}"`);
  if (value.length > 10 || Number(value) > MAX_PR) throw new UsageError(`--pr ${value} is not a pull request number: at most ${MAX_PR}`);
  return Number(value);
}

/** The remote must exist: said before anything waits or changes (exit 2). */
export async function requireRemote(repo: Repo, remote: string): Promise<void> {
  if (await remoteUrl(remote, repo.mainRoot)) return;
  const remotes = (await git(['remote'], repo.mainRoot)).stdout.trim().split('\n').filter(Boolean);
  throw new UsageError(`no remote named "${remote}" in this repository`, {
    hint: remotes.length ? `remotes: ${remotes.join(', ')} (use --remote NAME)` : 'add one with `git remote add`',
  });
}

/**
 * Fetch the pull request's head into refs/remotes/<remote>/pr/<n>. Nothing else changes. The caller
 * has checked the remote (requireRemote, before it took the session's lock).
 */
export async function fetchPullRequest(
  repo: Repo,
  number: number,
  remote: string,
  progress: Progress,
  signal?: AbortSignal,
): Promise<PullRequestHead> {
  const local = `refs/remotes/${remote}/pr/${number}`;
  for (const ref of PR_REFS(number)) {
    let result;
    try {
      result = await fetchRef(remote, ref, local, repo.mainRoot, signal).catch((error) => {
        // git's connectivity check reads every worktree's HEAD, and fails on one being added or
        // removed right then: once more, with this repository's worktrees held still
        if (signal?.aborted || !(error instanceof SessError) || !WORKTREE_RACE.test(error.message)) throw error;
        return withWorktreesLock(repo, () => fetchRef(remote, ref, local, repo.mainRoot, signal), { signal, progress });
      });
    } catch (error) {
      if (!(error instanceof SessError) || error instanceof CancelledError) throw error;
      throw new WorkError(`could not fetch pull request ${number} from ${remote}: ${(error as Error).message}`, { cause: error });
    }
    if (result === 'missing') continue;
    const commit = (await resolveCommit(local, repo.mainRoot))!;
    progress.step(`fetched pull request #${number} from ${remote} (${ref}, ${commit.slice(0, 8)})`);
    return { number, remote, ref, commit, branch: `pr/${number}` };
  }
  throw new UsageError(`no pull request ${number} on remote ${remote}`, {
    hint: `the remote has neither ${PR_REFS(number).join(' nor ')}`,
  });
}

/**
 * Before a sandbox moves to the pull request's newest commit: refuse if its worktree holds work
 * of its own (uncommitted changes, or commits that are on neither the old nor the new head).
 */
export async function checkSandboxMovable(repo: Repo, record: SessionRecord, head: PullRequestHead): Promise<void> {
  const { dirty, commits } = await workOfItsOwn(repo, record, [head.commit]);
  const problems: string[] = [];
  if (dirty.length) problems.push(`uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''})`);
  if (commits.length) problems.push(`${commits.length} commit(s) that are not on the pull request`);
  if (problems.length) {
    throw new WorkError(
      `not moving sandbox ${record.name} to pull request #${head.number}'s newest commit ${head.commit.slice(0, 8)}: its worktree has ${problems.join(' and ')}`,
      { hint: `keep that work elsewhere (or \`sess rm ${record.name} --force\`), then run sess up --pr ${head.number} again` },
    );
  }
}

/**
 * Make room for a new sandbox under `sandboxes.max`: remove the oldest stopped sandboxes (by last
 * up) that hold no work of their own, saying so; fail when none can go.
 */
export async function makeRoomForSandbox(repo: Repo, max: number, newName: string, progress: Progress): Promise<void> {
  const others = listSessions(repo).filter((r) => r.pr && r.name !== newName);
  let count = others.length;
  if (count < max) return;
  const stopped = others
    .filter((r) => Object.values(r.services).every((s) => !s.wanted))
    .sort((a, b) => (a.lastUp ?? a.created).localeCompare(b.lastUp ?? b.created));
  for (const record of stopped) {
    if (count < max) break;
    const lock = await lockSession(repo, record.name, progress);
    try {
      const current = readSession(repo, record.name);
      if (!current || Object.values(current.services).some((s) => s.wanted)) continue;
      if (hasWork(await workOfItsOwn(repo, current))) {
        progress.info(`kept sandbox ${current.name}: it has work of its own`);
        continue;
      }
      await rmRecord(repo, current, progress, { volumes: false, force: true });
      progress.warn(`removed sandbox ${current.name} (the oldest stopped one) to stay within sandboxes.max = ${max}`);
      count--;
    } finally {
      lock.release();
    }
  }
  if (count >= max) {
    throw new WorkError(`sandboxes.max is ${max} and every sandbox is running or holds work of its own`, {
      hint: `\`sess down\` or \`sess rm\` one of: ${others.map((r) => r.name).join(', ')}`,
    });
  }
}
