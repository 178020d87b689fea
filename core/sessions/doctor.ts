// `sess doctor [--fix]`: find where state and reality disagree, and with --fix repair it.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquireLock } from '../../adapters/fs.js';
import { deleteBranch, listWorktrees, pruneWorktrees, removeWorktree, uncommittedChanges, unpushedCommits } from '../../adapters/git.js';
import { processGroupOf, processesWithEnv, stopProcessGroup } from '../../adapters/process.js';
import { messageOf, WorkError } from '../../common/errors.js';
import { isRunning } from '../../modes/hostProcess.js';
import { finishInterrupted } from './down.js';
import { allLeases, ledgerProblem, release, releaseWhere, type Lease } from '../state/ledger.js';
import { corruptLedgerChecks } from '../state/ledgerRepair.js';
import type { Progress } from '../../common/progress.js';
import { leaseOwner, openRepo, paths, withWorktreesLock, type Repo } from '../state/repo.js';
import { readJournal } from '../journal/guard.js';
import { failpoint } from '../../common/failpoint.js';
import { lockSession } from './names.js';
import { mainConfig, worktreesFolder } from '../up/prepare.js';
import { stopServices } from '../release/start.js';
import {
  listCreating,
  listSessionNames,
  markStopped,
  readCreating,
  readSession,
  removeSessionDir,
  writeSession,
  type SessionRecord,
} from '../state/store.js';
import { SERVICE_MARKER } from '../../modes/hostProcess.js';
import { own } from '../../common/records.js';

export interface Finding {
  /** what kind of disagreement */
  kind:
    | 'unfinished-journal'
    | 'lost-worktree'
    | 'stale-worktree-entry'
    | 'orphan-worktree'
    | 'orphan-process'
    | 'orphan-container'
    | 'stale-lease'
    | 'service-down'
    | 'stale-state'
    | 'corrupt-ledger';
  /** what it is about (a session, a pid, a container, a port) */
  subject: string;
  detail: string;
  fixed?: boolean;
  fixError?: string;
}

export interface DoctorReport {
  findings: Finding[];
  /** nothing is left wrong (nothing found, or everything found was fixed) */
  clean: boolean;
}

export interface Check {
  finding: Finding;
  fix: () => Promise<void>;
}

export async function doctor(options: { cwd: string; fix: boolean; progress: Progress }): Promise<DoctorReport> {
  const repo = await openRepo(options.cwd);
  // The ledger before all: finishing a journal or forgetting a session releases leases.
  const ledger = corruptLedgerChecks(repo, options.progress);
  await runChecks(ledger, options);
  // Journals next: finishing them changes what the other checks would see.
  const checks = await journalChecks(repo, options.progress);
  await runChecks(checks, options);
  const rest: Check[] = [];
  for (const find of [
    lostWorktrees,
    staleWorktreeEntries,
    orphanWorktrees,
    orphanProcesses,
    orphanContainers,
    staleLeases,
    servicesDown,
    staleState,
  ]) {
    rest.push(...(await find(repo, options.progress)));
  }
  await runChecks(rest, options);
  const findings = [...ledger, ...checks, ...rest].map((c) => c.finding);
  return { findings, clean: findings.every((f) => f.fixed) };
}

async function runChecks(checks: Check[], options: { fix: boolean; progress: Progress }): Promise<void> {
  for (const check of checks) {
    if (!options.fix) continue;
    try {
      failpoint('doctor-fix', 'before'); // tests: the window between finding and repairing
      await check.fix();
      check.finding.fixed = true;
    } catch (error) {
      check.finding.fixError = messageOf(error);
      options.progress.warn(`could not fix ${check.finding.subject}: ${messageOf(error)}`);
    }
  }
}

/** Sessions whose last command died half way (its journal is still there and nobody holds the lock). */
async function journalChecks(repo: Repo, progress: Progress): Promise<Check[]> {
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
          if (failures.length) throw new Error(failures.map((f) => `${f.step}: ${messageOf(f.error)}`).join('; '));
        } finally {
          held.release();
        }
      },
    });
  }
  return checks;
}

function sessions(repo: Repo): SessionRecord[] {
  return listSessionNames(repo).flatMap((n) => readSession(repo, n) ?? []);
}

/**
 * Repair one session under its lock, on the record read under it: what was found before the lock
 * may be stale (an `up` restarted the service, an `rm` removed the session). A command still
 * working on the session is waited for, as any second command on it would be.
 */
