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
