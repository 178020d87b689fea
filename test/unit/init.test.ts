// sess init without a repository: the guesses, compose's port syntax as read without compose, the
// draft (names, probes, placement, what is left out) and its YAML, which must always validate.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NamePool, healthPath, probeForCompose, toName, urlInHealthcheck } from '../../core/init/guess.js';
import { parsePort } from '../../core/init/composeYaml.js';
import { draftConfig, type DraftInput } from '../../core/init/draft.js';
import { renderDraft } from '../../core/init/render.js';
import type { ComposeServiceFinding, HostCandidate } from '../../core/init/findings.js';
import { parseConfig } from '../../config/load.js';
import { UsageError } from '../../common/errors.js';

const svc = (name: string, more: Partial<ComposeServiceFinding> = {}): ComposeServiceFinding => ({
  name,
  ports: [],
  otherPorts: [],
  dependsOn: [],
  profiles: [],
  ...more,
});

const candidate = (name: string, cwd: string, more: Partial<HostCandidate> = {}): HostCandidate => ({
  name,
  cwd,
  command: 'npm run dev',
  source: `${cwd === '.' ? '' : `${cwd}/`}package.json scripts.dev`,
  web: true,
  listens: true,
  containerPort: 3000,
  warnings: [],
  ...more,
});

const compose = (...services: ComposeServiceFinding[]): DraftInput['compose'] => ({
  files: ['compose.yaml'],
  readWith: 'docker compose 2.26.1',
  approximate: false,
  services,
  notes: [],
});

/** Draft, render, and check the text validates: what `sess init` does before writing. */
function generate(input: Partial<DraftInput>) {
  const draft = draftConfig({ host: { candidates: [], sources: [], notes: [] }, buildContexts: {}, ...input });
  const text = renderDraft(draft);
  const config = parseConfig(text, 'sess.yaml');
  return { draft, text, config, raw: parse(text) };
}

describe('guesses', () => {
  it('probes: tcp for data stores, http for web servers, the healthcheck path when it reaches the port', () => {
    expect(probeForCompose(svc('db', { image: 'postgres:16' }), 5432).kind).toBe('tcp');
    expect(probeForCompose(svc('primary', { image: 'bitnami/postgresql:16' }), 5432).kind).toBe('tcp');
    expect(probeForCompose(svc('cache', { image: 'busybox' }), 8080).kind).toBe('tcp');
    expect(probeForCompose(svc('web', { image: 'busybox' }), 1234)).toMatchObject({ kind: 'http', path: '/' });
    expect(probeForCompose(svc('proxy', { image: 'nginx:1.27' }), 1234).kind).toBe('http');
    expect(probeForCompose(svc('thing', { image: 'acme/thing' }), 8080)).toMatchObject({
      kind: 'http',
      reason: expect.stringContaining('8080'),
    });
    expect(probeForCompose(svc('kv', { image: 'busybox' }), 6379).kind).toBe('tcp');
    expect(probeForCompose(svc('kv', { healthUrl: 'http://127.0.0.1:6379/ping?x=1' }), 6379)).toMatchObject({
      kind: 'http',
      path: '/ping?x=1',
    });
    expect(healthPath('http://localhost/health', 80)).toBe('/health');
    expect(healthPath('http://localhost:3000/health', 8080)).toBeUndefined();
    expect(healthPath('https://localhost:443/', 443)).toBeUndefined();
    expect(urlInHealthcheck(['CMD-SHELL', 'curl -fsS http://localhost:3000/healthz || exit 1'])).toBe('http://localhost:3000/healthz');
    expect(urlInHealthcheck(['CMD', 'pg_isready'])).toBeUndefined();
  });

  it('names: what the schema accepts, unique, and unique as SESS_PORT_ variables', () => {
    expect(toName('my.app', 'svc')).toBe('my-app');
    expect(toName('@acme/web', 'app')).toBe('web');
    expect(toName('1st', 'svc')).toBe('svc-1st');
    expect(toName('__proto__', 'svc')).toBe('svc-__proto__');
    expect(toName('', 'app')).toBe('app');
    const ports = NamePool.forPorts();
    expect([ports.take('web-1'), ports.take('web_1'), ports.take('web-1')]).toEqual(['web-1', 'web_1-2', 'web-1-3']); // web-1-2 would be SESS_PORT_WEB_1_2 again
  });

  it("compose's port syntax, read without compose", () => {
    expect(parsePort('8080:80')).toEqual([{ target: 80, published: '8080', protocol: 'tcp' }]);
    expect(parsePort('127.0.0.1:5432:5432')).toEqual([{ target: 5432, published: '5432', protocol: 'tcp' }]);
    expect(parsePort('[::1]:81:80')).toEqual([{ target: 80, published: '81', protocol: 'tcp' }]);
    expect(parsePort('5000')).toEqual([{ target: 5000, protocol: 'tcp' }]);
    expect(parsePort(3000)).toEqual([{ target: 3000, protocol: 'tcp' }]);
    expect(parsePort('7000-7001:7000-7001/udp').map((p) => [p.target, p.published, p.protocol])).toEqual([
      [7000, '7000', 'udp'],
      [7001, '7001', 'udp'],
    ]);
    expect(parsePort({ target: 443, published: 8443, protocol: 'tcp' })).toEqual([{ target: 443, published: '8443', protocol: 'tcp' }]);
    expect(parsePort('nonsense')).toEqual([]);
  });
});

