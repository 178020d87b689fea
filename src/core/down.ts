// `sess down` (stop services; keep worktree, volumes, leases) and `sess rm` (take everything away).
import { existsSync } from 'node:fs';
import {
  deleteBranch,
  listWorktrees,
  pruneWorktrees,
  removeWorktree,
  uncommittedChanges,
  unpushedCommits,
} from '../adapters/git.js';
import { runShell } from '../adapters/process.js';
import { WorkError, messageOf } from '../errors.js';
import { release } from './ledger.js';
import type { Progress } from './progress.js';
import { leaseOwner, openRepo, type Repo } from './repo.js';
import { recoverJournal } from './rollback.js';
import { stopServices } from './services.js';
import { lockSession, requireSession } from './session.js';
import { readSession, removeSessionDir, writeSession, type SessionRecord } from './store.js';
import { sessionView, type SessionView } from './view.js';
import { isRunning } from '../modes/hostProcess.js';

export interface SessionCommand {
  cwd: string;
  target: string;
  progress: Progress;
}

/** Run a command with the session locked and any interrupted command's journal finished first. */
async function withSession<T>(
  options: SessionCommand,
  fn: (repo: Repo, record: SessionRecord) => Promise<T>,
): Promise<T> {
  const repo = await openRepo(options.cwd);
  const { name } = requireSession(repo, options.target);
  const lock = await lockSession(repo, name, options.progress);
  try {
    await recoverJournal(repo, name, options.progress.info);
    const record = readSession(repo, name);
    if (!record) throw new WorkError(`session ${name} went away while waiting for its lock`);
    return await fn(repo, record);
  } finally {
    lock.release();
  }
}

export function down(options: SessionCommand): Promise<SessionView> {
  return withSession(options, async (repo, record) => {
    await stopAll(record, options.progress);
    for (const svc of Object.values(record.services)) {
      svc.wanted = false;
      delete svc.pid;
      delete svc.start;
    }
    record.status = 'down';
    writeSession(repo, record);
    options.progress.step(`${record.name} is down (worktree, ports and volumes kept)`);
    return sessionView(record);
  });
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
    const worktreeThere = existsSync(record.worktree);
    const unpushed = await unpushedCommits(record.branch, repo.mainRoot);
    if (!options.force && worktreeThere) {
      const dirty = await uncommittedChanges(record.worktree, record.ownFiles);
      const problems: string[] = [];
      if (dirty.length) problems.push(`uncommitted changes: ${list(dirty)}`);
      if (unpushed.length) problems.push(`${unpushed.length} commit(s) on ${record.branch} that no other branch or remote has`);
      if (problems.length) {
        throw new WorkError(`not removing session ${record.name}: its worktree has ${problems.join('; and ')}`, {
          hint: `commit and push, or \`sess rm ${record.name} --force\` to throw them away`,
        });
      }
    }
    const removed: string[] = [];
    await stopAll(record, options.progress, options.volumes);
    if (worktreeThere || (await listWorktrees(repo.mainRoot)).some((w) => w.path === record.worktree)) {
      await removeWorktree(record.worktree, repo.mainRoot);
      removed.push(`worktree ${record.worktree}`);
    }
    await pruneWorktrees(repo.mainRoot);
    if (record.createdBranch && unpushed.length === 0) {
      try {
        await deleteBranch(record.branch, repo.mainRoot);
        removed.push(`branch ${record.branch}`);
      } catch (error) {
        options.progress.warn(`kept branch ${record.branch}: ${messageOf(error)}`);
      }
    } else if (record.createdBranch) {
      options.progress.info(`kept branch ${record.branch}: it has commits of its own`);
    }
    await release(leaseOwner(repo, record.name));
    removed.push(`ports ${Object.values(record.ports).join(' ')}`.trim());
    removeSessionDir(repo, record.name);
    options.progress.step(`removed session ${record.name}`);
    return { name: record.name, removed };
  });
}

function list(paths: string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ');
}
