// The overlay over a tricky base (short and long port syntax, a range, container_name, extends,
// profiles, two files, fixed volume and network names, an external volume), merged by real compose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/sess.js';
import { buildOverlay, unnamedPublishedPorts } from '../../modes/compose/overlay.js';

const PROJECT = 'sess-tricky-test';
let dir: string;
const compose = (...args: string[]) =>
  JSON.parse(
    execFileSync(
      'docker',
      ['compose', '-p', PROJECT, '--project-directory', dir, ...args, '--profile', '*', 'config', '--format', 'json'],
      { encoding: 'utf8' },
    ),
  );

describe('overlay over a tricky compose project', () => {
  let merged: any;
  let notes: string[];
  let extra: Record<string, number>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sess-tricky-'));
    cpSync(join(ROOT, 'fixtures', 'compose-tricky'), dir, { recursive: true });
    const files = ['-f', join(dir, 'compose.yaml'), '-f', join(dir, 'compose.override.yaml')];
    const model = compose(...files);
    const managed = {
      web: { name: 'web', runtime: 'compose' as const, ports: { http: [80, 41000] as [number, number] }, env: { A: 'x$y' }, dependsOn: [] },
    };
    const keys = unnamedPublishedPorts(model, managed);
    expect(keys.sort()).toEqual(['web.3000', 'web.443', 'web.8000', 'web.9229', 'worker.7000/udp', 'worker.7001/udp']);
    extra = Object.fromEntries(keys.map((k, i) => [k, 42000 + i]));
    const overlay = buildOverlay({
      project: PROJECT,
      model,
      managed,
      labels: { repo: 'r1', session: 's1' },
      baseEnv: { SESS_SESSION: 's1' },
      extraPorts: extra,
    });
    notes = overlay.notes;
    writeFileSync(join(dir, 'overlay.yaml'), overlay.yaml);
    merged = compose(...files, '-f', join(dir, 'overlay.yaml'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes every port on 127.0.0.1, named ones on their lease, the others on leases of their own', () => {
    const ports = (svc: string) =>
      merged.services[svc].ports.map((p: any) => `${p.host_ip}:${p.published ?? ''}->${p.target}/${p.protocol}`);
    expect(ports('web').sort()).toEqual(
      [
        '127.0.0.1:41000->80/tcp',
        `127.0.0.1:${extra['web.8000']}->8000/tcp`,
        `127.0.0.1:${extra['web.443']}->443/tcp`,
        `127.0.0.1:${extra['web.9229']}->9229/tcp`,
        `127.0.0.1:${extra['web.3000']}->3000/tcp`,
        '127.0.0.1:->5000/tcp',
      ].sort(),
    );
    expect(ports('worker').sort()).toEqual(
      [`127.0.0.1:${extra['worker.7000/udp']}->7000/udp`, `127.0.0.1:${extra['worker.7001/udp']}->7001/udp`].sort(),
    );
  });

  it('drops container_name, labels every service, keeps what extends and the second file brought', () => {
    for (const svc of ['web', 'worker']) {
      expect(merged.services[svc].container_name).toBeUndefined();
      expect(merged.services[svc].labels).toMatchObject({ 'dev.sess.repo': 'r1', 'dev.sess.session': 's1' });
      expect(merged.services[svc].extra_hosts).toEqual(
        expect.arrayContaining([expect.stringMatching(/^host\.docker\.internal[:=]host-gateway$/)]),
      );
    }
    // config --format json writes $ escaped again (its output is itself a compose file); the container gets x$y
    expect(merged.services.web.environment).toMatchObject({ FROM_BASE: 'yes', FROM_OVERRIDE: 'yes', A: 'x$$y' });
    expect(merged.services.worker.profiles).toEqual(['jobs']);
    expect(notes).toContain(
      'compose service web: container_name tricky-web dropped (each session names its own), kept as its network alias',
    );
    // the name still answers inside the session, on the service's own network (merged by compose)
    expect(merged.services.web.networks.front.aliases).toEqual(['tricky-web']);
    expect(merged.services.worker.networks.default.aliases).toEqual(['tricky-worker']);
  });

  it('gives fixed-name volumes and networks the project name back, leaves external ones shared (and says so)', () => {
    expect(merged.volumes.cache.name).toBe(`${PROJECT}_cache`);
    expect(merged.volumes.shared).toMatchObject({ name: 'team-shared', external: true });
    expect(merged.networks.front.name).toBe(`${PROJECT}_front`);
    expect(notes).toContain('volume team-shared is external: every session shares it');
  });
});
