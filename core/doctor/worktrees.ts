// What doctor finds of git worktrees: entries whose folder is gone, and worktrees in the sessions'
// folder that no session knows.
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { deleteBranch, listWorktrees, pruneWorktrees, removeWorktree, uncommittedChanges, unpushedCommits } from '../../adapters/git.js';
import { WorkError } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { mainConfig, worktreesFolder } from '../up/prepare.js';
import { withWorktreesLock, type Repo } from '../state/repo.js';
import { listCreating } from '../state/store.js';
import type { Check } from './types.js';
import { sessions, underLock } from './underLock.js';

export async function staleWorktreeEntries(repo: Repo): Promise<Check[]> {
  const stale = (await withWorktreesLock(repo, () => listWorktrees(repo.mainRoot))).filter((w) => w.prunable);
  return stale.map((w) => ({
    finding: { kind: 'stale-worktree-entry', subject: w.path, detail: 'git still lists this worktree, whose folder is gone' },
    fix: () => withWorktreesLock(repo, () => pruneWorktrees(repo.mainRoot)),
  }));
}

/**
 * Worktrees in the sessions' worktree folder that no session knows: left by a rollback that could
 * not remove them, or by a state folder that was deleted. Removed (with the branch, when its commits
 * live on elsewhere) unless they hold work of their own: those are kept and named.
 */
export async function orphanWorktrees(repo: Repo, progress: Progress): Promise<Check[]> {
  const config = await mainConfig(repo);
  // an adopted worktree's folder is the user's, with worktrees sess knows nothing of beside it
  const folders = new Set([worktreesFolder(repo, config), ...sessions(repo).flatMap((r) => (r.adopted ? [] : [dirname(r.worktree)]))]);
  const known = (path: string) => sessions(repo).some((r) => r.worktree === path) || listCreating(repo).some((c) => c.worktree === path);
  const entries = await withWorktreesLock(repo, () => listWorktrees(repo.mainRoot));
  const ownFiles = [config?.env_file ?? '.env.sess', ...(config?.worktree.link ?? [])];
  return entries
    .filter((w) => !w.prunable && w.path !== repo.mainRoot && folders.has(dirname(w.path)) && !known(w.path))
    .map((w) => ({
      finding: {
        kind: 'orphan-worktree',
        subject: w.path,
        detail: `a worktree in the sessions' folder that no session knows${w.branch ? ` (branch ${w.branch})` : ''}`,
      },
      // under the lock of the session it would be: an `up` of that name may be making it right now
      fix: () =>
        underLock(repo, basename(w.path), progress, async () => {
          if (known(w.path) || !existsSync(w.path)) return;
          const dirty = await uncommittedChanges(w.path, ownFiles);
          const own = w.branch ? await unpushedCommits(w.branch, repo.mainRoot) : [];
          if (dirty.length || own.length) {
            const what = [
              dirty.length ? `uncommitted changes (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ', …' : ''})` : '',
              own.length ? `${own.length} commit(s) of its own` : '',
            ]
              .filter(Boolean)
              .join(' and ');
            throw new WorkError(`kept: it has ${what}; remove it by hand (\`git worktree remove\`) once that work is safe`);
          }
          await withWorktreesLock(repo, async () => {
            await removeWorktree(w.path, repo.mainRoot);
            if (w.branch) await deleteBranch(w.branch, repo.mainRoot);
          });
          progress.step(`removed orphan worktree ${w.path}${w.branch ? ` and branch ${w.branch}` : ''}`);
        }),
    }));
}