async function underLock(
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

/** Sessions whose worktree folder is gone: forget them (services, leases, state; volumes stay). */
async function lostWorktrees(repo: Repo, progress: Progress): Promise<Check[]> {
  return sessions(repo)
    .filter((r) => !existsSync(r.worktree))
    .map((found) => ({
      finding: { kind: 'lost-worktree', subject: `session ${found.name}`, detail: `its worktree ${found.worktree} is gone` },
      fix: () =>
        underLock(repo, found.name, progress, async (record) => {
          if (!record || existsSync(record.worktree)) return;
          await stopServices(record.services, progress, { compose: record.compose, wholeProject: true });
          await withWorktreesLock(repo, () => pruneWorktrees(repo.mainRoot));
          await release(leaseOwner(repo, record.name));
          removeSessionDir(repo, record.name);
        }),
    }));
}

async function staleWorktreeEntries(repo: Repo): Promise<Check[]> {
  const stale = (await withWorktreesLock(repo, () => listWorktrees(repo.mainRoot))).filter((w) => w.prunable);
  return stale.map((w) => ({
    finding: { kind: 'stale-worktree-entry', subject: w.path, detail: 'git still lists this worktree, whose folder is gone' },
    fix: () => withWorktreesLock(repo, () => pruneWorktrees(repo.mainRoot)),
  }));
}

/**
 * Worktrees in the sessions' worktree folder that no session knows: left by a rollback that could
 * not remove them, or by a state folder that was deleted. Removed (with the branch, when its commits
 * live on elsewhere) unless they hold work of their own: those are kept and named.
 */
async function orphanWorktrees(repo: Repo, progress: Progress): Promise<Check[]> {
  const config = await mainConfig(repo);
  const folders = new Set([worktreesFolder(repo, config), ...sessions(repo).map((r) => dirname(r.worktree))]);
  const known = (path: string) => sessions(repo).some((r) => r.worktree === path) || listCreating(repo).some((c) => c.worktree === path);
  const entries = await withWorktreesLock(repo, () => listWorktrees(repo.mainRoot));
  const ownFiles = [config?.env_file ?? '.env.sess', ...(config?.worktree.link ?? [])];
  return entries
    .filter((w) => !w.prunable && w.path !== repo.mainRoot && folders.has(dirname(w.path)) && !known(w.path))
    .map((w) => ({
      finding: {
        kind: 'orphan-worktree',
        subject: w.path,
        detail: `a worktree in the sessions' folder that no session knows${w.branch ? ` (branch ${w.branch})` : ''}`,
      },
      // under the lock of the session it would be: an `up` of that name may be making it right now
      fix: () =>
        underLock(repo, basename(w.path), progress, async () => {
          if (known(w.path) || !existsSync(w.path)) return;
          const dirty = await uncommittedChanges(w.path, ownFiles);
          const own = w.branch ? await unpushedCommits(w.branch, repo.mainRoot) : [];
          if (dirty.length || own.length) {
            const what = [
              dirty.length ? `uncommitted changes (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ', …' : ''})` : '',
              own.length ? `${own.length} commit(s) of its own` : '',
            ]
              .filter(Boolean)
              .join(' and ');
            throw new WorkError(`kept: it has ${what}; remove it by hand (\`git worktree remove\`) once that work is safe`);
          }
          await withWorktreesLock(repo, async () => {
            await removeWorktree(w.path, repo.mainRoot);
            if (w.branch) await deleteBranch(w.branch, repo.mainRoot);
          });
          progress.step(`removed orphan worktree ${w.path}${w.branch ? ` and branch ${w.branch}` : ''}`);
        }),
    }));
}

/** Host processes started by sess for this repository that no session knows (any more). */
async function orphanProcesses(repo: Repo, progress: Progress): Promise<Check[]> {
  const groups = new Map<number, string>();
  for (const p of processesWithEnv(SERVICE_MARKER, `${repo.id}/`)) {
    const group = processGroupOf(p.pid);
    if (group !== null) groups.set(group, p.value);
  }
  const checks: Check[] = [];
  const knows = (record: SessionRecord | undefined, service: string, group: number) => {
    const known = own(record?.services, service);
    return !!known && known.runtime === 'host' && known.pid === group && isRunning(known);
  };
  for (const [group, marker] of groups) {
    const [, session, service] = marker.split('/') as [string, string, string];
    if (readJournal(repo, session) || readCreating(repo, session)) continue; // a command is (or was) working on it: the journal decides
    const record = readSession(repo, session);
    if (knows(record, service, group)) continue;
    checks.push({
      finding: {
        kind: 'orphan-process',
        subject: `pid ${group}`,
        detail: `service ${service} of ${record ? `session ${session}` : `session ${session}, which no longer exists`}, not recorded as running`,
      },
      fix: () =>
        underLock(repo, session, progress, async (current) => {
          if (knows(current, service, group)) return;
          await stopProcessGroup(group, 'unknown', 'SIGTERM', 5000);
        }),
    });
  }
  return checks;
}

/** Containers with this repository's label whose session does not exist. */
async function orphanContainers(repo: Repo, progress: Progress): Promise<Check[]> {
  const { containersByLabel, removeContainers, projectNetworks, removeNetworks } = await import('../../adapters/compose.js');
  const engines = new Set(sessions(repo).flatMap((r) => (r.compose ? [r.compose.cli.engine] : [])));
  if (engines.size === 0) engines.add('docker');
  const checks: Check[] = [];
  const ours = (session: string) => !!(readSession(repo, session) || readJournal(repo, session) || readCreating(repo, session));
  for (const engine of engines) {
    let containers;
    try {
      containers = await containersByLabel(engine, [`dev.sess.repo=${repo.id}`]);
    } catch {
      continue; // no engine here: nothing of ours can run in it
    }
    const orphans = new Map<string, { session: string; ids: string[] }>();
    for (const c of containers) {
      const session = c.labels['dev.sess.session'] ?? '';
      if (ours(session)) continue;
      const entry = orphans.get(c.project) ?? { session, ids: [] };
      entry.ids.push(c.id);
      orphans.set(c.project, entry);
    }
    for (const [project, { session, ids }] of orphans) {
      checks.push({
        finding: {
          kind: 'orphan-container',
          subject: `compose project ${project}`,
          detail: `${ids.length} container(s) of a session that no longer exists`,
        },
        fix: () =>
          underLock(repo, session, progress, async () => {
            if (ours(session)) return; // an up made it again meanwhile
            await removeContainers(engine, ids);
            await removeNetworks(engine, await projectNetworks(engine, project));
          }),
      });
    }
  }
  return checks;
}

/** Leases (machine-wide) whose session no longer exists, in this repository or in one that is gone. */
async function staleLeases(repo: Repo): Promise<Check[]> {
  if (ledgerProblem()) return []; // reported (and not repaired) as corrupt-ledger
  const stale: number[] = [];
  const owners = new Set<string>();
  for (const [port, lease] of Object.entries(allLeases())) {
    if (!leaseIsStale(lease)) continue;
    const session = lease.owner.slice(lease.owner.indexOf('/') + 1);
    stale.push(Number(port));
    owners.add(lease.owner.startsWith(`${repo.id}/`) ? `session ${session}` : `${lease.stateDir} ${session}`);
  }
  if (stale.length === 0) return [];
  return [
    {
      finding: {
        kind: 'stale-lease',
        subject: `ports ${stale.join(' ')}`,
        detail: `leased to sessions that no longer exist (${[...owners].join(', ')})`,
      },
      // decided again under the ledger's lock: meanwhile a port may have gone to a new session
      fix: async () => {
        await releaseWhere((port, lease) => stale.includes(port) && leaseIsStale(lease));
      },
    },
  ];
}

/** A lease whose session has no record, no journal and no up creating it. */
function leaseIsStale(lease: Lease): boolean {
  const session = lease.owner.slice(lease.owner.indexOf('/') + 1);
  const dir = join(lease.stateDir, 'sessions', session);
  return !['session.json', 'journal.json', 'creating.json'].some((f) => existsSync(join(dir, f)));
}

/** Services recorded as running that are not (a crash, or a release that ended `failed`). */
async function servicesDown(repo: Repo, progress: Progress): Promise<Check[]> {
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
  const states: Record<string, string> = record.compose
    ? await import('../../modes/composeRuntime.js')
        .then((m) => m.composeStatesOfRepo(record.compose!.cli.engine, repo.id))
        .then((s) => own(s, record.name) ?? {})
        .catch(() => ({}))
    : {};
  return Object.entries(record.services)
    .filter(([n, s]) => s.wanted && (s.runtime === 'host' ? !isRunning(s) : own(states, n) !== 'running'))
    .map(([n]) => n);
}

/** A session folder with neither a record nor a journal: what is left of something half removed. */
async function staleState(repo: Repo, progress: Progress): Promise<Check[]> {
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
