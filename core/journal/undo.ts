// The inverses of up's steps, as data (they sit in the journal and may be run by a later process).
// Each one checks that what it removes is ours and tolerates that it is already gone: it may run
// after a step that failed half way, or after a SIGKILL right before the step acted.
import { existsSync, lstatSync, readlinkSync, rmdirSync, unlinkSync } from 'node:fs';
import { readTextIfExists, removePath, writeFileAtomic } from '../../adapters/fs.js';
import { deleteBranch, listWorktrees, pruneWorktrees, removeWorktree, resetHard, resolveCommit } from '../../adapters/git.js';
import { runtimeForUndo, runtimeOf } from '../../modes/placement.js';
import type { RouteInput } from '../proxy/index.js';
import type { RuntimeUndo } from '../../modes/runtime.js';
import { paths, withWorktreesLock, type Repo } from '../state/repo.js';
import { release, restoreLeases } from '../state/ledger.js';
import { writeSession, type ServiceRecord, type SessionRecord } from '../state/store.js';
import { dict } from '../../common/records.js';
import { WorkError } from '../../common/errors.js';

/** The inverses core itself writes; a runtime's own (a process group, a `compose up`) are RuntimeUndo. */
export type CoreUndo =
  /** A worktree this up created; the branch too if this up created it (and it still points where it was made). */
  | {
      kind: 'worktree.remove';
      path: string;
      branch: string | null;
      branchTip: string | null;
      /** the folder it was made in, when this up made that folder too: it goes if it is left empty */
      parent?: string;
    }
  | { kind: 'symlink.remove'; path: string; target: string }
  | { kind: 'file.restore'; path: string; previous: string | null; mode: number }
  /** `restore`: earlier ports of these names (a pin moved them), leased again once the names are released */
  | { kind: 'ports.release'; owner: string; names: string[]; restore?: { stateDir: string; leases: Record<string, number> } }
  /**
   * A replacement stopped this previous instance: its runtime starts it again (its record goes into
   * the session record that `session.restore` writes back, through the unwind's context). `stash`:
   * what its runtime keeps for the session; `env`: the session env; `leases`: the session's leases.
   */
  | {
      kind: 'service.restore';
      session: string;
      previous: ServiceRecord;
      stash?: unknown;
      env: Record<string, string>;
      leases: Record<string, number>;
    }
  | { kind: 'session.remove'; session: string }
  | { kind: 'session.restore'; record: SessionRecord }
  /** the session's routes in the local proxy: written back as they were (null: it had none) */
  | { kind: 'routes.restore'; repoId: string; repoName: string; repoRoot: string; session: string; routes: RouteInput[] | null }
  /** a blue-green candidate's own route (green.<service>...): taken away */
  | { kind: 'route.green'; repoId: string; session: string; service: string }
  /**
   * A blue-green promotion decided: whatever ends the command now finishes it (the new instance
   * serves, the old one goes) rather than going back: the route points at green, green's leases
   * take the service's names, and blue is stopped.
   */
  | {
      kind: 'bluegreen.finish';
      repoId: string;
      session: string;
      service: string;
      /** the release that waited at its gate (settled as promoted once done) */
      release?: number;
      greenTarget: string;
      blue: ServiceRecord;
      blueStash?: unknown;
      owner: string;
      renames: { from: string; to: string }[];
    }
  /** a sandbox moved to a newer commit: back to where it was */
  | { kind: 'worktree.reset'; worktree: string; commit: string }
  | { kind: 'none' };

export type Undo = CoreUndo | RuntimeUndo;

const CORE_KINDS = new Set<string>([
  'routes.restore',
  'route.green',
  'bluegreen.finish',
  'worktree.remove',
  'symlink.remove',
  'file.restore',
  'ports.release',
  'service.restore',
  'session.remove',
  'session.restore',
  'worktree.reset',
  'none',
]);

/** What one unwinding learns as it goes: the services it brought back, for the record it restores. */
export interface UnwindContext {
  /** by service name: a prototype-less record (see records.ts) */
  restored: Record<string, ServiceRecord>;
}

export async function runUndo(
  repo: Repo,
  undo: Undo,
  progress: (line: string) => void,
  context: UnwindContext = { restored: dict() },
): Promise<void> {
  if (!CORE_KINDS.has(undo.kind)) {
    const runtime = runtimeForUndo(undo.kind);
    if (!runtime)
      throw new WorkError(`this sess has no runtime that runs back an undo of kind ${undo.kind}`, {
        hint: 'a newer sess wrote this journal: finish it with that sess',
      });
    return runtime.undo(undo as RuntimeUndo, progress);
  }
  return runCoreUndo(repo, undo as CoreUndo, progress, context);
}

