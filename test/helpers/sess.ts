// Test helpers: a real git repository made from a fixture, the real CLI run as a subprocess, and
// the leak checks every failure test ends with.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, realpathSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'sess.js');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestRepo {
  root: string;
  /** Parent of the repository: worktrees go to <tmp>/app.sess/ by default. */
  tmp: string;
  sess(args: string[], opts?: { env?: Record<string, string>; cwd?: string }): Promise<Result>;
  /** Start sess without waiting, to signal it mid-way. */
  start(args: string[], opts?: { env?: Record<string, string>; cwd?: string }): { child: ChildProcess; done: Promise<Result> };
  json<T = any>(args: string[]): Promise<T>;
  git(...args: string[]): string;
  id(): string;
  cleanup(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'sess test',
  GIT_AUTHOR_EMAIL: 'test@sess.dev',
  GIT_COMMITTER_NAME: 'sess test',
  GIT_COMMITTER_EMAIL: 'test@sess.dev',
};

/** A fresh git repository with the fixture's files (and the shared tiny servers) committed on main. */
export function makeRepo(
  fixture: string,
  opts: {
    files?: Record<string, string>;
    /** written after the commit: ignored files of the main checkout */ untracked?: Record<string, string>;
  } = {},
): TestRepo {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), `sess-${fixture}-`)));
  const root = join(tmp, 'app');
  cpSync(join(ROOT, 'fixtures', fixture), root, { recursive: true });
  if (existsSync(join(ROOT, 'fixtures', '_servers')))
    cpSync(join(ROOT, 'fixtures', '_servers'), join(root, 'servers'), { recursive: true });
  for (const [path, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'fixture');
  for (const [path, text] of Object.entries(opts.untracked ?? {})) writeFileSync(join(root, path), text);

  const run = (args: string[], o: { env?: Record<string, string>; cwd?: string } = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? root,
      env: {
        ...process.env,
        ...GIT_ENV,
        NO_COLOR: '1',
        // a local engine that does not answer, for sess only (the tests' own docker checks still reach it)
        ...(process.env.SESS_TEST_DOCKER_HOST ? { DOCKER_HOST: process.env.SESS_TEST_DOCKER_HOST } : {}),
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const done = new Promise<Result>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
    return { child, done };
  };
  let knownId: string | undefined;
  const repo: TestRepo = {
    root,
    tmp,
    sess: (args, o) => run(args, o).done,
    start: run,
    async json(args) {
      const r = await run([...args, '--json']).done;
      // `status` prints its document with exit 1 when the session is not ready (down, partial...)
      const answered = r.code === 0 || (args[0] === 'status' && r.code === 1 && !JSON.parse(r.stdout).error);
      if (!answered) throw new Error(`sess ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    git,
    // kept once known: dockerCleanup runs after cleanup has deleted the repository
    id: () => (knownId ??= readFileSync(join(root, '.git', 'sess', 'id'), 'utf8').trim()),
    async cleanup() {
      knownId ??= repoIdOf(root);
      // best effort: whatever a test left running goes, so one failure does not cascade
      for (const s of sessionNames(root)) await run(['rm', s, '--force', '--volumes']).done;
      for (const p of ourProcesses(repoIdOf(root))) {
        try {
          process.kill(-p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  return repo;
}

function repoIdOf(root: string): string | undefined {
  try {
    return readFileSync(join(root, '.git', 'sess', 'id'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function sessionNames(root: string): string[] {
  try {
    return readdirSync(join(root, '.git', 'sess', 'sessions')).filter((n) =>
      existsSync(join(root, '.git', 'sess', 'sessions', n, 'session.json')),
    );
  } catch {
    return [];
  }
}

/** Live processes started by sess for this repository (found by the marker in their environment). */
export function ourProcesses(repoId: string | undefined, session?: string): number[] {
  if (!repoId) return [];
  const prefix = `SESS_SERVICE_ID=${repoId}/${session ? `${session}/` : ''}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z') continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').some((kv) => kv.startsWith(prefix))) found.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return found;
}

export function ledger(): Record<string, { owner: string; name: string }> {
  const file = join(process.env.SESS_HOME!, 'ports.json');
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')).leases;
}

export function leasesOf(repo: TestRepo, session: string): Record<string, number> {
  const owner = `${repo.id()}/${session}`;
  const out: Record<string, number> = {};
  for (const [port, l] of Object.entries(ledger())) if (l.owner === owner) out[l.name] = Number(port);
  return out;
}

export function worktrees(repo: TestRepo): string[] {
  return repo
    .git('worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice(9))
    .filter((p) => p !== repo.root);
}

export function branches(repo: TestRepo): string[] {
  return repo.git('branch', '--format=%(refname:short)').split('\n').filter(Boolean);
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until `check` holds (or fail after `ms`). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Is the process running? (A zombie is not: this machine's pid 1 may not reap orphans.) */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
  } catch {
    return false;
  }
}

/**
 * A port ledger of this test file's own. For files that run `sess doctor --fix`, which repairs the
 * machine-wide ledger: they must never see (or release) leases of other files' sessions that are
 * half way through.
 */
export function isolatedLedger(): string {
  const home = mkdtempSync(join(tmpdir(), 'sess-home-'));
  process.env.SESS_HOME = home;
  // and a proxy of its own: a proxy belongs to one $SESS_HOME, and another home's on the same port
  // would make this file's URLs (and doctor) find the port taken. Test proxies are stopped when the
  // run ends (globalSetup).
  process.env.SESS_PROXY_PORT = String(testProxyPort());
  return home;
}

/** A port for a test's proxy: below the lease range and the kernel's range for outgoing connections. */
export function testProxyPort(): number {
  return 10000 + Math.floor(Math.random() * 10000);
}

/** git in any folder (a worktree, a clone), as the test's author. */
export function gitAt(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

/** A bare clone of the repository, added as its `origin` and fetched: the remote of PR and gc tests. */
export function addOrigin(repo: TestRepo): string {
  const origin = join(repo.tmp, 'origin.git');
  execFileSync('git', ['clone', '-q', '--bare', repo.root, origin]);
  repo.git('remote', 'add', 'origin', origin);
  repo.git('fetch', '-q', 'origin');
  return origin;
}

/** Push a pull request to `origin` from a contributor's clone: one commit writing `text` into `file`. */
export function pushPullRequest(
  repo: TestRepo,
  n: number,
  file: string,
  text: string,
  opts: { from?: string; kind?: 'pull' | 'merge-requests' } = {},
): string {
  const contributor = join(repo.tmp, 'contributor');
  if (!existsSync(contributor)) execFileSync('git', ['clone', '-q', join(repo.tmp, 'origin.git'), contributor]);
  gitAt(contributor, 'checkout', '-q', '--detach', opts.from ?? 'origin/main');
  writeFileSync(join(contributor, file), text);
  gitAt(contributor, 'commit', '-qam', `pr ${n}: ${file}`);
  gitAt(contributor, 'push', '-q', '-f', 'origin', `HEAD:refs/${opts.kind ?? 'pull'}/${n}/head`);
  return gitAt(contributor, 'rev-parse', 'HEAD');
}

// ignored files of the main checkout: one copied into new worktrees (include), one linked (link)
export const FAULTS_UNTRACKED = { 'local.cache': 'cached\n', 'shared.env': 'SHARED=1\n' };

/** Change `from` to `to` in a session's sess.yaml (the text must be there: a fixture that moved fails loudly). */
export function editConfig(worktree: string, from: string, to: string): void {
  const file = join(worktree, 'sess.yaml');
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
  writeFileSync(file, text.replace(from, to));
}
