// `--json` on config validate and env: exactly one JSON document on stdout, exit codes unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from '../helpers/sess.js';

describe('config validate --json', () => {
  let repo: TestRepo;
  let file: string;
  beforeAll(() => {
    repo = makeRepo('host-basic');
    file = join(repo.root, 'sess.yaml');
  });
  afterAll(() => repo.cleanup());

  it('a valid file: valid true, the file, no problems; exit 0', async () => {
    const r = await repo.sess(['config', 'validate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, file, problems: [] });
  });

  it('an invalid file: valid false with every problem and its key path; exit 2', async () => {
    writeFileSync(file, ['version: 1', 'mode: hybird', 'services:', '  web: { host: { command: x }, depends_on: [db] }'].join('\n'));
    const r = await repo.sess(['config', 'validate', '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc).toEqual({ valid: false, file, problems: [{ path: 'mode', message: expect.stringContaining('expected one of') }] });
    writeFileSync(file, ['version: 1', 'services:', '  web: { host: { command: x }, depends_on: [db] }'].join('\n'));
    const rules = JSON.parse((await repo.sess(['config', 'validate', '--json'])).stdout);
    expect(rules.problems).toEqual([{ path: 'services.web.depends_on', message: 'no service named "db"' }]);
  });

  it('a YAML syntax error: its line and column as the path; exit 2', async () => {
    writeFileSync(file, 'version: 1\nservices:\n  web: [unclosed\n');
    const r = await repo.sess(['config', 'validate', '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.valid).toBe(false);
    expect(doc.problems[0].path).toMatch(/^line \d+, column \d+$/);
  });

  it('no sess.yaml: valid false naming the file; exit 2', async () => {
    rmSync(file);
    const r = await repo.sess(['config', 'validate', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ valid: false, file, problems: [{ path: '', message: 'no sess.yaml in the worktree' }] });
  });

  it('outside a repository: one error document; exit 2', async () => {
    const r = await repo.sess(['config', 'validate', '--json'], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('not inside a git repository');
  });
});

describe('env --json', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = makeRepo('host-basic');
    expect((await repo.sess(['up', 'feat'])).code).toBe(0);
  });
  afterAll(() => repo.cleanup());

  it('is the env as one JSON object, the same as --format json', async () => {
    const r = await repo.sess(['env', 'feat', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ SESS_SESSION: 'feat', SESS_BRANCH: 'feat' });
    expect(r.stdout).toBe((await repo.sess(['env', 'feat', '--format', 'json'])).stdout);
  });

  it('an unknown session: one error document; exit 2', async () => {
    const r = await repo.sess(['env', 'nope', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ exitCode: 2, message: 'no session "nope" in this repository' });
  });

  it('--json with another --format is refused', async () => {
    const r = await repo.sess(['env', 'feat', '--json', '--format', 'shell']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('--json');
  });
});
