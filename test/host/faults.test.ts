// Fault injection for every step of a host-mode `up`, fresh and resumed: after each failure
// nothing of this `up` is left (no process, worktree, branch, lease), and a resumed session keeps
// its worktree (with uncommitted work) and its leases.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync, unlinkSync, lstatSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  BIN,
  FAULTS_UNTRACKED,
  branches,
  eventually,
  leasesOf,
  makeRepo,
  ourProcesses,
  worktrees,
  type TestRepo,
} from '../helpers/sess.js';
import { failpointsOf } from '../../core/up/steps.js';
import { execFileSync } from 'node:child_process';

let repo: TestRepo;

beforeEach(() => {
  repo = makeRepo('host-faults', { untracked: FAULTS_UNTRACKED });
});
afterEach(() => repo.cleanup());

function expectFreshLeftNothing(session: string, branch: string) {
  expect(ourProcesses(repo.id(), session)).toEqual([]);
  expect(worktrees(repo)).toEqual([]);
  expect(branches(repo)).not.toContain(branch);
  expect(leasesOf(repo, session)).toEqual({});
  expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', session))).toBe(false);
  expect(existsSync(join(repo.tmp, 'app.sess', session))).toBe(false);
  expect(existsSync(join(repo.tmp, 'app.sess'))).toBe(false); // the folder this up made for it, too
}

// every step of a fresh up of this fixture, from up's own list of steps
const FRESH_STEPS = failpointsOf({
  fresh: true,
  runtimes: ['host'],
  services: ['db', 'web'],
  hooks: ['post_create', 'pre_spawn', 'post_up'],
});

