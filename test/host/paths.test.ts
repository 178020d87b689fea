// A branch may not make sess write outside its worktree: symlinks committed in the branch, `.git`,
// tracked files. Each is refused with exit 2 naming the key and the path, and nothing is left.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { branches, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
let outside: string;
beforeEach(() => {
  repo = makeRepo('host-basic', { files: { '.gitignore': 'out/\n' } });
  outside = join(repo.tmp, 'outside');
  mkdirSync(join(outside, 'sub'), { recursive: true });
});
afterEach(() => repo.cleanup());

/** Branch `evil`: sess.yaml with `extra` appended, and `out` committed as a symlink to `outside`. */
function evilBranch(extra: string, link = 'out', target = outside) {
  repo.git('checkout', '-q', '-b', 'evil');
  const yaml = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
  writeFileSync(join(repo.root, 'sess.yaml'), yaml + extra);
  symlinkSync(target, join(repo.root, link));
  repo.git('add', '-A', '-f');
  repo.git('commit', '-qm', 'evil');
  repo.git('checkout', '-q', 'main');
}

function expectNothingLeft() {
  expect(worktrees(repo)).toEqual([]);
  expect(branches(repo)).toEqual(['evil', 'main']);
  expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', 'evil', 'session.json'))).toBe(false);
  expect(leasesOf(repo, 'evil')).toEqual({});
  expect(ourProcesses(repo.id())).toEqual([]);
  expect(readdirSync(outside).sort()).toEqual(['sub']);
  expect(readdirSync(join(outside, 'sub'))).toEqual([]);
}

describe('paths sess writes stay inside the worktree', () => {
  it('env_file through a committed symlink is refused', async () => {
    evilBranch('env_file: out/victim.txt\n');
    const r = await repo.sess(['up', 'evil']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('env_file: out/victim.txt leaves the worktree: out is a symlink to ' + outside);
    expectNothingLeft();
  });

  it('worktree.link through a committed symlink is refused', async () => {
    writeFileSync(join(repo.root, 'x'), 'linked\n');
    evilBranch('worktree:\n  link: [out/x]\n');
    const r = await repo.sess(['up', 'evil']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('worktree.link.0: out/x leaves the worktree');
    expectNothingLeft();
  });

  it('worktree.include through a symlink the branch commits where the main checkout has a folder is refused', async () => {
    evilBranch('worktree:\n  include: [out/sub/y]\n');
    // the main checkout has out/ as an ignored folder of its own
    mkdirSync(join(repo.root, 'out', 'sub'), { recursive: true });
    writeFileSync(join(repo.root, 'out', 'sub', 'y'), 'main checkout file\n');
    const r = await repo.sess(['up', 'evil']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('worktree.include.0: out/sub/y leaves the worktree');
    expectNothingLeft();
  });

  it('a host service cwd through a symlink is refused', async () => {
    evilBranch('', 'svcdir');
    const yaml = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
    repo.git('checkout', '-q', 'evil');
    writeFileSync(
      join(repo.root, 'sess.yaml'),
      yaml.replace('command: "node servers/tcp.js ${ports.db}"', 'command: "node servers/tcp.js ${ports.db}"\n      cwd: svcdir'),
    );
    repo.git('commit', '-qam', 'cwd out');
    repo.git('checkout', '-q', 'main');
    const r = await repo.sess(['up', 'evil']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('services.db.host.cwd: svcdir leaves the worktree');
    expectNothingLeft();
  });

  it('a symlink that stays inside the worktree is fine', async () => {
    repo.git('checkout', '-q', '-b', 'evil');
    mkdirSync(join(repo.root, 'conf'));
    writeFileSync(join(repo.root, 'conf', '.keep'), '');
    const yaml = readFileSync(join(repo.root, 'sess.yaml'), 'utf8');
    writeFileSync(join(repo.root, 'sess.yaml'), yaml + 'env_file: here/env.sess\n');
    symlinkSync('conf', join(repo.root, 'here'));
    repo.git('add', '-A');
    repo.git('commit', '-qm', 'inner link');
    repo.git('checkout', '-q', 'main');
    const view = await repo.json(['up', 'evil']);
    expect(readFileSync(join(view.worktree, 'conf', 'env.sess'), 'utf8')).toContain('SESS_SESSION=evil');
  });

  it('a resumed session whose sess.yaml now points out of the worktree is refused and keeps running', async () => {
    const view = await repo.json(['up', 'evil2']);
    symlinkSync(outside, join(view.worktree, 'out'));
    const yaml = readFileSync(join(view.worktree, 'sess.yaml'), 'utf8');
    writeFileSync(join(view.worktree, 'sess.yaml'), yaml + 'env_file: out/victim.txt\n');
    const r = await repo.sess(['up', 'evil2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('env_file: out/victim.txt leaves the worktree');
    expect(readdirSync(outside)).toEqual(['sub']);
    const status = await repo.json(['status', 'evil2']);
    expect(status.status).toBe('up');
    rmSync(join(view.worktree, 'out'));
  });
});

describe("the env file is never git's or the commit's own file", () => {
  it.each([['.git'], ['.git/config'], ['sub/.git']])('env_file: %s is a config error', async (path) => {
    writeFileSync(join(repo.root, 'sess.yaml'), readFileSync(join(repo.root, 'sess.yaml'), 'utf8') + `env_file: ${path}\n`);
    const r = await repo.sess(['config', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('env_file: a path outside .git');
  });

  it('env_file naming a tracked file is refused before anything is made, and the file is untouched', async () => {
    const before = readFileSync(join(repo.root, 'servers', 'http.js'), 'utf8');
    repo.git('checkout', '-q', '-b', 'evil');
    writeFileSync(join(repo.root, 'sess.yaml'), readFileSync(join(repo.root, 'sess.yaml'), 'utf8') + 'env_file: servers/http.js\n');
    repo.git('commit', '-qam', 'env over code');
    repo.git('checkout', '-q', 'main');
    const r = await repo.sess(['up', 'evil']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('env_file: servers/http.js is a file of the commit');
    expectNothingLeft();
    expect(readFileSync(join(repo.root, 'servers', 'http.js'), 'utf8')).toBe(before);
  });
});
