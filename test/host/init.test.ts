// sess init on layouts that need no compose: a node monorepo and a Procfile app (written, validated,
// then brought up as written), the refusals (an existing sess.yaml, nothing to run, a mode that needs
// compose), --print and --json, and compose files read without compose when none is installed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeRepo, type TestRepo } from '../helpers/sess.js';

async function get(url: string): Promise<string> {
  return (await fetch(url)).text();
}

/** Commit what init wrote: `sess up` reads sess.yaml from the branch. */
function commitConfig(repo: TestRepo): void {
  repo.git('add', 'sess.yaml');
  repo.git('commit', '-qm', 'sess.yaml from sess init');
}

describe('sess init: a node monorepo', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('init-node-monorepo');
  });
  afterAll(() => repo.cleanup());

  it('--print writes the file on stdout and nothing on disk', async () => {
    const r = await repo.sess(['init', '--print']);
    expect(r.code, r.stderr).toBe(0);
    expect(parse(r.stdout).services).toHaveProperty('web');
    expect(existsSync(join(repo.root, 'sess.yaml'))).toBe(false);
    expect(repo.git('status', '--porcelain')).toBe('');
  });

  let written: string;
  it('writes a commented sess.yaml that validates: one host service per package with a dev or start script', async () => {
    const r = await repo.sess(['init']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${join(repo.root, 'sess.yaml')} (host mode)`);
    written = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
    const config = parse(written);
    expect(config.mode).toBe('host');
    expect(config.ports).toEqual({ api: {}, web: {} });
    expect(config.services).toEqual({
      api: {
        ports: { api: 3000 },
        host: { command: 'npm run start', cwd: 'packages/api' },
        env: { PORT: '${ports.api}' },
        ready: { http: 'http://127.0.0.1:${ports.api}/' },
      },
      web: {
        ports: { web: 3000 },
        host: { command: 'npm run dev', cwd: 'packages/web' },
        env: { PORT: '${ports.web}' },
        ready: { http: 'http://127.0.0.1:${ports.web}/' },
      },
    });
    expect(written).toContain('# guessed from packages/web/package.json scripts.dev (npm, from package-lock.json)');
    expect(written).toContain('packages/lib: no dev or start script');
    const v = await repo.sess(['config', 'validate']);
    expect(v.code, v.stderr).toBe(0);
  });

  it('refuses to replace an existing sess.yaml (exit 2, naming it); --force replaces it', async () => {
    const refused = await repo.sess(['init']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${join(repo.root, 'sess.yaml')} already exists`);
    expect(refused.stderr).toContain('--force');
    const forced = await repo.sess(['init', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(repo.root, 'sess.yaml'), 'utf8')).toBe(written);
  });

  it('runs from a subfolder and writes at the root of the checkout; --json prints {file, written, config}', async () => {
    const r = await repo.sess(['init', '--print', '--json'], { cwd: join(repo.root, 'packages', 'web') });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.file).toBe(join(repo.root, 'sess.yaml'));
    expect(doc.written).toBe(false);
    expect(doc.config.services.web.host.cwd).toBe('packages/web');
  });

  it('sess up of what init wrote brings both packages up on their own ports', async () => {
    commitConfig(repo);
    const r = await repo.sess(['up', 'feat', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.status).toBe('up');
    expect(view.services.map((s: any) => [s.name, s.runtime, s.state])).toEqual([
      ['api', 'host', 'running'],
      ['web', 'host', 'running'],
    ]);
    expect(view.ports.api).not.toBe(view.ports.web);
    expect(await get(`http://127.0.0.1:${view.ports.web}/`)).toContain(`hello from feat on ${view.ports.web}`);
    expect(await get(`http://127.0.0.1:${view.ports.api}/`)).toContain(`hello from feat on ${view.ports.api}`);
    const rm = await repo.sess(['rm', 'feat']);
    expect(rm.code, rm.stderr).toBe(0);
  });
});

