// Two commands at once: whatever one decides, it decides under the lock it acts under.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branches, eventually, makeRepo, type TestRepo } from '../helpers/sess.js';

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

describe('a session whose first up is running', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-slow');
  });
  afterAll(() => repo.cleanup());

  const creating = async (name: string) => {
    const list = await repo.json(['ls']);
    return list.some((s: any) => s.name === name && s.status === 'creating');
  };

  it('is listed and shown as creating; down waits for the up and then takes it down', async () => {
    const up = repo.start(['up', 'slow1']);
    await eventually(() => creating('slow1'), 15_000, 'slow1 to be listed as creating');
    expect(await repo.json(['status', 'slow1'])).toMatchObject({ name: 'slow1', branch: 'slow1', status: 'creating', services: [] });
    const down = repo.start(['down', 'slow1']);
    const [u, d] = [await up.done, await down.done];
    expect(u.code, u.stderr).toBe(0);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toContain('waiting for');
    expect((await repo.json(['status', 'slow1'])).status).toBe('down');
  });

  it('an rm that waited for an up that was rolled back says there is no session (exit 2); exec does not run meanwhile', async () => {
    const up = repo.start(['up', 'slow2'], { env: { SESS_FAILPOINT: 'ready:web' } });
    await eventually(() => creating('slow2'), 15_000, 'slow2 to be listed as creating');
    const exec = await repo.sess(['exec', 'slow2', '--', 'true']);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain('session slow2 is being created');
    const rm = repo.start(['rm', 'slow2']);
    expect((await up.done).code).toBe(1);
    const r = await rm.done;
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('no session "slow2" in this repository: it went away while this command waited');
    expect((await repo.json(['ls'])).map((s: any) => s.name)).toEqual(['slow1']);
  });
});
