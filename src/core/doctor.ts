// `sess doctor [--fix]`: find where state and reality disagree, and with --fix repair it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../adapters/fs.js';
import { listWorktrees, pruneWorktrees } from '../adapters/git.js';
import { processGroupOf, processesWithEnv, stopProcessGroup } from '../adapters/process.js';
import { messageOf } from '../errors.js';
import { isRunning } from '../modes/hostProcess.js';
import { finishInterrupted } from './down.js';
import { allLeases, release, releasePorts } from './ledger.js';
import type { Progress } from './progress.js';
import { leaseOwner, openRepo, paths, withWorktreesLock, type Repo } from './repo.js';
import { readJournal } from './rollback.js';
import { stopServices } from './services.js';
import { listSessionNames, readSession, removeSessionDir, writeSession, type SessionRecord } from './store.js';
import { SERVICE_MARKER } from './undo.js';
import { own } from '../records.js';

export interface Finding {
  /** what kind of disagreement */
  kind:
    | 'unfinished-journal'
    | 'lost-worktree'
    | 'stale-worktree-entry'
    | 'orphan-process'
    | 'orphan-container'
    | 'stale-lease'
    | 'service-down'
    | 'stale-state';
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

interface Check {
  finding: Finding;
  fix: () => Promise<void>;
}

export async function doctor(options: { cwd: string; fix: boolean; progress: Progress }): Promise<DoctorReport> {
  const repo = await openRepo(options.cwd);
  // Journals first: finishing them changes what the other checks would see.
  const checks = await journalChecks(repo, options.progress);
  await runChecks(checks, options);
  const rest: Check[] = [];
  for (const find of [lostWorktrees, staleWorktreeEntries, orphanProcesses, orphanContainers, staleLeases, servicesDown, staleState]) {
    rest.push(...(await find(repo, options.progress)));
  }
  await runChecks(rest, options);
  const findings = [...checks, ...rest].map((c) => c.finding);
  return { findings, clean: findings.every((f) => f.fixed) };
}

async function runChecks(checks: Check[], options: { fix: boolean; progress: Progress }): Promise<void> {
  for (const check of checks) {
    if (!options.fix) continue;
    try {
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
  return listSessionNames(repo).flatMap((n) => {
    const r = readSession(repo, n);
    return r ? [r] : [];
  });
}

/** Sessions whose worktree folder is gone: forget them (services, leases, state; volumes stay). */
async function lostWorktrees(repo: Repo, progress: Progress): Promise<Check[]> {
  return sessions(repo)
    .filter((r) => !existsSync(r.worktree))
    .map((record) => ({
      finding: { kind: 'lost-worktree', subject: `session ${record.name}`, detail: `its worktree ${record.worktree} is gone` },
      fix: async () => {
        await stopServices(record.services, progress, { compose: record.compose, wholeProject: true });
        await withWorktreesLock(repo, () => pruneWorktrees(repo.mainRoot));
        await release(leaseOwner(repo, record.name));
        removeSessionDir(repo, record.name);
      },
    }));
}

async function staleWorktreeEntries(repo: Repo): Promise<Check[]> {
  const stale = (await withWorktreesLock(repo, () => listWorktrees(repo.mainRoot))).filter((w) => w.prunable);
  return stale.map((w) => ({
    finding: { kind: 'stale-worktree-entry', subject: w.path, detail: 'git still lists this worktree, whose folder is gone' },
    fix: () => withWorktreesLock(repo, () => pruneWorktrees(repo.mainRoot)),
  }));
}

/** Host processes started by sess for this repository that no session knows (any more). */
async function orphanProcesses(repo: Repo): Promise<Check[]> {
  const groups = new Map<number, string>();
  for (const p of processesWithEnv(SERVICE_MARKER, `${repo.id}/`)) {
    const group = processGroupOf(p.pid);
    if (group !== null) groups.set(group, p.value);
  }
  const checks: Check[] = [];
  for (const [group, marker] of groups) {
    const [, session, service] = marker.split('/');
    if (readJournal(repo, session!)) continue; // a command is (or was) working on it: the journal decides
    const record = readSession(repo, session!);
    const known = own(record?.services, service!);
    if (known && known.runtime === 'host' && known.pid === group && isRunning(known)) continue;
    checks.push({
      finding: {
        kind: 'orphan-process',
        subject: `pid ${group}`,
        detail: `service ${service} of ${record ? `session ${session}` : `session ${session}, which no longer exists`}, not recorded as running`,
      },
      fix: async () => {
        await stopProcessGroup(group, 'unknown', 'SIGTERM', 5000);
      },
    });
  }
  return checks;
}

/** Containers with this repository's label whose session does not exist. */
async function orphanContainers(repo: Repo): Promise<Check[]> {
  const { containersByLabel, removeContainers, projectNetworks, removeNetworks } = await import('../adapters/compose.js');
  const engines = new Set(sessions(repo).flatMap((r) => (r.compose ? [r.compose.cli.engine] : [])));
  if (engines.size === 0) engines.add('docker');
  const checks: Check[] = [];
  for (const engine of engines) {
    let containers;
    try {
      containers = await containersByLabel(engine, [`dev.sess.repo=${repo.id}`]);
    } catch {
      continue; // no engine here: nothing of ours can run in it
    }
    const orphans = new Map<string, string[]>();
    for (const c of containers) {
      const session = c.labels['dev.sess.session'] ?? '';
      if (readSession(repo, session) || readJournal(repo, session)) continue;
      orphans.set(c.project, [...(orphans.get(c.project) ?? []), c.id]);
    }
    for (const [project, ids] of orphans) {
      checks.push({
        finding: { kind: 'orphan-container', subject: `compose project ${project}`, detail: `${ids.length} container(s) of a session that no longer exists` },
        fix: async () => {
          await removeContainers(engine, ids);
          await removeNetworks(engine, await projectNetworks(engine, project));
        },
      });
    }
  }
  return checks;
}

/** Leases (machine-wide) whose session no longer exists, in this repository or in one that is gone. */
async function staleLeases(repo: Repo): Promise<Check[]> {
  const stale: number[] = [];
  const owners = new Set<string>();
  for (const [port, lease] of Object.entries(allLeases())) {
    const session = lease.owner.slice(lease.owner.indexOf('/') + 1);
    const record = join(lease.stateDir, 'sessions', session, 'session.json');
    const journal = join(lease.stateDir, 'sessions', session, 'journal.json');
    if (existsSync(record) || existsSync(journal)) continue;
    stale.push(Number(port));
    owners.add(lease.owner.startsWith(`${repo.id}/`) ? `session ${session}` : `${lease.stateDir} ${session}`);
  }
  if (stale.length === 0) return [];
  return [
    {
      finding: { kind: 'stale-lease', subject: `ports ${stale.join(' ')}`, detail: `leased to sessions that no longer exist (${[...owners].join(', ')})` },
      fix: () => releasePorts(stale),
    },
  ];
}

/** Services recorded as running that are not (a crash, or a release that ended `failed`). */
async function servicesDown(repo: Repo): Promise<Check[]> {
  const checks: Check[] = [];
  for (const record of sessions(repo)) {
    if (!existsSync(record.worktree)) continue;
    const states = record.compose
      ? await import('../modes/composeRuntime.js').then((m) => m.composeStatesOfRepo(record.compose!.cli.engine, repo.id)).then((s) => own(s, record.name) ?? {}).catch(() => ({}))
      : {};
    const down = Object.entries(record.services)
      .filter(([n, s]) => s.wanted && (s.runtime === 'host' ? !isRunning(s) : own(states as Record<string, string>, n) !== 'running'))
      .map(([n]) => n);
    if (down.length === 0 && record.status !== 'failed') continue;
    checks.push({
      finding: {
        kind: 'service-down',
        subject: `session ${record.name}`,
        detail: down.length
          ? `${down.join(', ')} should run but ${down.length > 1 ? 'do' : 'does'} not${record.status === 'failed' ? ' (its last up ended failed)' : ''}`
          : 'its last up ended failed',
      },
      fix: async () => {
        // consistent again: what does not run is recorded as stopped (`sess up` starts it)
        for (const n of down) {
          const service = own(record.services, n)!;
          service.wanted = false;
          delete service.pid;
          delete service.start;

        }
        record.status = Object.values(record.services).some((s) => s.wanted) ? 'up' : 'down';
        writeSession(repo, record);
      },
    });
  }
  return checks;
}

/** A session folder with neither a record nor a journal: what is left of something half removed. */
async function staleState(repo: Repo): Promise<Check[]> {
  return listSessionNames(repo)
    .filter((n) => !readSession(repo, n) && !readJournal(repo, n))
    .map((name) => ({
      finding: { kind: 'stale-state', subject: `session folder ${name}`, detail: 'no session and no unfinished command: leftover state' },
      fix: async () => removeSessionDir(repo, name),
    }));
}