async function runCoreUndo(repo: Repo, undo: CoreUndo, progress: (line: string) => void, context: UnwindContext): Promise<void> {
  switch (undo.kind) {
    case 'worktree.remove':
      return removeOurWorktree(repo, undo, progress);
    case 'symlink.remove': {
      let link: string | undefined;
      try {
        link = lstatSync(undo.path).isSymbolicLink() ? readlinkSync(undo.path) : undefined;
      } catch {
        return;
      }
      if (link === undo.target) unlinkSync(undo.path);
      return;
    }
    case 'file.restore':
      if (undo.previous === null) removePath(undo.path);
      else if (readTextIfExists(undo.path) !== undo.previous) writeFileAtomic(undo.path, undo.previous, undo.mode);
      return;
    case 'ports.release':
      if (undo.names.length) await release(undo.owner, undo.names);
      if (undo.restore && Object.keys(undo.restore.leases).length)
        await restoreLeases(undo.owner, undo.restore.stateDir, undo.restore.leases);
      return;
    case 'session.remove':
      removePath(paths.sessionDir(repo, undo.session));
      return;
    case 'service.restore': {
      const { previous } = undo;
      progress(`bringing back the previous ${previous.def.name}`);
      const session = { repoId: repo.id, name: undo.session, dir: paths.sessionDir(repo, undo.session), stash: undo.stash };
      const env = { ...process.env, ...undo.env };
      context.restored[previous.def.name] = await runtimeOf(previous.runtime).restore({ ...session, env, leases: undo.leases }, previous);
      progress(`previous ${previous.def.name} is back`);
      return;
    }
    case 'session.restore':
      writeSession(repo, { ...undo.record, services: { ...undo.record.services, ...context.restored } });
      return;
    case 'routes.restore': {
      const proxy = await import('../proxy/index.js');
      if (undo.routes === null) await proxy.removeSessionRoutes(undo.repoId, undo.session);
      else
        await proxy.setSessionRoutes({
          repoId: undo.repoId,
          repoName: undo.repoName,
          repoRoot: undo.repoRoot,
          session: undo.session,
          routes: undo.routes,
        });
      return;
    }
    case 'route.green': {
      const proxy = await import('../proxy/index.js');
      await proxy.setGreenRoute({ repoId: undo.repoId, session: undo.session, service: undo.service, target: null });
      return;
    }
    case 'bluegreen.finish': {
      const { finishPromotion } = await import('../release/blueGreen.js');
      await finishPromotion(repo, undo, progress);
      return;
    }
    case 'worktree.reset':
      if (existsSync(undo.worktree)) await resetHard(undo.worktree, undo.commit);
      return;
    case 'none':
      return;
  }
}

function removeOurWorktree(repo: Repo, undo: Extract<Undo, { kind: 'worktree.remove' }>, progress: (line: string) => void): Promise<void> {
  return withWorktreesLock(repo, () => removeOurWorktreeLocked(repo, undo, progress));
}

async function removeOurWorktreeLocked(
  repo: Repo,
  undo: Extract<Undo, { kind: 'worktree.remove' }>,
  progress: (line: string) => void,
): Promise<void> {
  const registered = (await listWorktrees(repo.mainRoot)).some((w) => w.path === undo.path);
  // Not registered: `git worktree add` never got that far (or the folder was someone else's, and
  // git refused it): nothing of ours to remove.
  if (registered) {
    progress(`removing worktree ${undo.path}`);
    await removeWorktree(undo.path, repo.mainRoot);
  }
  await pruneWorktrees(repo.mainRoot);
  if (undo.parent) {
    try {
      rmdirSync(undo.parent); // only if empty: another session may have made a worktree there since
    } catch {
      /* not empty, or gone */
    }
  }
  if (undo.branch) {
    const tip = await resolveCommit(`refs/heads/${undo.branch}`, repo.mainRoot);
    if (tip !== null && (undo.branchTip === null || tip === undo.branchTip)) {
      await deleteBranch(undo.branch, repo.mainRoot);
    } else if (tip !== null) {
      progress(`keeping branch ${undo.branch}: it has moved since sess created it`);
    }
  }
}
