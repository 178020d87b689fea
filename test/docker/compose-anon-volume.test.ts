// Anonymous volumes (`- /data`, an image's VOLUME) have no name and no project label: only the
// container that mounts them leads to them. `down` keeps the containers (stopped), so the next `up`
// finds the data again; `rm --volumes` and the rollback of the up that made them remove them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep, type TestRepo } from '../helpers/sess.js';
import {
  anonymousVolumesOf,
  containersOf,
  dockerExec,
  dockerRepo,
  expectFreshSessionGone,
  projectOf,
  runningOf,
  volumeExists,
  volumesOf,
} from '../helpers/docker.js';

const store = (repo: TestRepo, session: string) => containersOf(repo, session).find((c) => c.name.includes('-store-'))!;

describe('anonymous volumes of a session', () => {
  let repo: TestRepo;
  dockerRepo('compose-anon-volume', 'all', (r) => (repo = r));
  const anon: Record<string, string[]> = {};

  it('two sessions side by side, each with data in an anonymous volume of its own', async () => {
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a']), repo.sess(['up', 'feat-b'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    for (const s of ['feat-a', 'feat-b']) {
      dockerExec(store(repo, s).name, 'sh', '-c', `echo ${s} > /data/who`);
      anon[s] = anonymousVolumesOf(repo, s);
      expect(anon[s]).toHaveLength(1);
    }
    expect(anon['feat-a']).not.toEqual(anon['feat-b']);
  });

  it('down, then up: the data is still there, in the same volume', async () => {
    const down = await repo.sess(['down', 'feat-a']);
    expect(down.code, down.stderr).toBe(0);
    expect(runningOf(repo, 'feat-a')).toEqual([]);
    expect((await repo.json(['status', 'feat-a'])).services[0].state).toBe('stopped');
    const up = await repo.sess(['up', 'feat-a']);
    expect(up.code, up.stderr).toBe(0);
    expect(dockerExec(store(repo, 'feat-a').name, 'cat', '/data/who')).toBe('feat-a\n');
    expect(anonymousVolumesOf(repo, 'feat-a')).toEqual(anon['feat-a']);
    // the other session was not touched
    expect(dockerExec(store(repo, 'feat-b').name, 'cat', '/data/who')).toBe('feat-b\n');
  });

  it('a replacement (its definition changed) keeps the data: compose recreates the container on the same volume', async () => {
    const file = join(repo.tmp, 'app.sess', 'feat-a', 'compose.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    init: true\n', '    init: true\n    environment: { EDITION: "2" }\n'));
    const before = store(repo, 'feat-a').id;
    const up = await repo.sess(['up', 'feat-a']);
    expect(up.code, up.stderr).toBe(0);
    const last = (await repo.json(['history', 'feat-a'])).at(-1);
    expect(last.services).toEqual([expect.objectContaining({ name: 'store', action: 'replaced' })]);
    const now = store(repo, 'feat-a');
    expect(now.id).not.toBe(before); // a new container, with the new definition
    expect(dockerExec(now.name, 'sh', '-c', 'echo $EDITION')).toBe('2\n');
    expect(dockerExec(now.name, 'cat', '/data/who')).toBe('feat-a\n');
    expect(anonymousVolumesOf(repo, 'feat-a')).toEqual(anon['feat-a']);
    expect(containersOf(repo, 'feat-a')).toHaveLength(1); // the old one is gone, not left stopped
  });

  it('rm --volumes leaves no volume of the project, anonymous ones included', async () => {
    const r = await repo.sess(['rm', 'feat-a', '--volumes', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(containersOf(repo, 'feat-a')).toEqual([]);
    expect(volumesOf(projectOf(repo, 'feat-a'))).toEqual([]);
    for (const v of anon['feat-a']!) expect(volumeExists(v)).toBe(false);
    for (const v of anon['feat-b']!) expect(volumeExists(v)).toBe(true);
  });
});

describe('anonymous volumes of a rolled-back up', () => {
  let repo: TestRepo;
  dockerRepo('compose-anon-volume', 'each', (r) => (repo = r));

  it('a rolled-back fresh up removes the anonymous volumes its containers made', async () => {
    const run = repo.start(['up', 'feat-c'], { env: { SESS_FAILPOINT: 'ready:store' } });
    // what its container mounts, seen while it exists (compose's wait and the ready probe take a while)
    const made = new Set<string>();
    let finished = false;
    void run.done.then(() => (finished = true));
    while (!finished) {
      try {
        for (const v of anonymousVolumesOf(repo, 'feat-c')) made.add(v);
      } catch {
        /* the repository has no id yet, or the container went between two looks */
      }
      await sleep(50);
    }
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('failpoint ready:store');
    expect(made.size).toBe(1);
    for (const v of made) expect(volumeExists(v)).toBe(false);
    expectFreshSessionGone(repo, 'feat-c', expect);
  });
});
