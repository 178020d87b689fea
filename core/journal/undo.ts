// The inverses of up's steps, as data (they sit in the journal and may be run by a later process).
// Each one checks that what it removes is ours and tolerates that it is already gone: it may run
// after a step that failed half way, or after a SIGKILL right before the step acted.
import { existsSync, lstatSync, readlinkSync, rmdirSync, unlinkSync } from 'node:fs';
import { readTextIfExists, removePath, writeFileAtomic } from '../../adapters/fs.js';
import { deleteBranch, listWorktrees, pruneWorktrees, removeWorktree, resetHard, resolveCommit } from '../../adapters/git.js';
import { killProcessesWithArgs } from '../../adapters/process.js';
import { stopHostProcess } from '../../modes/hostProcess.js';
import { rollbackProject, type ComposeRef, type ProjectSnapshot } from '../../modes/composeRuntime.js';
import { paths, withWorktreesLock, type Repo } from '../state/repo.js';
import { release } from '../state/ledger.js';
import { writeSession, type ServiceRecord, type SessionRecord } from '../state/store.js';
import { dict } from '../../common/records.js';

export type Undo =
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
  | { kind: 'ports.release'; owner: string; names: string[] }
  /**
   * A host service process group; without a pid (killed before it was recorded), found by its env
   * marker (in `env`, SERVICE_MARKER unless said: hooks carry HOOK_MARKER).
   */
  | { kind: 'process.stop'; marker: string; env?: string; pid?: number; start?: string; signal: NodeJS.Signals; grace: number }
  /** What one `compose up` created or started, found by comparing with the project as it was before. */
  | { kind: 'compose.rollback'; engine: string; project: string; before: ProjectSnapshot; grace: number }
  /**
   * A replacement stopped this previous instance: it is started again (its record goes into the
   * session record that `session.restore` writes back, through the unwind's context).
   */
  | { kind: 'service.restore'; session: string; previous: ServiceRecord; compose?: ComposeRef; env: Record<string, string> }
  | { kind: 'session.remove'; session: string }
  | { kind: 'session.restore'; record: SessionRecord }
  /** a sandbox moved to a newer commit: back to where it was */
  | { kind: 'worktree.reset'; worktree: string; commit: string }
  | { kind: 'none' };

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
      return;
    case 'process.stop':
      return stopMarkedProcess(undo, progress);
    case 'compose.rollback':
      // a `compose up` that a killed sess left behind would go on creating containers
      if (await killProcessesWithArgs(['-p', undo.project])) progress(`stopped a compose command still working on ${undo.project}`);
      progress(`removing what compose started for ${undo.project}`);
      return rollbackProject(undo.engine, undo.project, undo.before, undo.grace);
    case 'session.remove':
      removePath(paths.sessionDir(repo, undo.session));
      return;
    case 'service.restore': {
      progress(`bringing back the previous ${undo.previous.def.name}`);
      const { bringBack } = await import('../restore.js');
      context.restored[undo.previous.def.name] = await bringBack({ repo, ...undo });
      progress(`previous ${undo.previous.def.name} is back`);
      return;
    }
    case 'session.restore':
      writeSession(repo, { ...undo.record, services: { ...undo.record.services, ...context.restored } });
      return;
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

async function stopMarkedProcess(undo: Extract<Undo, { kind: 'process.stop' }>, progress: (line: string) => void): Promise<void> {
  // with a pid: its group, then what carries the marker elsewhere; without (killed before the pid
  // was recorded): every group that carries the marker
  const { stopped, outside } = await stopHostProcess(undo, undo, undo.env);
  const what = undo.marker.split('/')[2];
  if (undo.pid === undefined) {
    if (outside.length) progress(`stopped ${what} (pid ${outside.join(', ')})`);
    return;
  }
  if (stopped) progress(`stopped ${what} (pid ${undo.pid})`);
  if (outside.length) progress(`stopped ${outside.length} process(es) of ${what} outside its group (pid ${outside.join(', ')})`);
}
