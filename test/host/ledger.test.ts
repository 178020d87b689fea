// The machine-wide port ledger: its lock honours SESS_LOCK_TIMEOUT.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../../src/adapters/fs.js';
import { branches, isolatedLedger, leasesOf, makeRepo, worktrees, type TestRepo } from '../helpers/sess.js';

const home = isolatedLedger(); // this file's own: doctor --fix repairs it, and a test holds its lock
afterAll(() => rmSync(home, { recursive: true, force: true }));

function sessionDir(repo: TestRepo, session: string) {
  return join(repo.root, '.git', 'sess', 'sessions', session);
}

describe('the ledger lock', () => {
  let repo: TestRepo;
  beforeEach(() => {
    repo = makeRepo('host-ledger');
  });
  afterEach(() => repo.cleanup());

  it('honours SESS_LOCK_TIMEOUT, and a lease that never happened is not waited for again', async () => {
    // held by a live process (this one), as a sess that hangs holding it would
    const held = await acquireLock(join(home, 'ports.lock'), { timeoutMs: 5000, what: 'the port ledger', command: 'up hung' });
    let r;
    const t0 = Date.now();
    try {
      r = await repo.sess(['up', 'feat/x'], { env: { SESS_LOCK_TIMEOUT: '2' } });
    } finally {
      held.release();
    }
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(1);
    expect(seconds).toBeLessThan(10);
    expect(r.stderr).toContain('the port ledger is busy');
    expect(r.stderr).not.toContain('doctor');
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
    expect(existsSync(sessionDir(repo, 'feat-x'))).toBe(false);
    expect(leasesOf(repo, 'feat-x')).toEqual({});
  }, 180_000);
});
