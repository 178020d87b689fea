// A service's helper that leaves its process group (setsid) is still the service's: down, rm, a
// replacement and a rollback find it by the marker it inherited, stop it, and say so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo, ourProcesses, type TestRepo } from '../helpers/sess.js';

const groupOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
};

describe("helpers outside the service's process group", () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-daemon');
  });
  afterAll(() => repo.cleanup());

  it('up runs the service and its helper in two process groups', async () => {
    await repo.json(['up', 'd1']);
    const pids = ourProcesses(repo.id(), 'd1');
    expect(new Set(pids.map(groupOf)).size).toBe(2);
  });

  it('down stops the helper too, and says so', async () => {
    const r = await repo.sess(['down', 'd1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/web left 1 process\(es\) outside its process group \(pid \d+\): stopped them too/);
    expect(ourProcesses(repo.id(), 'd1')).toEqual([]);
  });

  it("a replacement stops the old instance's helper: the new instance and its helper remain", async () => {
    const view = await repo.json(['up', 'd1']);
    const before = ourProcesses(repo.id(), 'd1');
    expect(new Set(before.map(groupOf)).size).toBe(2);
    const file = join(view.worktree, 'sess.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('ports: { web: 3000 }', 'ports: { web: 3000 }\n    env: { GREETING: changed }'));
    const r = await repo.sess(['up', 'd1']);
    expect(r.code, r.stderr).toBe(0);
    const after = ourProcesses(repo.id(), 'd1');
    expect(new Set(after.map(groupOf)).size).toBe(2);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
  });

  it('rm --force stops the helper', async () => {
    expect((await repo.sess(['rm', 'd1', '--force'])).code).toBe(0);
    expect(ourProcesses(repo.id(), 'd1')).toEqual([]);
  });

  it('a rollback stops the helper of a service it started', async () => {
    const r = await repo.sess(['up', 'd2'], { env: { SESS_FAILPOINT: 'ready:web' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stopped 1 process\(es\) of web outside its group/);
    expect(ourProcesses(repo.id(), 'd2')).toEqual([]);
  });
});
