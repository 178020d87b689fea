// Taking a session down (its services stop; worktree, volumes and leases stay) and away (rm):
// what `sess down` and `sess rm` do once they hold the session's lock, and what finishes a killed one.
import { existsSync, rmdirSync } from 'node:fs';
import { rm as removeTree } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deleteBranch, git, hasLocalBranch, listWorktrees, pruneWorktrees, unpushedCommits } from '../../adapters/git.js';
import { runShell } from '../../adapters/process.js';
import { messageOf } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { abortPending } from '../release/blueGreen.js';
import { hookFailure } from '../up/hooks.js';
import { stopServices } from '../release/stop.js';
import { release, requireReadableLedger } from '../state/ledger.js';
import { mayRun } from '../state/liveness.js';
import { leaseOwner, withWorktreesLock, type Repo } from '../state/repo.js';
import { markStopped, removeSessionDir, writeSession, type SessionRecord } from '../state/store.js';

/** Returns the warnings of its hooks (a failed pre_down or post_down does not stop a down). */
export async function downRecord(repo: Repo, record: SessionRecord, progress: Progress): Promise<string[]> {
  await abortAllPending(repo, record, progress);
  const warnings = await stopAll(repo, record, progress);
  for (const svc of Object.values(record.services)) markStopped(svc);
  record.status = 'down';
  writeSession(repo, record);
  // its URLs stay, and say the service is stopped and how to bring it up
  if (record.urls)
    await proxyStep(progress, 'mark its routes stopped', (p) => p.markSessionRoutes(repo.id, record.name, { state: 'stopped' }));
  return warnings;
}

/** Blue-green candidates waiting at their gate go with what runs: a down or rm aborts them. */
async function abortAllPending(repo: Repo, record: SessionRecord, progress: Progress): Promise<void> {
  for (const service of Object.keys(record.pending ?? {})) await abortPending(repo, record, service, progress);
}

/** A change to the machine's proxy routes that must not stop a teardown (a broken table: doctor says so). */
async function proxyStep(
  progress: Progress,
  what: string,
  fn: (proxy: typeof import('../proxy/index.js')) => Promise<unknown>,
): Promise<void> {
  try {
    await fn(await import('../proxy/index.js'));
  } catch (error) {
    progress.warn(`could not ${what} in the local proxy's route table: ${messageOf(error)} (\`sess doctor\` looks at it)`);
  }
}

/**
 * The pre_down hook (when something may run), every service and the rest of the session in its
 * runtimes (`gone`: the session goes, rm), then post_down. A hook that fails is a warning (returned, and said): the teardown goes on.
 */
async function stopAll(repo: Repo, record: SessionRecord, progress: Progress, gone?: { volumes: boolean }): Promise<string[]> {
  const hooksRun = mayRun(record) && existsSync(record.worktree);
  const warnings: string[] = [];
  if (hooksRun) warnings.push(...(await teardownHook('pre_down', record.hooks.pre_down, record, progress, 'stopping anyway')));
  await stopServices(repo, record, progress, { whole: true, volumes: !!gone?.volumes, gone: !!gone });
  if (hooksRun) warnings.push(...(await teardownHook('post_down', record.hooks.post_down ?? [], record, progress, 'going on')));
  return warnings;
}

/** A hook of down and rm: in the worktree with the session env, as the hooks of up run. */
async function teardownHook(hook: string, commands: string[], record: SessionRecord, progress: Progress, then: string): Promise<string[]> {
  const warnings: string[] = [];
  for (const command of commands) {
    progress.info(`${hook}: ${command}`);
    const r = await runShell(command, {
      cwd: record.worktree,
      env: { ...process.env, ...record.hostEnv },
      echo: true,
      allowFailure: true,
    });
    if (r.exitCode !== 0) {
      const warning = hookFailure(hook, command, r);
      progress.warn(`${warning}\n(${then})`);
      warnings.push(warning);
    }
  }
  return warnings;
}

/**
 * Take a session away: services, worktree (and the branch sess made, if it holds nothing), leases,
 * state. Returns what went, and the warnings of its hooks.
 */
export async function rmRecord(
  repo: Repo,
  record: SessionRecord,
  progress: Progress,
  options: { volumes: boolean; force: boolean; keepBranch?: boolean },
): Promise<{ removed: string[]; warnings: string[] }> {
  requireReadableLedger(); // released last, after the worktree is gone: known readable first
  const removed: string[] = [];
  const unpushed = await unpushedCommits(record.branch, repo.mainRoot);
  await abortAllPending(repo, record, progress);
  const warnings = await stopAll(repo, record, progress, { volumes: options.volumes });
  await proxyStep(progress, 'remove its routes', (p) => p.removeSessionRoutes(repo.id, record.name));
  // The files go first, outside the worktrees lock (a large worktree takes a while, and git's
  // commands elsewhere only read the admin folders); then, under it, git forgets the worktree.
  // A link into the main checkout is removed as a link: what it points at stays.
  if (record.adopted) {
    // the user's worktree (`up --adopt`): sess never deletes it, nor the branch checked out there
    progress.info(`left ${record.worktree} in place (adopted)`);
  } else await removeWorktreeOf(repo, record, progress, options, unpushed, removed);
  await release(leaseOwner(repo, record.name));
  removed.push(`ports ${Object.values(record.ports).join(' ')}`.trim());
  if (record.pr) {
    // the fetched head of a sandbox's pull request is kept only for the sandbox
    const ref = `refs/remotes/${record.pr.remote}/pr/${record.pr.number}`;
    if ((await git(['update-ref', '-d', ref], repo.mainRoot, { allowFailure: true })).exitCode === 0) removed.push(ref);
  }
  removeSessionDir(repo, record.name);
  if (record.adopted) return { removed, warnings };
  try {
    rmdirSync(dirname(record.worktree)); // the sessions' folder, once its last worktree is gone
  } catch {
    /* other worktrees in it, or not ours to judge: only an empty folder goes */
  }
  return { removed, warnings };
}

/** The worktree sess made for the session, and the branch it made when that holds nothing of its own. */
async function removeWorktreeOf(
  repo: Repo,
  record: SessionRecord,
  progress: Progress,
  options: { keepBranch?: boolean },
  unpushed: string[],
  removed: string[],
): Promise<void> {
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
}
