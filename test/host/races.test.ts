// Two commands at once: whatever one decides, it decides under the lock it acts under.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branches, makeRepo, type TestRepo } from '../helpers/sess.js';

describe('commands at once', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-basic');
  });
  afterAll(() => repo.cleanup());

  it('two branches that make one session name, brought up at once: one wins, the other exits 2 as it would after it', async () => {
    for (let round = 0; round < 3; round++) {
      const a = repo.start(['up', 'x;y', '--json']);
      const b = repo.start(['up', 'x-y', '--json']);
      const results = [
        { asked: 'x;y', ...(await a.done) },
        { asked: 'x-y', ...(await b.done) },
      ];
      expect(results.map((r) => r.code).sort(), results.map((r) => r.stderr).join('\n---\n')).toEqual([0, 2]);
      const winner = results.find((r) => r.code === 0)!;
      const loser = results.find((r) => r.code === 2)!;
      expect(JSON.parse(winner.stdout)).toMatchObject({ name: 'x-y', branch: winner.asked });
      expect(loser.stderr).toContain(`session name "x-y" already belongs to branch "${winner.asked}"`);
      // the loser made nothing: not even its branch
      expect(branches(repo)).not.toContain(loser.asked);
      expect((await repo.sess(['rm', 'x-y'])).code).toBe(0);
      expect(branches(repo)).toEqual(['main']); // sess made the winner's branch; rm takes it away
    }
  });
});
