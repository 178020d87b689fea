// Container mode without `services:`: every service `docker compose up` starts runs (not a profile's,
// not a one-shot its dependents wait for), each published port leased under a generated name, two
// sessions side by side; a service listed later refines it (env, ready) on the same leases.
import { describe, expect, it } from 'vitest';
import { editConfig, leasesOf, type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerRepo, expectFreshSessionGone, expectNothingInDocker } from '../helpers/docker.js';

const text = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).text();

describe('container mode without listing services', () => {
  let repo: TestRepo;
  dockerRepo('compose-unlisted', 'all', (r) => (repo = r));

  let a: any;
  let b: any;
  it('runs every service compose would start, side by side, ports under generated names', async () => {
    const [ra, rb] = await Promise.all([repo.sess(['up', 'feat-a', '--json']), repo.sess(['up', 'feat-b', '--json'])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    a = JSON.parse(ra.stdout);
    b = JSON.parse(rb.stdout);
    for (const view of [a, b]) {
      expect(view.status).toBe('up');
      expect(Object.keys(view.ports).sort()).toEqual(['api', 'api-9001', 'web']);
      expect(view.services.map((s: any) => [s.name, s.runtime, s.state, Object.keys(s.ports)])).toEqual([
        ['api', 'compose', 'running', ['api', 'api-9001']],
        ['web', 'compose', 'running', ['web']],
      ]);
    }
    for (const p of Object.values(a.ports)) expect(Object.values(b.ports)).not.toContain(p);
    expect(await text(a.ports.web)).toBe('web of feat-a\n');
    expect(await text(b.ports.web)).toBe('web of feat-b\n');
    expect(await text(a.ports['api-9001'])).toBe('api\n');
    expect(await text(b.ports.api)).toBe('api\n');
    // the tools profile does not run; the one-shot ran before web and is no service of the session
    const names = containersOf(repo, 'feat-a').map((c) => [c.name.replace(/^.*-(\w+)-\d+$/, '$1'), c.state]);
    expect(names.sort()).toEqual([
      ['api', 'running'],
      ['migrate', 'exited'],
      ['web', 'running'],
    ]);
    expect(leasesOf(repo, 'feat-a')).toMatchObject({ api: a.ports.api, 'api-9001': a.ports['api-9001'], web: a.ports.web });
  });

  it('status and env show the generated ports; a re-up is a no-op', async () => {
    const st = await repo.json(['status', 'feat-a']);
    expect(st.status).toBe('up');
    expect(st.ports).toEqual(a.ports);
    const r = await repo.sess(['env', 'feat-a', '--format', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ SESS_PORT_API_9001: String(a.ports['api-9001']), SESS_PORT_WEB: String(a.ports.web) });
    const again = await repo.sess(['up', 'feat-a']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already up and unchanged');
  });

  it('a service listed in sess.yaml refines it: its env and ready probe, on the same leases', async () => {
    const apiBefore = containersOf(repo, 'feat-a').find((c) => c.name.includes('-api-'))!.id;
    editConfig(
      a.worktree,
      'files: [compose.yaml]',
      'files: [compose.yaml]\nports:\n  web: {}\nservices:\n  web:\n    compose: web\n    ports: { web: 8080 }\n    env: { GREETING: hello }\n    ready: { http: "http://127.0.0.1:${ports.web}/", timeout: 60 }\n',
    );
    const r = await repo.sess(['up', 'feat-a', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.ports).toEqual(a.ports);
    expect(view.services.map((s: any) => s.name)).toEqual(['web', 'api']);
    expect(await text(a.ports.web)).toBe('web of feat-a, hello\n');
    expect(containersOf(repo, 'feat-a').find((c) => c.name.includes('-api-'))!.id).toBe(apiBefore);
    // the other session is untouched
    expect(await text(b.ports.web)).toBe('web of feat-b\n');
  });

  it('a mode that does not run unlisted services refuses a config without any (exit 2, nothing made)', async () => {
    const r = await repo.sess(['up', 'hosty', '--mode', 'host']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('services');
    expect(r.stderr).toContain('container mode');
    expect(leasesOf(repo, 'hosty')).toEqual({});
    expectNothingInDocker(repo, 'hosty', expect);
  });

  it('rm takes everything of both sessions away', async () => {
    for (const s of ['feat-a', 'feat-b']) {
      const r = await repo.sess(['rm', s, '--force', '--volumes']);
      expect(r.code, r.stderr).toBe(0);
      expectNothingInDocker(repo, s, expect);
    }
    expectFreshSessionGone(repo, 'feat-a', expect);
  });
});
