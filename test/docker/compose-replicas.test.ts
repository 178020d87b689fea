// deploy.replicas with a host port range: each session leases a range of the same size, contiguous,
// and each replica serves on a port of its session's range; two sessions side by side.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { containersOf, dockerRepo, expectNothingInDocker } from '../helpers/docker.js';
import { get } from '../helpers/http.js';
import { leasesOf, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
dockerRepo('compose-replicas', 'each', (r) => (repo = r));

/** The host ports docker gave the session's containers for container port 80. */
function publishedPorts(session: string): number[] {
  return containersOf(repo, session)
    .flatMap((c) => execFileSync('docker', ['port', c.id, '80/tcp'], { encoding: 'utf8' }).split('\n').filter(Boolean))
    .map((l) => Number(l.split(':').pop()))
    .sort((a, b) => a - b);
}

describe('two replicas on a host port range', () => {
  it('two sessions side by side: a contiguous range each, both replicas serving on it', async () => {
    const [a, b] = await Promise.all([repo.sess(['up', 'a']), repo.sess(['up', 'b'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ranges: number[][] = [];
    for (const session of ['a', 'b']) {
      const leases = leasesOf(repo, session);
      const first = leases['compose:web.80']!;
      expect(leases['compose:web.80+1']).toBe(first + 1);
      expect(containersOf(repo, session).map((c) => c.state)).toEqual(['running', 'running']);
      const ports = publishedPorts(session);
      expect(ports).toEqual([first, first + 1]);
      const bodies = new Set<string>();
      for (const port of ports) {
        const reply = await get(`http://127.0.0.1:${port}/`);
        expect(reply.status).toBe(200);
        bodies.add(reply.body);
      }
      expect(bodies.size).toBe(2); // two replicas, not one answering twice
      ranges.push(ports);
    }
    expect(ranges[0]!.some((p) => ranges[1]!.includes(p))).toBe(false);
    const rm = await repo.sess(['rm', 'a', '--force']);
    expect(rm.code, rm.stderr).toBe(0);
    expectNothingInDocker(repo, 'a', expect);
    expect(leasesOf(repo, 'a')).toEqual({});
    expect(publishedPorts('b')).toEqual(ranges[1]); // b goes on
  });
});
