// Two sessions of an ordinary compose project (fixed host ports, container_name, a fixed volume
// name) run side by side, each on its own leased ports on 127.0.0.1, sharing nothing.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { leasesOf, type TestRepo } from '../helpers/sess.js';
import { get } from '../helpers/http.js';
import { containersOf, dockerRepo, networksOf, projectOf, runningOf, volumesOf } from '../helpers/docker.js';

describe('container mode over fixed ports and names', () => {
  let repo: TestRepo;
  dockerRepo('compose-fixed', 'all', (r) => (repo = r));

  let a: any;
  let b: any;
  it('two sessions up at once: both up, distinct ports, both answering', async () => {
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json']), repo.sess(['up', 'feat-b', '--json'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    a = JSON.parse(ra.stdout);
    b = JSON.parse(rb.stdout);
    expect(a.mode).toBe('container');
    expect(a.services.map((s: any) => [s.name, s.runtime, s.state])).toEqual([
      ['kv', 'compose', 'running'],
      ['web', 'compose', 'running'],
    ]);
    for (const p of Object.values(a.ports)) expect(Object.values(b.ports)).not.toContain(p);
    expect(await (await fetch(`http://127.0.0.1:${a.ports.web}/`)).text()).toBe('web of feat-a, kv at kv:6379\n');
    expect(await (await fetch(`http://127.0.0.1:${b.ports.web}/`)).text()).toBe('web of feat-b, kv at kv:6379\n');
    expect(rb.stderr + ra.stderr).toContain('container_name shop-web dropped');
    // each session's web through its stable URL (the local proxy, to the port compose publishes)
    const urlA = a.services.find((s: any) => s.name === 'web').url;
    const urlB = b.services.find((s: any) => s.name === 'web').url;
    expect(urlA).not.toBe(urlB);
    expect((await get(urlA)).body).toBe('web of feat-a, kv at kv:6379\n');
    expect((await get(urlB)).body).toBe('web of feat-b, kv at kv:6379\n');
    expect((await get(a.url)).body).toBe('web of feat-a, kv at kv:6379\n');
  });

  it('publishes only on 127.0.0.1, with names, networks and volumes of their own', () => {
    const ports = execFileSync('docker', ['ps', '--filter', `label=dev.sess.repo=${repo.id()}`, '--format', '{{.Ports}}'], {
      encoding: 'utf8',
    });
    for (const line of ports.split('\n').filter(Boolean)) expect(line).toMatch(/^127\.0\.0\.1:\d+->\d+\/tcp$/);
    const names = [...containersOf(repo, 'feat-a'), ...containersOf(repo, 'feat-b')].map((c) => c.name);
    expect(new Set(names).size).toBe(4);
    expect(names).not.toContain('shop-web');
    expect(volumesOf(projectOf(repo, 'feat-a'))).toEqual([`${projectOf(repo, 'feat-a')}_data`]);
    expect(volumesOf(projectOf(repo, 'feat-b'))).toEqual([`${projectOf(repo, 'feat-b')}_data`]);
    expect(networksOf(projectOf(repo, 'feat-a'))).toEqual([`${projectOf(repo, 'feat-a')}_default`]);
  });

  it('a published port no named port covers is leased too (the tools profile service)', () => {
    const leases = leasesOf(repo, 'feat-a');
    expect(Object.keys(leases).sort()).toEqual(['compose:admin.9090', 'kv', 'web']);
    // it gets the session env too, top-level env included, addresses as compose sees them
    const overlay = parseDocument(
      readFileSync(join(repo.root, '.git', 'sess', 'sessions', 'feat-a', 'compose.overlay.yaml'), 'utf8'),
    ).toJS();
    expect(overlay.services.admin.environment).toMatchObject({ KV_ADDR: 'kv:6379', SESS_SESSION: 'feat-a' });
  });

  it('status and ls read containers by label; a stopped container shows as exited', async () => {
    const [web] = containersOf(repo, 'feat-b').filter((c) => c.name.includes('-web-'));
    execFileSync('docker', ['stop', '--time', '1', web!.id]);
    const st = await repo.json(['status', 'feat-b']);
    expect(st.status).toBe('partial');
    expect(st.services.find((s: any) => s.name === 'web').state).toBe('exited');
    const ls = await repo.json(['ls']);
    expect(ls.find((s: any) => s.name === 'feat-a').status).toBe('up');
    // up brings it back, and leaves kv alone
    const kvBefore = containersOf(repo, 'feat-b').find((c) => c.name.includes('-kv-'))!.id;
    const up = await repo.json(['up', 'feat-b']);
    expect(up.status).toBe('up');
    expect(containersOf(repo, 'feat-b').find((c) => c.name.includes('-kv-'))!.id).toBe(kvBefore);
  });

  it('no-op up of an unchanged container session touches nothing', async () => {
    const before = containersOf(repo, 'feat-a')
      .map((c) => c.id)
      .sort();
    const r = await repo.sess(['up', 'feat-a']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('already up and unchanged');
    expect(r.stderr).not.toContain('compose up');
    expect(
      containersOf(repo, 'feat-a')
        .map((c) => c.id)
        .sort(),
    ).toEqual(before);
  });

  it('down keeps the volume, rm keeps it, rm --volumes deletes it', async () => {
    expect((await repo.sess(['down', 'feat-a'])).code).toBe(0);
    expect(runningOf(repo, 'feat-a')).toEqual([]);
    expect(volumesOf(projectOf(repo, 'feat-a'))).toHaveLength(1);
    expect((await repo.sess(['rm', 'feat-a'])).code).toBe(0);
    expect(volumesOf(projectOf(repo, 'feat-a'))).toHaveLength(1);
    expect((await repo.sess(['rm', 'feat-b', '--volumes'])).code).toBe(0);
    expect(volumesOf(projectOf(repo, 'feat-b'))).toEqual([]);
    expect(networksOf(projectOf(repo, 'feat-b'))).toEqual([]);
    expect(containersOf(repo)).toEqual([]);
  });
});

describe('session names that differ only where a compose project name cannot', () => {
  let repo: TestRepo;
  dockerRepo('compose-fixed', 'all', (r) => (repo = r));

  it("x.y and x-y get projects of their own: neither takes the other's containers or volume", async () => {
    const first = await repo.json(['up', 'x.y']);
    const second = await repo.json(['up', 'x-y']);
    expect(first.status).toBe('up');
    expect(second.status).toBe('up');
    const [p1, p2] = [projectOf(repo, 'x.y'), projectOf(repo, 'x-y')];
    expect(p1).not.toBe(p2);
    expect(containersOf(repo, 'x.y').every((c) => c.state === 'running')).toBe(true);
    expect(containersOf(repo, 'x.y').length).toBeGreaterThan(0);
    expect(volumesOf(p1)).toHaveLength(1);
    expect(volumesOf(p2)).toHaveLength(1);
    expect((await repo.json(['status', 'x.y'])).status).toBe('up');
    expect((await repo.sess(['rm', 'x-y', '--volumes'])).code).toBe(0);
    expect(volumesOf(p1)).toHaveLength(1);
    expect((await repo.json(['status', 'x.y'])).status).toBe('up');
    expect((await repo.sess(['rm', 'x.y', '--volumes'])).code).toBe(0);
    expect(containersOf(repo)).toEqual([]);
  });
});

describe('a change that replaces a compose service and what depends on it', () => {
  let repo: TestRepo;
  dockerRepo('compose-fixed', 'all', (r) => (repo = r));

  it('a top-level env change replaces kv, then web (never two compose ups creating kv at once), four times over', async () => {
    const first = await repo.json(['up', 'dep']);
    const file = join(first.worktree, 'sess.yaml');
    const text = readFileSync(file, 'utf8');
    for (let i = 1; i <= 4; i++) {
      writeFileSync(file, text.replace('env:\n', `env:\n  ROUND: "${i}"\n`));
      const r = await repo.sess(['up', 'dep']);
      expect(r.code, r.stderr).toBe(0);
      const release = (await repo.json(['history', 'dep'])).at(-1);
      expect(release.status).toBe('completed');
      expect(release.services.map((s: any) => [s.name, s.action])).toEqual([
        ['kv', 'replaced'],
        ['web', 'replaced'],
      ]);
    }
    expect((await repo.json(['status', 'dep'])).status).toBe('up');
    expect((await repo.sess(['rm', 'dep', '--volumes', '--force'])).code).toBe(0);
  }, 180_000); // four compose replacements of two services: over a minute on a loaded 2-core machine
});
