// A one-shot service (a migration that exits 0) that web depends on: up succeeds, the session is
// up, and a re-up is a no-op (the exited migration is not a dead service of the session).
import { describe, expect, it } from 'vitest';
import { type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerRepo } from '../helpers/docker.js';

describe('one-shot compose dependency', () => {
  let repo: TestRepo;
  dockerRepo('compose-oneshot', 'all', (r) => (repo = r));

  it('comes up after the migration ran, and stays a no-op on re-up', async () => {
    const r = await repo.sess(['up', 'm', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.status).toBe('up');
    expect(await (await fetch(`http://127.0.0.1:${view.ports.web}/`)).text()).toBe('migrated\n');
    const migrate = containersOf(repo, 'm').find((c) => c.name.includes('-migrate-'));
    expect(migrate?.state).toBe('exited');
    const again = await repo.sess(['up', 'm']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already up and unchanged');
    expect((await repo.json(['status', 'm'])).status).toBe('up');
  });
});
