// sess gc: by merged, by remote branch or pull request gone, by age, sandboxes' ttl; never a
// worktree with work of its own (unless --force); --dry-run changes nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOrigin, branches, eventually, gitAt, makeRepo, pushPullRequest, worktrees, type TestRepo } from '../helpers/sess.js';

const git = gitAt;

let repo: TestRepo;
let origin: string;
beforeEach(() => {
  repo = makeRepo('pr-sandbox');
  origin = addOrigin(repo);
});
afterEach(() => repo.cleanup());

async function session(name: string, commit = true): Promise<string> {
  const view = await repo.json(['up', name]);
  if (commit) {
    writeFileSync(join(view.worktree, `${name.replace(/\W/g, '_')}.txt`), `${name}\n`);
    git(view.worktree, 'add', '-A');
    git(view.worktree, 'commit', '-qm', `work on ${name}`);
  }
  expect((await repo.sess(['down', view.name])).code).toBe(0);
  return view.worktree;
}

function age(name: string, days: number) {
  const file = join(repo.root, '.git', 'sess', 'sessions', name, 'session.json');
  const record = JSON.parse(readFileSync(file, 'utf8'));
  record.lastUp = new Date(Date.now() - days * 86_400_000).toISOString();
  writeFileSync(file, JSON.stringify(record));
}

const names = async () => (await repo.json(['ls'])).map((s: any) => s.name).sort();

