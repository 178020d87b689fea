// git: repository discovery by reading .git directly (no subprocess on the hot path of `sess ls`),
// everything that changes a repository through the git CLI.
//
// Not simple-git: every git call goes through our one subprocess wrapper (abort on Ctrl+C, one debug
// log, one error type), and git is only ever called with argument arrays.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { SubprocessError, UsageError } from '../common/errors.js';
import { run, tailLines, type RunOptions } from './process.js';

export interface RepoLocation {
  /** Top folder of the checkout we were called from (main checkout or a worktree). */
  worktreeRoot: string;
  /** This checkout's git dir (`.git`, or `.git/worktrees/NAME` for a linked worktree). */
  gitDir: string;
  /** The repository's common git dir, shared by all worktrees: where sess keeps its state. */
  commonDir: string;
  /** The main checkout's top folder. */
  mainRoot: string;
}

export async function findRepo(cwd: string): Promise<RepoLocation> {
  const fast = process.env.GIT_DIR ? undefined : findRepoByFiles(cwd);
  if (fast) return fast;
  const result = await run('git', ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], {
    cwd,
    allowFailure: true,
  });
  if (result.exitCode !== 0) {
    throw new UsageError(`not inside a git repository: ${cwd}`, {
      hint: 'run sess from a checkout of the project (or one of its worktrees)',
    });
  }
  const [worktreeRoot, gitDir, common] = result.stdout.trim().split('\n') as [string, string, string];
  const commonDir = resolve(worktreeRoot, common);
  return { worktreeRoot, gitDir, commonDir, mainRoot: mainRootOf(commonDir, worktreeRoot) };
}

function findRepoByFiles(cwd: string): RepoLocation | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const dotGit = join(dir, '.git');
    let stat;
    try {
      stat = statSync(dotGit);
    } catch {
      stat = undefined;
    }
    if (stat?.isDirectory()) {
      const commonDir = readCommonDir(dotGit);
      return { worktreeRoot: dir, gitDir: dotGit, commonDir, mainRoot: mainRootOf(commonDir, dir) };
    }
    if (stat?.isFile()) {
      const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
      if (!m) return undefined;
      const gitDir = resolve(dir, m[1]!.trim());
      const commonDir = readCommonDir(gitDir);
      return { worktreeRoot: dir, gitDir, commonDir, mainRoot: mainRootOf(commonDir, dir) };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readCommonDir(gitDir: string): string {
  try {
    const rel = readFileSync(join(gitDir, 'commondir'), 'utf8').trim();
    return resolve(gitDir, rel);
  } catch {
    return gitDir;
  }
}

function mainRootOf(commonDir: string, fallback: string): string {
  return basename(commonDir) === '.git' ? dirname(commonDir) : fallback;
}

/** The git dir of a linked worktree (from its `.git` file). */
export function worktreeGitDir(worktree: string): string {
  try {
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(join(worktree, '.git'), 'utf8'));
    if (m) return resolve(worktree, m[1]!.trim());
  } catch {
    /* a main checkout, or gone */
  }
  return join(worktree, '.git');
}

/** The commit a checkout's HEAD points at, read from files (loose ref or packed-refs). */
export function readHead(gitDir: string, commonDir: string): string | null {
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    return readRef(commonDir, head.slice(5), gitDir);
  } catch {
    return null;
  }
}

/**
 * The checkout (main or a worktree) that has `branch` checked out, read from files; undefined when
 * none has. git refuses a second worktree on a branch that is checked out somewhere.
 */
