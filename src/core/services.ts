// Bringing a session's services to what its config says, and stopping them: the service steps of
// up, down and rm, over both runtimes (host processes, compose containers).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { findPortHolder, sleep } from '../adapters/process.js';
import { isPortFree } from '../adapters/ports.js';
import { WorkError, CancelledError } from '../errors.js';
import { startHostProcess, stopHostProcess, isRunning, logTail } from '../modes/hostProcess.js';
import { waitReady } from '../modes/readiness.js';
import { downProject, removeServiceContainers, type ComposeRef, type ContainerState } from '../modes/composeRuntime.js';
import { ComposeBatch, startInCompose } from './composeServices.js';
import { failpoint, type RollbackGuard } from './rollback.js';
import { paths, type Repo } from './repo.js';
import { hashOf, type ResolvedService } from './resolve.js';
import { SERVICE_MARKER } from './undo.js';
import type { ServiceAction } from './history.js';
import type { ServiceRecord } from './store.js';
import type { Progress } from './progress.js';
import { own } from '../records.js';

export interface ServicePlanItem {
  name: string;
  def: ResolvedService;
  hash: string;
  action: 'unchanged' | 'start' | 'replace';
}

/** Is a recorded service running right now? Compose states come from one `docker ps`. */
export function isServiceAlive(rec: ServiceRecord, name: string, composeStates: Record<string, ContainerState>): boolean {
  return rec.runtime === 'host' ? isRunning(rec) : own(composeStates, name) === 'running';
}

/** For each wanted service: unchanged (running, same definition), start, or replace. */
export function planServices(
  order: string[],
  defs: Record<string, ResolvedService>,
  previous: Record<string, ServiceRecord>,
  composeStates: Record<string, ContainerState>,
): { items: ServicePlanItem[]; removed: string[] } {
  const items = order.map((name): ServicePlanItem => {
    const def = own(defs, name)!;
    const hash = hashOf(def);
    const prev = own(previous, name);
    // what does not run is started (with its new definition, if that changed): only a running
    // service is replaced, and only a replacement has a previous instance to go back to
    if (!prev || !prev.wanted || !isServiceAlive(prev, name, composeStates)) return { name, def, hash, action: 'start' };
    return { name, def, hash, action: prev.hash === hash ? 'unchanged' : 'replace' };
  });
  const removed = Object.keys(previous).filter((n) => !own(defs, n));
  return { items, removed };
}

export interface StartContext {
  repo: Repo;
  session: string;
  guard: RollbackGuard;
  progress: Progress;
  signal: AbortSignal;
  previous: Record<string, ServiceRecord>;
  /** The session's compose project, when some service runs in compose. */
  /** `volumesBefore` of a fresh session: what its project already had (see ComposeSetup) */
  compose?: { ref: ComposeRef; env: NodeJS.ProcessEnv; fresh: boolean; volumesBefore: string[] };
  /** The compose project of the previous up, to stop what it ran (it may have none now). */
  previousCompose?: ComposeRef;
  /**
   * A resumed session: a service that fails is put back as it was (its previous definition
   * started again when it ran before) and the others go on; a fresh session is all or nothing.
   */
  resume?: {
    /** Start a compose service again from its previous definition. */
    restoreCompose: (previous: ServiceRecord) => Promise<void>;
    /** The session record a rollback restores: restored services get their new pids in it. */
    onRestored: (name: string, record: ServiceRecord) => void;
  };
}

export interface ServiceFailure {
  name: string;
  error: unknown;
  /** The service is as it was before this up (its previous instance runs again, or it was not running). */
  restored: boolean;
}

export interface StartOutcome {
  records: Record<string, ServiceRecord>;
  actions: { name: string; action: ServiceAction; ms: number }[];
  failures: ServiceFailure[];
}

/** Thrown to the dependents of a service that failed in a resumed session: they are left alone. */
class DependencyFailed extends Error {}

