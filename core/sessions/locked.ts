// A command on one existing session: its lock held, any interrupted command's journal finished
// first, and the record read under the lock.
import type { Progress } from '../../common/progress.js';
import { finishInterrupted } from '../journal/recover.js';
import { openRepo, type Repo } from '../state/repo.js';
import { readSession, type SessionRecord } from '../state/store.js';
import { lockSession, noSession, requireSessionName } from './names.js';

export interface SessionCommand {
  cwd: string;
  target: string;
  progress: Progress;
}

export async function withSession<T>(options: SessionCommand, fn: (repo: Repo, record: SessionRecord) => Promise<T>): Promise<T> {
  const repo = await openRepo(options.cwd);
  const name = requireSessionName(repo, options.target);
  const lock = await lockSession(repo, name, options.progress);
  try {
    await finishInterrupted(repo, name, options.progress);
    // read under the lock: a session being created when we asked may have been rolled back, and
    // one that existed may have been removed while we waited
    const record = readSession(repo, name);
    if (!record) throw noSession(repo, name, ': it went away while this command waited for it (rolled back or removed)');
    return await fn(repo, record);
  } finally {
    lock.release();
  }
}
