// What doctor finds of sessions themselves: unfinished journals, lost worktrees, services recorded
// as running that are not, leftover state folders. Each repair is made under the session's lock.
import { existsSync } from 'node:fs';
import { acquireLock } from '../../adapters/fs.js';
import { pruneWorktrees } from '../../adapters/git.js';
import { messageOf, WorkError } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import { finishInterrupted, readJournal } from '../journal/recover.js';
import { abortPending } from '../release/blueGreen.js';
import { stopServices } from '../release/stop.js';
import { release } from '../state/ledger.js';
import { isAlive, lookAt } from '../state/liveness.js';
import { leaseOwner, paths, withWorktreesLock, type Repo } from '../state/repo.js';
import {
  listSessionNames,
  markStopped,
  readCreating,
  readSession,
  removeSessionDir,
  writeSession,
  type SessionRecord,
} from '../state/store.js';
import type { Check, Finding } from './types.js';
import { sessions, underLock } from './underLock.js';

/** Sessions whose last command died half way (its journal is still there and nobody holds the lock). */
export async function journalChecks(repo: Repo, progress: Progress): Promise<Check[]> {
  const checks: Check[] = [];
  for (const name of listSessionNames(repo)) {
    const journal = readJournal(repo, name);
    if (!journal) continue;
    let lock;
    try {
      lock = await acquireLock(paths.sessionLock(repo, name), { timeoutMs: 0, what: `session ${name}` });
    } catch {
      continue; // a live command is working on it: not stuck
    }
    lock.release();
    const finding: Finding = {
      kind: 'unfinished-journal',
      subject: `session ${name}`,
      detail: `\`sess ${journal.command}\` (pid ${journal.pid}, ${journal.started}) did not finish: ${journal.command === 'up' ? 'what it created is still there' : 'it is half done'}`,
    };
    checks.push({
      finding,
      fix: async () => {
        const held = await acquireLock(paths.sessionLock(repo, name), { timeoutMs: 10_000, what: `session ${name}` });
        try {
          const failures = await finishInterrupted(repo, name, progress);
          if (failures.length) throw new WorkError(failures.map((f) => `${f.step}: ${messageOf(f.error)}`).join('; '));
        } finally {
          held.release();
        }
      },
    });
  }
  return checks;
}

/** Sessions whose worktree folder is gone: forget them (services, leases, state; volumes stay). */
export async function lostWorktrees(repo: Repo, progress: Progress): Promise<Check[]> {
  return sessions(repo)
    .filter((r) => !existsSync(r.worktree))
    .map((found) => ({
      finding: { kind: 'lost-worktree', subject: `session ${found.name}`, detail: `its worktree ${found.worktree} is gone` },
      fix: () =>
        underLock(repo, found.name, progress, async (record) => {
          if (!record || existsSync(record.worktree)) return;
          for (const service of Object.keys(record.pending ?? {})) await abortPending(repo, record, service, progress);
          await stopServices(repo, record, progress, { whole: true, gone: true });
          const proxy = await import('../proxy/index.js');
          await proxy.removeSessionRoutes(repo.id, record.name);
          await withWorktreesLock(repo, () => pruneWorktrees(repo.mainRoot));
          await release(leaseOwner(repo, record.name));
          removeSessionDir(repo, record.name);
        }),
    }));
}

/** Services recorded as running that are not (a crash, or a release that ended `failed`). */
export async function servicesDown(repo: Repo, progress: Progress): Promise<Check[]> {
  const checks: Check[] = [];
  for (const found of sessions(repo)) {
    if (!existsSync(found.worktree)) continue;
    const down = await deadServices(repo, found);
    if (down.length === 0 && found.status !== 'failed') continue;
    checks.push({
      finding: {
        kind: 'service-down',
        subject: `session ${found.name}`,
        detail: down.length
          ? `${down.join(', ')} should run but ${down.length > 1 ? 'do' : 'does'} not${found.status === 'failed' ? ' (its last up ended failed)' : ''}`
          : 'its last up ended failed',
      },
      fix: () =>
        underLock(repo, found.name, progress, async (record) => {
          if (!record) return;
          // consistent again: what does not run is recorded as stopped (`sess up` starts it)
          for (const n of await deadServices(repo, record)) markStopped(own(record.services, n)!);
          record.status = Object.values(record.services).some((s) => s.wanted) ? 'up' : 'down';
          writeSession(repo, record);
        }),
    });
  }
  return checks;
}

/** The services of a session that should run and do not. */
async function deadServices(repo: Repo, record: SessionRecord): Promise<string[]> {
  const live = own(await lookAt(repo, [record]), record.name) ?? {};
  return Object.entries(record.services)
    .filter(([, s]) => s.wanted && !isAlive(s, live))
    .map(([n]) => n);
}

/** A session folder with neither a record nor a journal: what is left of something half removed. */
export async function staleState(repo: Repo, progress: Progress): Promise<Check[]> {
  const stale = (n: string) => !readSession(repo, n) && !readJournal(repo, n) && !readCreating(repo, n);
  return listSessionNames(repo)
    .filter(stale)
    .map((name) => ({
      finding: { kind: 'stale-state', subject: `session folder ${name}`, detail: 'no session and no unfinished command: leftover state' },
      fix: () =>
        underLock(repo, name, progress, async () => {
          if (stale(name)) removeSessionDir(repo, name);
        }),
    }));
}
