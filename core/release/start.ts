// Bringing a session's services to what its config says, and stopping them: the service steps of
// up, down and rm, over both runtimes (host processes, compose containers).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { sleep } from '../../adapters/process.js';
import { WorkError, CancelledError, indent } from '../../common/errors.js';
import { startHostProcess, stopHostProcess, isRunning, logTail, SERVICE_MARKER, waitPortsFree } from '../../modes/hostProcess.js';
import { waitReady } from '../../modes/readiness.js';
import { downProject, removeServiceContainers, type ComposeRef, type ContainerState } from '../../modes/composeRuntime.js';
import { ComposeBatch, startInCompose } from '../composeServices.js';
import type { RollbackGuard } from '../journal/guard.js';
import { failpoint } from '../../common/failpoint.js';
import { paths, type Repo } from '../state/repo.js';
import { hashOf, type ResolvedService } from '../up/resolve.js';
import type { ReleaseService } from '../state/history.js';
import { bringBack } from '../restore.js';
import type { ServiceRecord } from '../state/store.js';
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';

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
    /** The session record a rollback restores: restored services get their new pids in it. */
    onRestored: (name: string, record: ServiceRecord) => void;
  };
  /** The session env (as the host sees it): what compose interpolates the files with, besides ours. */
  sessionEnv: Record<string, string>;
}

export interface ServiceFailure {
  name: string;
  error: unknown;
  /** The service is as it was before this up (its previous instance runs again, or it was not running). */
  restored: boolean;
}