describe('draft', () => {
  it('compose services: named ports, probes, depends_on carried over; one-shots and profiles left out', () => {
    const { raw, text, draft } = generate({
      compose: compose(
        svc('db', { image: 'postgres:16', ports: [5432] }),
        svc('my.web', {
          image: 'acme/web',
          ports: [8080, 9229],
          dependsOn: [{ name: 'db' }, { name: 'migrate', condition: 'service_completed_successfully' }],
        }),
        svc('migrate', { image: 'acme/web' }),
        svc('tools', { image: 'busybox', profiles: ['debug'], ports: [9000] }),
        svc('mail', { image: 'mailhog', otherPorts: ['1025/udp'] }),
      ),
    });
    expect(draft.mode).toBe('container');
    expect(raw.compose).toEqual({ files: ['compose.yaml'] });
    expect(raw.ports).toEqual({ db: {}, 'my-web': {}, 'my-web-9229': {} });
    expect(raw.services).toEqual({
      db: { compose: 'db', ports: { db: 5432 }, ready: { tcp: '${ports.db}' } },
      'my-web': {
        compose: 'my.web',
        ports: { 'my-web': 8080, 'my-web-9229': 9229 },
        depends_on: ['db'],
        ready: { http: 'http://127.0.0.1:${ports.my-web}/' },
      },
      mail: { compose: 'mail' },
    });
    expect(text).toMatch(/Left out:\n#\s+migrate: a one-shot step/);
    expect(text).toContain('tools: in profile debug');
    expect(text).toMatch(/ready: \{ tcp: "\$\{ports\.db\}" \} # guessed: a data store, from its name db/);
    expect(text).toContain('not named (sess names TCP ports): 1025/udp');
  });

  it('a build with a host command: host definition, PORT that follows placement; hybrid puts it in hybrid.host', () => {
    const input: Partial<DraftInput> = {
      compose: compose(
        svc('db', { image: 'postgres', ports: [5432] }),
        svc('web', { build: 'web', ports: [3000], dependsOn: [{ name: 'db' }] }),
        svc('worker', { build: 'worker' }),
      ),
      buildContexts: { web: { candidates: [candidate('web', 'web')], from: 'web/package.json scripts.dev' }, worker: { candidates: [] } },
    };
    const container = generate(input);
    expect(container.raw.mode).toBe('container');
    expect(container.raw.hybrid).toBeUndefined();
    expect(container.raw.services.web).toEqual({
      compose: 'web',
      ports: { web: 3000 },
      host: { command: 'npm run dev', cwd: 'web' },
      depends_on: ['db'],
      env: { PORT: '${svc.web.port}' },
      ready: { http: 'http://127.0.0.1:${ports.web}/' },
    });
    const hybrid = generate({ ...input, mode: 'hybrid' });
    expect(hybrid.raw.mode).toBe('hybrid');
    expect(hybrid.raw.hybrid).toEqual({ host: ['web'] });
    expect(hybrid.raw.services.worker).toEqual({ compose: 'worker' });
    expect(hybrid.text).toContain('worker stays in compose: nothing in worker says how to run it on the host');
    expect(hybrid.draft.summary).toEqual([
      'db: in compose (service db)',
      'web: on the host, `npm run dev` in web',
      'worker: in compose (service worker)',
    ]);
  });

  it('host services beside compose: a port each, PORT wired, depending on the data stores', () => {
    const { raw } = generate({
      compose: compose(svc('db', { image: 'postgres', ports: [5432] }), svc('web', { image: 'nginx', ports: [80] })),
      host: {
        candidates: [
          candidate('shop', '.', { portArgs: (p) => `-- --host 127.0.0.1 --port ${p} --strictPort`, containerPort: 5173 }),
          candidate('worker', '.', { source: 'Procfile (worker)', command: 'node worker.js', listens: false, web: false }),
        ],
        sources: ['package.json scripts.dev'],
        notes: [],
      },
    });
    expect(raw.services.shop).toEqual({
      ports: { shop: 5173 },
      host: { command: 'npm run dev -- --host 127.0.0.1 --port ${ports.shop} --strictPort', cwd: '.' },
      depends_on: ['db'],
      env: { PORT: '${ports.shop}' },
      ready: { http: 'http://127.0.0.1:${ports.shop}/' },
    });
    expect(raw.services.worker).toEqual({ host: { command: 'node worker.js', cwd: '.' }, depends_on: ['db'] });
  });

  it('a service and a port called like another are renamed; host mode is the default without compose', () => {
    const { raw, draft } = generate({
      host: { candidates: [candidate('web', 'apps/web'), candidate('web', 'packages/web')], sources: [], notes: [] },
    });
    expect(draft.mode).toBe('host');
    expect(Object.keys(raw.services)).toEqual(['web', 'web-2']);
    expect(raw.services['web-2'].ports).toEqual({ 'web-2': 3000 });
    expect(raw.compose).toBeUndefined();
  });

  it('nothing to run, or a mode that needs compose without compose: exit 2 with a hint', () => {
    const none = () => draftConfig({ host: { candidates: [], sources: [], notes: [] }, buildContexts: {} });
    expect(none).toThrow(UsageError);
    expect(none).toThrow(/nothing found to run/);
    const onlyOneShot = () =>
      draftConfig({
        compose: compose(svc('tools', { profiles: ['x'] })),
        host: { candidates: [], sources: [], notes: [] },
        buildContexts: {},
      });
    expect(onlyOneShot).toThrow(/nothing in compose.yaml for sess to run/);
    const hybrid = () =>
      draftConfig({ mode: 'hybrid', host: { candidates: [candidate('web', '.')], sources: [], notes: [] }, buildContexts: {} });
    expect(hybrid).toThrow(/--mode hybrid needs compose files/);
  });
});
