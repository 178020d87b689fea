// The hooks around a whole session: pre_up (in the main checkout, before anything of the session
// exists; a failure changes nothing) and post_down (after the services stopped; a failure is a
// warning and down still completes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { alive, branches, eventually, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
beforeAll(() => {
  repo = makeRepo('host-more-hooks');
});
afterAll(() => repo.cleanup());

const out = () => join(repo.tmp, 'hooks.out');
const lines = () => (existsSync(out()) ? readFileSync(out(), 'utf8').trim().split('\n') : []);
const helperPid = () => Number(readFileSync(join(repo.tmp, 'helper.pid'), 'utf8').trim());
const sessionDir = (session: string) => join(repo.root, '.git', 'sess', 'sessions', session);

function expectNothingOf(session: string, branch: string) {
  expect(ourProcesses(repo.id(), session)).toEqual([]);
  expect(worktrees(repo).filter((w) => w.endsWith(`/${session}`))).toEqual([]);
  expect(existsSync(join(repo.tmp, 'app.sess', session))).toBe(false);
  expect(branches(repo)).not.toContain(branch);
  expect(leasesOf(repo, session)).toEqual({});
  expect(existsSync(sessionDir(session))).toBe(false);
}

describe('pre_up', () => {
  it('runs first, in the main checkout, with the session names and paths and no ports', async () => {
    rmSync(out(), { force: true });
    const view = await repo.json(['up', 'feat/a']);
    expect(view.status).toBe('up');
    const [pre, post] = lines();
    expect(pre).toBe(`pre_up feat-a feat/a ${join(repo.tmp, 'app.sess', 'feat-a')} ${repo.root} ports:`);
    expect(post).toBe(`post_up ${view.ports.web}`); // after it, once the session has its ports
  });

  it('does not run on a no-op up (as no hook does)', async () => {
    const before = lines().length;
    const r = await repo.sess(['up', 'feat/a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('already up and unchanged');
    expect(lines().length).toBe(before);
  });

  it('failing on a fresh up: exit 1 with its output, and nothing is left (no worktree, branch, lease, record, helper)', async () => {
    const r = await repo.sess(['up', 'feat/b', '--json'], { env: { FAIL: 'pre_up' } });
    expect(r.code, r.stderr).toBe(1);
    const error = JSON.parse(r.stdout).error;
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^pre_up hook `.*` exited with 3:\n\s+pre_up says no/);
    expect(alive(helperPid())).toBe(false); // what it left running went with it
    expectNothingOf('feat-b', 'feat/b');
    expect((await repo.json(['ls'])).map((s: any) => s.name)).toEqual(['feat-a']);
    expect(r.stderr).not.toContain('rolling back'); // there was nothing to roll back
  });

  it('Ctrl+C while it runs: exit 130, its processes stopped, nothing left', async () => {
    const { child, done } = repo.start(['up', 'feat/b'], { env: { SLOW: 'pre_up' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('pre_up-waiting'), 15_000, 'pre_up to run');
    const started = Date.now();
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(alive(helperPid())).toBe(false);
    expectNothingOf('feat-b', 'feat/b');
  });

  it('failing on a resume: the session is left exactly as it was (record, history, leases)', async () => {
    expect((await repo.sess(['down', 'feat-a'])).code).toBe(0);
    const record = readFileSync(join(sessionDir('feat-a'), 'session.json'), 'utf8');
    const history = readFileSync(join(sessionDir('feat-a'), 'history.json'), 'utf8');
    const leases = leasesOf(repo, 'feat-a');
    const r = await repo.sess(['up', 'feat/a'], { env: { FAIL: 'pre_up' } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('pre_up says no');
    expect(alive(helperPid())).toBe(false);
    expect(readFileSync(join(sessionDir('feat-a'), 'session.json'), 'utf8')).toBe(record);
    expect(readFileSync(join(sessionDir('feat-a'), 'history.json'), 'utf8')).toBe(history);
    expect(leasesOf(repo, 'feat-a')).toEqual(leases);
    expect(ourProcesses(repo.id(), 'feat-a')).toEqual([]);
    expect((await repo.json(['status', 'feat-a'])).status).toBe('down');
  });

  it('may not read ports or stable URLs: exit 2 naming the key, nothing made', async () => {
    const bad = makeRepo('host-more-hooks', {
      files: {
        'sess.yaml': readFileSync(join(repo.root, 'sess.yaml'), 'utf8').replace(
          'ports:$SESS_PORT_WEB',
          'ports:${ports.web} ${svc.db.port}',
        ),
      },
    });
    try {
      const r = await bad.sess(['up', 'feat/c']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/hooks\.pre_up\.0: \$\{ports\.web\}: pre_up runs before ports are leased/);
      expect(r.stderr).toMatch(/hooks\.pre_up\.0: \$\{svc\.db\.port\}/);
      expect(worktrees(bad)).toEqual([]);
      expect(existsSync(join(bad.root, '.git', 'sess', 'sessions', 'feat-c'))).toBe(false);
    } finally {
      await bad.cleanup();
    }
  });
});

describe('post_down', () => {
  it('runs after the services stopped', async () => {
    const view = await repo.json(['up', 'feat/a']);
    rmSync(out(), { force: true });
    const r = await repo.sess(['down', 'feat-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines()).toEqual(['pre_down', 'post_down web:closed']); // web no longer answered on its port
    expect(view.ports.web).toBeGreaterThan(0);
  });

  it('failing: down still completes, exit 0, the failure a warning (in --json: warnings)', async () => {
    await repo.json(['up', 'feat/a']);
    const r = await repo.sess(['down', 'feat-a', '--json'], { env: { FAIL: 'post_down' } });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.status).toBe('down');
    expect(doc.warnings).toEqual([expect.stringMatching(/^post_down hook `.*` exited with 3:\n\s+post_down says no/)]);
    expect(r.stderr).toContain('post_down says no');
    expect(ourProcesses(repo.id(), 'feat-a')).toEqual([]);
    expect(lines().at(-1)).toBe('post_down web:closed'); // the commands after the failing one still ran
    // a down that went well has no warnings
    await repo.json(['up', 'feat/a']);
    expect((await repo.json(['down', 'feat-a'])).warnings).toBeUndefined();
  });

  it('runs on rm too, before the worktree goes; failing, rm still removes everything (rm --json: warnings)', async () => {
    await repo.json(['up', 'feat/a']);
    rmSync(out(), { force: true });
    const r = await repo.sess(['rm', 'feat-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines()).toEqual(['pre_down', 'post_down web:closed']);
    expectNothingOf('feat-a', 'feat/a');
    await repo.json(['up', 'feat/a']);
    const failing = await repo.sess(['rm', 'feat-a', '--json'], { env: { FAIL: 'post_down' } });
    expect(failing.code, failing.stderr).toBe(0);
    expect(JSON.parse(failing.stdout).warnings).toEqual([expect.stringMatching(/^post_down hook .* exited with 3/)]);
    expectNothingOf('feat-a', 'feat/a');
  });
});
