// sess killed with SIGKILL at each step of a fresh host-mode up (after the step acted, and right
// after it recorded its intent), then `sess doctor --fix`: nothing leaked. The same for a resumed
// session (its worktree and leases stay), for down and rm, and doctor's other findings.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../../adapters/fs.js';
import {
  FAULTS_UNTRACKED,
  alive,
  eventually,
  isolatedLedger,
  branches,
  ledger,
  leasesOf,
  makeRepo,
  ourProcesses,
  worktrees,
  type TestRepo,
} from '../helpers/sess.js';
import { failpointsOf } from '../../core/up/steps.js';

const home = isolatedLedger();
afterAll(() => rmSync(home, { recursive: true, force: true }));

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo('host-faults', { untracked: FAULTS_UNTRACKED });
});
afterEach(() => repo.cleanup());

async function expectKilled(args: string[], failpoint: string) {
  const r = await repo.sess(args, { env: { SESS_FAILPOINT: failpoint } });
  expect(r.code, r.stderr).toBe(null); // killed by SIGKILL: no exit code
}

async function doctorFixes(kind: string) {
  const found = await repo.sess(['doctor', '--json']);
  expect(found.code).toBe(1);
  expect(JSON.parse(found.stdout).findings.map((f: any) => f.kind)).toContain(kind);
  const fixed = await repo.sess(['doctor', '--fix']);
  expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  const again = await repo.sess(['doctor']);
  expect(again.code, again.stdout).toBe(0);
}

function expectNothingLeft(session: string, branch: string) {
  expect(ourProcesses(repo.id())).toEqual([]);
  expect(worktrees(repo)).toEqual([]);
  expect(branches(repo)).not.toContain(branch);
  expect(leasesOf(repo, session)).toEqual({});
  expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', session))).toBe(false);
}

// every step of a fresh up of this fixture, from up's own list of steps
const STEPS = failpointsOf({ fresh: true, runtimes: ['host'], services: ['db', 'web'], hooks: ['post_create', 'pre_spawn', 'post_up'] });

