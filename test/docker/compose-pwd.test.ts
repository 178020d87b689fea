// `${PWD}` in compose files is the folder compose runs in: for a session, its worktree. Two
// sessions with a `${PWD}/state:/data` bind each write into their own worktree, never into the
// folder sess was called from.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestRepo } from '../helpers/sess.js';
import { get } from '../helpers/http.js';
import { dockerRepo } from '../helpers/docker.js';

describe('${PWD} in compose files', () => {
  let repo: TestRepo;
  dockerRepo('compose-pwd', 'all', (r) => (repo = r));

  it('two sessions side by side: each bind under ${PWD} is in its own worktree', async () => {
    // called from the main checkout by a shell, which sets PWD there
    const env = { PWD: repo.root };
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json'], { env }), repo.sess(['up', 'feat-b', '--json'], { env })]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const a = JSON.parse(ra.stdout);
    const b = JSON.parse(rb.stdout);
    expect(readFileSync(join(a.worktree, 'state', 'who'), 'utf8')).toBe('feat-a\n');
    expect(readFileSync(join(b.worktree, 'state', 'who'), 'utf8')).toBe('feat-b\n');
    expect(existsSync(join(repo.root, 'state'))).toBe(false);
    expect((await get(`http://127.0.0.1:${a.ports.app}/who`)).body).toBe('feat-a\n');
    expect((await get(`http://127.0.0.1:${b.ports.app}/who`)).body).toBe('feat-b\n');
  });

  it('a re-up from another folder is a no-op: ${PWD} does not depend on where sess is called', async () => {
    const elsewhere = join(repo.root, 'servers');
    const r = await repo.sess(['up', 'feat-a'], { env: { PWD: elsewhere }, cwd: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('already up and unchanged');
  });
});
