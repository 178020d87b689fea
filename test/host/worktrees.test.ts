// git's own worktree commands are not safe to run at once: two `git worktree add` in one repository
// can fail with "failed to read .git/worktrees/x/commondir" (16 at once, by hand: about 1 in 10
// failed here). sess runs them one at a time per repository; many at once must all succeed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addWorktree } from '../../src/adapters/git.js';
import { openRepo, withWorktreesLock } from '../../src/core/repo.js';
import { makeRepo, worktrees, type TestRepo } from '../helpers/sess.js';

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
