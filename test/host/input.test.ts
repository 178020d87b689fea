// Input that must be refused with exit 2 and nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { branches, makeRepo, worktrees, type TestRepo } from '../helpers/sess.js';

describe('bad input: exit 2, nothing changed', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = makeRepo('host-basic');
    expect((await repo.sess(['up', 'keep'])).code).toBe(0);
  });
  afterAll(() => repo.cleanup());

  function expectUnchanged() {
    expect(branches(repo).sort()).toEqual(['keep', 'main']);
    expect(worktrees(repo)).toEqual([join(repo.tmp, 'app.sess', 'keep')]);
  }

  it.each([
    ['-x', 'starts with "-"'],
    ['--evil', 'starts with "-"'],
    ['a..b', 'contains ".."'],
    ['bad name', 'git does not accept it'],
    ['x.lock', 'git does not accept it'],
    ['@{-1}', 'revision expression'],
    ['foo~1', 'git does not accept it'],
  ])('up %s is refused (%s)', async (branch, why) => {
    const r = await repo.sess(['up', '--', branch]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(why);
    expectUnchanged();
  });

  it.each(['down', 'rm', 'status', 'logs', 'env', 'history'])('%s of an unknown session exits 2', async (cmd) => {
    const r = await repo.sess([cmd, 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no session "nope"');
    expect(r.stderr).toContain('sessions: keep');
    expectUnchanged();
  });

  it('exec of an unknown session exits 2', async () => {
    const r = await repo.sess(['exec', 'nope', '--', 'true']);
    expect(r.code).toBe(2);
  });

  it.each([
    ['up', 'x', '--frobnicate'],
    ['ls', '--all', '--size'],
    ['frob'],
    ['up'],
    ['logs', 'keep', '--tail', 'many'],
    ['up', 'x', '--mode', 'cloud'],
  ])('bad usage %j exits 2', async (...args) => {
    const r = await repo.sess(args);
    expect(r.code).toBe(2);
    expectUnchanged();
  });

  it('--json failures still print one JSON document', async () => {
    const r = await repo.sess(['status', 'nope', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ exitCode: 2, message: 'no session "nope" in this repository' });
  });

  it.each([
    [['up', 'x', '--mode', 'bogus', '--json'], /bogus/],
    [['ls', '--json', '--bogus'], /unknown option '--bogus'/],
    [['up', 'x', '--json', '--pr'], /option '--pr <number>' argument missing/],
    [['gc', '--older-than', 'x', '--json'], /older-than/],
  ])('--json usage errors the argument parser finds print one JSON document too: %j', async (args, message) => {
    const r = await repo.sess(args);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.exitCode).toBe(2);
    expect(doc.error.message).toMatch(message);
    expectUnchanged();
  });

  it('a session name already taken by another branch is refused', async () => {
    repo.git('branch', 'ke/ep');
    repo.git('branch', 'ke-ep');
    expect((await repo.sess(['up', 'ke/ep'])).code).toBe(0);
    const r = await repo.sess(['up', 'ke-ep']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('session name "ke-ep" already belongs to branch "ke/ep"');
    expect((await repo.sess(['rm', 'ke-ep'])).code).toBe(0);
    repo.git('branch', '-D', 'ke/ep', 'ke-ep');
  });

  it('a branch of 400 characters is refused with the limit, nothing made', async () => {
    const r = await repo.sess(['up', 'b'.repeat(400)]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('400 bytes long, sess takes at most 200');
    expect(r.stderr).not.toContain('ENAMETOOLONG');
    expectUnchanged();
    const down = await repo.sess(['down', 'b'.repeat(400)]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('no session');
  });

  it.each(['99999999999999999999', '2147483648'])('--pr %s is refused, not rounded', async (n) => {
    const r = await repo.sess(['up', '--pr', n]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--pr ${n} is not a pull request number: at most 2147483647`);
    expectUnchanged();
  });

  it('a base that is not a commit is refused', async () => {
    const r = await repo.sess(['up', 'newone', '--base', 'no-such-ref']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('base "no-such-ref" is not a commit');
    expectUnchanged();
  });

  it('sess outside a git repository exits 2', async () => {
    const r = await repo.sess(['ls'], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not inside a git repository');
  });
});

describe('invalid sess.yaml: exit 2 with file, key path and what was expected', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-invalid');
  });
  afterAll(() => repo.cleanup());

  it('config validate names every problem', async () => {
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(repo.root, 'sess.yaml'));
    expect(r.stderr).toMatch(/mode: Invalid option: expected one of "container"\|"hybrid"\|"host"/);
    expect(r.stderr).toContain('services.web: Unrecognized key: "colour"');
    expect(r.stderr).toContain('services.web.ready: exactly one of http, tcp, cmd, log');
  });

  it('rules across keys are checked once the shape is right', async () => {
    writeFileSync(
      join(repo.root, 'sess.yaml'),
      [
        'version: 1',
        'ports: { web: {} }',
        'services:',
        '  web:',
        '    ports: { web: 3000, api: 4000 }',
        '    host: { command: "run ${ports.nope} ${svc.db.port} ${session.nam}" }',
        '    depends_on: [db]',
        '  a: { host: { command: x }, depends_on: [b] }',
        '  b: { host: { command: x }, depends_on: [a] }',
        '  c: {}',
      ].join('\n'),
    );
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    for (const line of [
      'services.web.ports.api: no port named "api" in the top-level ports',
      'services.web.depends_on: no service named "db"',
      'services.web.host.command: ${ports.nope}: no port named "nope" in ports',
      'services.web.host.command: ${svc.db.port}: no service named "db"',
      'services.web.host.command: ${session.nam}: expected one of',
      'services: depends_on has a cycle: a -> b -> a',
      'services.c: needs a host: or a compose: definition',
    ]) {
      expect(r.stderr).toContain(line);
    }
  });

  it('YAML syntax errors give a line and column', async () => {
    writeFileSync(join(repo.root, 'sess.yaml'), 'version: 1\nservices:\n  web: [unclosed\n');
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line \d+, column \d+/);
  });

  it('a key given twice is named once, with its line and column', async () => {
    writeFileSync(join(repo.root, 'sess.yaml'), 'version: 1\nports:\n  web: {}\n  web: {}\nservices: {}\n');
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('  - line 4, column 3: Map keys must be unique\n');
  });

  it('up with an invalid committed sess.yaml changes nothing', async () => {
    const r = await repo.sess(['up', 'feat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sess.yaml at HEAD');
    expect(branches(repo)).toEqual(['main']);
    expect(worktrees(repo)).toEqual([]);
    expect(existsSync(join(repo.root, '.git', 'sess', 'sessions'))).toBe(false);
  });

  it('config schema prints the JSON Schema', async () => {
    const r = await repo.sess(['config', 'schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.properties.services).toBeDefined();
    expect(schema.properties.mode.enum).toEqual(['container', 'hybrid', 'host']);
  });
});