describe('sess gc', () => {
  it('removes a session whose branch is merged into the base (and its branch); keeps the others', async () => {
    await session('merged');
    await session('open');
    await session('untouched', false);
    repo.git('merge', '-q', '--no-edit', 'merged');
    const dry = await repo.json(['gc', '--dry-run']);
    expect(dry).toEqual([{ session: 'merged', reasons: ['branch merged is merged into HEAD'], action: 'would remove' }]);
    expect(await names()).toEqual(['merged', 'open', 'untouched']);
    const r = await repo.sess(['gc', '--merged']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed      merged: branch merged is merged into HEAD');
    expect(await names()).toEqual(['open', 'untouched']);
    expect(branches(repo)).not.toContain('merged');
    expect(worktrees(repo)).toHaveLength(2);
  });

  it('removes a session whose remote branch is gone, keeping its branch when it has commits of its own', async () => {
    const wt = await session('pushed');
    git(wt, 'push', '-q', '-u', 'origin', 'pushed');
    expect(await repo.json(['gc', '--dry-run'])).toEqual([]);
    git(origin, 'branch', '-D', 'pushed');
    const decisions = await repo.json(['gc']);
    expect(decisions).toEqual([{ session: 'pushed', reasons: ['its remote branch origin/pushed is gone'], action: 'removed' }]);
    expect(await names()).toEqual([]);
    // the commits were on origin/pushed, still known locally: nothing lost, the branch stays anyway
    expect(branches(repo)).toContain('pushed');
  });

  it('removes a sandbox whose pull request ref is gone', async () => {
    pushPullRequest(repo, 5, 'svc-a/VERSION', 'pr\n');
    await repo.json(['up', '--pr', '5']);
    expect((await repo.sess(['down', 'pr-5'])).code).toBe(0);
    expect(await repo.json(['gc', '--dry-run'])).toEqual([]);
    git(origin, 'update-ref', '-d', 'refs/pull/5/head');
    const decisions = await repo.json(['gc']);
    expect(decisions).toEqual([{ session: 'pr-5', reasons: ['pull request #5 is gone from origin'], action: 'removed' }]);
    expect(branches(repo)).not.toContain('pr/5');
  });

  it('--older-than DAYS removes sessions idle that long; sandboxes.ttl_days applies to sandboxes without flags', async () => {
    await session('old', false);
    await session('recent', false);
    age('old', 40);
    age('recent', 2);
    expect(await repo.json(['gc'])).toEqual([]); // not a sandbox: ttl_days does not apply
    const decisions = await repo.json(['gc', '--older-than', '30']);
    expect(decisions).toEqual([{ session: 'old', reasons: ['last up 40 days ago (--older-than 30)'], action: 'removed' }]);
    expect(await names()).toEqual(['recent']);
    expect(branches(repo)).toContain('old'); // age says nothing about where its commits are
  });

  it('ttl_days: a sandbox idle longer than the ttl goes with a plain gc', async () => {
    pushPullRequest(repo, 6, 'svc-a/VERSION', 'pr\n');
    await repo.json(['up', '--pr', '6']);
    expect((await repo.sess(['down', 'pr-6'])).code).toBe(0);
    age('pr-6', 10);
    expect(await repo.json(['gc'])).toEqual([
      { session: 'pr-6', reasons: ['sandbox last up 10 days ago (sandboxes.ttl_days 7)'], action: 'removed' },
    ]);
  });

  it('never removes a worktree with uncommitted changes or unpushed commits, nor a running session, unless --force', async () => {
    const dirty = await session('dirty', false);
    writeFileSync(join(dirty, 'notes.txt'), 'wip\n');
    await session('unpushed');
    await repo.json(['up', 'running']);
    for (const n of ['dirty', 'unpushed', 'running']) age(n, 99);
    const decisions = await repo.json(['gc', '--older-than', '30']);
    expect(decisions.map((d: any) => [d.session, d.action])).toEqual([
      ['dirty', 'kept'],
      ['running', 'kept'],
      ['unpushed', 'kept'],
    ]);
    expect(decisions[0].kept).toContain('uncommitted changes in its worktree (notes.txt');
    expect(decisions[1].kept).toContain('it is running');
    expect(decisions[2].kept).toContain('1 commit(s) of its own');
    expect(await names()).toEqual(['dirty', 'running', 'unpushed']);
    expect(readFileSync(join(dirty, 'notes.txt'), 'utf8')).toBe('wip\n');
    const forced = await repo.json(['gc', '--older-than', '30', '--force']);
    expect(forced.map((d: any) => d.action)).toEqual(['removed', 'removed', 'removed']);
    expect(await names()).toEqual([]);
    expect(branches(repo)).toContain('unpushed'); // its commit is not lost with the worktree
  });

  it('ls shows the last up of each session, and its disk use with --size', async () => {
    await session('sized', false);
    age('sized', 3);
    const [plain] = await repo.json(['ls']);
    expect(plain.disk).toBeUndefined();
    expect(Date.now() - Date.parse(plain.lastUp)).toBeGreaterThan(2.9 * 86_400_000);
    const [sized] = await repo.json(['ls', '--size']);
    expect(sized.disk.worktree).toBeGreaterThan(0);
    expect(sized.disk.volumes).toBe(0);
    expect((await repo.sess(['ls', '--size'])).stdout).toMatch(/sized\s+down\s+host\s+sized\s+3d ago\s+\d+(\.\d)?KB \+ 0B vol/);
  });

  it('decides again under the lock: a merged, stopped session that an up starts while gc waits is kept, with its new work', async () => {
    const wt = await session('race', false);
    // the branch's sess.yaml gets a post_up hook that holds the up (and its lock) a while and then
    // writes uncommitted work into the worktree
    const yaml = readFileSync(join(wt, 'sess.yaml'), 'utf8');
    writeFileSync(
      join(wt, 'sess.yaml'),
      `${yaml}hooks:\n  post_up: ["[ -f \\"$SESS_REPO_ROOT/.slow\\" ] && sleep 2; echo wip > wip.txt"]\n`,
    );
    git(wt, 'commit', '-qam', 'a slow post_up');
    repo.git('merge', '-q', '--no-edit', 'race');
    writeFileSync(join(repo.root, '.slow'), '');
    const up = repo.start(['up', 'race']);
    let err = '';
    up.child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('post_up'), 20_000, 'the up to reach its post_up hook');
    const gc = await repo.sess(['gc', '--json']);
    expect((await up.done).code).toBe(0);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toEqual([
      expect.objectContaining({ session: 'race', action: 'kept', kept: expect.stringContaining('running') }),
    ]);
    expect(await names()).toEqual(['race']);
    expect(readFileSync(join(wt, 'wip.txt'), 'utf8')).toBe('wip\n');
  });
});
