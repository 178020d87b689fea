// `sess status` as a pre-flight check: exit 0 only when every service meant to run is running and
// ready, 1 otherwise (with the JSON document either way); `--wait [SECONDS]` waits for that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, eventually, makeRepo, ourProcesses, type TestRepo } from '../helpers/sess.js';

describe('status as a pre-flight check', () => {
  let repo: TestRepo;
  let view: any;
  beforeAll(async () => {
    repo = makeRepo('host-preflight');
    view = await repo.json(['up', 'gate']);
  });
  afterAll(() => repo.cleanup());
  const hold = () => join(view.worktree, 'hold.flag');

  it('exits 0 when every service runs and its probe passes now, saying so', async () => {
    const r = await repo.sess(['status', 'gate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ name: 'gate', status: 'up', ready: true });
    expect(doc.services.map((s: any) => [s.name, s.state, s.ready])).toEqual([
      ['db', 'running', true],
      ['web', 'running', true],
    ]);
    const human = await repo.sess(['status', 'gate']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('ready: every service is running and ready');
  });

  it('exits 1 while a running service is not ready, with the document and what its probe found', async () => {
    writeFileSync(hold(), '');
    const r = await repo.sess(['status', 'gate', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ status: 'up', ready: false });
    expect(doc.services[1]).toMatchObject({ name: 'web', state: 'running', ready: false, detail: 'exited with 1' });
    expect(doc.services[0].ready).toBe(true);
    const human = await repo.sess(['status', 'gate']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('not ready: web (exited with 1)');
    // looking changed nothing: the service still runs
    expect(alive(view.services[1].pid)).toBe(true);
  });

  it('--wait SECONDS gives up after that long with exit 1 and the last document', async () => {
    const t0 = Date.now();
    const r = await repo.sess(['status', 'gate', '--wait', '1', '--json']);
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(JSON.parse(r.stdout).ready).toBe(false);
    expect(r.stderr).toContain('waiting for gate: web (exited with 1)');
  });

  it('--wait returns 0 as soon as the service becomes ready', async () => {
    const run = repo.start(['status', 'gate', '--wait', '30', '--json']);
    let err = '';
    run.child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('waiting for gate'), 10_000, 'status to wait');
    const t0 = Date.now();
    rmSync(hold());
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(JSON.parse(r.stdout).ready).toBe(true);
  });

  it('exits 1 when a service died, and when the session is down', async () => {
    process.kill(-view.services[0].pid, 'SIGKILL');
    await eventually(() => !alive(view.services[0].pid), 5000, 'db to die');
    const dead = await repo.sess(['status', 'gate', '--json']);
    expect(dead.code).toBe(1);
    expect(JSON.parse(dead.stdout).services[0]).toMatchObject({ name: 'db', state: 'exited', ready: false, detail: 'exited' });
    expect((await repo.sess(['down', 'gate'])).code).toBe(0);
    expect(ourProcesses(repo.id(), 'gate')).toEqual([]);
    const down = await repo.sess(['status', 'gate', '--json']);
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout)).toMatchObject({ status: 'down', ready: false });
    const t0 = Date.now();
    const waited = await repo.sess(['status', 'gate', '--wait', '0.5']);
    expect(waited.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('an unknown session is exit 2, also with --wait; a bad --wait is exit 2', async () => {
    expect((await repo.sess(['status', 'nope', '--wait', '5'])).code).toBe(2);
    const bad = await repo.sess(['status', '--wait', 'gate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('put the session before --wait');
  });
});
