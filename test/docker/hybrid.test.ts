// Hybrid mode with a real Postgres and Redis in compose and a node web app on the host: data
// written survives down/up and a failed resume; --container/--host move web and the addresses follow.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { alive, eventually, ourProcesses, type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerRepo, projectOf, runningOf, volumesOf } from '../helpers/docker.js';
import { get as viaProxy } from '../helpers/http.js';

const get = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
};

describe('hybrid: Postgres + Redis in compose, web on the host', () => {
  let repo: TestRepo;
  let view: any;
  let checksum: string;
  const web = () => `http://127.0.0.1:${view.ports.web}`;
  dockerRepo('hybrid-pg', 'all', (r) => (repo = r));

  it('comes up: db and cache in compose, web on the host reaching them on 127.0.0.1', async () => {
    const r = await repo.sess(['up', 'feature/data', '--json']);
    expect(r.code, r.stderr).toBe(0);
    view = JSON.parse(r.stdout);
    expect(view.services.map((s: any) => [s.name, s.runtime, s.state])).toEqual([
      ['db', 'compose', 'running'],
      ['cache', 'compose', 'running'],
      ['web', 'host', 'running'],
    ]);
    expect((await get(`${web()}/env`)).text).toBe(
      `DATABASE_URL=postgres://postgres@127.0.0.1:${view.ports.db}/postgres\nREDIS_ADDR=127.0.0.1:${view.ports.cache}\n`,
    );
    // web (an http probe) has a stable URL through the local proxy; db and cache (tcp, none) do not
    const url = view.services.find((s: any) => s.name === 'web').url;
    expect(url).toMatch(/^http:\/\/web\.feature-data\.app(-[0-9a-f]{4})?\.localhost:\d+\/$/);
    expect(view.services.filter((s: any) => s.url).map((s: any) => s.name)).toEqual(['web']);
    expect((await viaProxy(`${url}env`)).body).toContain(`REDIS_ADDR=127.0.0.1:${view.ports.cache}`);
    // web's compose name still resolves in the containers, to the host, and sess said how to call it
    const db = containersOf(repo, 'feature-data').find((c) => c.name.includes('-db-'))!;
    const gateway = execFileSync('docker', ['exec', db.name, 'getent', 'hosts', 'host.docker.internal'], { encoding: 'utf8' }).split(
      /\s+/,
    )[0];
    expect(execFileSync('docker', ['exec', db.name, 'getent', 'hosts', 'web'], { encoding: 'utf8' }).split(/\s+/)[0]).toBe(gateway);
    expect(r.stderr).toContain(
      'compose service web runs on the host: containers still reach it as web, on its leased port (${svc.web.port})',
    );
  });

  it('writes rows to Postgres and a counter to Redis', async () => {
    expect((await get(`${web()}/rows?n=200`, { method: 'POST' })).text).toBe('inserted\n');
    const sum = JSON.parse((await get(`${web()}/checksum`)).text);
    expect(sum).toMatchObject({ rows: 200, counter: 200 });
    checksum = JSON.stringify(sum);
  });

  it('the data survives down and up', async () => {
    expect((await repo.sess(['down', 'feature-data'])).code).toBe(0);
    expect(runningOf(repo, 'feature-data')).toEqual([]);
    expect(volumesOf(projectOf(repo, 'feature-data'))).toHaveLength(2);
    const r = await repo.sess(['up', 'feature-data']);
    expect(r.code, r.stderr).toBe(0);
    expect((await get(`${web()}/checksum`)).text.trim()).toBe(checksum);
  });

  it('a resume whose post_up fails is rolled back, keeping volumes and the services that were healthy', async () => {
    const before = containersOf(repo, 'feature-data');
    const st = await repo.json(['status', 'feature-data']);
    const webPid = st.services.find((s: any) => s.name === 'web').pid;
    process.kill(-webPid, 'SIGKILL'); // web is down: this up will start it, then fail
    const r = await repo.sess(['up', 'feature-data'], { env: { FAIL: 'post_up' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('post_up hook');
    // the containers that were running before are the same ones, still running
    expect(containersOf(repo, 'feature-data')).toEqual(before);
    expect(ourProcesses(repo.id(), 'feature-data')).toEqual([]);
    expect(alive(webPid)).toBe(false);
    const history = await repo.json(['history', 'feature-data']);
    expect(history.at(-1)).toMatchObject({ trigger: 'resume', status: 'rolled_back' });
    expect((await repo.sess(['up', 'feature-data'])).code).toBe(0);
    expect((await get(`${web()}/checksum`)).text.trim()).toBe(checksum);
  });

  it('a failed resume from down keeps the volumes and the data', async () => {
    expect((await repo.sess(['down', 'feature-data'])).code).toBe(0);
    const r = await repo.sess(['up', 'feature-data'], { env: { FAIL: 'post_up' } });
    expect(r.code).toBe(1);
    expect(runningOf(repo, 'feature-data')).toEqual([]);
    expect(volumesOf(projectOf(repo, 'feature-data'))).toHaveLength(2);
    expect((await repo.sess(['up', 'feature-data'])).code).toBe(0);
    expect((await get(`${web()}/checksum`)).text.trim()).toBe(checksum);
  });

  it('--container web moves web into compose; the addresses it gets follow', async () => {
    const r = await repo.sess(['up', 'feature-data', '--container', 'web', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const moved = JSON.parse(r.stdout);
    expect(moved.services.find((s: any) => s.name === 'web')).toMatchObject({ runtime: 'compose', state: 'running' });
    expect(ourProcesses(repo.id(), 'feature-data')).toEqual([]);
    expect((await get(`${web()}/cgi-bin/env`)).text).toBe('DATABASE_URL=postgres://postgres@db:5432/postgres\nREDIS_ADDR=cache:6379\n');
    // its stable URL did not move with it: the proxy reaches it in compose as it did on the host
    const url = moved.services.find((s: any) => s.name === 'web').url;
    expect(url).toBe(view.services.find((s: any) => s.name === 'web').url);
    expect((await viaProxy(`${url}cgi-bin/env`)).body).toContain('DATABASE_URL=postgres://postgres@db:5432/postgres');
    // sticky: a plain up keeps web in compose and changes nothing
    const again = await repo.sess(['up', 'feature-data']);
    expect(again.stderr).toContain('already up and unchanged');
  });

  it('--host web brings it back to the host', async () => {
    const r = await repo.sess(['up', 'feature-data', '--host', 'web', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).services.find((s: any) => s.name === 'web').runtime).toBe('host');
    expect(containersOf(repo, 'feature-data').some((c) => c.name.includes('-web-'))).toBe(false);
    expect((await get(`${web()}/checksum`)).text.trim()).toBe(checksum);
  });

  it('logs merges compose and host logs with a service prefix', async () => {
    const r = await repo.sess(['logs', 'feature-data', '--tail', '5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^db    \| .*ready to accept connections/m);
    expect(r.stdout).toMatch(/^cache \| .*Ready to accept connections/m);
    expect(r.stdout).toMatch(/^web   \| web on \d+$/m);
    expect(r.stdout).not.toContain('\x1b');
  });

  it('logs -f of a compose service until Ctrl+C: its lines only, then exit 130', async () => {
    const { child, done } = repo.start(['logs', 'feature-data', 'cache', '-f', '--tail', '2']);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await eventually(() => out.includes('cache |'), 15_000, 'the first lines');
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    const lines = r.stdout.trim().split('\n');
    expect(lines.every((l) => l.startsWith('cache | '))).toBe(true);
    expect(r.stdout).not.toContain('canceled');
  });

  it('rm --volumes takes everything away', async () => {
    expect((await repo.sess(['rm', 'feature-data', '--volumes', '--force'])).code).toBe(0);
    expect(containersOf(repo)).toEqual([]);
    expect(volumesOf(projectOf(repo, 'feature-data'))).toEqual([]);
  });
});
