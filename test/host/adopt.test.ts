// `sess up <branch> --adopt`: a worktree of the branch that sess did not make (a hand-made `git
// worktree add`) becomes the session's as it is; no rollback and no `rm` ever deletes it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { branches, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
let hand: string;
beforeEach(() => {
  repo = makeRepo('host-basic');
  hand = join(repo.tmp, 'hand-made');
  repo.git('worktree', 'add', '-q', '-b', 'feat', hand);
  writeFileSync(join(hand, 'notes.txt'), 'my uncommitted work\n');
});
afterEach(() => repo.cleanup());

/** the hand-made worktree is there, registered, with its files and branch */
function intact() {
  expect(readFileSync(join(hand, 'notes.txt'), 'utf8')).toBe('my uncommitted work\n');
  expect(existsSync(join(hand, 'sess.yaml'))).toBe(true);
  expect(worktrees(repo)).toContain(hand);
  expect(branches(repo)).toContain('feat');
}
async function noSession() {
  expect(ourProcesses(repo.id(), 'feat')).toEqual([]);
  expect(leasesOf(repo, 'feat')).toEqual({});
  expect(await repo.json(['ls'])).toEqual([]);
  expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', 'feat', 'session.json'))).toBe(false);
}

describe('sess up --adopt', () => {
  it('without --adopt the refusal names the flag', async () => {
    const r = await repo.sess(['up', 'feat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`branch "feat" is checked out in ${hand}`);
    expect(r.stderr).toContain('sess up feat --adopt');
    intact();
    await noSession();
  });

  it('uses that folder; ls marks it adopted; rm leaves it (and its work) in place', async () => {
    const r = await repo.sess(['up', 'feat', '--adopt', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view).toMatchObject({ name: 'feat', worktree: hand, status: 'up', adopted: true });
    expect(r.stderr).toContain('adopted');
    expect(existsSync(join(hand, '.env.sess'))).toBe(true);
    const [listed] = await repo.json(['ls']);
    expect(listed).toMatchObject({ name: 'feat', adopted: true });
    expect((await repo.sess(['ls'])).stdout).toContain('(adopted)');
    // again: a resume of the adopted session, a no-op
    const again = await repo.sess(['up', 'feat', '--adopt']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already up and unchanged');
    // a hand-made worktree beside the adopted one is no orphan of sess's: doctor leaves it alone
    const other = join(repo.tmp, 'other-hand-made');
    repo.git('worktree', 'add', '-q', '-b', 'other', other);
    const doctor = await repo.sess(['doctor', '--fix']);
    expect(doctor.stdout + doctor.stderr).not.toContain('orphan-worktree');
    expect(existsSync(join(other, 'sess.yaml'))).toBe(true);
    expect(existsSync(join(hand, 'notes.txt'))).toBe(true);
    // uncommitted work in it is no reason to refuse: rm deletes none of it
    const rm = await repo.sess(['rm', 'feat']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stderr).toContain(`left ${hand} in place (adopted)`);
    intact();
    await noSession();
  });

  it('a failed up with --adopt leaves the folder and its files intact, and nothing of the session', async () => {
    const r = await repo.sess(['up', 'feat', '--adopt'], { env: { SESS_FAILPOINT: 'ready:web' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rolling back');
    intact();
    // what sess wrote into it (the env file) went with the rollback
    expect(existsSync(join(hand, '.env.sess'))).toBe(false);
    await noSession();
    // and it can be adopted once the cause is gone
    const ok = await repo.sess(['up', 'feat', '--adopt']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a hand-made path is untrusted: a symlinked worktree, a symlinked env file, no worktree, the main checkout: exit 2', async () => {
    // the env file as a symlink out of the worktree: sess would write through it
    const outside = join(mkdtempSync(join(tmpdir(), 'sess-outside-')), 'target');
    writeFileSync(outside, 'untouched\n');
    symlinkSync(outside, join(hand, '.env.sess'));
    const link = await repo.sess(['up', 'feat', '--adopt']);
    expect(link.code).toBe(2);
    expect(link.stderr).toContain('.env.sess leaves the worktree');
    expect(readFileSync(outside, 'utf8')).toBe('untouched\n');
    rmSync(join(hand, '.env.sess'));
    intact();
    await noSession();
    // the folder git names is a symlink to the real one
    renameSync(hand, `${hand}-real`);
    symlinkSync(`${hand}-real`, hand);
    const sym = await repo.sess(['up', 'feat', '--adopt']);
    expect(sym.code).toBe(2);
    expect(sym.stderr).toContain(`--adopt: ${hand} is a symlink`);
    await noSession();
    const none = await repo.sess(['up', 'nowhere', '--adopt']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--adopt: branch "nowhere" is checked out in no worktree');
    const main = await repo.sess(['up', 'main', '--adopt']);
    expect(main.code).toBe(2);
    expect(main.stderr).toContain('is the main checkout');
    expect(await repo.json(['ls'])).toEqual([]);
    rmSync(outside, { force: true });
  });
});
