// Does a session's worktree hold work of its own: uncommitted changes (besides the files sess wrote
// there) or commits that nothing else has? The one check behind rm's refusal, gc's keep, a sandbox
// that will not move, and the sandbox that is not evicted.
import { existsSync } from 'node:fs';
import { commitsNotIn, uncommittedChanges, unpushedCommits } from '../../adapters/git.js';
import type { Repo } from './repo.js';
import type { SessionRecord } from './store.js';

export interface OwnWork {
  /** uncommitted paths, sess's own files (env file, links) left out */
  dirty: string[];
  /** commits on nothing else: no other branch, remote or tag; for a sandbox, not on its pull request */
  commits: string[];
}

/**
 * `alsoOn`: commits whose history counts as elsewhere too (a sandbox about to move: the pull
 * request's new head). A sandbox's own commits are those not on its pull request.
 */
export async function workOfItsOwn(repo: Repo, record: SessionRecord, alsoOn: string[] = []): Promise<OwnWork> {
  if (!existsSync(record.worktree)) return { dirty: [], commits: [] };
  const dirty = await uncommittedChanges(record.worktree, record.ownFiles);
  const commits =
    record.pr || alsoOn.length
      ? await commitsNotIn('HEAD', [...alsoOn, ...(record.pr ? [record.pr.commit] : [])], record.worktree)
      : await unpushedCommits(record.branch, repo.mainRoot);
  return { dirty, commits };
}

export const hasWork = (work: OwnWork) => work.dirty.length > 0 || work.commits.length > 0;

/** "uncommitted changes (a, b, …)" and "N commit(s) of its own", for messages. */
export function describeWork(work: OwnWork, max = 3): string[] {
  const out: string[] = [];
  if (work.dirty.length) {
    out.push(`uncommitted changes (${work.dirty.slice(0, max).join(', ')}${work.dirty.length > max ? ', …' : ''})`);
  }
  if (work.commits.length) out.push(`${work.commits.length} commit(s) of its own`);
  return out;
}