export interface StartOutcome {
  records: Record<string, ServiceRecord>;
  actions: ReleaseService[];
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
export async function startServices(
  ctx: StartContext,
  items: ServicePlanItem[],
  /** filled as things happen, so that the caller knows them when this throws */
  actions: ReleaseService[] = [],
): Promise<StartOutcome> {
  const records: Record<string, ServiceRecord> = {};
  const failures: ServiceFailure[] = [];
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(ctx.signal.reason);
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
      item.def.runtime === 'compose' &&
      byName.get(d)!.def.runtime === 'compose' &&
      item.action !== 'replace' &&
      byName.get(d)!.action !== 'replace';
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
    if (inner.signal.aborted) throw CancelledError.from(inner.signal);
    const started = Date.now();
    if (item.action === 'unchanged') {
      records[item.name] = prev!;
      actions.push({ name: item.name, action: 'unchanged', ms: 0 });
      return;
    }
    const wasRunning = item.action === 'replace';
    const entry: ReleaseService = {
      name: item.name,
      action: wasRunning ? 'replaced' : prev?.wanted && prev.hash === item.hash ? 'restarted' : 'started',
    };
    let discard: (() => Promise<void>) | undefined;
    let restoreStep: number | undefined;
    try {
      if (wasRunning) {
        ctx.progress.info(`replacing ${item.name}: its definition changed (stopping the old one first)`);
        // its inverse first: whatever ends this up early (a failure after it, Ctrl+C, SIGKILL),
        // the previous instance comes back
        restoreStep = ctx.guard.register(`restore:${item.name}`, {
          kind: 'service.restore',
          session: ctx.session,
          previous: prev!,
          ...(composeOf(ctx) ? { compose: composeOf(ctx)! } : {}),
          env: ctx.sessionEnv,
        });
        actions.push(entry);
        await stopRecorded(prev!, ctx.previousCompose ?? ctx.compose?.ref, ctx.progress);
      } else if (prev?.runtime === 'host' && prev.wanted) {
        // its leader died: whatever of its group is left (a child holding the port) goes first
        await stopRecorded(prev, undefined, ctx.progress);
      }
      const onStarted = (d: () => Promise<void>) => (discard = d);
      records[item.name] =
        item.def.runtime === 'host'
          ? await startHost(ctx, item, inner.signal, onStarted)
          : await startInCompose(ctx, item, batch!, inner.signal, onStarted);
      entry.ms = Date.now() - started;
      if (!wasRunning) actions.push(entry);
    } catch (error) {
      // A fresh session is all or nothing, and so is bringing up what did not run before: the
      // caller's rollback takes this up away (and brings back what a replacement stopped). A
      // failed replacement of a running service goes back to what it was, and the others carry on.
      if (!(error instanceof CancelledError)) {
        entry.action = 'failed';
        entry.ms = Date.now() - started;
        if (!wasRunning) actions.push(entry);
      }
      if (!ctx.resume || !wasRunning || error instanceof CancelledError) throw error;
      if (discard) await discard().catch(() => undefined);
      const restored = await restorePrevious(ctx, item, prev, records, batch);
      // brought back here (or it would not come back): nothing left for a rollback to do
      ctx.guard.amend(restoreStep!, { kind: 'none' });
      if (restored) entry.then = 'restored';
      failures.push({ name: item.name, error, restored });
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
    // a hard failure: the caller's rollback takes this up away, replaced services' previous
    // instances coming back through the journal
    const hard = results.filter((r) => r.status === 'rejected' && !(r.reason instanceof DependencyFailed));
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
    const rec = await bringBack({
      repo: ctx.repo,
      session: ctx.session,
      previous,
      ...(composeOf(ctx) ? { compose: composeOf(ctx)! } : {}),
      env: { ...process.env, ...ctx.sessionEnv },
    });
    if (rec.runtime === 'compose') await batch?.keep(previous.def.compose!.service);
    records[item.name] = rec;
    ctx.resume!.onRestored(item.name, rec);
    ctx.progress.step(`previous ${item.name} is back`);
    return true;
  } catch (error) {
    ctx.progress.warn(`the previous ${item.name} did not come back either: ${error instanceof Error ? error.message : error}`);
    records[item.name] = { ...previous, wanted: true };
    return false;
  }
}

/** The compose project a previous instance lives in: this up's, else the last up's. */
function composeOf(ctx: StartContext): ComposeRef | undefined {
  return ctx.compose?.ref ?? ctx.previousCompose;
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
): Promise<ServiceRecord> {
  const { def } = item;
  await waitPortsFree(def.ports);
  const logFile = paths.logFile(ctx.repo, ctx.session, def.name);
  mkdirSync(paths.logsDir(ctx.repo, ctx.session), { recursive: true });
  const marker = `${ctx.repo.id}/${ctx.session}/${def.name}/${randomBytes(4).toString('hex')}`;
  const undo = { kind: 'process.stop' as const, marker, signal: def.stop.signal, grace: def.stop.grace };
  const handle = ctx.guard.register(`service:${def.name}`, undo);
  const proc = await startHostProcess(def, { logFile, marker: { name: SERVICE_MARKER, value: marker } });
  ctx.guard.amend(handle, { ...undo, pid: proc.pid, start: proc.start });
  const record: ServiceRecord = {
    runtime: 'host',
    hash: item.hash,
    def,
    pid: proc.pid,
    start: proc.start,
    marker,
    logOffset: proc.logOffset,
    wanted: true,
  };
  onStarted(() => stopRecorded(record, undefined, ctx.progress).then(() => undefined));
  failpoint(`service:${def.name}`);
  ctx.progress.info(`started ${def.name} (pid ${proc.pid})`);
  const startedAt = Date.now();
  await waitReady(def.name, def.ready, {
    alive: () => isRunning(proc),
    logTail: () => logTail(logFile, proc.logOffset),
    logFile,
    logOffset: proc.logOffset,
    cwd: def.host!.cwd,
    env: { ...process.env, ...def.env },
    signal,
  });
  // One rule: a service that exits before it is judged ready has failed. One without a probe is
  // judged once it has run a moment, so that a command that exits at once fails every time, not
  // only when the first look happens to come before its exit.
  if (!def.ready) await sleep(Math.max(0, startedAt + NO_PROBE_SETTLE_MS - Date.now()), signal);
  if (!isRunning(proc)) {
    const tail = logTail(logFile, proc.logOffset);
    throw new WorkError(
      `service ${def.name} exited before it was ready${tail ? `; last lines of its log:\n${indent(tail)}` : ' (its log is empty)'}`,
    );
  }
  failpoint(`ready:${def.name}`);
  ctx.progress.step(`${def.name} is ready`);
  return record;
}

/** How long a host service without a ready probe must keep running to count as started. */
const NO_PROBE_SETTLE_MS = 250;

/** Stop one recorded instance of a service. false when there was nothing left of it to stop. */
export async function stopRecorded(rec: ServiceRecord, compose: ComposeRef | undefined, progress: Progress): Promise<boolean> {
  if (rec.runtime === 'compose') {
    if (compose && rec.def.compose) await removeServiceContainers(compose, [rec.def.compose.service], rec.def.stop.grace);
    return true;
  }
  const { stopped, outside } = await stopHostProcess(rec, rec.def.stop);
  if (outside.length) {
    progress.warn(
      `${rec.def.name} left ${outside.length} process(es) outside its process group (pid ${outside.join(', ')}): stopped them too`,
    );
  }
  return stopped || outside.length > 0;
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
    if (rec.runtime === 'compose' && options.wholeProject) continue;
    // a host service whose leader died may still have helpers running: always looked for
    if (await stopRecorded(rec, options.compose, progress)) progress.step(`stopped ${name}`);
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
