// Re-up as a release: only what changed is replaced, stop first then start (a single-writer store
// holding a flock never fails on its own lock), failed replacements bring back the previous
// definition, and the history says how each up ended.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { alive, isolatedLedger, makeRepo, ourProcesses, editConfig, type TestRepo } from '../helpers/sess.js';

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

const edit = (from: string, to: string) => editConfig(wt, from, to);
async function pids(): Promise<Record<string, number>> {
  const st = await repo.json(['status', 'rel']);
  return Object.fromEntries(st.services.map((s: any) => [s.name, s.pid]));
}
const lastRelease = async () => (await repo.json(['history', 'rel'])).at(-1);
const actions = (release: any) => Object.fromEntries(release.services.map((s: any) => [s.name, s.action]));
const byService = (release: any) => Object.fromEntries(release.services.map((s: any) => [s.name, s]));

describe('re-up', () => {
  it('changing one service env replaces that one only, stopping the old store before the new one takes its lock', async () => {
    const before = await pids();
    edit('STORE_VERSION: "1"', 'STORE_VERSION: "2"');
    const r = await repo.sess(['up', 'rel']);
    expect(r.code, r.stderr).toBe(0);
    const after = await pids();
    expect(after.store).not.toBe(before.store);
    expect(alive(before.store!)).toBe(false);
    for (const s of ['api', 'web', 'worker']) expect(after[s]).toBe(before[s]);
    const release = await lastRelease();
    expect(release).toMatchObject({ trigger: 'resume', status: 'completed' });
    expect(actions(release)).toEqual({ store: 'replaced', api: 'unchanged', web: 'unchanged', worker: 'unchanged' });
    const log = readFileSync(join(repo.root, '.git', 'sess', 'sessions', 'rel', 'logs', 'store.log'), 'utf8');
    expect(log).not.toMatch(/flock|Resource temporarily unavailable/);
    // and the flock really is exclusive: a second holder is refused while store runs
    const { execFileSync } = await import('node:child_process');
    expect(() =>
      execFileSync('flock', ['-n', '-E', '75', join(repo.root, '.git', 'sess', 'sessions', 'rel', 'store.lock'), 'true']),
    ).toThrow();
  });

  it('a change of the top-level env restarts every service (each one gets it)', async () => {
    const before = await pids();
    edit('STORE_ADDR: "${svc.store.host}:${svc.store.port}"', 'STORE_ADDR: "${svc.store.host}:${svc.store.port}"\n  EXTRA: "1"');
    expect((await repo.sess(['up', 'rel'])).code).toBe(0);
    const after = await pids();
    // the top-level env goes to every service: all four changed
    for (const s of ['store', 'api', 'web', 'worker']) expect(after[s]).not.toBe(before[s]);
  });

  it('a new definition that never becomes ready is replaced by the previous one: rolled_back', async () => {
    const before = await pids();
    edit('node servers/http.js ${ports.api} --needs $STORE_ADDR"', 'node servers/http.js ${ports.api} --needs $STORE_ADDR --delay 60000"');
    edit(
      'ready: { http: "http://127.0.0.1:${ports.api}/health", timeout: 10 }',
      'ready: { http: "http://127.0.0.1:${ports.api}/health", timeout: 2 }',
    );
    const r = await repo.sess(['up', 'rel']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ended rolled_back');
    expect(r.stderr).toContain('api: service api was not ready after 2s');
    expect(r.stderr).toContain('it is back as it was before this up');
    const st = await repo.json(['status', 'rel']);
    expect(st.status).toBe('up');
    const after = await pids();
    expect(after.api).not.toBe(before.api); // the previous definition, started again
    for (const s of ['store', 'web', 'worker']) expect(after[s]).toBe(before[s]);
    const api = st.services.find((s: any) => s.name === 'api');
    expect(await (await fetch(`http://127.0.0.1:${api.ports.api}/health`)).text()).toBe('ok\n');
    const release = await lastRelease();
    expect(release.status).toBe('rolled_back');
    expect(actions(release).api).toBe('failed');
    // the next up is not a no-op: it tries the new definition again (and fails the same way)
    const again = await repo.sess(['up', 'rel']);
    expect(again.code).toBe(1);
    expect(again.stderr).not.toContain('already up and unchanged');
    expect(again.stderr).toContain('ended rolled_back');
  });

  it('two changed services, the second fails: the first stays replaced, partially_failed', async () => {
    const before = await pids();
    edit('STORE_VERSION: "1"', 'STORE_VERSION: "2"');
    edit('command: "node servers/http.js ${ports.web}"', 'command: "node servers/http.js ${ports.web} --crash 10 --delay 500"');
    const r = await repo.sess(['up', 'rel']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ended partially_failed');
    const after = await pids();
    expect(after.store).not.toBe(before.store);
    expect(after.web).not.toBe(before.web);
    expect(after.api).toBe(before.api);
    const st = await repo.json(['status', 'rel']);
    expect(st.status).toBe('up');
    const release = await lastRelease();
    expect(release.status).toBe('partially_failed');
    expect(actions(release)).toMatchObject({ store: 'replaced', web: 'failed', api: 'unchanged', worker: 'unchanged' });
  });

  it('when the previous definition cannot come back either: failed, and doctor --fix makes it consistent', async () => {
    unlinkSync(join(wt, 'worker.enabled')); // neither the new nor the old worker can start now
    edit('WORKER_VERSION: "1"', 'WORKER_VERSION: "2"');
    const r = await repo.sess(['up', 'rel']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ended failed');
    expect(r.stderr).toContain('did not come back either');
    expect(r.stderr).toContain('sess doctor --fix');
    expect((await lastRelease()).status).toBe('failed');
    expect((await repo.json(['ls']))[0].status).toBe('failed');
    const found = await repo.sess(['doctor']);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('service-down  session rel: worker should run but does not');
    const fixed = await repo.sess(['doctor', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect((await repo.sess(['doctor'])).code).toBe(0);
    const st = await repo.json(['status', 'rel']);
    expect(st.services.find((s: any) => s.name === 'worker').state).toBe('stopped');
    expect(st.services.find((s: any) => s.name === 'store').state).toBe('running');
    // and up brings it back once it can start
    writeFileSync(join(wt, 'worker.enabled'), '');
    expect((await repo.sess(['up', 'rel'])).code).toBe(0);
    expect((await repo.json(['status', 'rel'])).status).toBe('up');
  });

  it('a resume rolled back by a new service that fails records what happened to each service', async () => {
    const before = await pids();
    edit('WEB_VERSION: "1"', 'WEB_VERSION: "2"');
    const file = join(wt, 'sess.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('hooks:', '  extra:\n    host:\n      command: "echo no; exit 3"\n    depends_on: [web]\nhooks:'),
    );
    const r = await repo.sess(['up', 'rel']);
    expect(r.code).toBe(1);
    const release = await lastRelease();
    expect(release.status).toBe('rolled_back');
    const byName = Object.fromEntries(release.services.map((s: any) => [s.name, s]));
    expect(byName.web).toMatchObject({ action: 'replaced', then: 'restored' });
    expect(byName.extra).toMatchObject({ action: 'failed' });
    for (const n of ['store', 'api', 'worker']) expect(byName[n]).toMatchObject({ action: 'unchanged' });
    const after = await pids();
    expect(after.web).not.toBe(before.web); // the previous definition runs again, as a new process
    for (const n of ['store', 'api', 'worker']) expect(after[n]).toBe(before[n]);
  });

  it('a resume whose post_up fails after a replacement brings the previous instance back', async () => {
    const before = await pids();
    edit('WEB_VERSION: "1"', 'WEB_VERSION: "2"');
    edit('post_create: ["touch worker.enabled"]', 'post_create: ["touch worker.enabled"]\n  post_up: ["exit 1"]');
    const r = await repo.sess(['up', 'rel']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('previous web is back');
    const st = await repo.json(['status', 'rel']);
    expect(st.status).toBe('up');
    const web = st.services.find((s: any) => s.name === 'web');
    expect(web.pid).not.toBe(before.web);
    expect(alive(web.pid)).toBe(true);
    expect(ourProcesses(repo.id(), 'rel')).toContain(web.pid);
    expect(byService(await lastRelease()).web).toMatchObject({ action: 'replaced', then: 'restored' });
    // it runs the previous definition: putting that back makes the next up a no-op for web
    edit('WEB_VERSION: "2"', 'WEB_VERSION: "1"');
    edit('  post_up: ["exit 1"]\n', '');
    expect((await repo.sess(['up', 'rel'])).code).toBe(0);
    expect(byService(await lastRelease()).web).toMatchObject({ action: 'unchanged' });
  });

  it('sess killed in the middle of a replacement: the next up brings the previous instance back first', async () => {
    edit('WEB_VERSION: "1"', 'WEB_VERSION: "2"');
    const killed = await repo.sess(['up', 'rel'], { env: { SESS_FAILPOINT: 'service:web:kill' } });
    expect(killed.code).toBe(null);
    const r = await repo.sess(['up', 'rel']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('previous web is back');
    expect(byService(await lastRelease()).web).toMatchObject({ action: 'replaced' });
    expect((await repo.json(['status', 'rel'])).status).toBe('up');
  });

  it('a service removed from the config is stopped', async () => {
    const before = await pids();
    const file = join(wt, 'sess.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.indexOf('  worker:\n')) + text.slice(text.indexOf('hooks:')).replace('hooks:', 'hooks:'));
    const r = await repo.sess(['up', 'rel']);
    expect(r.code, r.stderr).toBe(0);
    expect(alive(before.worker!)).toBe(false);
    expect(actions(await lastRelease())).toEqual({ store: 'unchanged', api: 'unchanged', web: 'unchanged', worker: 'stopped' });
    expect(Object.keys(await pids()).sort()).toEqual(['api', 'store', 'web']);
    expect(ourProcesses(repo.id(), 'rel').length).toBeGreaterThan(0);
    expect(existsSync(wt)).toBe(true);
  });

  it('history --json lists every up, newest last, with the SPEC fields', async () => {
    expect((await repo.sess(['up', 'rel'])).code).toBe(0);
    const history = await repo.json(['history', 'rel']);
    expect(history.map((h: any) => [h.id, h.trigger, h.status])).toEqual([
      [1, 'fresh', 'completed'],
      [2, 'resume', 'completed'],
    ]);
    for (const h of history) {
      expect(Date.parse(h.ended)).toBeGreaterThanOrEqual(Date.parse(h.started));
      expect(h.services.map((s: any) => s.name)).toEqual(['store', 'api', 'web', 'worker']);
    }
  });
});
