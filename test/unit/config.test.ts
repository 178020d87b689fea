// Pure logic of the config: parsing with defaults, interpolation, placement, resolution, hashing.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { dependencyOrder } from '../../config/order.js';
import { interpolate } from '../../config/interpolate.js';
import { placeServices } from '../../modes/placement.js';
import { hashOf, resolveAll } from '../../core/up/resolve.js';
import { ConfigError, UsageError } from '../../common/errors.js';

const SPEC_EXAMPLE = `
version: 1
mode: hybrid
worktree:
  dir: ../{repo}.sess
  base: main
  include: [node_modules, .env.local]
  link: [.env]
compose:
  files: [compose.yaml]
ports:
  web: {}
  db: { prefer: 15432 }
env:
  DATABASE_URL: "postgres://postgres@\${svc.db.host}:\${svc.db.port}/app"
env_file: .env.sess
services:
  db:
    compose: db
    ports: { db: 5432 }
    host:
      command: "postgres -D \${session.dir}/pg -p \${ports.db} -k /tmp"
    ready: { tcp: "\${ports.db}", timeout: 60 }
  web:
    compose: web
    ports: { web: 3000 }
    host:
      command: "node server.js"
      cwd: .
    depends_on: [db]
    env: { LOG_LEVEL: debug }
    ready: { http: "http://127.0.0.1:\${ports.web}/health", timeout: 60 }
    stop: { signal: SIGTERM, grace: 10 }
    replace: recreate
hybrid:
  host: [web]
hooks:
  post_create: ["npm ci"]
  pre_spawn: []
  post_up: []
  pre_down: []
sandboxes: { max: 5, ttl_days: 14 }
`;

const session = {
  name: 'feature-login',
  branch: 'feature/login',
  mode: 'hybrid' as const,
  worktree: '/w/feature-login',
  dir: '/s/feature-login',
  repoRoot: '/r',
};

