// Our JavaScript copy of git's branch-name rules agrees with `git check-ref-format --branch`.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { isValidBranchName } from '../../adapters/git.js';

const NAMES = [
  'main',
  'feature/login',
  'a-b_c.d',
  'x/y/z',
  'release-1.2',
  'ümlaut',
  'a@b',
  '',
  '-x',
  'a..b',
  'a b',
  'a~1',
  'a^',
  'a:b',
  'a?',
  'a*',
  'a[',
  'a\\b',
  '/a',
  'a/',
  'a//b',
  'a.',
  '.a',
  'a/.b',
  'a.lock',
  'a/b.lock/c',
  '@',
  'a@{1}',
  'HEAD',
  'tab\there',
  'del\x7f',
];

describe('isValidBranchName', () => {
  it.each(NAMES)('%j: same verdict as git', (name) => {
    const git = spawnSync('git', ['check-ref-format', '--branch', name], { encoding: 'utf8' }).status === 0;
    // git resolves "HEAD" and "@" against a repository; we refuse them outright.
    const expected = name === 'HEAD' || name === '@' ? false : git;
    expect(isValidBranchName(name)).toBe(expected);
  });
});

describe('uncommittedChanges', () => {
  it('names both sides of a rename whole (the original path is a field of its own)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { uncommittedChanges } = await import('../../adapters/git.js');
    const dir = mkdtempSync(join(tmpdir(), 'sess-git-'));
    const git = (...args: string[]) =>
      spawnSync('git', args, {
        cwd: dir,
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
      });
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'original-name.txt'), 'x\n');
    writeFileSync(join(dir, 'kept.txt'), 'y\n');
    git('add', '-A');
    git('commit', '-qm', 'init');
    git('mv', 'original-name.txt', 'renamed.txt');
    writeFileSync(join(dir, 'new.txt'), 'z\n');
    expect((await uncommittedChanges(dir, [])).sort()).toEqual(['new.txt', 'original-name.txt', 'renamed.txt']);
    expect((await uncommittedChanges(dir, ['new.txt'])).sort()).toEqual(['original-name.txt', 'renamed.txt']);
    rmSync(dir, { recursive: true, force: true });
  });
});
