// `sess restart [session] [service...]`: those services (all when none is named) replaced with
// their current definition though nothing changed, through their strategy; a release with trigger
// restart, whose failure follows the rule of any release (the previous instance comes back).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { alive, isolatedLedger, makeRepo, ourProcesses, type TestRepo } from '../helpers/sess.js';

const home = isolatedLedger();
afterAll(() => rmSync(home, { recursive: true, force: true }));

let repo: TestRepo;
let wt: string;
beforeEach(async () => {
  repo = makeRepo('host-release');
  const r = await repo.sess(['up', 'rel', '--json']);
  expect(r.code, r.stderr).toBe(0);
  wt = JSON.parse(r.stdout).worktree;
});
afterEach(() => repo.cleanup());

const byName = (view: any) => Object.fromEntries(view.services.map((s: any) => [s.name, s]));
const pids = async () => Object.fromEntries((await repo.json(['status', 'rel'])).services.map((s: any) => [s.name, s.pid]));
const lastRelease = async () => (await repo.json(['history', 'rel'])).at(-1);
const actions = (release: any) => Object.fromEntries(release.services.map((s: any) => [s.name, s.action]));

describe('sess restart', () => {
  it('replaces the named service though nothing changed: new pid, same port, trigger restart', async () => {
    const before = byName(await repo.json(['status', 'rel']));
    const r = await repo.sess(['restart', 'rel', 'web', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('replacing web: restart');
    const after = byName(JSON.parse(r.stdout));
    expect(after.web.pid).not.toBe(before.web.pid);
    expect(alive(before.web.pid)).toBe(false);
    expect(after.web.ports).toEqual(before.web.ports);
    for (const s of ['store', 'api', 'worker']) expect(after[s].pid).toBe(before[s].pid);
    expect(await (await fetch(`http://127.0.0.1:${after.web.ports.web}/health`)).text()).toBe('ok\n');
    const release = await lastRelease();
    expect(release).toMatchObject({ trigger: 'restart', status: 'completed' });
    expect(actions(release)).toEqual({ store: 'unchanged', api: 'unchanged', web: 'replaced', worker: 'unchanged' });
    // and a plain up afterwards has nothing to do for it
    const again = await repo.json(['up', 'rel']);
    expect(byName(again).web.pid).toBe(after.web.pid);
  });

  it('without services, every one; inside the worktree the session may be left out', async () => {
    const before = await pids();
    const r = await repo.sess(['restart'], { cwd: wt });
    expect(r.code, r.stderr).toBe(0);
    const after = await pids();
    for (const s of ['store', 'api', 'web', 'worker']) {
      expect(after[s]).not.toBe(before[s]);
      expect(alive(before[s])).toBe(false);
    }
    expect(actions(await lastRelease())).toEqual({ store: 'replaced', api: 'replaced', web: 'replaced', worker: 'replaced' });
    // a service named first inside the worktree: the session of the folder
    const one = await repo.sess(['restart', 'api'], { cwd: wt });
    expect(one.code, one.stderr).toBe(0);
    const third = await pids();
    expect(third.api).not.toBe(after.api);
    expect(third.web).toBe(after.web);
  });

  it('a restarted service that fails: its previous instance comes back, the release is rolled_back, nothing leaks', async () => {
    const before = byName(await repo.json(['status', 'rel']));
    const processes = ourProcesses(repo.id(), 'rel').length;
    const r = await repo.sess(['restart', 'rel', 'web'], { env: { SESS_FAILPOINT: 'ready:web' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ended rolled_back');
    const after = byName(await repo.json(['status', 'rel']));
    expect(after.web.state).toBe('running');
    expect(after.web.ports).toEqual(before.web.ports);
    expect(await (await fetch(`http://127.0.0.1:${after.web.ports.web}/health`)).text()).toBe('ok\n');
    const release = await lastRelease();
    expect(release).toMatchObject({ trigger: 'restart', status: 'rolled_back' });
    expect(release.services.find((s: any) => s.name === 'web')).toMatchObject({ action: 'failed', then: 'restored' });
    // as many processes as before: the failed new one is gone
    expect(ourProcesses(repo.id(), 'rel')).toHaveLength(processes);
    expect(ourProcesses(repo.id(), 'rel/web')).toHaveLength(ourProcesses(repo.id(), 'rel/api').length);
    expect((await repo.sess(['status', 'rel'])).code).toBe(0);
  });

  it('unknown services and sessions are exit 2, changing nothing', async () => {
    const before = await pids();
    const r = await repo.sess(['restart', 'rel', 'web', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no such service: nope');
    const s = await repo.sess(['restart', 'ghost', '--json']);
    expect(s.code).toBe(2);
    expect(JSON.parse(s.stdout).error.message).toContain('no session "ghost"');
    expect(await pids()).toEqual(before);
    expect((await repo.json(['history', 'rel'])).length).toBe(1);
  });
});
