// The session of the current folder: inside a session's worktree, <session> may be omitted;
// outside one, omitting it is exit 2 naming the sessions, and nothing changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { alive, leasesOf, makeRepo, ourProcesses, type TestRepo } from '../helpers/sess.js';

describe('the session of the current folder', () => {
  let repo: TestRepo;
  let view: any;
  beforeAll(async () => {
    repo = makeRepo('host-basic');
    view = await repo.json(['up', 'feature/login']);
  });
  afterAll(() => repo.cleanup());

  it('status, env, history and exec find the session of the worktree they run in (and of a folder below it)', async () => {
    const below = join(view.worktree, 'servers');
    for (const cwd of [view.worktree, below]) {
      const status = await repo.sess(['status', '--json'], { cwd });
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ name: 'feature-login', status: 'up' });
    }
    const env = await repo.sess(['env', '--format', 'json'], { cwd: below });
    expect(JSON.parse(env.stdout)).toMatchObject({ SESS_SESSION: 'feature-login', SESS_PORT_WEB: String(view.ports.web) });
    const history = await repo.sess(['history', '--json'], { cwd: view.worktree });
    expect(JSON.parse(history.stdout).map((r: any) => r.trigger)).toEqual(['fresh']);
    const ex = await repo.sess(['exec', '--', 'sh', '-c', 'echo "$SESS_SESSION $PWD"; exit 4'], { cwd: below });
    expect(ex.code).toBe(4);
    expect(ex.stdout.trim()).toBe(`feature-login ${view.worktree}`);
  });

  it('logs: a word that is no session is a service of the session here', async () => {
    const one = await repo.sess(['logs', 'web'], { cwd: view.worktree });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^web \| listening on/m);
    expect(one.stdout).not.toMatch(/^db/m);
    const all = await repo.sess(['logs'], { cwd: view.worktree });
    expect(all.stdout).toMatch(/^db\s+\|/m);
    expect(all.stdout).toMatch(/^web\s+\|/m);
    const unknown = await repo.sess(['logs', 'nosuch'], { cwd: view.worktree });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no service "nosuch"');
  });

  it('outside a session worktree, omitting the session is exit 2 naming the sessions, and nothing changes', async () => {
    const handMade = join(repo.tmp, 'hand-made');
    repo.git('worktree', 'add', '-q', '-b', 'elsewhere', handMade);
    const sub = join(repo.root, 'sub');
    mkdirSync(sub);
    for (const cwd of [repo.root, sub, handMade]) {
      for (const args of [['status'], ['down'], ['rm', '--force'], ['env'], ['history'], ['logs'], ['exec', '--', 'true'], ['restart']]) {
        const r = await repo.sess(args, { cwd });
        expect(r.code, `${args.join(' ')} in ${cwd}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain("is not inside a session's worktree");
        expect(r.stderr).toContain('sessions: feature-login');
      }
    }
    const json = await repo.sess(['status', '--json']);
    expect(JSON.parse(json.stdout).error).toMatchObject({ exitCode: 2, hint: expect.stringContaining('feature-login') });
    const still = await repo.json(['status', 'feature-login']);
    expect(still.status).toBe('up');
    expect(still.services.every((s: any) => alive(s.pid))).toBe(true);
  });

  it('down from inside the worktree stops that session, keeping worktree and leases; rm from inside removes it', async () => {
    const down = await repo.sess(['down', '--json'], { cwd: view.worktree });
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ name: 'feature-login', status: 'down' });
    expect(ourProcesses(repo.id(), 'feature-login')).toEqual([]);
    expect(leasesOf(repo, 'feature-login')).toEqual(view.ports);
    const rm = await repo.sess(['rm', '--json'], { cwd: view.worktree });
    expect(rm.code, rm.stderr).toBe(0);
    expect(JSON.parse(rm.stdout).name).toBe('feature-login');
    expect(leasesOf(repo, 'feature-login')).toEqual({});
    const none = await repo.sess(['status']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('start one with `sess up <branch>`');
  });
});
