// A repair of one session, under its lock, on the record read under it: what was found before the
// lock may be stale (an `up` restarted the service, an `rm` removed the session). A command still
// working on the session is waited for, as any second command on it would be.
import type { Progress } from '../../common/progress.js';
import { finishInterrupted } from '../journal/recover.js';
import { lockSession } from '../sessions/names.js';
import type { Repo } from '../state/repo.js';
import { listSessionNames, readSession, type SessionRecord } from '../state/store.js';

export async function underLock(
  repo: Repo,
  name: string,
  progress: Progress,
  repair: (record: SessionRecord | undefined) => Promise<void>,
): Promise<void> {
  const lock = await lockSession(repo, name, progress);
  try {
    await finishInterrupted(repo, name, progress);
    await repair(readSession(repo, name));
  } finally {
    lock.release();
  }
}

export function sessions(repo: Repo): SessionRecord[] {
  return listSessionNames(repo).flatMap((n) => readSession(repo, n) ?? []);
}
