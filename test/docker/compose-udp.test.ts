// UDP ports publish as UDP: a named port of a udp-only container port, a udp port nothing names, and
// a container port published over both protocols (a lease for each), two sessions side by side.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { leasesOf, type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerRepo, expectNothingInDocker } from '../helpers/docker.js';

/** What docker publishes of a container: `5353/udp -> 127.0.0.1:N` lines, sorted. */
function published(id: string): string[] {
  return execFileSync('docker', ['port', id], { encoding: 'utf8' }).trim().split('\n').sort();
}

/** Something holds this UDP port on 127.0.0.1 (docker's proxy of a published udp port). */
function udpTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.on('error', () => resolve(true));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(false)));
  });
}

describe('udp ports', () => {
  let repo: TestRepo;
  dockerRepo('compose-udp', 'all', (r) => (repo = r));

  it('publishes each port with the protocol the file says, on leases of its own', async () => {
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json']), repo.sess(['up', 'feat-b', '--json'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const seen = new Set<number>();
    for (const [session, r] of [
      ['feat-a', ra],
      ['feat-b', rb],
    ] as const) {
      const view = JSON.parse(r.stdout);
      expect(view.services.map((s: any) => [s.name, s.state])).toEqual([
        ['dns', 'running'],
        ['both', 'running'],
      ]);
      const leases = leasesOf(repo, session);
      // dns's 8053 is not named in sess.yaml: container mode names it (dns-8053) as it names both's
      expect(Object.keys(view.ports).sort()).toEqual(['both', 'dns', 'dns-8053']);
      expect(leases).toMatchObject({ dns: view.ports.dns, both: view.ports.both, 'dns-8053': view.ports['dns-8053'] });
      const udp6000 = leases['compose:both.6000/udp']!;
      const tcp8053 = view.ports['dns-8053'];
      expect(udp6000).toBeGreaterThan(0);
      const containers = containersOf(repo, session);
      const dns = containers.find((c) => c.name.includes('-dns-'))!;
      const both = containers.find((c) => c.name.includes('-both-'))!;
      expect(published(dns.id)).toEqual([`5353/udp -> 127.0.0.1:${view.ports.dns}`, `8053/tcp -> 127.0.0.1:${tcp8053}`]);
      expect(published(both.id)).toEqual([`6000/tcp -> 127.0.0.1:${view.ports.both}`, `6000/udp -> 127.0.0.1:${udp6000}`]);
      expect(await udpTaken(view.ports.dns)).toBe(true);
      expect(await udpTaken(udp6000)).toBe(true);
      for (const p of [view.ports.dns, view.ports.both, udp6000, tcp8053]) {
        expect(seen.has(p)).toBe(false);
        seen.add(p);
      }
    }
  });

  it('rm leaves nothing of either session', async () => {
    for (const s of ['feat-a', 'feat-b']) {
      expect((await repo.sess(['rm', s, '--force', '--volumes'])).code).toBe(0);
      expectNothingInDocker(repo, s, expect);
      expect(leasesOf(repo, s)).toEqual({});
    }
  });
});
