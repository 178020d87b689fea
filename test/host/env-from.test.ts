// env_from: the project's own env files reach every service and hook, below sess.yaml's env; a
// changed file replaces the services on the next up; a syntax error or a file leading out is exit 2
// with nothing left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { branches, gitAt, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

function environOf(pid: number): Record<string, string> {
  const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

describe('env_from', () => {
  let repo: TestRepo;
  let view: any;
  beforeAll(async () => {
    repo = makeRepo('host-env-from', { untracked: { '.env.local': 'OVERRIDDEN=by-local\nLOCAL_ONLY=yes\n' } });
    view = await repo.json(['up', 'envs']);
  });
  afterAll(() => repo.cleanup());

  it("a service gets the files' variables, later files winning, below env and its own env", () => {
    const env = environOf(view.services[0].pid);
    expect(env).toMatchObject({
      FROM_ENV: 'base',
      OVERRIDDEN: 'by-local',
      LOCAL_ONLY: 'yes',
      GREETING: 'from-dotenv',
      QUOTED: 'two\nlines',
      LITERAL: '$HOME stays',
      BY_TOP: 'top',
      BY_SERVICE: 'service',
      SESS_SESSION: 'envs',
    });
  });

  it('hooks, sess env and sess exec get them too', async () => {
    expect(readFileSync(join(view.worktree, 'hook.out'), 'utf8')).toBe('yes|top');
    const env = await repo.json(['env', 'envs']);
    expect(env).toMatchObject({ FROM_ENV: 'base', OVERRIDDEN: 'by-local', BY_TOP: 'top' });
    const ex = await repo.sess(['exec', 'envs', '--', 'sh', '-c', 'echo "$GREETING"']);
    expect(ex.stdout.trim()).toBe('from-dotenv');
  });

  it('a changed env file is no no-op: the next up replaces the service with the new value', async () => {
    writeFileSync(join(view.worktree, '.env.local'), 'OVERRIDDEN=changed\nLOCAL_ONLY=yes\n');
    const again = await repo.json(['up', 'envs']);
    expect(again.services[0].pid).not.toBe(view.services[0].pid);
    expect(environOf(again.services[0].pid).OVERRIDDEN).toBe('changed');
    const history = await repo.json(['history', 'envs']);
    expect(history.at(-1).services).toMatchObject([{ name: 'web', action: 'replaced' }]);
    // and unchanged again: a no-op
    const third = await repo.json(['up', 'envs']);
    expect(third.services[0].pid).toBe(again.services[0].pid);
  });

  function expectNothingOf(session: string) {
    expect(worktrees(repo).filter((w) => w.endsWith(`/${session}`))).toEqual([]);
    expect(leasesOf(repo, session)).toEqual({});
    expect(ourProcesses(repo.id(), session)).toEqual([]);
  }

  it('a syntax error names the file and the line: exit 2, nothing left', async () => {
    repo.git('checkout', '-q', '-b', 'bad');
    writeFileSync(join(repo.root, '.env'), 'A=1\n\nthis is not a pair\n');
    repo.git('commit', '-qam', 'broken .env');
    repo.git('checkout', '-q', 'main');
    const r = await repo.sess(['up', 'bad']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(repo.tmp, 'app.sess', 'bad', '.env')}: invalid configuration`);
    expect(r.stderr).toContain('line 3: expected KEY=value, found "this is not a pair"');
    expectNothingOf('bad');
    expect(branches(repo)).toContain('bad'); // the user's branch stays
  });

  it('an env file that leads out of the worktree and the main checkout is refused: exit 2, nothing left', async () => {
    repo.git('checkout', '-q', '-b', 'escape');
    unlinkSync(join(repo.root, '.env'));
    symlinkSync('/etc/hostname', join(repo.root, '.env'));
    repo.git('add', '-A');
    repo.git('commit', '-qm', '.env leads out');
    repo.git('checkout', '-q', 'main');
    const r = await repo.sess(['up', 'escape']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('env_from[0]: .env leads out of the worktree and the main checkout');
    expectNothingOf('escape');
  });

  it('a link into the main checkout is read (worktree.link: [.env] is the usual way)', async () => {
    const wt = join(repo.tmp, 'app.sess', 'linked');
    const up = await repo.json(['up', 'linked']);
    expect(up.worktree).toBe(wt);
    unlinkSync(join(wt, '.env'));
    writeFileSync(join(repo.root, 'shared.env'), 'FROM_ENV=shared\n');
    symlinkSync(join(repo.root, 'shared.env'), join(wt, '.env'));
    gitAt(wt, 'update-index', '--assume-unchanged', '.env');
    const again = await repo.json(['up', 'linked']);
    expect(environOf(again.services[0].pid).FROM_ENV).toBe('shared');
  });
});