describe('SIGKILL during a fresh up, then doctor --fix', () => {
  // ready:* is a check, not a step with an inverse of its own: it has no "before"
  it.each(STEPS.flatMap((s) => (s.startsWith('ready:') ? [`${s}:kill`] : [`${s}:kill`, `${s}:kill-before`])))(
    '%s: nothing leaked',
    async (point) => {
      await expectKilled(['up', 'feat/k'], point);
      await doctorFixes('unfinished-journal');
      expectNothingLeft('feat-k', 'feat/k');
    },
  );

  it('the next up of the session finishes the unwinding itself, then comes up', async () => {
    await expectKilled(['up', 'feat/k'], 'ready:db:kill');
    const r = await repo.sess(['up', 'feat/k']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('finishing the rollback of an interrupted `sess up`');
    expect(ourProcesses(repo.id(), 'feat-k').length).toBeGreaterThan(0);
    expect((await repo.json(['ls'])).map((s: any) => s.name)).toEqual(['feat-k']);
  });
});

describe('SIGKILL during a resumed up, down and rm', () => {
  async function downed() {
    expect((await repo.sess(['up', 'feat/k'])).code).toBe(0);
    expect((await repo.sess(['down', 'feat-k'])).code).toBe(0);
    const wt = join(repo.tmp, 'app.sess', 'feat-k');
    writeFileSync(join(wt, 'wip.txt'), 'mine\n');
    return { wt, leases: leasesOf(repo, 'feat-k') };
  }

  it.each(['service:db:kill', 'ready:web:kill', 'post_up:kill'])('resume killed at %s: worktree, work and leases kept', async (point) => {
    const { wt, leases } = await downed();
    await expectKilled(['up', 'feat-k'], point);
    await doctorFixes('unfinished-journal');
    expect(ourProcesses(repo.id())).toEqual([]);
    expect(readFileSync(join(wt, 'wip.txt'), 'utf8')).toBe('mine\n');
    expect(leasesOf(repo, 'feat-k')).toEqual(leases);
    expect((await repo.json(['status', 'feat-k'])).status).toBe('down');
  });

  it('a down killed half way is finished by doctor --fix', async () => {
    expect((await repo.sess(['up', 'feat/k'])).code).toBe(0);
    // the intent is written before anything stops: kill it right there (as if it died mid-way)
    const journal = join(repo.root, '.git', 'sess', 'sessions', 'feat-k', 'journal.json');
    writeFileSync(
      journal,
      JSON.stringify({
        version: 1,
        command: 'down',
        session: 'feat-k',
        pid: 999999,
        start: null,
        started: new Date().toISOString(),
        steps: [],
      }),
    );
    await doctorFixes('unfinished-journal');
    expect(ourProcesses(repo.id())).toEqual([]);
    expect((await repo.json(['status', 'feat-k'])).status).toBe('down');
  });

  it('an rm killed half way is finished by the next command', async () => {
    expect((await repo.sess(['up', 'feat/k'])).code).toBe(0);
    const journal = join(repo.root, '.git', 'sess', 'sessions', 'feat-k', 'journal.json');
    writeFileSync(
      journal,
      JSON.stringify({
        version: 1,
        command: 'rm',
        session: 'feat-k',
        pid: 999999,
        start: null,
        started: new Date().toISOString(),
        steps: [],
      }),
    );
    const r = await repo.sess(['status', 'feat-k']); // read-only: does not touch it
    expect(r.code).toBe(0);
    expect((await repo.sess(['down', 'feat-k'])).stderr).toContain('finishing an interrupted `sess rm`');
    expectNothingLeft('feat-k', 'feat/k');
  });
});

describe('doctor finds and repairs', () => {
  it('a host process of ours whose session is gone', async () => {
    expect((await repo.sess(['up', 'feat/k'])).code).toBe(0);
    const pids = ourProcesses(repo.id(), 'feat-k');
    rmSync(join(repo.root, '.git', 'sess', 'sessions', 'feat-k'), { recursive: true });
    await doctorFixes('orphan-process');
    expect(ourProcesses(repo.id())).toEqual([]);
    expect(pids.length).toBeGreaterThan(0);
  });

  it("a session whose worktree folder vanished, and git's stale entry for it", async () => {
    expect((await repo.sess(['up', 'feat/k'])).code).toBe(0);
    rmSync(join(repo.tmp, 'app.sess', 'feat-k'), { recursive: true, force: true });
    const report = JSON.parse((await repo.sess(['doctor', '--json'])).stdout);
    const kinds = report.findings.map((f: any) => f.kind);
    expect(kinds).toContain('lost-worktree');
    expect(kinds).toContain('stale-worktree-entry');
    expect((await repo.sess(['doctor', '--fix'])).code).toBe(0);
    expect((await repo.sess(['doctor'])).code).toBe(0);
    expect(ourProcesses(repo.id())).toEqual([]);
    expect(leasesOf(repo, 'feat-k')).toEqual({});
    expect(await repo.json(['ls'])).toEqual([]);
    expect(execFileSync('git', ['worktree', 'list'], { cwd: repo.root, encoding: 'utf8' }).trim().split('\n')).toHaveLength(1);
  });

  it('leases of a session that no longer exists, and of a repository that is gone', async () => {
    const file = join(home, 'ports.json');
    const gone = join(repo.tmp, 'deleted-repo', '.git', 'sess');
    mkdirSync(join(repo.root, '.git', 'sess'), { recursive: true });
    writeFileSync(join(repo.root, '.git', 'sess', 'id'), 'abcdefabcdef\n');
    // two stale leases in the shared ledger, written under its lock as sess does
    const held = await acquireLock(join(home, 'ports.lock'), { timeoutMs: 30_000, what: 'the port ledger' });
    try {
      const data = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { version: 1, leases: {} };
      data.leases['31998'] = {
        owner: 'abcdefabcdef/ghost',
        name: 'web',
        stateDir: join(repo.root, '.git', 'sess'),
        since: new Date().toISOString(),
      };
      data.leases['31999'] = { owner: 'ffffffffffff/other', name: 'web', stateDir: gone, since: new Date().toISOString() };
      writeFileSync(file, JSON.stringify(data));
    } finally {
      held.release();
    }
    await doctorFixes('stale-lease');
    expect(ledger()['31998']).toBeUndefined();
    expect(ledger()['31999']).toBeUndefined();
  });
});

describe("hooks' processes", () => {
  // a hook's processes carry a marker, and the journal names it: they end with the up they belong to
  function withHook(hook: string, command: string) {
    const file = join(repo.root, 'sess.yaml');
    const text = readFileSync(file, 'utf8').replace(`  ${hook}: [`, `  ${hook}: [${JSON.stringify(command)}, `);
    writeFileSync(file, text);
    repo.git('commit', '-qam', `${hook} starts a process`);
  }
  const pidFile = () => join(repo.tmp, 'hook.pid');
  const hookPid = () => Number(readFileSync(pidFile(), 'utf8').trim());

  it('sess killed while a hook runs: the next doctor --fix stops what the hook started', async () => {
    withHook('pre_spawn', 'sleep 61 >/dev/null 2>&1 & echo $! > "$PID_FILE"; wait');
    const { child, done } = repo.start(['up', 'feat/h'], { env: { PID_FILE: pidFile() } });
    await eventually(() => existsSync(pidFile()) && readFileSync(pidFile(), 'utf8').trim() !== '', 15_000, 'the hook to start');
    child.kill('SIGKILL');
    expect((await done).code).toBe(null);
    expect(alive(hookPid())).toBe(true); // the hook's process outlived sess
    await doctorFixes('unfinished-journal');
    expect(alive(hookPid())).toBe(false);
    expectNothingLeft('feat-h', 'feat/h');
  });

  it('a failed up stops what an earlier hook of it left running', async () => {
    withHook('post_create', 'sleep 62 >/dev/null 2>&1 & echo $! > "$PID_FILE"');
    const r = await repo.sess(['up', 'feat/h'], { env: { PID_FILE: pidFile(), FAIL: 'pre_spawn' } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('stopped hook:post_create');
    expect(alive(hookPid())).toBe(false);
    expectNothingLeft('feat-h', 'feat/h');
  });

  it('a successful up leaves what its hooks started running (a hook may start a helper on purpose)', async () => {
    withHook('post_up', 'sleep 63 >/dev/null 2>&1 & echo $! > "$PID_FILE"');
    const r = await repo.sess(['up', 'feat/h'], { env: { PID_FILE: pidFile() } });
    expect(r.code, r.stderr).toBe(0);
    expect(alive(hookPid())).toBe(true);
    process.kill(hookPid(), 'SIGKILL');
  });
});

describe('doctor repairs a session under its lock, on the record it reads there', () => {
  // the window between what doctor found and its repair is held open; another command acts in it
  const slowDoctor = async () => {
    const run = repo.start(['doctor', '--fix', '--json'], { env: { SESS_FAILPOINT: 'doctor-fix:pause=2500' } });
    let err = '';
    run.child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('failpoint doctor-fix: pausing'), 15_000, 'doctor to find what it repairs');
    return run;
  };
  const findingsOf = (r: { stdout: string }) => JSON.parse(r.stdout).findings.map((f: any) => f.kind);

  it('a dead service restarted by an up meanwhile is not recorded as stopped (its process is no orphan)', async () => {
    const view = await repo.json(['up', 'feat/d']);
    const web = view.services.find((s: any) => s.name === 'web');
    process.kill(-web.pid, 'SIGKILL');
    await eventually(() => !alive(web.pid), 5000, 'web to die');
    const doctor = await slowDoctor(); // it has found web down and waits in the window
    const up = await repo.sess(['up', 'feat/d']);
    expect(up.code, up.stderr).toBe(0);
    const d = await doctor.done;
    expect(findingsOf(d)).toContain('service-down');
    const status = await repo.json(['status', 'feat/d']);
    expect(status.status).toBe('up');
    const restarted = status.services.find((s: any) => s.name === 'web');
    expect(restarted.pid).toBeDefined();
    expect(alive(restarted.pid)).toBe(true);
    expect((await repo.sess(['doctor'])).code).toBe(0); // no orphan: the record knows the new web
  });

  it('a session removed by rm meanwhile does not come back as a ghost', async () => {
    const view = await repo.json(['up', 'feat/g']);
    const web = view.services.find((s: any) => s.name === 'web');
    process.kill(-web.pid, 'SIGKILL');
    await eventually(() => !alive(web.pid), 5000, 'web to die');
    const doctor = await slowDoctor();
    expect((await repo.sess(['rm', 'feat/g', '--force'])).code).toBe(0);
    await doctor.done;
    expect(await repo.json(['ls'])).toEqual([]);
    expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', 'feat-g'))).toBe(false);
  });
});

describe('doctor finds worktrees no session knows', () => {
  it('one left when the state folder was deleted: --fix removes it and the branch sess made; up of that branch works again', async () => {
    expect((await repo.sess(['up', 'feat/o'])).code).toBe(0);
    expect((await repo.sess(['down', 'feat/o'])).code).toBe(0);
    rmSync(join(repo.root, '.git', 'sess', 'sessions'), { recursive: true });
    const found = JSON.parse((await repo.sess(['doctor', '--json'])).stdout);
    expect(found.findings).toContainEqual(
      expect.objectContaining({ kind: 'orphan-worktree', subject: join(repo.tmp, 'app.sess', 'feat-o') }),
    );
    const fixed = await repo.sess(['doctor', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).not.toContain('feat/o');
    expect((await repo.sess(['up', 'feat/o'])).code).toBe(0);
  });

  it('one with work of its own is kept and named', async () => {
    const view = await repo.json(['up', 'feat/w']);
    expect((await repo.sess(['down', 'feat/w'])).code).toBe(0);
    writeFileSync(join(view.worktree, 'notes.txt'), 'precious\n');
    rmSync(join(repo.root, '.git', 'sess', 'sessions'), { recursive: true });
    const fixed = await repo.sess(['doctor', '--fix']);
    expect(fixed.code).toBe(1);
    expect(fixed.stdout).toMatch(/not fixed\s+orphan-worktree\s+.*feat-w.*kept: it has uncommitted changes \(notes\.txt\)/);
    expect(readFileSync(join(view.worktree, 'notes.txt'), 'utf8')).toBe('precious\n');
  });
});
