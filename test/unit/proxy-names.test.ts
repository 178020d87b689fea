// Host names of the proxy: labels from any name, unique repository labels, the table's hosts.
import { describe, expect, it } from 'vitest';
import { hostLabel, uniqueRepoLabel } from '../../core/proxy/labels.js';
import { hostRoutes, normalizeHost, parseTable, repoLabelOf } from '../../proxy/table.js';

describe('hostLabel', () => {
  it('keeps a name that already is a lowercase DNS label', () => {
    for (const name of ['web', 'feature-login', 'pr-42', '3d']) expect(hostLabel(name)).toBe(name);
  });

  it('cleans any other name and adds a hash of the original, so names that clean alike stay apart', () => {
    expect(hostLabel('Feature_Login')).toMatch(/^feature-login-[0-9a-f]{6}$/);
    const variants = ['feat.x', 'feat_x', 'Feat-X', 'feat--x', 'feat-x-'];
    const labels = variants.map(hostLabel);
    expect(new Set([...labels, hostLabel('feat-x')]).size).toBe(variants.length + 1);
    expect(hostLabel('feat.x')).toBe(hostLabel('feat.x'));
  });

  it('gives a valid label for every name: at most 63 characters, no leading or trailing hyphen', () => {
    for (const name of ['', '---', '__proto__', 'ß', 'x'.repeat(200), `${'a'.repeat(60)}.b`, 'a'.repeat(63), 'a'.repeat(64)]) {
      const label = hostLabel(name);
      expect(label, name).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    }
    expect(hostLabel('a'.repeat(63))).toBe('a'.repeat(63));
    expect(hostLabel('a'.repeat(64))).not.toBe(hostLabel('a'.repeat(65)));
  });
});

describe('uniqueRepoLabel', () => {
  it('the first repository keeps the folder name, a later one gets a suffix from its id', () => {
    expect(uniqueRepoLabel('shop', 'a1b2c3d4e5f6', new Set())).toBe('shop');
    expect(uniqueRepoLabel('shop', 'a1b2c3d4e5f6', new Set(['shop']))).toBe('shop-a1b2');
    expect(uniqueRepoLabel('shop', 'a1b2c3d4e5f6', new Set(['shop', 'shop-a1b2']))).toBe('shop-a1b2c3');
    expect(uniqueRepoLabel('My Shop', 'a1b2c3d4e5f6', new Set())).toMatch(/^my-shop-[0-9a-f]{6}$/);
  });
});

describe('the route table', () => {
  const table = parseTable(
    JSON.stringify({
      version: 1,
      generation: 7,
      repos: {
        r1: {
          name: 'app',
          label: 'app',
          sessions: {
            ['__proto__']: { label: 'proto-x', routes: [{ service: 'web', label: 'web', target: 'http://127.0.0.1:1', primary: true }] },
            s1: {
              label: 's1',
              routes: [
                { service: 'web', label: 'web', target: 'http://127.0.0.1:2', primary: true },
                { service: 'api', label: 'api', target: 'http://127.0.0.1:3' },
                { service: 'web', label: 'web', target: 'http://127.0.0.1:4', green: true },
              ],
            },
          },
        },
      },
    }),
  );

  it('gives every route its hosts: service, primary, green', () => {
    const hosts = hostRoutes(table);
    expect([...hosts.keys()].sort()).toEqual(
      [
        'web.proto-x.app.localhost',
        'proto-x.app.localhost',
        'web.s1.app.localhost',
        's1.app.localhost',
        'api.s1.app.localhost',
        'green.web.s1.app.localhost',
      ].sort(),
    );
    expect(hosts.get('s1.app.localhost')).toMatchObject({ session: 's1', service: 'web', kind: 'primary', target: 'http://127.0.0.1:2' });
    expect(hosts.get('green.web.s1.app.localhost')).toMatchObject({ kind: 'green', target: 'http://127.0.0.1:4' });
    expect(hosts.get('web.proto-x.app.localhost')?.session).toBe('__proto__');
    expect(table.generation).toBe(7);
  });

  it('refuses what is not a table', () => {
    expect(() => parseTable('{"version": 2, "repos": {}}')).toThrow(/not a sess route table/);
    expect(() => parseTable('{"version": 1, "repos": {"r": {"label": "x", "sessions": {"s": {"label": "s", "routes": [{}]}}}}}')).toThrow(
      /route without/,
    );
    expect(() => parseTable('{"vers')).toThrow();
  });

  it('reads the Host header as the table spells hosts', () => {
    expect(normalizeHost('WEB.S1.App.localhost:7377')).toBe('web.s1.app.localhost');
    expect(normalizeHost('web.s1.app.localhost.')).toBe('web.s1.app.localhost');
    expect(normalizeHost('[::1]:7377')).toBe('[::1]');
    expect(normalizeHost(undefined)).toBe('');
    expect(repoLabelOf('web.s1.app.localhost')).toBe('app');
    expect(repoLabelOf('s1.app.localhost')).toBe('app');
    expect(repoLabelOf('app.localhost')).toBe('app');
    expect(repoLabelOf('localhost')).toBeUndefined();
    expect(repoLabelOf('127.0.0.1')).toBeUndefined();
  });
});