export function checkoutOf(branch: string, commonDir: string, mainRoot: string): string | undefined {
  const wanted = `ref: refs/heads/${branch}`;
  const headOf = (gitDir: string) => {
    try {
      return readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  if (headOf(commonDir) === wanted) return mainRoot;
  let names: string[] = [];
  try {
    names = readdirSync(join(commonDir, 'worktrees'));
  } catch {
    return undefined;
  }
  for (const name of names) {
    const gitDir = join(commonDir, 'worktrees', name);
    if (headOf(gitDir) !== wanted) continue;
    try {
      return dirname(readFileSync(join(gitDir, 'gitdir'), 'utf8').trim());
    } catch {
      return gitDir;
    }
  }
  return undefined;
}

function readRef(commonDir: string, ref: string, gitDir?: string): string | null {
  for (const dir of gitDir ? [gitDir, commonDir] : [commonDir]) {
    const loose = join(dir, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
  }
  try {
    const packed = readFileSync(join(commonDir, 'packed-refs'), 'utf8');
    for (const line of packed.split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref) return sha ?? null;
    }
  } catch {
    /* no packed refs */
  }
  return null;
}

export function git(args: string[], cwd: string, options: RunOptions = {}) {
  return run('git', args, { cwd, ...options });
}

/**
 * Would git accept this as a branch name? The rules of `git check-ref-format --branch`, in
 * JavaScript: a subprocess for this cost ~5 ms on every fresh `up` (test/unit/git.test.ts checks
 * the two agree).
 */
export function isValidBranchName(name: string): boolean {
  if (!name || name === '@' || name.startsWith('-') || name === 'HEAD') return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((part) => part.length > 0 && !part.startsWith('.') && !part.endsWith('.lock'));
}

/**
 * The commit a ref points at, read from files when the repository stores refs as files (the
 * common case, and no subprocess); undefined when that cannot tell (reftable, symbolic refs).
 */
export function readRefFromFiles(commonDir: string, ref: string): string | null | undefined {
  if (existsSync(join(commonDir, 'reftable'))) return undefined;
  const sha = readRef(commonDir, ref);
  if (sha === null) return null;
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}

export async function resolveCommit(ref: string, cwd: string): Promise<string | null> {
  const r = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd, { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

export async function hasLocalBranch(branch: string, cwd: string, commonDir?: string): Promise<boolean> {
  const fromFiles = commonDir ? readRefFromFiles(commonDir, `refs/heads/${branch}`) : undefined;
  if (fromFiles !== undefined) return fromFiles !== null;
  return (await resolveCommit(`refs/heads/${branch}`, cwd)) !== null;
}

/** Contents of a file at a commit, or undefined when the commit has no such file. */
export async function showFile(commit: string, path: string, cwd: string): Promise<string | undefined> {
  const r = await git(['show', `${commit}:${path}`], cwd, { allowFailure: true });
  return r.exitCode === 0 ? r.stdout : undefined;
}

export type WorktreeSource =
  | { kind: 'existing'; branch: string }
  | { kind: 'new'; branch: string; startPoint: string }
  | { kind: 'track'; branch: string; remoteRef: string };

export async function addWorktree(path: string, source: WorktreeSource, cwd: string, signal?: AbortSignal) {
  const args = ['worktree', 'add', '--quiet'];
  if (source.kind === 'existing') args.push(path, source.branch);
  if (source.kind === 'new') args.push('--no-track', '-b', source.branch, path, source.startPoint);
  if (source.kind === 'track') args.push('--track', '-b', source.branch, path, source.remoteRef);
  await git(args, cwd, { signal });
}

export interface WorktreeEntry {
  path: string;
  head: string | null;
  branch: string | null;
  prunable: boolean;
}

export async function listWorktrees(cwd: string): Promise<WorktreeEntry[]> {
  const r = await git(['worktree', 'list', '--porcelain'], cwd);
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('worktree ')) {
      current = { path: line.slice(9), head: null, branch: null, prunable: false };
      entries.push(current);
    } else if (current && line.startsWith('HEAD ')) current.head = line.slice(5);
    else if (current && line.startsWith('branch ')) current.branch = line.slice(7).replace(/^refs\/heads\//, '');
    else if (current && line.startsWith('prunable')) current.prunable = true;
  }
  return entries;
}

export async function removeWorktree(path: string, cwd: string): Promise<void> {
  await git(['worktree', 'remove', '--force', '--force', path], cwd);
}

export async function pruneWorktrees(cwd: string): Promise<void> {
  await git(['worktree', 'prune'], cwd);
}

export async function deleteBranch(branch: string, cwd: string): Promise<void> {
  await git(['branch', '-D', '--quiet', branch], cwd);
}

/** Uncommitted changes (tracked or untracked, ignored files excluded), minus paths sess itself wrote. */
export async function uncommittedChanges(worktree: string, ours: string[]): Promise<string[]> {
  const r = await git(['status', '--porcelain=v1', '--untracked-files=all', '-z'], worktree);
  // "XY path" entries; a rename or copy is followed by its original path as a field of its own
  const fields = r.stdout.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i]!;
    if (!entry) continue;
    paths.push(entry.slice(3));
    if (/[RC]/.test(entry.slice(0, 2)) && fields[i + 1]) paths.push(fields[++i]!);
  }
  return paths.filter((path) => !ours.some((own) => path === own || path.startsWith(own.replace(/\/?$/, '/'))));
}

/** Commits on `branch` that no other branch or remote-tracking ref has: lost if the branch went. */
export async function unpushedCommits(branch: string, cwd: string): Promise<string[]> {
  const r = await git(['rev-list', `refs/heads/${branch}`, '--not', `--exclude=${branch}`, '--branches', '--remotes', '--tags'], cwd, {
    allowFailure: true,
  });
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

export async function remoteUrl(remote: string, cwd: string): Promise<string | undefined> {
  const r = await git(['remote', 'get-url', remote], cwd, { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * Fetch one ref of a remote into a local ref. 'missing' when the remote has no such ref; other
 * failures (network, auth) throw.
 */
export async function fetchRef(
  remote: string,
  ref: string,
  into: string,
  cwd: string,
  signal?: AbortSignal,
): Promise<'fetched' | 'missing'> {
  const r = await git(['fetch', '--no-tags', '--quiet', '--force', remote, `${ref}:${into}`], cwd, {
    allowFailure: true,
    signal,
  });
  if (r.exitCode === 0) return 'fetched';
  if (/couldn't find remote ref|no such ref|not our ref/i.test(r.stderr)) return 'missing';
  throw new SubprocessError(`git fetch ${remote} ${ref}`, r.exitCode, tailLines(r.stderr));
}

/** Every ref the remote has, by name (one `git ls-remote`). */
export async function remoteRefs(remote: string, cwd: string): Promise<Map<string, string>> {
  const r = await git(['ls-remote', remote], cwd);
  const refs = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) refs.set(name, sha);
  }
  return refs;
}

export async function isAncestor(ancestor: string, of: string, cwd: string): Promise<boolean> {
  const r = await git(['merge-base', '--is-ancestor', ancestor, of], cwd, { allowFailure: true });
  return r.exitCode === 0;
}

/** Commits reachable from `head` but from none of `others`. */
export async function commitsNotIn(head: string, others: string[], cwd: string): Promise<string[]> {
  const r = await git(['rev-list', head, '--not', ...others], cwd, { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** Point the checked-out branch of a worktree, and its files, at a commit. */
export async function resetHard(worktree: string, commit: string, signal?: AbortSignal): Promise<void> {
  await git(['reset', '--hard', '--quiet', commit], worktree, { signal });
}

/** The remote and remote branch a local branch tracks, if it tracks one. */
export async function upstreamOf(branch: string, cwd: string): Promise<{ remote: string; ref: string } | undefined> {
  const r = await git(['config', '--get-regexp', `^branch\\.${branch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(remote|merge)$`], cwd, {
    allowFailure: true,
  });
  const remote = /\.remote (.+)/.exec(r.stdout)?.[1];
  const ref = /\.merge (.+)/.exec(r.stdout)?.[1];
  return remote && ref ? { remote, ref } : undefined;
}
