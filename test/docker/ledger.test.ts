// The leases of compose's extra published ports (`compose:...`) belong to the session like its
// named ports: its record keeps them, so `doctor --fix` rebuilds them into a corrupt ledger, and
// they go with the next completed up once compose no longer publishes that port.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolatedLedger, leasesOf, type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerRepo } from '../helpers/docker.js';

const home = isolatedLedger(); // doctor --fix repairs the ledger: this file's own
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('compose extra ports in the ledger', () => {
  let repo: TestRepo;
  dockerRepo('compose-fixed', 'all', (r) => (repo = r));
  let leases: Record<string, number>;

  it('are kept in the session record and rebuilt by doctor --fix', async () => {
    const up = await repo.sess(['up', 'feat-a']);
    expect(up.code, up.stderr).toBe(0);
    leases = leasesOf(repo, 'feat-a');
    expect(Object.keys(leases).sort()).toEqual(['compose:admin.9090', 'kv', 'web']);
    const record = JSON.parse(readFileSync(join(repo.root, '.git', 'sess', 'sessions', 'feat-a', 'session.json'), 'utf8'));
    expect(record.leases).toEqual(leases);

    const file = join(home, 'ports.json');
    const before = JSON.parse(readFileSync(file, 'utf8')).leases;
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40));
    const fixed = await repo.sess(['doctor', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const after = JSON.parse(readFileSync(file, 'utf8')).leases;
    const strip = (l: Record<string, any>) => Object.fromEntries(Object.entries(l).map(([p, { since: _, ...rest }]) => [p, rest]));
    expect(strip(after)).toEqual(strip(before));
  });

  it('go with the next completed up once compose no longer publishes them', async () => {
    const compose = join(repo.tmp, 'app.sess', 'feat-a', 'compose.yaml');
    writeFileSync(compose, readFileSync(compose, 'utf8').replace('    ports: ["9090:9090"]\n', ''));
    const before = containersOf(repo, 'feat-a')
      .map((c) => c.id)
      .sort();
    const up = await repo.sess(['up', 'feat-a']);
    expect(up.code, up.stderr).toBe(0);
    expect(leasesOf(repo, 'feat-a')).toEqual({ web: leases.web, kv: leases.kv });
    expect(
      containersOf(repo, 'feat-a')
        .map((c) => c.id)
        .sort(),
    ).toEqual(before); // web and kv left alone
  });
});
