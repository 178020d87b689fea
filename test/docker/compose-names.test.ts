// container_name used as a hostname by other services: sess drops container_name (two sessions would
// collide) and keeps the name as a network alias on each of the service's networks, which are the
// session's own: every session's services reach their own session's container by that name.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { eventually, leasesOf, type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerRepo, expectNothingInDocker } from '../helpers/docker.js';

const text = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).text();

describe('container_name as a hostname', () => {
  let repo: TestRepo;
  dockerRepo('compose-names', 'all', (r) => (repo = r));

  it('resolves to the session own container, on every network, two sessions side by side', async () => {
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json']), repo.sess(['up', 'feat-b', '--json'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stderr).toContain('container_name names-db dropped (each session names its own), kept as its network alias');
    for (const [session, r] of [
      ['feat-a', ra],
      ['feat-b', rb],
    ] as const) {
      const view = JSON.parse(r.stdout);
      expect(view.services.map((s: any) => s.name)).toEqual(['web', 'db', 'worker']);
      // web on the default network, worker on `back`: both reached names-db, their session's own
      expect(await text(view.ports.web)).toBe(`db of ${session}\n`);
      await eventually(async () => (await text(view.ports.worker).catch(() => '')) === `db of ${session}\n`, 20_000, 'worker');
    }
    const names = [...containersOf(repo, 'feat-a'), ...containersOf(repo, 'feat-b')].map((c) => c.name);
    expect(names).not.toContain('names-db');
    expect(names).not.toContain('names-web');
    const db = containersOf(repo, 'feat-a').find((c) => c.name.includes('-db-'))!;
    const aliases = execFileSync('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.Aliases}};{{end}}', db.id], {
      encoding: 'utf8',
    });
    expect(aliases.trim().split(';').filter(Boolean)).toHaveLength(2);
    for (const a of aliases.trim().split(';').filter(Boolean)) expect(a).toContain('names-db');
  });

  it('rm leaves nothing of either session', async () => {
    for (const s of ['feat-a', 'feat-b']) {
      expect((await repo.sess(['rm', s, '--force', '--volumes'])).code).toBe(0);
      expectNothingInDocker(repo, s, expect);
      expect(leasesOf(repo, s)).toEqual({});
    }
  });
});
