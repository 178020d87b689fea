// The overlay as data, from a hand-written compose model: placement on the host, depends_on rewrite.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildOverlay, projectName, sessionImage, ON_HOST_PROFILE, rangeSpan } from '../../modes/compose/overlay.js';

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

describe('buildOverlay: networks and protocols', () => {
  const { yaml, notes } = buildOverlay({
    project: 'p',
    model: {
      services: {
        app: {
          image: 'a',
          container_name: 'the-app',
          networks: { default: null, back: {}, shared: {} },
          ports: [{ target: 80, published: '80' }],
        },
        side: { image: 's', network_mode: 'service:app' },
        probe: { image: 'p', network_mode: 'container:the-app' },
        outside: { image: 'o', network_mode: 'container:someone-else' },
        dns: {
          image: 'd',
          ports: [
            { target: 53, published: '53', protocol: 'udp' },
            { target: 5353, published: '5353', protocol: 'udp' },
            { target: 5353, published: '5353', protocol: 'tcp' },
          ],
        },
      },
      networks: { back: {}, shared: { name: 'team', external: true } },
    },
    managed: { dns: { name: 'dns', runtime: 'compose', ports: { dns: [53, 40001], mdns: [5353, 40002] }, env: {}, dependsOn: [] } },
    labels: { repo: 'r', session: 's' },
    baseEnv: {},
    extraPorts: { 'app.80': 40003, 'dns.5353/udp': 40004 },
  });
  const doc = parse(yaml, {
    customTags: [{ tag: '!override', resolve: (v: unknown) => v, collection: 'seq' } as any, { tag: '!reset', resolve: () => null } as any],
  });

  it('keeps a dropped container_name as an alias on each of its networks (not on a shared external one)', () => {
    expect(doc.services.app.container_name).toBeNull();
    expect(doc.services.app.networks).toEqual({ default: { aliases: ['the-app'] }, back: { aliases: ['the-app'] } });
  });

  it('gives a service in another network no ports or hosts, and points container: at the service', () => {
    for (const s of ['side', 'probe', 'outside']) {
      expect(doc.services[s].ports).toBeUndefined();
      expect(doc.services[s].extra_hosts).toBeUndefined();
      expect(doc.services[s].labels['dev.sess.session']).toBe('s');
    }
    expect(doc.services.probe.network_mode).toBe('service:app');
    expect(doc.services.outside.network_mode).toBeUndefined();
    expect(notes.join('\n')).toContain('shares the network of container someone-else, outside the project');
  });

  it('publishes a named port with the protocol the file gives it, the other protocol on its own lease', () => {
    expect(doc.services.dns.ports).toEqual([
      { target: 53, published: '40001', host_ip: '127.0.0.1', protocol: 'udp' },
      { target: 5353, published: '40002', host_ip: '127.0.0.1', protocol: 'tcp' },
      { target: 5353, published: '40004', host_ip: '127.0.0.1', protocol: 'udp' },
    ]);
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

describe('rangeSpan', () => {
  it('counts the ports of a published range, one for a single port', () => {
    expect(rangeSpan('8000-8001')).toBe(2);
    expect(rangeSpan('9000-9009')).toBe(10);
    expect(rangeSpan('8080')).toBe(1);
    expect(rangeSpan(8080)).toBe(1);
    expect(rangeSpan(undefined)).toBe(1);
    expect(rangeSpan('9001-9000')).toBe(1);
  });
});
