// sess.yaml that is too big, an alias bomb, port names that collide in the environment, names that
// are properties of every JavaScript object: all refused with exit 2 before anything is made, with
// a message that names the file, and promptly (no validator that runs for minutes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { branches, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

const CAP = 256 * 1024;

/**
 * A valid sess.yaml of about `bytes` bytes, all in one map of short keys: the most keys a file of
 * that size can hold in one map, the shape a pairwise duplicate-key check is slowest on.
 */
function bigConfig(bytes: number): string {
  let text = 'version: 1\nservices:\n  web:\n    host: { command: "sleep 1" }\nenv:\n';
  for (let i = 0; text.length < bytes - 16; i++) text += `  K${i}: 1\n`;
  return text;
}

/** Billion laughs: nine levels of ten aliases each. */
function aliasBomb(): string {
  const lines = ['version: 1', 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 10; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('services:', '  web:', '    host: { command: "sleep 1" }');
  return lines.join('\n') + '\n';
}

describe('sess.yaml limits: exit 2, nothing changed', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-basic');
  });
  afterAll(() => repo.cleanup());

  function expectNothingMade() {
    expect(branches(repo)).toEqual(['main']);
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, 'feat')).toEqual({});
    expect(ourProcesses(repo.id(), 'feat')).toEqual([]);
  }

  async function commitConfig(text: string) {
    writeFileSync(join(repo.root, 'sess.yaml'), text);
    repo.git('commit', '-qam', 'sess.yaml under test');
  }

  it('a file at the cap validates', async () => {
    const text = bigConfig(CAP);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(CAP);
    writeFileSync(join(repo.root, 'sess.yaml'), text);
    const started = Date.now();
    const r = await repo.sess(['config', 'validate']);
    expect(r.code, r.stderr).toBe(0);
    // ~0.5 s on a quiet machine (node's own start is 0.1 s of it); the bound is loose because the
    // machine may be busy; the unit test measures CPU time
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('config validate refuses a file above the cap, naming the file, its size and the cap', async () => {
    writeFileSync(join(repo.root, 'sess.yaml'), bigConfig(CAP + 4096));
    const started = Date.now();
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(repo.root, 'sess.yaml'));
    expect(r.stderr).toMatch(/is 26\d\.\d KiB \(\d+ bytes\), more than the 256 KiB a sess\.yaml may have/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('up refuses a committed file above the cap (read from the commit)', async () => {
    await commitConfig(bigConfig(CAP + 4096));
    const r = await repo.sess(['up', 'feat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sess.yaml at HEAD');
    expect(r.stderr).toContain('more than the 256 KiB a sess.yaml may have');
    expectNothingMade();
  });

  it('an alias bomb is a config error naming the file, without a stack trace', async () => {
    writeFileSync(join(repo.root, 'sess.yaml'), aliasBomb());
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(repo.root, 'sess.yaml')}: invalid configuration`);
    expect(r.stderr).toContain('aliases');
    expect(r.stderr).not.toMatch(/^\s+at /m);

    await commitConfig(aliasBomb());
    const u = await repo.sess(['up', 'feat']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('sess.yaml at HEAD');
    expectNothingMade();
  });

  it('port names that become the same SESS_PORT_ variable are refused, naming both', async () => {
    const text = [
      'version: 1',
      'ports: { web-1: {}, web_1: {} }',
      'services:',
      '  web: { host: { command: "sleep 100" }, ports: { web-1: 1, web_1: 2 } }',
    ].join('\n');
    writeFileSync(join(repo.root, 'sess.yaml'), text);
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ports\.web_1: .*"web-1" and "web_1" both become SESS_PORT_WEB_1/);

    await commitConfig(text);
    const u = await repo.sess(['up', 'feat']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('SESS_PORT_WEB_1');
    expectNothingMade();
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])('depends_on: [%s] without such a service is a config error', async (name) => {
    writeFileSync(
      join(repo.root, 'sess.yaml'),
      ['version: 1', 'services:', `  web: { host: { command: "sleep 100" }, depends_on: [${name}] }`].join('\n'),
    );
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`services.web.depends_on: no service named "${name}"`);
  });

  it.each([
    ['hybrid.host', 'mode: hybrid\nhybrid: { host: [valueOf] }', 'hybrid.host: no service named "valueOf"'],
    ['a port of a service', 'ports: {}', 'services.web.ports.constructor: no port named "constructor"'],
    ['${ports.NAME}', 'env: { A: "${ports.toString}" }', 'env.A: ${ports.toString}: no port named "toString"'],
    ['${svc.NAME.port}', 'env: { A: "${svc.constructor.port}" }', 'env.A: ${svc.constructor.port}: no service named "constructor"'],
  ])('%s naming an Object property that is not defined is a config error', async (_what, extra, message) => {
    const ports = extra.startsWith('ports') ? ', ports: { constructor: 1 }' : '';
    writeFileSync(
      join(repo.root, 'sess.yaml'),
      ['version: 1', extra, 'services:', `  web: { host: { command: "sleep 100" }${ports} }`].join('\n'),
    );
    const r = await repo.sess(['config', 'validate']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
