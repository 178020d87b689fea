// git's own worktree commands are not safe to run at once: two `git worktree add` in one repository
// can fail with "failed to read .git/worktrees/x/commondir" (16 at once, by hand: about 1 in 10
// failed here). sess runs them one at a time per repository; many at once must all succeed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addWorktree, removeWorktree } from '../../adapters/git.js';
import { fetchPullRequest } from '../../core/sessions/sandbox.js';
import { openRepo, withWorktreesLock } from '../../core/state/repo.js';
import { addOrigin, gitAt, makeRepo, pushPullRequest, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo('host-basic');
});
afterEach(() => repo.cleanup());

describe('worktree commands at once', () => {
  it('16 adds at once, three times over, all succeed', async () => {
    const r = await openRepo(repo.root);
    for (let round = 0; round < 3; round++) {
      const adds = Array.from({ length: 16 }, (_, i) => {
        const branch = `w${round}-${i}`;
        const source = { kind: 'new' as const, branch, startPoint: 'HEAD' };
        return withWorktreesLock(r, () => addWorktree(join(repo.tmp, 'wt', branch), source, repo.root));
      });
      const results = await Promise.allSettled(adds);
      expect(results.filter((x) => x.status === 'rejected')).toEqual([]);
    }
    expect(worktrees(repo).length).toBe(48);
  });
});

describe('a pull request fetch while worktrees come and go', () => {
  it('30 fetches of a moving pull request, worktrees added and removed all along: all succeed', async () => {
    const r = await openRepo(repo.root);
    addOrigin(repo);
    let head = pushPullRequest(repo, 1, 'sess.yaml', 'v0\n');
    const quiet = { step() {}, info() {}, warn() {} } as any;
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const path = join(repo.tmp, 'wt', `c${i}`);
        await withWorktreesLock(r, () => addWorktree(path, { kind: 'new', branch: `c${i}`, startPoint: 'HEAD' }, repo.root));
        await withWorktreesLock(r, () => removeWorktree(path, repo.root));
        await new Promise((done) => setTimeout(done, 5)); // as sessions do: now and then, not back to back
      }
    })();
    try {
      for (let i = 1; i <= 30; i++) {
        head = pushPullRequest(repo, 1, 'sess.yaml', `v${i}\n`, { from: head });
        const pr = await fetchPullRequest(r, 1, 'origin', quiet);
        expect(pr.commit).toBe(head);
      }
    } finally {
      churning = false;
      await churn;
    }
    expect(gitAt(repo.root, 'rev-parse', 'refs/remotes/origin/pr/1')).toBe(head);
  });
});