/**
 * Start (or replace) what the plan says, each service once everything it depends on is ready;
 * independent services come up in parallel, compose services of one wave in one `compose up`
 * (compose orders them among themselves). Replacement is stop first, then start. A fresh session
 * stops at the first failure (the guard's journal holds everything started, the caller unwinds
 * it); a resumed session puts a failed service back as it was and carries on with the others.
 */
export async function startServices(ctx: StartContext, items: ServicePlanItem[]): Promise<StartOutcome> {
  const records: Record<string, ServiceRecord> = {};
  const actions: StartOutcome['actions'] = [];
  const failures: ServiceFailure[] = [];
  const changed: { item: ServicePlanItem; discard: () => Promise<void> }[] = [];
  /** replacements that stopped the old instance and then failed hard: their old one comes back */
  const pendingRestore: ServicePlanItem[] = [];
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort();
  ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
  const byName = new Map(items.map((i) => [i.name, i]));
  const ready = new Map<string, Promise<void>>();
  const batch = ctx.compose ? new ComposeBatch(ctx, inner.signal) : undefined;

  const bring = async (item: ServicePlanItem): Promise<void> => {
    // Compose orders compose services among themselves (the overlay carries sess.yaml's
    // depends_on) when they start in one `compose up`. A replacement first stops the old one, so
    // it reaches compose later, on its own: then a dependent waits here for what it depends on,
    // or two `compose up`s at once would both create the dependency.
    const sameWave = (d: string) =>
      item.def.runtime === 'compose' && byName.get(d)!.def.runtime === 'compose' && item.action !== 'replace' && byName.get(d)!.action !== 'replace';
    const waitFor = item.def.dependsOn.filter((d) => byName.has(d) && !sameWave(d));
    const prev = own(ctx.previous, item.name);
    try {
      await Promise.all(waitFor.map((d) => ready.get(d)!));
    } catch (error) {
      if (!(error instanceof DependencyFailed) && !ctx.resume) throw error;
      if (prev) records[item.name] = prev;
      actions.push({ name: item.name, action: item.action === 'unchanged' ? 'unchanged' : 'failed', ms: 0 });
      if (item.action !== 'unchanged') failures.push({ name: item.name, error, restored: true });
      throw new DependencyFailed(item.name);
    }
    if (inner.signal.aborted) throw new CancelledError();
    const started = Date.now();
    if (item.action === 'unchanged') {
      records[item.name] = prev!;
      actions.push({ name: item.name, action: 'unchanged', ms: 0 });
      return;
    }
    const wasRunning = item.action === 'replace';
    let discard: (() => Promise<void>) | undefined;
    try {
      if (wasRunning) {
        ctx.progress.info(`replacing ${item.name}: its definition changed (stopping the old one first)`);
        await stopRecorded(prev!, ctx.previousCompose ?? ctx.compose?.ref);
      } else if (prev?.runtime === 'host' && prev.wanted) {
        // its leader died: whatever of its group is left (a child holding the port) goes first
        await stopRecorded(prev, undefined);
      }
      const onStarted = (d: () => Promise<void>) => (discard = d);
      records[item.name] =
        item.def.runtime === 'host'
          ? await startHost(ctx, item, inner.signal, onStarted)
          : await startInCompose(ctx, item, batch!, inner.signal, onStarted);
      changed.push({ item, discard: discard! });
      const action: ServiceAction = wasRunning ? 'replaced' : prev?.wanted && prev.hash === item.hash ? 'restarted' : 'started';
      actions.push({ name: item.name, action, ms: Date.now() - started });
    } catch (error) {
      // A fresh session is all or nothing, and so is bringing up what did not run before: the
      // caller's rollback takes this up away. A failed replacement of a running service goes back
      // to what it was, and the others carry on.
      if (!ctx.resume || !wasRunning || error instanceof CancelledError) {
        if (wasRunning) pendingRestore.push(item);
        throw error;
      }
      if (discard) await discard().catch(() => undefined);
      const restored = await restorePrevious(ctx, item, prev, records, batch);
      failures.push({ name: item.name, error, restored });
      actions.push({ name: item.name, action: 'failed', ms: Date.now() - started });
      throw new DependencyFailed(item.name);
    }
  };

  for (const item of items) {
    const p = bring(item);
    p.catch((error) => {
      if (!(error instanceof DependencyFailed)) inner.abort();
    });
    ready.set(item.name, p);
  }
  try {
    const results = await Promise.allSettled(ready.values());
    const hard = results.filter((r) => r.status === 'rejected' && !(r.reason instanceof DependencyFailed));
    if (hard.length && ctx.resume) {
      // the whole up is rolled back: replaced services get their previous instance back (what it
      // started, the caller's rollback stops)
      for (const { item, discard } of changed) {
        if (item.action !== 'replace') continue;
        await discard().catch(() => undefined);
        await restorePrevious(ctx, item, own(ctx.previous, item.name), records, batch);
      }
      for (const item of pendingRestore) await restorePrevious(ctx, item, own(ctx.previous, item.name), records, batch);
    }
    if (hard.length) throw pickCause(hard as PromiseSettledResult<void>[], ctx.signal);
    // in the order of the plan (dependencies first), not the order they happened to finish in
    const ordered = Object.fromEntries(items.filter((i) => own(records, i.name)).map((i) => [i.name, own(records, i.name)!]));
    return { records: ordered, actions, failures };
  } finally {
    ctx.signal.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Put a service of a resumed session back as it was: its previous definition started again when
 * it ran before this up; otherwise it simply stays stopped. false when the previous one would not
 * come back.
 */
async function restorePrevious(
  ctx: StartContext,
  item: ServicePlanItem,
  previous: ServiceRecord | undefined,
  records: Record<string, ServiceRecord>,
  batch: ComposeBatch | undefined,
): Promise<boolean> {
  if (!previous) {
    const before = own(ctx.previous, item.name);
    if (before) records[item.name] = before;
    return true;
  }
  ctx.progress.info(`bringing back the previous ${item.name}`);
  try {
    if (previous.runtime === 'host') {
      const restoredItem = { ...item, def: previous.def, hash: previous.hash };
      // no signal: a restore runs to its end even after Ctrl+C
      const rec = await startHost(ctx, restoredItem, new AbortController().signal, () => undefined, (r) =>
        ctx.resume!.onRestored(item.name, r),
      );
      records[item.name] = rec;
    } else {
      await ctx.resume!.restoreCompose(previous);
      await batch?.keep(previous.def.compose!.service);
      records[item.name] = { ...previous, wanted: true };
    }
    ctx.progress.step(`previous ${item.name} is back`);
    return true;
  } catch (error) {
    ctx.progress.warn(`the previous ${item.name} did not come back either: ${error instanceof Error ? error.message : error}`);
    records[item.name] = { ...previous, wanted: true };
    return false;
  }
}

/** The real failure, not the cancellations it caused in the services waiting beside it. */
function pickCause(results: PromiseSettledResult<void>[], outer: AbortSignal): unknown {
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (outer.aborted) return errors.find((e) => e instanceof CancelledError) ?? errors[0];
  return errors.find((e) => !(e instanceof CancelledError)) ?? errors[0];
}

async function startHost(
  ctx: StartContext,
  item: ServicePlanItem,
  signal: AbortSignal,
  onStarted: (discard: () => Promise<void>) => void,
  /** A previous instance brought back: not journaled (a rollback must not stop it), reported here. */
  restored?: (record: ServiceRecord) => void,
): Promise<ServiceRecord> {
  const { def } = item;
  await ensurePortsFree(def);
  const logFile = paths.logFile(ctx.repo, ctx.session, def.name);
  mkdirSync(paths.logsDir(ctx.repo, ctx.session), { recursive: true });
  const marker = `${ctx.repo.id}/${ctx.session}/${def.name}/${randomBytes(4).toString('hex')}`;
  const undo = { kind: 'process.stop' as const, marker, signal: def.stop.signal, grace: def.stop.grace };
  const handle = restored ? undefined : ctx.guard.register(`service:${def.name}`, undo);
  const proc = await startHostProcess(def, { logFile, marker: { name: SERVICE_MARKER, value: marker } });
  if (handle !== undefined) ctx.guard.amend(handle, { ...undo, pid: proc.pid, start: proc.start });
  const record: ServiceRecord = { runtime: 'host', hash: item.hash, def, pid: proc.pid, start: proc.start, logOffset: proc.logOffset, wanted: true };
  onStarted(() => stopHostProcess(proc, def.stop));
  restored?.(record);
  if (!restored) failpoint(`service:${def.name}`);
  ctx.progress.info(`started ${def.name} (pid ${proc.pid})`);
  await waitReady(def.name, def.ready, {
    alive: () => isRunning(proc),
    logTail: () => logTail(logFile, proc.logOffset),
    logFile,
    logOffset: proc.logOffset,
    cwd: def.host!.cwd,
    env: { ...process.env, ...def.env },
    signal,
  });
  if (!restored) failpoint(`ready:${def.name}`);
  ctx.progress.step(`${def.name} is ready`);
  return record;
}

/**
 * A leased port held by a process that is not ours: fail now, naming it, instead of a confusing
 * crash. A port that no process listens on but the kernel still holds (connections of a service
 * that was just stopped, closing) is waited for, a few seconds at most.
 */
async function ensurePortsFree(def: ResolvedService): Promise<void> {
  for (const [name, port] of Object.entries(def.ports)) {
    const deadline = Date.now() + 5000;
    let holder: number | null = null;
    while (!(await isPortFree(port))) {
      holder = findPortHolder(port);
      if (holder !== null || Date.now() > deadline) {
        throw new WorkError(
          `port ${port} (${name}, leased to this session) is in use by ${holder ? `pid ${holder}` : 'another process'}`,
          { hint: holder ? `stop pid ${holder}, then run sess up again` : 'stop whatever listens on it, then run sess up again' },
        );
      }
      await sleep(50);
    }
  }
}

export async function stopRecorded(rec: ServiceRecord, compose: ComposeRef | undefined): Promise<void> {
  if (rec.runtime === 'host') await stopHostProcess(rec, rec.def.stop);
  else if (compose && rec.def.compose) await removeServiceContainers(compose, [rec.def.compose.service], rec.def.stop.grace);
}

/**
 * Stop services, dependents before what they depend on. With `wholeProject`, the compose project
 * goes down in one call (containers and networks; volumes only with `volumes`).
 */
export async function stopServices(
  services: Record<string, ServiceRecord>,
  progress: Progress,
  options: { names?: string[]; compose?: ComposeRef; wholeProject?: boolean; volumes?: boolean } = {},
): Promise<void> {
  const names = options.names ?? Object.keys(services);
  for (const name of reverseDependencyOrder(services, names)) {
    const rec = own(services, name)!;
    if (rec.runtime === 'compose') {
      if (options.wholeProject) continue;
      await stopRecorded(rec, options.compose);
    } else {
      if (!isRunning(rec)) continue;
      await stopRecorded(rec, options.compose);
    }
    progress.step(`stopped ${name}`);
  }
  if (options.wholeProject && options.compose) {
    await downProject(options.compose, !!options.volumes);
    progress.step(`compose project ${options.compose.project} down${options.volumes ? ', volumes removed' : ''}`);
  }
}

function reverseDependencyOrder(services: Record<string, ServiceRecord>, names: string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !own(services, name)) return;
    seen.add(name);
    for (const dep of own(services, name)!.def.dependsOn) visit(dep);

    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order.filter((n) => names.includes(n)).reverse();
}
