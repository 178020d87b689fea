// `sess down` (stop services; keep worktree, volumes, leases) and `sess rm` (take everything away).
import { existsSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { rm as removeTree } from 'node:fs/promises';
import { deleteBranch, git, hasLocalBranch, listWorktrees, pruneWorktrees, uncommittedChanges, unpushedCommits } from '../../adapters/git.js';
import { runShell } from '../../adapters/process.js';
import { WorkError, messageOf } from '../../common/errors.js';
import { release, requireReadableLedger } from '../state/ledger.js';
import type { Progress } from '../../common/progress.js';
import { leaseOwner, openRepo, paths, withWorktreesLock, type Repo } from '../state/repo.js';
import { readJournal, recoverJournal, type UnwindFailure } from '../journal/guard.js';
import { removePath, writeJsonAtomic } from '../../adapters/fs.js';
import { processStartTime } from '../../adapters/process.js';
import { stopServices } from '../release/start.js';
import { lockSession, noSession, requireSessionName } from './names.js';
import { markStopped, readSession, removeSessionDir, writeSession, type SessionRecord } from '../state/store.js';
import { sessionView, type SessionView } from './view.js';
import { isRunning } from '../../modes/hostProcess.js';

export interface SessionCommand {
  cwd: string;
  target: string;
  progress: Progress;
}

/**
 * Finish what an interrupted command left in the session's journal (the caller holds the session
 * lock, so its writer is gone): an `up` is unwound; a `down` or an `rm`, whose intent was recorded
 * before it acted, is carried to its end.
 */
export async function finishInterrupted(repo: Repo, name: string, progress: Progress): Promise<UnwindFailure[]> {
  const journal = readJournal(repo, name);
  if (!journal) return [];
  if (journal.command === 'up') return (await recoverJournal(repo, name, progress.info))?.failures ?? [];
  progress.info(`finishing an interrupted \`sess ${journal.command}\` (pid ${journal.pid}, ${journal.started})`);
  const record = readSession(repo, name);
  if (record && journal.command === 'down') await downRecord(repo, record, progress);
  if (record && journal.command === 'rm') await rmRecord(repo, record, progress, { volumes: !!journal.volumes, force: true });
  removePath(paths.journalFile(repo, name));
  return [];
}

/** Run a command with the session locked and any interrupted command's journal finished first. */
async function withSession<T>(options: SessionCommand, fn: (repo: Repo, record: SessionRecord) => Promise<T>): Promise<T> {
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

/** Record what a down or rm is about to do, so that a killed one is finished by the next command. */
function recordIntent(repo: Repo, name: string, command: 'down' | 'rm', extra: { volumes?: boolean } = {}): void {
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

export function down(options: SessionCommand): Promise<SessionView> {
  return withSession(options, async (repo, record) => {
    recordIntent(repo, record.name, 'down');
    await downRecord(repo, record, options.progress);
    removePath(paths.journalFile(repo, record.name));
    options.progress.step(`${record.name} is down (worktree, ports and volumes kept)`);
    return sessionView(record);
  });
}

async function downRecord(repo: Repo, record: SessionRecord, progress: Progress): Promise<void> {
  await stopAll(record, progress);
  for (const svc of Object.values(record.services)) markStopped(svc);
  record.status = 'down';
  writeSession(repo, record);
}

async function stopAll(record: SessionRecord, progress: Progress, volumes = false): Promise<void> {
  const anyRunning = Object.values(record.services).some((s) => s.wanted && (s.runtime === 'compose' || isRunning(s)));
  if (anyRunning && existsSync(record.worktree)) {
    for (const command of record.hooks.pre_down) {
      progress.info(`pre_down: ${command}`);
      const r = await runShell(command, {
        cwd: record.worktree,
        env: { ...process.env, ...record.hostEnv },
        echo: true,
        allowFailure: true,
      });
      if (r.exitCode !== 0) progress.warn(`pre_down hook \`${command}\` exited with ${r.exitCode}; stopping anyway`);
    }
  }
  await stopServices(record.services, progress, { compose: record.compose, wholeProject: true, volumes });
}

export interface RmOptions extends SessionCommand {
  force: boolean;
  volumes: boolean;
}

export function rm(options: RmOptions): Promise<{ name: string; removed: string[] }> {
  return withSession(options, async (repo, record) => {
    // rm releases the leases last: a corrupt ledger must stop it before its intent is recorded
    requireReadableLedger();
    if (!options.force && existsSync(record.worktree)) {
      const dirty = await uncommittedChanges(record.worktree, record.ownFiles);
      const unpushed = await unpushedCommits(record.branch, repo.mainRoot);
      const problems: string[] = [];
      if (dirty.length) problems.push(`uncommitted changes: ${list(dirty)}`);
      if (unpushed.length) problems.push(`${unpushed.length} commit(s) on ${record.branch} that no other branch or remote has`);
      if (problems.length) {
        throw new WorkError(`not removing session ${record.name}: its worktree has ${problems.join('; and ')}`, {
          hint: `commit and push, or \`sess rm ${record.name} --force\` to throw them away`,
        });
      }
    }
    recordIntent(repo, record.name, 'rm', { volumes: options.volumes });
    const removed = await rmRecord(repo, record, options.progress, options);
    options.progress.step(`removed session ${record.name}`);
    return { name: record.name, removed };
  });
}

/** Take a session away: services, worktree (and the branch sess made, if it holds nothing), leases, state. */
export async function rmRecord(
  repo: Repo,
  record: SessionRecord,
  progress: Progress,
  options: { volumes: boolean; force: boolean; keepBranch?: boolean },
): Promise<string[]> {
  requireReadableLedger(); // released last, after the worktree is gone: known readable first
  const removed: string[] = [];
  const unpushed = await unpushedCommits(record.branch, repo.mainRoot);
  await stopAll(record, progress, options.volumes);
  // The files go first, outside the worktrees lock (a large worktree takes a while, and git's
  // commands elsewhere only read the admin folders); then, under it, git forgets the worktree.
  // A link into the main checkout is removed as a link: what it points at stays.
  let gone = false;
  if (existsSync(record.worktree)) {
    await removeTree(record.worktree, { recursive: true, force: true });
    gone = true;
  }
  await withWorktreesLock(repo, async () => {
    gone ||= (await listWorktrees(repo.mainRoot)).some((w) => w.path === record.worktree);
    await pruneWorktrees(repo.mainRoot); // its folder is gone: git forgets it
    if (gone) removed.push(`worktree ${record.worktree}`);
    if (record.createdBranch && unpushed.length === 0 && !options.keepBranch) {
      try {
        await deleteBranch(record.branch, repo.mainRoot);
        removed.push(`branch ${record.branch}`);
      } catch (error) {
        if (await hasLocalBranch(record.branch, repo.mainRoot, repo.commonDir))
          progress.warn(`kept branch ${record.branch}: ${messageOf(error)}`);
      }
    } else if (record.createdBranch) {
      progress.info(`kept branch ${record.branch}: it has commits of its own`);
    }
  });
  await release(leaseOwner(repo, record.name));
  removed.push(`ports ${Object.values(record.ports).join(' ')}`.trim());
  if (record.pr) {
    // the fetched head of a sandbox's pull request is kept only for the sandbox
    const ref = `refs/remotes/${record.pr.remote}/pr/${record.pr.number}`;
    if ((await git(['update-ref', '-d', ref], repo.mainRoot, { allowFailure: true })).exitCode === 0) removed.push(ref);
  }
  removeSessionDir(repo, record.name);
  try {
    rmdirSync(dirname(record.worktree)); // the sessions' folder, once its last worktree is gone
  } catch {
    /* other worktrees in it, or not ours to judge: only an empty folder goes */
  }
  return removed;
}

function list(paths: string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ');
}
