// `sess gc`: remove sessions that are done with: branch merged into the base, remote branch or pull
// request ref gone, or last up too long ago. Never one with work of its own (unless --force), never
// a running one (unless --force), never the volumes of a session it keeps.
import { existsSync } from 'node:fs';
import { isAncestor, readHead, remoteRefs, resolveCommit, upstreamOf, worktreeGitDir } from '../../adapters/git.js';
import { messageOf } from '../../common/errors.js';
import { mayRun } from '../state/liveness.js';
import { workOfItsOwn } from '../state/work.js';
import { finishInterrupted } from '../journal/recover.js';
import { rmRecord } from './teardown.js';
import { requireReadableLedger } from '../state/ledger.js';
import { mainConfig } from '../up/prepare.js';
import type { Progress } from '../../common/progress.js';
import { openRepo, type Repo } from '../state/repo.js';
import { lockSession } from './names.js';
import { listSessions, readSession, type SessionRecord } from '../state/store.js';

export interface GcOptions {
  cwd: string;
  dryRun: boolean;
  merged: boolean;
  olderThan?: number;
  force: boolean;
  volumes: boolean;
  progress: Progress;
}

export interface GcDecision {
  session: string;
  /** why it is garbage */
  reasons: string[];
  action: 'removed' | 'would remove' | 'kept';
  /** why it was kept anyway */
  kept?: string;
}

export async function gc(options: GcOptions): Promise<GcDecision[]> {
  const repo = await openRepo(options.cwd);
  if (!options.dryRun) requireReadableLedger(); // every removal releases leases: refuse before the first
  const config = await mainConfig(repo);
  const explicit = options.merged || options.olderThan !== undefined;
  const baseRef = config?.worktree.base ?? 'HEAD';
  const base = baseRef === 'HEAD' ? readHead(repo.commonDir, repo.commonDir) : await resolveCommit(baseRef, repo.mainRoot);
  const remotes = new RemoteRefs(repo, options.progress);
  const now = Date.now();
  const decisions: GcDecision[] = [];

  const decide = async (record: SessionRecord): Promise<GcDecision | undefined> => {
    const reasons = await garbageReasons(repo, record, {
      ...options,
      explicit,
      base,
      baseRef,
      remotes,
      now,
      ttl: config?.sandboxes?.ttl_days,
    });
    if (reasons.length === 0) return undefined;
    const kept = await reasonToKeep(repo, record, options.force);
    if (kept) {
      options.progress.info(`keeping ${record.name} (${reasons.join('; ')}): ${kept}`);
      return { session: record.name, reasons, action: 'kept', kept };
    }
    return { session: record.name, reasons, action: options.dryRun ? 'would remove' : 'removed' };
  };

  for (const listed of listSessions(repo)) {
    const first = await decide(listed);
    if (!first || options.dryRun) {
      if (first) decisions.push(first);
      continue;
    }
    // What looked like garbage is decided again under the lock it is removed under, on the record
    // read under it: while gc waited, an `up` may have started it or written work into its worktree.
    const lock = await lockSession(repo, listed.name, options.progress);
    try {
      await finishInterrupted(repo, listed.name, options.progress);
      const current = readSession(repo, listed.name);
      if (!current) continue;
      const decision = await decide(current);
      if (!decision) continue;
      decisions.push(decision);
      if (decision.action !== 'removed') continue;
      // the branch goes only where its commits live on elsewhere: in the base, or in the pull request
      const keepBranch = !decision.reasons.some((r) => r.includes('merged')) && !current.pr;
      await rmRecord(repo, current, options.progress, { volumes: options.volumes, force: true, keepBranch });
      options.progress.step(`removed ${current.name}: ${decision.reasons.join('; ')}`);
    } finally {
      lock.release();
    }
  }
  return decisions;
}

interface ReasonContext {
  explicit: boolean;
  merged: boolean;
  olderThan?: number;
  base: string | null;
  baseRef: string;
  remotes: RemoteRefs;
  now: number;
  ttl?: number;
}

/** Why a session is garbage: merged, its remote counterpart gone, idle too long. Empty: it is not. */
async function garbageReasons(repo: Repo, record: SessionRecord, c: ReasonContext): Promise<string[]> {
  const reasons: string[] = [];
  const tip = existsSync(record.worktree)
    ? readHead(worktreeGitDir(record.worktree), repo.commonDir)
    : await resolveCommit(`refs/heads/${record.branch}`, repo.mainRoot);
  if ((!c.explicit || c.merged) && c.base && tip && tip !== record.baseCommit && (await isAncestor(tip, c.base, repo.mainRoot))) {
    reasons.push(`${record.pr ? 'pull request' : `branch ${record.branch}`} is merged into ${c.baseRef}`);
  }
  if (!c.explicit) {
    const gone = await c.remotes.gone(record);
    if (gone) reasons.push(gone);
  }
  const days = (c.now - Date.parse(record.lastUp ?? record.created)) / 86_400_000;
  if (c.olderThan !== undefined && days >= c.olderThan) reasons.push(`last up ${Math.floor(days)} days ago (--older-than ${c.olderThan})`);
  if (!c.explicit && record.pr && c.ttl !== undefined && days >= c.ttl)
    reasons.push(`sandbox last up ${Math.floor(days)} days ago (sandboxes.ttl_days ${c.ttl})`);
  return reasons;
}

/** Why a garbage session stays: it runs, or holds work of its own. undefined: it may go. */
async function reasonToKeep(repo: Repo, record: SessionRecord, force: boolean): Promise<string | undefined> {
  if (force) return undefined;
  if (mayRun(record)) return 'it is running (sess down it first, or --force)';
  const work = await workOfItsOwn(repo, record);
  if (work.dirty.length) {
    return `uncommitted changes in its worktree (${work.dirty.slice(0, 3).join(', ')}${work.dirty.length > 3 ? ', …' : ''}; --force to remove anyway)`;
  }
  if (work.commits.length)
    return `${work.commits.length} commit(s) of its own that no other branch or remote has (--force to remove anyway)`;
  return undefined;
}

/** What the remotes still have, asked once per remote (`git ls-remote`). */
class RemoteRefs {
  private cache = new Map<string, Promise<Map<string, string> | undefined>>();
  constructor(
    private readonly repo: Repo,
    private readonly progress: Progress,
  ) {}

  private refs(remote: string) {
    if (!this.cache.has(remote)) {
      this.cache.set(
        remote,
        remoteRefs(remote, this.repo.mainRoot).catch((error) => {
          this.progress.warn(`could not ask ${remote} which refs it has: ${messageOf(error)}`);
          return undefined;
        }),
      );
    }
    return this.cache.get(remote)!;
  }

  /** Why the session's remote counterpart is gone, or undefined when it is there (or unknown). */
  async gone(record: SessionRecord): Promise<string | undefined> {
    if (record.pr) {
      const refs = await this.refs(record.pr.remote);
      return refs && !refs.has(record.pr.ref) ? `pull request #${record.pr.number} is gone from ${record.pr.remote}` : undefined;
    }
    const upstream = await upstreamOf(record.branch, this.repo.mainRoot);
    if (!upstream) return undefined;
    const refs = await this.refs(upstream.remote);
    return refs && !refs.has(upstream.ref)
      ? `its remote branch ${upstream.remote}/${upstream.ref.replace(/^refs\/heads\//, '')} is gone`
      : undefined;
  }
}
