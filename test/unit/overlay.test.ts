// The overlay as data, from a hand-written compose model: placement on the host, depends_on rewrite.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildOverlay, projectName, sessionImage, ON_HOST_PROFILE } from '../../modes/compose/overlay.js';

const model = {
  services: {
    db: { image: 'pg', ports: [{ target: 5432, published: '5432' }], healthcheck: { test: ['CMD', 'true'] } },
    web: { image: 'web', depends_on: { db: { condition: 'service_started' }, api: { condition: 'service_started' } } },
    api: { image: 'api', ports: [{ target: 8080, published: '8080' }] },
  },
};

describe('buildOverlay', () => {
  const { yaml } = buildOverlay({
    project: 'p',
    model,
    managed: {
      db: { name: 'db', runtime: 'compose', ports: { db: [5432, 40001] }, env: { URL: 'db:5432' }, dependsOn: [] },
      api: { name: 'api', runtime: 'host', ports: { api: [8080, 40002] }, env: {}, dependsOn: [] },
      web: { name: 'web', runtime: 'compose', ports: {}, env: {}, dependsOn: ['db'] },
    },
    labels: { repo: 'r', session: 's' },
    baseEnv: {},
    extraPorts: {},
  });
  const doc = parse(yaml, {
    customTags: [
      { tag: '!override', resolve: (v: unknown) => v, collection: 'seq' } as any,
      { tag: '!override', resolve: (v: unknown) => v, collection: 'map' } as any,
      { tag: '!reset', resolve: () => null } as any,
    ],
  });

  it('keeps a service sess runs on the host out of compose', () => {
    expect(yaml).toContain(`profiles: !override\n      - ${ON_HOST_PROFILE}`);
    expect(doc.services.api.ports).toEqual([]);
  });

  it('drops depends_on on services that run on the host', () => {
    expect(yaml).toMatch(/depends_on: !override/);
    expect(Object.keys(doc.services.web.depends_on)).toEqual(['db']);
  });

  it('publishes named ports on 127.0.0.1 with the leased port', () => {
    expect(doc.services.db.ports).toEqual([{ target: 5432, published: '40001', host_ip: '127.0.0.1', protocol: 'tcp' }]);
    expect(doc.services.db.environment).toEqual({ URL: 'db:5432' });
  });
});

describe('projectName', () => {
  it('is lowercase, of the repository, the session and the stable id', () => {
    expect(projectName('my-shop', 'abcdef123456', 'feature-login')).toBe('sess-my-shop-feature-login-abcdef12');
    expect(projectName('My.Shop', 'abcdef123456', 'Feature-Login')).toMatch(/^sess-my-shop-feature-login-[0-9a-f]{6}-abcdef12$/);
  });

  it('never gives two session names one project (the slug alone would: x.y and x-y, Foo and foo)', () => {
    const names = ['x.y', 'x-y', 'x_y', 'Foo', 'foo', 'FOO', '-a', 'a', `${'l'.repeat(60)}1`, `${'l'.repeat(60)}2`];
    const projects = names.map((n) => projectName('app', 'abcdef123456', n));
    expect(new Set(projects).size).toBe(names.length);
    for (const p of projects) expect(p).toMatch(/^[a-z0-9][a-z0-9_-]*-abcdef12$/);
  });
});

describe('sessionImage', () => {
  it("puts the project in the tag, keeping the image's repository (registry ports and digests included)", () => {
    expect(sessionImage('shop/web:dev', 'p')).toBe('shop/web:p');
    expect(sessionImage('shop/web', 'p')).toBe('shop/web:p');
    expect(sessionImage('localhost:5000/shop/web:1.2', 'p')).toBe('localhost:5000/shop/web:p');
    expect(sessionImage('localhost:5000/web', 'p')).toBe('localhost:5000/web:p');
    expect(sessionImage(`web@sha256:${'a'.repeat(64)}`, 'p')).toBe('web:p');
  });

  it('renames a built image for every service that runs it, and leaves pulled images alone', () => {
    const { yaml } = buildOverlay({
      project: 'p',
      model: {
        services: {
          web: { image: 'shop/web:dev', build: { context: '/w' } },
          worker: { image: 'shop/web:dev' },
          db: { image: 'pg:16' },
        },
      },
      managed: {},
      labels: { repo: 'r', session: 's' },
      baseEnv: {},
      extraPorts: {},
    });
    const doc = parse(yaml);
    expect(doc.services.web.image).toBe('shop/web:p');
    expect(doc.services.worker.image).toBe('shop/web:p');
    expect(doc.services.db.image).toBeUndefined();
  });
});
