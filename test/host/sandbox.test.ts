// Pull request sandboxes against a local bare repository as `origin` that carries refs/pull/N/head
// (GitHub) — and one with refs/merge-requests/N/head (GitLab).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOrigin, branches, gitAt, makeRepo, pushPullRequest, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
let origin: string;
let contributor: string;
const git = gitAt;

const pushPr = (n: number, file: string, text: string, opts: { from?: string; kind?: 'pull' | 'merge-requests' } = {}) =>
  pushPullRequest(repo, n, file, text, opts);

beforeEach(() => {
  repo = makeRepo('pr-sandbox');
  origin = addOrigin(repo);
  contributor = join(repo.tmp, 'contributor');
  execFileSync('git', ['clone', '-q', origin, contributor]);
});
afterEach(() => repo.cleanup());

async function pids(session: string): Promise<Record<string, number>> {
  const st = await repo.json(['status', session]);
  return Object.fromEntries(st.services.map((s: any) => [s.name, s.pid]));
}

describe('sess up --pr', () => {
  it('runs the pull request head as session pr-N on branch pr/N; ls marks it with its commit', async () => {
    const head = pushPr(1, 'svc-b/VERSION', 'b v2\n');
    const view = await repo.json(['up', '--pr', '1']);
    expect(view).toMatchObject({ name: 'pr-1', branch: 'pr/1', status: 'up' });
    expect(git(view.worktree, 'rev-parse', 'HEAD')).toBe(head);
    expect(readFileSync(join(view.worktree, 'svc-b', 'VERSION'), 'utf8')).toBe('b v2\n');
    const [listed] = await repo.json(['ls']);
    expect(listed.pr).toEqual({ number: 1, remote: 'origin', commit: head });
    const table = (await repo.sess(['ls'])).stdout;
    expect(table).toContain(`pr/1 (PR #1 @${head.slice(0, 8)})`);
  });

  it('six `up --pr N` at once: one brings it up, the others wait and find it unchanged; one set of processes', async () => {
    const head = pushPr(3, 'svc-b/VERSION', 'b v2\n');
    const [a, b, ...more] = await Promise.all(Array.from({ length: 6 }, () => repo.sess(['up', '--pr', '3'])));
    for (const r of more) expect(r.code, r.stderr).toBe(0);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stderr + b.stderr).toContain('already up and unchanged');
    const st = await repo.json(['status', 'pr-3']);
    expect(git(st.worktree, 'rev-parse', 'HEAD')).toBe(head);
    expect(st.services.map((s: any) => s.pid).filter(Boolean).length).toBe(2);
    expect(worktrees(repo)).toEqual([st.worktree]);
  });

  it('re-up moves the sandbox to the newest commit and replaces only the services whose files changed', async () => {
    const first = pushPr(1, 'svc-b/VERSION', 'b v2\n');
    const view = await repo.json(['up', '--pr', '1']);
    const before = await pids('pr-1');
    const second = pushPr(1, 'svc-b/VERSION', 'b v3\n', { from: first });
    const r = await repo.sess(['up', '--pr', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(git(view.worktree, 'rev-parse', 'HEAD')).toBe(second);
    const after = await pids('pr-1');
    expect(after.a).toBe(before.a);
    expect(after.b).not.toBe(before.b);
    const release = (await repo.json(['history', 'pr-1'])).at(-1);
    expect(release.services).toEqual([
      { name: 'a', action: 'unchanged', ms: 0 },
      { name: 'b', action: 'replaced', ms: expect.any(Number) },
    ]);
    expect((await repo.json(['ls']))[0].pr.commit).toBe(second);
  });

  it('refuses to move a sandbox with local changes or local commits, changing nothing', async () => {
    const first = pushPr(1, 'svc-b/VERSION', 'b v2\n');
    const view = await repo.json(['up', '--pr', '1']);
    pushPr(1, 'svc-b/VERSION', 'b v3\n', { from: first });
    writeFileSync(join(view.worktree, 'svc-a', 'VERSION'), 'edited here\n');
    let r = await repo.sess(['up', '--pr', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not moving sandbox pr-1');
    expect(r.stderr).toContain('uncommitted changes (svc-a/VERSION)');
    expect(git(view.worktree, 'rev-parse', 'HEAD')).toBe(first);
    git(view.worktree, 'commit', '-qam', 'local work');
    r = await repo.sess(['up', '--pr', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('1 commit(s) that are not on the pull request');
    expect(readFileSync(join(view.worktree, 'svc-a', 'VERSION'), 'utf8')).toBe('edited here\n');
    expect((await repo.json(['status', 'pr-1'])).status).toBe('up');
  });

  it('a move whose up fails puts the sandbox back on its commit', async () => {
    const first = pushPr(1, 'svc-b/VERSION', 'b v2\n');
    const view = await repo.json(['up', '--pr', '1']);
    const second = pushPr(1, 'svc-b/VERSION', 'b v3\n', { from: first });
    const r = await repo.sess(['up', '--pr', '1'], { env: { SESS_FAILPOINT: 'move' } });
    expect(r.code).toBe(1);
    expect(git(view.worktree, 'rev-parse', 'HEAD')).toBe(first);
    expect(second).not.toBe(first);
  });

  it('GitLab merge requests (refs/merge-requests/N/head) work the same', async () => {
    const head = pushPr(4, 'svc-a/VERSION', 'a mr\n', { kind: 'merge-requests' });
    const view = await repo.json(['up', '--pr', '4']);
    expect(git(view.worktree, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('--remote picks another remote', async () => {
    const upstream = join(repo.tmp, 'upstream.git');
    execFileSync('git', ['clone', '-q', '--bare', origin, upstream]);
    git(contributor, 'remote', 'add', 'upstream', upstream);
    const head = pushPr(2, 'svc-a/VERSION', 'a up\n');
    git(contributor, 'push', '-q', 'upstream', `${head}:refs/pull/2/head`);
    repo.git('remote', 'add', 'upstream', upstream);
    const view = await repo.json(['up', '--pr', '2', '--remote', 'upstream']);
    expect(git(view.worktree, 'rev-parse', 'HEAD')).toBe(head);
  });

  it.each([
    [['up', '--pr', '1', '--remote', 'nope'], 'no remote named "nope"'],
    [['up', '--pr', 'abc'], '--pr expects a pull request number, not "abc"'],
    [['up', '--pr', '0'], '--pr expects a pull request number'],
    [['up', '--pr'], "option '--pr <number>' argument missing"],
    [['up', '--pr', '99'], 'no pull request 99 on remote origin'],
    [['up', 'some-branch', '--pr', '1'], 'give a branch or --pr, not both'],
    [['up', 'x', '--remote', 'origin'], '--remote goes with --pr'],
  ])('bad input %j: exit 2, nothing changed', async (args, message) => {
    const r = await repo.sess(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
  });

  it('a fetch that fails (remote unreachable) exits 1 and changes nothing', async () => {
    repo.git('remote', 'set-url', 'origin', join(repo.tmp, 'no-such-remote.git'));
    const r = await repo.sess(['up', '--pr', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('could not fetch pull request 1 from origin');
    expect(worktrees(repo)).toEqual([]);
  });
});

describe('sandboxes.max', () => {
  it('a new sandbox over max removes the oldest stopped sandbox first, and says so', async () => {
    for (const n of [1, 2, 3]) pushPr(n, 'svc-a/VERSION', `a ${n}\n`);
    await repo.json(['up', '--pr', '1']);
    await repo.json(['up', '--pr', '2']);
    expect((await repo.sess(['down', 'pr-1'])).code).toBe(0);
    expect((await repo.sess(['down', 'pr-2'])).code).toBe(0);
    // pr-2 was up last: pr-1 is the oldest
    expect((await repo.sess(['up', '--pr', '2'])).code).toBe(0);
    expect((await repo.sess(['down', 'pr-2'])).code).toBe(0);
    const r = await repo.sess(['up', '--pr', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('removed sandbox pr-1 (the oldest stopped one) to stay within sandboxes.max = 2');
    expect((await repo.json(['ls'])).map((s: any) => s.name).sort()).toEqual(['pr-2', 'pr-3']);
    expect(ourProcesses(repo.id(), 'pr-1')).toEqual([]);
  });

  it('refuses when every sandbox runs', async () => {
    for (const n of [1, 2, 3]) pushPr(n, 'svc-a/VERSION', `a ${n}\n`);
    await repo.json(['up', '--pr', '1']);
    await repo.json(['up', '--pr', '2']);
    const r = await repo.sess(['up', '--pr', '3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sandboxes.max is 2 and every sandbox is running');
    expect((await repo.json(['ls'])).map((s: any) => s.name).sort()).toEqual(['pr-1', 'pr-2']);
  });
});

describe('rm of a sandbox', () => {
  it('takes away the fetched head of its pull request and the emptied sessions folder', async () => {
    pushPr(8, 'svc-a/VERSION', 'pr\n');
    await repo.json(['up', '--pr', '8']);
    expect(repo.git('show-ref', 'refs/remotes/origin/pr/8')).toContain('refs/remotes/origin/pr/8');
    const r = await repo.sess(['rm', 'pr-8', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).removed).toContain('refs/remotes/origin/pr/8');
    expect(() => repo.git('show-ref', 'refs/remotes/origin/pr/8')).toThrow();
    expect(existsSync(join(repo.tmp, 'app.sess'))).toBe(false);
  });
});