describe('fresh up, failing at each step', () => {
  it.each(FRESH_STEPS)('failpoint %s: exit 1, nothing left', async (step) => {
    const r = await repo.sess(['up', 'feat/x'], { env: { SESS_FAILPOINT: step } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`failpoint ${step}`);
    expectFreshLeftNothing('feat-x', 'feat/x');
    const ls = await repo.json(['ls']);
    expect(ls).toEqual([]);
  });

  it.each(['post_create', 'pre_spawn', 'post_up'])('hook %s exiting 1 fails the up and rolls back', async (hook) => {
    const r = await repo.sess(['up', 'feat/x'], { env: { FAIL: hook } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${hook} hook .* exited with 1`));
    expectFreshLeftNothing('feat-x', 'feat/x');
  });

  it('a service that crashes before it is ready fails with the tail of its log', async () => {
    const r = await repo.sess(['up', 'feat/x'], { env: { WEB_FLAGS: '--delay 300 --crash 100' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('service web exited before it was ready');
    expect(r.stderr).toContain('crashing on purpose');
    expectFreshLeftNothing('feat-x', 'feat/x');
  });

  it('a probe that times out fails the up', async () => {
    const r = await repo.sess(['up', 'feat/x'], { env: { WEB_FLAGS: '--delay 60000' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/service web was not ready after 4s \(http http:\/\/127\.0\.0\.1:\d+\/health\)/);
    expectFreshLeftNothing('feat-x', 'feat/x');
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s while waiting for readiness rolls back and exits 130', async (sig) => {
    const { child, done } = repo.start(['up', 'feat/x'], { env: { WEB_FLAGS: '--delay 60000' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('started web'), 15_000, 'web to start');
    child.kill(sig);
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted');
    expectFreshLeftNothing('feat-x', 'feat/x');
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('the interrupt is named as it was: %s', async (sig) => {
    const { child, done } = repo.start(['up', 'feat/x'], { env: { WEB_FLAGS: '--delay 60000' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('started web'), 15_000, 'web to start');
    child.kill(sig);
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`sess: interrupted by ${sig}`);
    expectFreshLeftNothing('feat-x', 'feat/x');
  });

  it('SIGINT during a hook kills the hook and rolls back', async () => {
    await repo.cleanup(); // this scenario has a fixture of its own
    repo = makeRepo('host-faults-slow-hook', { untracked: FAULTS_UNTRACKED });
    const { child, done } = repo.start(['up', 'feat/x']);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('hook-running'), 15_000, 'the hook to run');
    const started = Date.now();
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(Date.now() - started).toBeLessThan(10_000);
    expectFreshLeftNothing('feat-x', 'feat/x');
  });
});

describe('resumed up, failing at each step', () => {
  const RESUME_STEPS = failpointsOf({
    fresh: false,
    runtimes: ['host'],
    services: ['db', 'web'],
    hooks: ['post_create', 'pre_spawn', 'post_up'],
  });

  async function downedSession() {
    expect((await repo.sess(['up', 'feat/x'])).code).toBe(0);
    expect((await repo.sess(['down', 'feat-x'])).code).toBe(0);
    const wt = join(repo.tmp, 'app.sess', 'feat-x');
    writeFileSync(join(wt, 'work-in-progress.txt'), 'do not lose me\n');
    unlinkSync(join(wt, 'shared.env')); // so the link step runs again
    unlinkSync(join(wt, '.env.sess')); // so the env-file step runs again
    return { wt, leases: leasesOf(repo, 'feat-x') };
  }

  function expectResumedKept(wt: string, leases: Record<string, number>) {
    expect(ourProcesses(repo.id(), 'feat-x')).toEqual([]);
    expect(worktrees(repo)).toEqual([wt]);
    expect(readFileSync(join(wt, 'work-in-progress.txt'), 'utf8')).toBe('do not lose me\n');
    expect(leasesOf(repo, 'feat-x')).toEqual(leases);
    expect(branches(repo)).toContain('feat/x');
  }

  it.each(RESUME_STEPS)('failpoint %s: worktree, its changes and leases survive', async (step) => {
    const { wt, leases } = await downedSession();
    const r = await repo.sess(['up', 'feat-x'], { env: { SESS_FAILPOINT: step } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`failpoint ${step}`);
    expectResumedKept(wt, leases);
    expect(existsSync(join(wt, '.env.sess'))).toBe(false);
    expect(() => lstatSync(join(wt, 'shared.env'))).toThrow();
    const [view] = await repo.json(['ls']);
    expect(view.status).toBe('down');
    const history = await repo.json(['history', 'feat-x']);
    expect(history.at(-1).status).toBe('rolled_back');
    expect(history.at(-1).trigger).toBe('resume');
  });

  it('a crash on resume keeps the worktree and leases', async () => {
    const { wt, leases } = await downedSession();
    const r = await repo.sess(['up', 'feat-x'], { env: { WEB_FLAGS: '--crash 50 --delay 200' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('crashing on purpose');
    expectResumedKept(wt, leases);
  });

  it('SIGINT on resume keeps the worktree and leases and exits 130', async () => {
    const { wt, leases } = await downedSession();
    const { child, done } = repo.start(['up', 'feat-x'], { env: { WEB_FLAGS: '--delay 60000' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('started web'), 15_000, 'web to start');
    child.kill('SIGINT');
    expect((await done).code).toBe(130);
    expectResumedKept(wt, leases);
  });

  describe('a leased port taken by a foreign process', () => {
    let server: Server | undefined;
    afterEach(() => server?.close());

    it('fails naming the port and the pid that holds it, and keeps everything', async () => {
      const { wt, leases } = await downedSession();
      server = createServer();
      await new Promise<void>((res) => server!.listen(leases.web, '127.0.0.1', () => res()));
      const r = await repo.sess(['up', 'feat-x']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`port ${leases.web} (web, leased to this session) is in use by pid ${process.pid}`);
      expectResumedKept(wt, leases);
    });
  });
});

describe('rm of a session with links into the main checkout', () => {
  it('removes the worktree (links as links): what they point at stays, git forgets the worktree', async () => {
    const view = await repo.json(['up', 'feat/l']);
    expect(lstatSync(join(view.worktree, 'shared.env')).isSymbolicLink()).toBe(true);
    mkdirSync(join(view.worktree, 'deep', 'er'), { recursive: true });
    writeFileSync(join(view.worktree, 'deep', 'er', 'f.txt'), 'x\n');
    const r = await repo.sess(['rm', 'feat-l', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(view.worktree)).toBe(false);
    expect(readFileSync(join(repo.root, 'shared.env'), 'utf8')).toBe(FAULTS_UNTRACKED['shared.env']);
    expect(readFileSync(join(repo.root, 'local.cache'), 'utf8')).toBe(FAULTS_UNTRACKED['local.cache']);
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
  });
});

describe('a reader that goes away', () => {
  it('`sess up 2>&1 | head -1` finishes its transaction: the session is up, no journal left', async () => {
    const out = execFileSync('sh', ['-c', `"${process.execPath}" "${BIN}" up feat/p 2>&1 | head -1`], { cwd: repo.root, encoding: 'utf8' });
    expect(out).toContain('worktree');
    await eventually(
      async () => (await repo.json(['ls'])).some((s: any) => s.name === 'feat-p' && s.status === 'up'),
      15_000,
      'the session to be up',
    );
    await eventually(() => !existsSync(join(repo.root, '.git', 'sess', 'sessions', 'feat-p', 'journal.json')), 15_000, 'the journal to go');
    expect((await repo.sess(['doctor'])).code).toBe(0);
  });
});
