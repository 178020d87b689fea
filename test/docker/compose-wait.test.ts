// The compose phase of `up` is bounded by the longest ready timeout of the services it starts, even
// when compose itself waits for a `service_healthy` dependency (outside its own --wait-timeout), and
// its error names the services that are not up, not the ones compose listed.
import { describe, expect, it } from 'vitest';
import { dockerRepo, expectFreshSessionGone, expectNothingInDocker } from '../helpers/docker.js';
import { branches, leasesOf, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
dockerRepo('compose-wait', 'each', (r) => (repo = r));

describe('compose waiting on a dependency that never becomes healthy', () => {
  it('up fails within the ready timeout plus compose overhead, naming db and app (not fine); nothing left', async () => {
    const started = Date.now();
    const r = await repo.sess(['up', 'w']);
    const took = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(1);
    // 6 s of wait + 15 s for compose's own work, + the rollback: minutes without the bound
    expect(took).toBeLessThan(90);
    const line = r.stderr.split('\n').find((l) => l.includes('compose could not start'))!;
    expect(line, r.stderr).toMatch(/compose could not start [a-z, ]*\bdb\b/);
    expect(line).toMatch(/\bapp\b/);
    expect(line).toMatch(/db \(health starting\)/);
    expect(line).not.toMatch(/\bfine\b/);
    expect(line).not.toContain('compose said'); // a killed compose said nothing worth reading
    expect(r.stderr).toContain('within 6s');
    expectFreshSessionGone(repo, 'w', expect);
  });

  it('compose ending its wait on an unhealthy db: the error names db (unhealthy) and app, not fine', async () => {
    const r = await repo.sess(['up', 'u'], { env: { DB_RETRIES: '1', DB_START_PERIOD: '0s' } });
    expect(r.code, r.stderr).toBe(1);
    const line = r.stderr.split('\n').find((l) => l.includes('compose could not start'))!;
    const summary = line.split('; compose said')[0]!;
    expect(summary, r.stderr).toMatch(/compose could not start [a-z, ]*\bdb\b/);
    expect(summary).toMatch(/db \(health unhealthy\)/);
    expect(summary).not.toMatch(/\bfine\b/);
    expect(line).toContain('compose said'); // what compose said comes after
    expectFreshSessionGone(repo, 'u', expect);
  });

  it('two sessions side by side fail the same way, independently', async () => {
    const [a, b] = await Promise.all([repo.sess(['up', 'w1']), repo.sess(['up', 'w2'])]);
    for (const r of [a, b]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/compose could not start [a-z, ]*\bdb\b[a-z, ]*: within 6s/);
    }
    for (const session of ['w1', 'w2']) {
      expectNothingInDocker(repo, session, expect);
      expect(leasesOf(repo, session)).toEqual({});
    }
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
  });
});