describe('sess init: a Procfile app', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('init-procfile');
  });
  afterAll(() => repo.cleanup());

  it('each process a host service; a port for web only; release is not a service; sess up runs them', async () => {
    const r = await repo.sess(['init']);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
    const config = parse(text);
    expect(config.mode).toBe('host');
    expect(Object.keys(config.services)).toEqual(['web', 'worker']);
    expect(config.services.web).toMatchObject({
      ports: { web: expect.any(Number) },
      host: { command: 'node servers/http.js $PORT', cwd: '.' },
      env: { PORT: '${ports.web}' },
      ready: { http: 'http://127.0.0.1:${ports.web}/' },
    });
    expect(config.services.worker).toEqual({ host: { command: 'node -e "setInterval(() => {}, 1000)"', cwd: '.' } });
    expect(text).toContain('Procfile (release) is a run-once step');
    expect(text).toContain('Makefile target dev is not used: Procfile came first');
    expect((await repo.sess(['config', 'validate'])).code).toBe(0);

    commitConfig(repo);
    const up = await repo.sess(['up', 'feat', '--json']);
    expect(up.code, up.stderr).toBe(0);
    const view = JSON.parse(up.stdout);
    expect(view.services.map((s: any) => [s.name, s.state])).toEqual([
      ['web', 'running'],
      ['worker', 'running'],
    ]);
    expect(await get(`http://127.0.0.1:${view.ports.web}/health`)).toBe('ok\n');
    expect((await repo.sess(['rm', 'feat'])).code).toBe(0);
  });
});

describe('sess init: refusals', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-basic'); // a sess.yaml, and nothing init could read
  });
  afterAll(() => repo.cleanup());

  it('nothing to run found: exit 2 with a hint, and the existing file is left as it was', async () => {
    const before = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
    const refused = await repo.sess(['init']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('sess.yaml already exists');
    const nothing = await repo.sess(['init', '--force']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing found to run');
    expect(nothing.stderr).toMatch(/hint: /);
    expect(readFileSync(join(repo.root, 'sess.yaml'), 'utf8')).toBe(before);
  });

  it('--mode container or hybrid without compose files: exit 2; a bad --mode: exit 2', async () => {
    const r = await repo.sess(['init', '--print', '--mode', 'hybrid']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mode hybrid needs compose files');
    const bad = await repo.sess(['init', '--mode', 'cloud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected container, hybrid or host');
  });
});

describe('sess init: compose files where no compose is installed', () => {
  let repo: TestRepo;
  let bin: string;
  beforeAll(() => {
    repo = makeRepo('init-compose-only');
    // a PATH with git and nothing else: no docker, docker-compose or podman
    bin = mkdtempSync(join(tmpdir(), 'sess-nocompose-'));
    mkdirSync(bin, { recursive: true });
    symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
  });
  afterAll(async () => {
    await repo.cleanup();
    rmSync(bin, { recursive: true, force: true });
  });

  it('reads the YAML itself, says so in the header and on stderr, and the result validates', async () => {
    const r = await repo.sess(['init'], { env: { PATH: bin } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/read with sess's own reading of the YAML \(no compose is installed\)/);
    const text = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
    expect(text).toMatch(/^#\s+compose: compose\.yaml, compose\.override\.yaml, read with sess's own reading of the YAML/m);
    const config = parse(text);
    expect(config.compose).toEqual({ files: ['compose.yaml', 'compose.override.yaml'] });
    // the override's port is merged in; the one-shot and the profile's service are left out
    expect(config.services).toEqual({
      cache: { compose: 'cache', ports: { cache: 6379 }, ready: { tcp: '${ports.cache}' } },
      web: {
        compose: 'web',
        ports: { web: 8080, 'web-9229': 9229 },
        depends_on: ['cache'],
        ready: { http: 'http://127.0.0.1:${ports.web}/' },
      },
    });
    const v = await repo.sess(['config', 'validate'], { env: { PATH: bin } });
    expect(v.code, v.stderr).toBe(0);
  });
});
