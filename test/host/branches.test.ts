// Where a fresh worktree comes from, include/link, prefer, and sessions of other branches at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { branches, leasesOf, ledger, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo('host-branches');
  mkdirSync(join(repo.root, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(repo.root, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
  writeFileSync(join(repo.root, '.env'), 'SECRET=1\n');
});
afterEach(() => repo.cleanup());

const head = (wt: string) => execFileSync('git', ['-C', wt, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const branchOf = (wt: string) => execFileSync('git', ['-C', wt, 'branch', '--show-current'], { encoding: 'utf8' }).trim();

describe('worktree source', () => {
  it('a new branch starts at worktree.base, copies include and links link', async () => {
    const mainHead = repo.git('rev-parse', 'main');
    repo.git('checkout', '-qb', 'elsewhere');
    repo.git('commit', '-q', '--allow-empty', '-m', 'not on main');
    const view = await repo.json(['up', 'feat/new']);
    expect(head(view.worktree)).toBe(mainHead);
    expect(readFileSync(join(view.worktree, 'node_modules', 'dep', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(lstatSync(join(view.worktree, 'node_modules')).isSymbolicLink()).toBe(false);
    expect(readlinkSync(join(view.worktree, '.env'))).toBe(join(repo.root, '.env'));
  });

  it('--base overrides worktree.base', async () => {
    repo.git('commit', '-q', '--allow-empty', '-m', 'second');
    const first = repo.git('rev-parse', 'HEAD~1');
    const view = await repo.json(['up', 'feat/based', '--base', 'HEAD~1']);
    expect(head(view.worktree)).toBe(first);
  });

  it('an existing local branch is checked out as it is, and kept by rm', async () => {
    repo.git('branch', 'existing');
    repo.git('checkout', '-q', 'existing');
    repo.git('commit', '-q', '--allow-empty', '-m', 'on existing');
    const tip = repo.git('rev-parse', 'HEAD');
    repo.git('checkout', '-q', 'main');
    const view = await repo.json(['up', 'existing']);
    expect(head(view.worktree)).toBe(tip);
    expect(branchOf(view.worktree)).toBe('existing');
    expect((await repo.sess(['rm', 'existing', '--force'])).code).toBe(0);
    expect(branches(repo)).toContain('existing');
  });

  it('a branch only the remote has is tracked from origin', async () => {
    const origin = join(repo.tmp, 'origin.git');
    execFileSync('git', ['clone', '-q', '--bare', repo.root, origin]);
    const other = join(repo.tmp, 'other-clone');
    execFileSync('git', ['clone', '-q', origin, other]);
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    execFileSync('git', ['-C', other, 'checkout', '-qb', 'remote-only'], { env });
    execFileSync('git', ['-C', other, 'commit', '-q', '--allow-empty', '-m', 'remote work'], { env });
    execFileSync('git', ['-C', other, 'push', '-q', 'origin', 'remote-only'], { env });
    const tip = execFileSync('git', ['-C', other, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    repo.git('remote', 'add', 'origin', origin);
    repo.git('fetch', '-q', 'origin');
    const view = await repo.json(['up', 'remote-only']);
    expect(head(view.worktree)).toBe(tip);
    expect(execFileSync('git', ['-C', view.worktree, 'rev-parse', '--abbrev-ref', '@{u}'], { encoding: 'utf8' }).trim()).toBe(
      'origin/remote-only',
    );
    // pushed work is not "unpushed": rm needs no --force
    expect((await repo.sess(['rm', 'remote-only'])).code).toBe(0);
  });

  it('the branch checked out in the main checkout cannot be a session and nothing is left', async () => {
    // refused before anything is made: exit 2, as bad usage
    const r = await repo.sess(['up', 'main', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toBe(
      `branch "main" is checked out in ${repo.root}: a session needs a worktree of its own for it`,
    );
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
    expect(leasesOf(repo, 'main')).toEqual({});
  });
});

describe('ports', () => {
  it('prefer is taken when free, any free port when not', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busy = (blocker.address() as { port: number }).port;
    const free = busy + 1 < 65535 ? busy + 1 : busy - 1;
    writeFileSync(
      join(repo.root, 'sess.yaml'),
      readFileSync(join(repo.root, 'sess.yaml'), 'utf8').replace('web: {}', `web: { prefer: ${busy} }`),
    );
    repo.git('commit', '-qam', 'prefer a busy port');
    const a = await repo.json(['up', 'a']);
    expect(a.ports.web).not.toBe(busy);
    blocker.close();
    writeFileSync(
      join(repo.root, 'sess.yaml'),
      readFileSync(join(repo.root, 'sess.yaml'), 'utf8').replace(`prefer: ${busy}`, `prefer: ${free}`),
    );
    repo.git('commit', '-qam', 'prefer a free port');
    const b = await repo.json(['up', 'b']);
    expect(b.ports.web).toBe(free);
    // a second session that prefers the same port gets another: the first holds the lease
    const c = await repo.json(['up', 'c']);
    expect(c.ports.web).not.toBe(free);
  });
});

describe('many sessions at once', () => {
  it('8 ups of different branches started together all succeed, no port leased twice', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `par/${i}`);
    const results = await Promise.all(names.map((n) => repo.sess(['up', n, '--json'])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const views = results.map((r) => JSON.parse(r.stdout));
    const ports = views.flatMap((v) => Object.values(v.ports));
    expect(new Set(ports).size).toBe(8);
    const leased = Object.entries(ledger()).filter(([, l]) => l.owner.startsWith(repo.id()));
    expect(leased.length).toBe(8);
    for (const v of views) {
      const res = await fetch(`http://127.0.0.1:${v.ports.web}/`);
      expect(await res.text()).toContain(`hello from ${v.name}`);
    }
    expect(worktrees(repo).length).toBe(8);
    const removed = await Promise.all(views.map((v) => repo.sess(['rm', v.name])));
    for (const r of removed) expect(r.code, r.stderr).toBe(0);
    expect(ourProcesses(repo.id())).toEqual([]);
    expect(worktrees(repo)).toEqual([]);
    expect(Object.values(ledger()).filter((l) => l.owner.startsWith(repo.id()))).toEqual([]);
  });

  it('two ups of the same session at once: the second waits, then finds it up; one set of processes', async () => {
    const [a, b] = await Promise.all([repo.sess(['up', 'same']), repo.sess(['up', 'same'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stderr + b.stderr).toContain('already up and unchanged');
    expect(ourProcesses(repo.id(), 'same').length).toBeLessThanOrEqual(2); // sh + node of web
    const st = await repo.json(['status', 'same']);
    expect(st.status).toBe('up');
    expect(existsSync(st.worktree)).toBe(true);
  });
});
