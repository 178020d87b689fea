// sess init on compose layouts, with compose asked for its model: the repository's own fixtures
// (their sess.yaml replaced with --force) and two made for it; what it writes validates, and sess up
// of it brings every service up (container mode, and hybrid with the built app on the host).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { TestRepo } from '../helpers/sess.js';
import { dockerRepo } from '../helpers/docker.js';

async function init(repo: TestRepo, args: string[] = []): Promise<{ text: string; config: any }> {
  const r = await repo.sess(['init', ...args]);
  expect(r.code, r.stderr).toBe(0);
  const v = await repo.sess(['config', 'validate']);
  expect(v.code, v.stderr).toBe(0);
  const text = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
  expect(text).toMatch(/read with docker compose \d/);
  return { text, config: parse(text) };
}

/** Commit what init wrote (sess up reads sess.yaml from the branch), bring it up, check every service. */
async function upAll(repo: TestRepo, session: string): Promise<any> {
  repo.git('add', 'sess.yaml');
  repo.git('commit', '-qm', 'sess.yaml from sess init');
  const r = await repo.sess(['up', session, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const view = JSON.parse(r.stdout);
  expect(view.status).toBe('up');
  for (const s of view.services) expect([s.name, s.state]).toEqual([s.name, 'running']);
  return view;
}

describe('sess init on the repository fixtures', () => {
  let repo: TestRepo;
  dockerRepo('hybrid-pg', 'each', (r) => (repo = r));

  it('hybrid-pg: databases probed with tcp, the web server with http, container mode', async () => {
    const { config } = await init(repo, ['--force']);
    expect(config.mode).toBe('container');
    expect(config.compose).toEqual({ files: ['compose.yaml'] });
    expect(config.services).toEqual({
      cache: { compose: 'cache', ports: { cache: 6379 }, ready: { tcp: '${ports.cache}' } },
      db: { compose: 'db', ports: { db: 5432 }, ready: { tcp: '${ports.db}' } },
      web: { compose: 'web', ports: { web: 3000 }, ready: { http: 'http://127.0.0.1:${ports.web}/' } },
    });
  });
});

describe('sess init on compose-tricky', () => {
  let repo: TestRepo;
  dockerRepo('compose-tricky', 'each', (r) => (repo = r));

  it('the override file, extends, every published TCP port named, the profile service left out', async () => {
    const { text, config } = await init(repo, ['--force']);
    expect(config.compose.files).toEqual(['compose.yaml', 'compose.override.yaml']);
    expect(Object.keys(config.services)).toEqual(['web']);
    expect(config.services.web.ports).toEqual({
      web: 8000,
      'web-80': 80,
      'web-443': 443,
      'web-9229': 9229,
      'web-5000': 5000,
      'web-3000': 3000,
    });
    expect(text).toContain('worker: in profile jobs');
  });
});

describe('sess init on compose-fixed, then up', () => {
  let repo: TestRepo;
  dockerRepo('compose-fixed', 'all', (r) => (repo = r));

  it('the probe path comes from the healthcheck; sess up of the result: every service ready; rm', async () => {
    const { text, config } = await init(repo, ['--force']);
    expect(config.services.web).toEqual({
      compose: 'web',
      ports: { web: 8080 },
      depends_on: ['kv'],
      ready: { http: 'http://127.0.0.1:${ports.web}/' },
    });
    expect(text).toContain('# guessed: its healthcheck asks this URL');
    expect(config.services.kv.ready).toEqual({ tcp: '${ports.kv}' });
    const view = await upAll(repo, 'feat');
    expect(view.services.map((s: any) => [s.name, s.runtime])).toEqual([
      ['kv', 'compose'],
      ['web', 'compose'],
    ]);
    expect(await (await fetch(`http://127.0.0.1:${view.ports.web}/`)).text()).toContain('web of feat');
    const rm = await repo.sess(['rm', 'feat', '--volumes']);
    expect(rm.code, rm.stderr).toBe(0);
  });
});

describe('sess init on a compose-only project', () => {
  let repo: TestRepo;
  dockerRepo('init-compose-only', 'all', (r) => (repo = r));

  it('writes container mode without a one-shot or a profile service; sess up brings it up', async () => {
    const { text, config } = await init(repo);
    expect(config.mode).toBe('container');
    expect(config.compose.files).toEqual(['compose.yaml', 'compose.override.yaml']);
    expect(config.ports).toEqual({ cache: {}, web: {}, 'web-9229': {} });
    expect(config.services).toEqual({
      cache: { compose: 'cache', ports: { cache: 6379 }, ready: { tcp: '${ports.cache}' } },
      web: {
        compose: 'web',
        ports: { web: 8080, 'web-9229': 9229 },
        depends_on: ['cache'],
        ready: { http: 'http://127.0.0.1:${ports.web}/' },
      },
    });
    expect(text).toMatch(/migrate: a one-shot step others wait for/);
    expect(text).toMatch(/tools: in profile debug/);
    expect(text).toContain('not named (sess names TCP ports): 5353/udp');
    const view = await upAll(repo, 'feat');
    expect(await (await fetch(`http://127.0.0.1:${view.ports.web}/`)).text()).toBe('web\n');
    const rm = await repo.sess(['rm', 'feat', '--volumes']);
    expect(rm.code, rm.stderr).toBe(0);
  });
});

describe('sess init on a compose database and a node app built from the checkout', () => {
  let repo: TestRepo;
  dockerRepo('init-compose-node', 'all', (r) => (repo = r));

  it('container mode: the built service gets a host definition from package.json for later', async () => {
    const { config } = await init(repo);
    expect(config.mode).toBe('container');
    expect(config.hybrid).toBeUndefined();
    expect(config.services.db).toEqual({ compose: 'db', ports: { db: 5432 }, ready: { tcp: '${ports.db}' } });
    expect(config.services.web).toEqual({
      compose: 'web',
      ports: { web: 3000 },
      host: { command: 'npm run dev', cwd: '.' },
      depends_on: ['db'],
      env: { PORT: '${svc.web.port}' },
      ready: { http: 'http://127.0.0.1:${ports.web}/' },
    });
  });

  it('--mode hybrid puts it on the host; sess up: the database in compose, the app on the host, both ready', async () => {
    const { config } = await init(repo, ['--mode', 'hybrid', '--force']);
    expect(config.mode).toBe('hybrid');
    expect(config.hybrid).toEqual({ host: ['web'] });
    const view = await upAll(repo, 'feat');
    expect(view.services.map((s: any) => [s.name, s.runtime])).toEqual([
      ['db', 'compose'],
      ['web', 'host'],
    ]);
    expect(await (await fetch(`http://127.0.0.1:${view.ports.web}/`)).text()).toContain(`hello from feat on ${view.ports.web}`);
    const rm = await repo.sess(['rm', 'feat', '--volumes']);
    expect(rm.code, rm.stderr).toBe(0);
  }, 120_000);
});