describe('parseConfig', () => {
  it('accepts the example of SPEC.md and fills defaults', () => {
    const c = parseConfig(SPEC_EXAMPLE, 'sess.yaml');
    expect(c.mode).toBe('hybrid');
    expect(c.ports.db).toEqual({ prefer: 15432 });
    expect(c.services.db!.stop).toEqual({ signal: 'SIGTERM', grace: 10 });
    expect(c.services.db!.ready).toMatchObject({ interval: 0.25, timeout: 60 });
    expect(dependencyOrder(c)).toEqual(['db', 'web']);
  });

  it('defaults: host mode, ../{repo}.sess, .env.sess, no hooks', () => {
    const c = parseConfig('version: 1\nports: { p: }\nservices:\n  a: { host: { command: x } }\n', 'f');
    expect(c.mode).toBe('host');
    expect(c.worktree).toEqual({ dir: '../{repo}.sess', include: [], link: [] });
    expect(c.env_file).toBe('.env.sess');
    expect(c.ports.p).toEqual({});
    expect(c.hooks.post_create).toEqual([]);
  });

  it('refuses paths that leave the repository', () => {
    expect(() => parseConfig('version: 1\nworktree: { include: [../x] }\nservices: { a: { host: { command: x } } }', 'f')).toThrow(
      /worktree\.include\.0: a path inside the repository/,
    );
  });

  it('needs services unless compose files are given (container mode then runs every compose service)', () => {
    expect(() => parseConfig('version: 1', 'f')).toThrow(/services: at least one service \(or mode: container, which runs every service/);
    expect(parseConfig('version: 1\nmode: container\ncompose: { files: [compose.yaml] }', 'f').services).toEqual({});
    expect(parseConfig('version: 1\nmode: container', 'f').services).toEqual({});
    // another mode may still come to container mode with --mode
    expect(parseConfig('version: 1\ncompose: { files: [compose.yaml] }', 'f').services).toEqual({});
  });

  it('names the file in its error', () => {
    try {
      parseConfig('version: 2\nservices: []', 'the/file.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain('the/file.yaml: invalid configuration');
      expect((error as ConfigError).problems.map((p) => p.path)).toEqual(['version', 'services']);
    }
  });
});

describe('placement', () => {
  const c = parseConfig(SPEC_EXAMPLE, 'f');
  it('follows the table of modes', () => {
    expect(placeServices(c, 'hybrid', { host: [], container: [] })).toEqual({ db: 'compose', web: 'host' });
    expect(placeServices(c, 'container', { host: [], container: [] })).toEqual({ db: 'compose', web: 'compose' });
    expect(placeServices(c, 'host', { host: [], container: [] })).toEqual({ db: 'host', web: 'host' });
  });
  it('--host / --container move one service', () => {
    expect(placeServices(c, 'hybrid', { host: ['db'], container: ['web'] })).toEqual({ db: 'host', web: 'compose' });
    expect(() => placeServices(c, 'hybrid', { host: ['nope'], container: [] })).toThrow(UsageError);
  });
});

describe('resolution', () => {
  const c = parseConfig(SPEC_EXAMPLE, 'f');
  const ports = { web: 43121, db: 15432 };

  it('addresses depend on where the reader and the target run', () => {
    const hybrid = resolveAll(c, { db: 'compose', web: 'host' }, ports, session);
    expect(hybrid.services.web!.env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:15432/app');
    expect(hybrid.services.db!.env.DATABASE_URL).toBe('postgres://postgres@db:5432/app');
    const container = resolveAll(c, { db: 'host', web: 'compose' }, ports, session);
    expect(container.services.web!.env.DATABASE_URL).toBe('postgres://postgres@host.docker.internal:15432/app');
    expect(hybrid.hostEnv.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:15432/app');
  });

  it('every service gets the SESS_ variables', () => {
    const r = resolveAll(c, { db: 'compose', web: 'host' }, ports, session);
    expect(r.services.web!.env).toMatchObject({
      SESS_SESSION: 'feature-login',
      SESS_BRANCH: 'feature/login',
      SESS_MODE: 'hybrid',
      SESS_WORKTREE: '/w/feature-login',
      SESS_PORT_WEB: '43121',
      SESS_PORT_DB: '15432',
      LOG_LEVEL: 'debug',
    });
  });

  it('branch-derived values reach shell commands only through the environment', () => {
    const r = resolveAll(c, { db: 'host', web: 'host' }, ports, { ...session, name: 'x;rm -rf ~', dir: '/s/x;rm -rf ~' });
    expect(r.services.db!.host!.command).toBe('postgres -D "${SESS_DIR}"/pg -p 15432 -k /tmp');
    expect(r.services.db!.env.SESS_DIR).toBe('/s/x;rm -rf ~');
  });

  it('probes are resolved for the host', () => {
    const r = resolveAll(c, { db: 'compose', web: 'host' }, ports, session);
    expect(r.services.db!.ready).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 15432, timeout: 60, interval: 0.25 });
    expect(r.services.web!.ready).toMatchObject({ kind: 'http', url: 'http://127.0.0.1:43121/health' });
  });

  it('the hash changes with what a service does, and only then', () => {
    const a = resolveAll(c, { db: 'compose', web: 'host' }, ports, session);
    const b = resolveAll(c, { db: 'compose', web: 'host' }, ports, session);
    expect(hashOf(a.services.web)).toBe(hashOf(b.services.web));
    const changed = parseConfig(SPEC_EXAMPLE.replace('LOG_LEVEL: debug', 'LOG_LEVEL: info'), 'f');
    const d = resolveAll(changed, { db: 'compose', web: 'host' }, ports, session);
    expect(hashOf(d.services.web)).not.toBe(hashOf(a.services.web));
    expect(hashOf(d.services.db)).toBe(hashOf(a.services.db));
    expect(hashOf({ b: 1, a: 2 })).toBe(hashOf({ a: 2, b: 1 }));
  });
});

describe('interpolate', () => {
  const scope = { ports: { web: 1 }, values: { 'session.name': 'n' }, svc: () => ({ host: 'h', port: 2 }) };
  it('leaves expressions that are not ours to the shell', () => {
    expect(interpolate('echo ${HOME} $USER ${ports.web}', scope, true)).toBe('echo ${HOME} $USER 1');
  });
  it('pastes session values outside shells', () => {
    expect(interpolate('${session.name}-${svc.x.host}:${svc.x.port}', scope, false)).toBe('n-h:2');
  });
});
