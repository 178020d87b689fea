// `sess up --only` / `--skip`: a subset of the services (with what they depend on / without what
// depends on what is skipped); the others are left as they are and are not meant to run, so
// `sess status` still gates on the ones that are.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { alive, editConfig, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo('host-release');
});
afterEach(() => repo.cleanup());

const states = (view: any) => Object.fromEntries(view.services.map((s: any) => [s.name, s.state]));
const pids = (view: any) => Object.fromEntries(view.services.map((s: any) => [s.name, s.pid]));
const actions = (release: any) => Object.fromEntries(release.services.map((s: any) => [s.name, s.action]));

describe('sess up --only / --skip', () => {
  it('--only starts those services and what they depend on; status gates on them alone', async () => {
    const r = await repo.sess(['up', 'sub', '--only', 'api', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('starting only api (and store: what they depend on)');
    const view = JSON.parse(r.stdout);
    expect(states(view)).toEqual({ store: 'running', api: 'running', web: 'stopped', worker: 'stopped' });
    expect(view.status).toBe('up');
    for (const s of ['web', 'worker']) expect(ourProcesses(repo.id(), `sub/${s}`)).toEqual([]);
    for (const s of ['store', 'api']) expect(ourProcesses(repo.id(), `sub/${s}`).length).toBeGreaterThan(0);
    const st = await repo.sess(['status', 'sub', '--json']);
    expect(st.code, st.stdout).toBe(0);
    const doc = JSON.parse(st.stdout);
    expect(doc.ready).toBe(true);
    expect(doc.services.find((s: any) => s.name === 'web')).toMatchObject({ state: 'stopped', ready: false, detail: 'not meant to run' });
    const human = await repo.sess(['status', 'sub']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('ready');
    expect(actions((await repo.json(['history', 'sub'])).at(-1))).toEqual({
      store: 'started',
      api: 'started',
      web: 'unchanged',
      worker: 'unchanged',
    });
    // a plain up starts the rest and leaves what runs alone
    const all = await repo.json(['up', 'sub']);
    expect(states(all)).toEqual({ store: 'running', api: 'running', web: 'running', worker: 'running' });
    expect(pids(all).store).toBe(pids(view).store);
    expect(pids(all).api).toBe(pids(view).api);
  });

  it('--skip leaves out that service and, transitively, what depends on it, saying why', async () => {
    const r = await repo.sess(['up', 'sub', '--skip', 'store', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('skipping store');
    expect(r.stderr).toContain('skipping api (depends on store)');
    expect(r.stderr).toContain('skipping web (depends on api)');
    expect(states(JSON.parse(r.stdout))).toEqual({ store: 'stopped', api: 'stopped', web: 'stopped', worker: 'running' });
    expect((await repo.sess(['status', 'sub'])).code).toBe(0);
    for (const s of ['store', 'api', 'web']) expect(ourProcesses(repo.id(), `sub/${s}`)).toEqual([]);
    expect(ourProcesses(repo.id(), 'sub/worker').length).toBeGreaterThan(0);
    // every port is leased all the same: the services left out get theirs when they start
    expect(Object.keys(leasesOf(repo, 'sub')).sort()).toEqual(['api', 'store', 'web', 'worker']);
  });

  it('on a running session, what is skipped is left as it is (not replaced though it changed); the next plain up replaces it', async () => {
    const before = pids(await repo.json(['up', 'sub']));
    const wt = (await repo.json(['status', 'sub'])).worktree;
    editConfig(wt, 'WEB_VERSION: "1"', 'WEB_VERSION: "2"');
    const r = await repo.sess(['up', 'sub', '--skip', 'web', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const after = pids(JSON.parse(r.stdout));
    expect(after).toEqual(before);
    expect(alive(before.web)).toBe(true);
    const again = await repo.json(['up', 'sub']);
    expect(pids(again).web).not.toBe(before.web);
    expect(actions((await repo.json(['history', 'sub'])).at(-1)).web).toBe('replaced');
  });

  it('unknown service names: exit 2 naming them, nothing made', async () => {
    for (const args of [
      ['--only', 'api,nope,zilch'],
      ['--skip', 'nope', '--skip', 'zilch'],
    ]) {
      const r = await repo.sess(['up', 'sub', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no such services: nope, zilch');
    }
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, 'sub')).toEqual({});
    expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', 'sub'))).toBe(false);
    expect(await repo.json(['ls'])).toEqual([]);
  });

  it('a subset that fails on a fresh session is rolled back whole', async () => {
    const r = await repo.sess(['up', 'sub', '--only', 'api'], { env: { SESS_FAILPOINT: 'ready:api' } });
    expect(r.code).toBe(1);
    expect(ourProcesses(repo.id(), 'sub')).toEqual([]);
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, 'sub')).toEqual({});
    expect(await repo.json(['ls'])).toEqual([]);
  });
});
