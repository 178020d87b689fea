// A service with `build:` and a fixed `image:` tag: the tag is global to the engine, so without
// care a branch whose Dockerfile differs runs what another branch built. Each session builds its
// own image (the tag gets the compose project's name), and `rm` removes what the session built.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestRepo } from '../helpers/sess.js';
import { get } from '../helpers/http.js';
import { dockerRepo, expectFreshSessionGone, imagesOf, projectOf } from '../helpers/docker.js';

const imageExists = (name: string) => {
  try {
    execFileSync('docker', ['image', 'inspect', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('images a session builds', () => {
  let repo: TestRepo;
  dockerRepo('compose-build', 'all', (r) => (repo = r));

  it('two branches with different Dockerfile contexts, up side by side: each serves what it built', async () => {
    repo.git('checkout', '-q', '-b', 'feat-b');
    writeFileSync(join(repo.root, 'web', 'index.html'), 'built from feat-b\n');
    repo.git('commit', '-qam', 'another page');
    repo.git('checkout', '-q', 'main');
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json']), repo.sess(['up', 'feat-b', '--json'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const a = JSON.parse(ra.stdout);
    const b = JSON.parse(rb.stdout);
    expect((await get(`http://127.0.0.1:${a.ports.web}/`)).body).toBe('built from main\n');
    expect((await get(`http://127.0.0.1:${b.ports.web}/`)).body).toBe('built from feat-b\n');
    // the service that runs the built image runs its own session's build too
    expect((await get(`http://127.0.0.1:${a.ports.worker}/`)).body).toBe('built from main\n');
    expect((await get(`http://127.0.0.1:${b.ports.worker}/`)).body).toBe('built from feat-b\n');
    expect(ra.stderr).toContain(`image shop/web:dev is built as shop/web:${projectOf(repo, 'feat-a')}`);
    expect(imagesOf(projectOf(repo, 'feat-a'))).toEqual([`shop/web:${projectOf(repo, 'feat-a')}`]);
    expect(imagesOf(projectOf(repo, 'feat-b'))).toEqual([`shop/web:${projectOf(repo, 'feat-b')}`]);
    // the global tag is never built (nor pulled)
    expect(imageExists('shop/web:dev')).toBe(false);
  });

  it('a re-up of an unchanged session is a no-op (the built image is judged by its build context)', async () => {
    const r = await repo.sess(['up', 'feat-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('already up and unchanged');
  });

  it('rm removes the images the session built; the other session keeps its own', async () => {
    const r = await repo.sess(['rm', 'feat-a', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(imagesOf(projectOf(repo, 'feat-a'))).toEqual([]);
    expect(imageExists(`shop/web:${projectOf(repo, 'feat-a')}`)).toBe(false);
    expect(imagesOf(projectOf(repo, 'feat-b'))).toEqual([`shop/web:${projectOf(repo, 'feat-b')}`]);
    expect((await repo.sess(['rm', 'feat-b', '--force', '--volumes'])).code).toBe(0);
    expect(imagesOf(projectOf(repo, 'feat-b'))).toEqual([]);
  });
});

describe('a rolled-back fresh up', () => {
  let repo: TestRepo;
  dockerRepo('compose-build', 'each', (r) => (repo = r));

  it('removes the image it built', async () => {
    const r = await repo.sess(['up', 'feat-c'], { env: { SESS_FAILPOINT: 'ready:worker' } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('failpoint');
    expect(imagesOf(projectOf(repo, 'feat-c'))).toEqual([]);
    expectFreshSessionGone(repo, 'feat-c', expect);
  });
});
