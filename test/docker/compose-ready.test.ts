// A tcp ready probe on a compose service's published port: the host side of that port is docker's
// proxy, which accepts every connection while nothing listens in the container yet. sess looks
// inside the container, so `up` returns only once the service itself listens.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { editConfig, leasesOf, worktrees, type TestRepo } from '../helpers/sess.js';
import { get } from '../helpers/http.js';
import { containersOf, dockerRepo, expectNothingInDocker } from '../helpers/docker.js';
import { execFileSync } from 'node:child_process';

const LISTENS_AFTER_MS = 4000;

describe('tcp ready probe of a compose service', () => {
  let repo: TestRepo;
  dockerRepo('compose-slow-listen', 'each', (r) => (repo = r));

  it('two sessions side by side: neither is ready before its container listens, both serve right after up', async () => {
    const returned: Record<string, number> = {};
    const up = (s: string) => repo.sess(['up', s, '--json']).then((r) => ((returned[s] = Date.now()), r));
    const [ra, rb] = await Promise.all([up('feat-a'), up('feat-b')]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    // each up returned no sooner than its container began to listen
    for (const s of ['feat-a', 'feat-b']) {
      const [c] = containersOf(repo, s);
      const startedAt = Date.parse(execFileSync('docker', ['inspect', '-f', '{{.State.StartedAt}}', c!.id], { encoding: 'utf8' }).trim());
      expect(returned[s]! - startedAt, s).toBeGreaterThanOrEqual(LISTENS_AFTER_MS);
    }
    const a = JSON.parse(ra.stdout);
    const b = JSON.parse(rb.stdout);
    expect(a.ports.db).not.toBe(b.ports.db);
    // right after up, a connection through the published port is served (not just accepted)
    const [ha, hb] = await Promise.all([get(`http://127.0.0.1:${a.ports.db}/`), get(`http://127.0.0.1:${b.ports.db}/`)]);
    expect(ha.status).toBe(200);
    expect(ha.body).toContain('sess-test busybox httpd ok');
    expect(hb.status).toBe(200);
    // sess status probes the same way, and finds it ready
    const st = await repo.json(['status', 'feat-a']);
    expect(st.ready).toBe(true);
  });

  it('a service that never listens is not ready although its published port accepts: up fails, nothing left', async () => {
    // a branch whose db never listens, with a short timeout
    repo.git('checkout', '-q', '-b', 'never');
    writeFileSync(join(repo.root, 'compose.yaml'), NEVER_LISTENS);
    editConfig(repo.root, 'timeout: 30', 'timeout: 3');
    repo.git('commit', '-qam', 'db never listens');
    repo.git('checkout', '-q', 'main');
    const r = await repo.sess(['up', 'never']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('service db was not ready after 3s');
    expect(r.stderr).toContain('nothing listens on port 5432 in its container yet');
    expectNothingInDocker(repo, 'never', expect);
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, 'never')).toEqual({});
  });
});

const NEVER_LISTENS = `services:
  db:
    image: sess-test/busybox:1
    init: true
    command: ["sleep", "3600"]
`;
