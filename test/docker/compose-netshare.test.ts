// Services in another container's network (network_mode: service:X, container:X) keep their
// networking as the file says (no ports, no extra_hosts of their own, which Docker refuses), two
// sessions side by side; host networking, and a named port on such a service, are refused (exit 2).
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leasesOf, worktrees, type TestRepo } from '../helpers/sess.js';
import { dockerRepo, expectNothingInDocker } from '../helpers/docker.js';

const text = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).text();

/** A branch whose commit changes `file` as `edit` says; main stays checked out. */
function branchWith(repo: TestRepo, branch: string, file: string, edit: (text: string) => string): void {
  repo.git('checkout', '-q', '-b', branch);
  writeFileSync(join(repo.root, file), edit(readFileSync(join(repo.root, file), 'utf8')));
  repo.git('commit', '-qam', branch);
  repo.git('checkout', '-q', 'main');
}

describe('services sharing another network namespace', () => {
  let repo: TestRepo;
  dockerRepo('compose-netshare', 'all', (r) => (repo = r));

  it('service: and container: network modes run as in compose, two sessions side by side', async () => {
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json']), repo.sess(['up', 'feat-b', '--json'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    for (const [session, r] of [
      ['feat-a', ra],
      ['feat-b', rb],
    ] as const) {
      const view = JSON.parse(r.stdout);
      expect(view.services.map((s: any) => [s.name, s.state])).toEqual([
        ['app', 'running'],
        ['probe', 'running'],
        ['sidecar', 'running'],
      ]);
      expect(await text(view.ports.app)).toBe(`app of ${session}\n`);
      // the sidecar and the probe listen inside app's network, reached through app's ports
      expect(await text(view.ports['app-8081'])).toBe(`sidecar of ${session}\n`);
      expect(await text(view.ports['app-8082'])).toBe(`probe of ${session}\n`);
    }
  });

  it('refuses host networking before creating anything (exit 2, naming the key)', async () => {
    branchWith(repo, 'hostnet', 'compose.yaml', (t) => `${t}  tool:\n    image: sess-test/busybox:1\n    network_mode: host\n`);
    const r = await repo.sess(['up', 'hostnet']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('services.tool.network_mode: host');
    expect(r.stderr).toContain('side by side');
    expect(leasesOf(repo, 'hostnet')).toEqual({});
    expectNothingInDocker(repo, 'hostnet', expect);
    expect(worktrees(repo).some((w) => w.endsWith('/hostnet'))).toBe(false);
  });

  it('refuses a named port on a service that has no network of its own (exit 2)', async () => {
    branchWith(
      repo,
      'sideport',
      'sess.yaml',
      (t) => `${t}ports:\n  side: {}\nservices:\n  sidecar:\n    compose: sidecar\n    ports: { side: 8081 }\n`,
    );
    const r = await repo.sess(['up', 'sideport']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('services.sidecar.ports');
    expect(r.stderr).toContain('network_mode service:app');
    expect(leasesOf(repo, 'sideport')).toEqual({});
    expectNothingInDocker(repo, 'sideport', expect);
  });

  it('rm leaves nothing of either session', async () => {
    for (const s of ['feat-a', 'feat-b']) {
      expect((await repo.sess(['rm', s, '--force', '--volumes'])).code).toBe(0);
      expectNothingInDocker(repo, s, expect);
      expect(leasesOf(repo, s)).toEqual({});
    }
  });
});
