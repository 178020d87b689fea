// Journals left behind: a command that died half way (a SIGKILL, a power cut) left its journal in
// the session's folder. The next command on the session (or `sess doctor --fix`), holding the
// session's lock, finishes it: an `up` (or a `promote`) is unwound; a `down` or an `rm`, whose intent was recorded
// before it acted, is carried to its end.
import { readJson, removePath, writeJsonAtomic } from '../../adapters/fs.js';
import { processStartTime } from '../../adapters/proc.js';
import type { Progress } from '../../common/progress.js';
import { downRecord, rmRecord } from '../sessions/teardown.js';
import { paths, type Repo } from '../state/repo.js';
import { readSession } from '../state/store.js';
import { unwindSteps, type Journal, type UnwindFailure } from './guard.js';

export function readJournal(repo: Repo, session: string): Journal | undefined {
  return readJson<Journal>(paths.journalFile(repo, session));
}

/** Record what a down or rm is about to do, so that a killed one is finished by the next command. */
export function recordIntent(repo: Repo, name: string, command: 'down' | 'rm', extra: { volumes?: boolean } = {}): void {
  writeJsonAtomic(paths.journalFile(repo, name), {
    version: 1,
    command,
    session: name,
    pid: process.pid,
    start: processStartTime(process.pid),
    started: new Date().toISOString(),
    steps: [],
    ...extra,
  });
}

/** The command is done: its journal goes. */
export function clearIntent(repo: Repo, name: string): void {
  removePath(paths.journalFile(repo, name));
}

/** Finish what an interrupted command left in the session's journal. The caller holds the session lock. */
export async function finishInterrupted(repo: Repo, name: string, progress: Progress): Promise<UnwindFailure[]> {
  const journal = readJournal(repo, name);
  if (!journal) return [];
  if (journal.command === 'up' || journal.command === 'promote') {
    // a promote's journal is an up's: what it decided is finished, what it had not is left as it was
    progress.info(`finishing the rollback of an interrupted \`sess ${journal.command}\` (pid ${journal.pid}, ${journal.started})`);
    const failures = await unwindSteps(repo, journal.steps, progress.info);
    if (failures.length === 0) clearIntent(repo, name);
    return failures;
  }
  progress.info(`finishing an interrupted \`sess ${journal.command}\` (pid ${journal.pid}, ${journal.started})`);
  const record = readSession(repo, name);
  if (record && journal.command === 'down') await downRecord(repo, record, progress);
  if (record && journal.command === 'rm') await rmRecord(repo, record, progress, { volumes: !!journal.volumes, force: true });
  clearIntent(repo, name);
  return [];
}
