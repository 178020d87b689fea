// Bringing a session's services to what its config says, and stopping them: the service steps of
// up, down and rm, over both runtimes (host processes, compose containers).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { findPortHolder } from '../adapters/process.js';
import { isPortFree } from '../adapters/ports.js';
import { containerLogsTail, containersByLabel } from '../adapters/compose.js';
import { WorkError, CancelledError } from '../errors.js';
import { startHostProcess, stopHostProcess, isRunning, logTail } from '../modes/hostProcess.js';
import { waitReady } from '../modes/readiness.js';
import {
  downProject,
  isComposeServiceUp,
  removeServiceContainers,
  snapshotProject,
  startCompose,
  type ComposeRef,
  type ContainerState,
  type ProjectSnapshot,
} from '../modes/composeRuntime.js';
import { failpoint, type RollbackGuard } from './rollback.js';
import { paths, type Repo } from './repo.js';
import { hashOf, type ResolvedService } from './resolve.js';
import { SERVICE_MARKER } from './undo.js';
import type { ServiceAction } from './history.js';
import type { ServiceRecord } from './store.js';
import type { Progress } from './progress.js';

export interface ServicePlanItem {
  name: string;
  def: ResolvedService;
  hash: string;
  action: 'unchanged' | 'start' | 'replace';
}

/** Is a recorded service running right now? Compose states come from one `docker ps`. */
export function isServiceAlive(rec: ServiceRecord, name: string, composeStates: Record<string, ContainerState>): boolean {
  return rec.runtime === 'host' ? isRunning(rec) : composeStates[name] === 'running';
}

/** For each wanted service: unchanged (running, same definition), start, or replace. */
export function planServices(
  order: string[],
  defs: Record<string, ResolvedService>,
  previous: Record<string, ServiceRecord>,
  composeStates: Record<string, ContainerState>,
): { items: ServicePlanItem[]; removed: string[] } {
  const items = order.map((name): ServicePlanItem => {
    const def = defs[name]!;
    const hash = hashOf(def);
    const prev = previous[name];
    if (!prev || !prev.wanted) return { name, def, hash, action: 'start' };
    if (!isServiceAlive(prev, name, composeStates)) return { name, def, hash, action: prev.hash === hash ? 'start' : 'replace' };
    return { name, def, hash, action: prev.hash === hash ? 'unchanged' : 'replace' };
  });
  const removed = Object.keys(previous).filter((n) => !defs[n]);
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
  compose?: { ref: ComposeRef; env: NodeJS.ProcessEnv; fresh: boolean };
  /** The compose project of the previous up, to stop what it ran (it may have none now). */
  previousCompose?: ComposeRef;
}

export interface StartOutcome {
  records: Record<string, ServiceRecord>;
  actions: { name: string; action: ServiceAction; ms: number }[];
}

/**
 * Start (or replace) what the plan says, each service once everything it depends on is ready;
 * independent services come up in parallel, compose services of one wave in one `compose up`
 * (compose orders them among themselves). The first failure stops the waits of the others; the
 * guard's journal holds everything started, so the caller's rollback takes it away.
 */
export async function startServices(ctx: StartContext, items: ServicePlanItem[]): Promise<StartOutcome> {
  const records: Record<string, ServiceRecord> = {};
  const actions: StartOutcome['actions'] = [];
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort();
  ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
  const byName = new Map(items.map((i) => [i.name, i]));
  const ready = new Map<string, Promise<void>>();
  const batch = ctx.compose ? new ComposeBatch(ctx, inner.signal) : undefined;

  const bring = async (item: ServicePlanItem): Promise<void> => {
    // compose orders compose services among themselves (the overlay carries sess.yaml's depends_on)
    const waitFor = item.def.dependsOn.filter(
      (d) => byName.has(d) && !(item.def.runtime === 'compose' && byName.get(d)!.def.runtime === 'compose'),
    );
    await Promise.all(waitFor.map((d) => ready.get(d)!));
    if (inner.signal.aborted) throw new CancelledError();
    const started = Date.now();
    const prev = ctx.previous[item.name];
    if (item.action === 'unchanged') {
      records[item.name] = prev!;
      actions.push({ name: item.name, action: 'unchanged', ms: 0 });
      return;
    }
    if (item.action === 'replace' && prev) {
      ctx.progress.info(`replacing ${item.name}: its definition changed`);
      await stopRecorded(prev, ctx.previousCompose ?? ctx.compose?.ref);
    }
    records[item.name] =
      item.def.runtime === 'host' ? await startHost(ctx, item, inner.signal) : await startInCompose(ctx, item, batch!, inner.signal);
    actions.push({ name: item.name, action: item.action === 'replace' ? 'replaced' : 'started', ms: Date.now() - started });
  };

  for (const item of items) {
    const p = bring(item);
    p.catch(() => inner.abort());
    ready.set(item.name, p);
  }
  try {
    const results = await Promise.allSettled(ready.values());
    if (results.some((r) => r.status === 'rejected')) throw pickCause(results, ctx.signal);
    // in the order of the plan (dependencies first), not the order they happened to finish in
    const ordered = Object.fromEntries(items.map((i) => [i.name, records[i.name]!]));
    return { records: ordered, actions };
  } finally {
    ctx.signal.removeEventListener('abort', onOuterAbort);
  }
}

/** The real failure, not the cancellations it caused in the services waiting beside it. */
function pickCause(results: PromiseSettledResult<void>[], outer: AbortSignal): unknown {
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (outer.aborted) return errors.find((e) => e instanceof CancelledError) ?? errors[0];
  return errors.find((e) => !(e instanceof CancelledError)) ?? errors[0];
}

async function startHost(ctx: StartContext, item: ServicePlanItem, signal: AbortSignal): Promise<ServiceRecord> {
  const { def } = item;
  await ensurePortsFree(def);
  const logFile = paths.logFile(ctx.repo, ctx.session, def.name);
  mkdirSync(paths.logsDir(ctx.repo, ctx.session), { recursive: true });
  const marker = `${ctx.repo.id}/${ctx.session}/${def.name}/${randomBytes(4).toString('hex')}`;
  const undo = { kind: 'process.stop' as const, marker, signal: def.stop.signal, grace: def.stop.grace };
  const handle = ctx.guard.register(`service:${def.name}`, undo);
  const proc = await startHostProcess(def, { logFile, marker: { name: SERVICE_MARKER, value: marker } });
  ctx.guard.amend(handle, { ...undo, pid: proc.pid, start: proc.start });
  failpoint(`service:${def.name}`);
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
  failpoint(`ready:${def.name}`);
  ctx.progress.step(`${def.name} is ready`);
  return { runtime: 'host', hash: item.hash, def, pid: proc.pid, start: proc.start, logOffset: proc.logOffset, wanted: true };
}

async function startInCompose(
  ctx: StartContext,
  item: ServicePlanItem,
  batch: ComposeBatch,
  signal: AbortSignal,
): Promise<ServiceRecord> {
  const { def } = item;
  const ref = ctx.compose!.ref;
  await batch.start(item);
  failpoint(`service:${def.name}`);
  if (def.ready) {
    await waitReady(def.name, def.ready, {
      alive: () => isComposeServiceUp(ref, def.compose!.service),
      logTail: () => '',
      cwd: ref.projectDir,
      env: { ...process.env, ...def.env },
      signal,
    }).catch(async (error) => {
      throw await withContainerLogs(error, ref, def.compose!.service);
    });
  }
  failpoint(`ready:${def.name}`);
  ctx.progress.step(`${def.name} is ready (compose)`);
  return { runtime: 'compose', hash: item.hash, def, wanted: true };
}

async function withContainerLogs(error: unknown, ref: ComposeRef, service: string): Promise<unknown> {
  if (!(error instanceof WorkError)) return error;
  const containers = await containersByLabel(ref.cli.engine, [`com.docker.compose.project=${ref.project}`, `com.docker.compose.service=${service}`]).catch(() => []);
  const tail = containers[0] ? await containerLogsTail(ref.cli.engine, containers[0].id, 15) : '';
  if (!tail) return error;
  return new WorkError(`${error.message.replace(/ \(its log is empty\)$/, '')}; last lines of its container log:\n${tail.split('\n').map((l) => `    ${l}`).join('\n')}`, { cause: error });
}

/**
 * Compose services that become startable together go into one `compose up --wait`: compose starts
 * them in its own order, in parallel where it can, and one call costs far less than several.
 */
class ComposeBatch {
  private pending: { item: ServicePlanItem; done: (error?: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly ctx: StartContext,
    private readonly signal: AbortSignal,
  ) {}

  start(item: ServicePlanItem): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const wave = this.pending.splice(0);
    this.scheduled = false;
    const { ref, env, fresh } = this.ctx.compose!;
    const services = wave.map((w) => w.item.def.compose!.service);
    try {
      const before: ProjectSnapshot = fresh
        ? { containers: [], volumes: [], networks: [] }
        : await snapshotProject(ref.cli.engine, ref.project);
      const grace = Math.max(...wave.map((w) => w.item.def.stop.grace));
      this.ctx.guard.register(`compose:${services.join(',')}`, {
        kind: 'compose.rollback',
        engine: ref.cli.engine,
        project: ref.project,
        before,
        grace,
      });
      this.ctx.progress.info(`compose up ${services.join(' ')}`);
      const timeout = Math.max(...wave.map((w) => w.item.def.ready?.timeout ?? 60));
      await startCompose(ref, env, services, timeout, this.signal);
      for (const w of wave) w.done();
    } catch (error) {
      for (const w of wave) w.done(error);
    }
  }
}

/** A leased port held by a process that is not ours: fail now, naming it, instead of a confusing crash. */
async function ensurePortsFree(def: ResolvedService): Promise<void> {
  for (const [name, port] of Object.entries(def.ports)) {
    if (await isPortFree(port)) continue;
    const holder = findPortHolder(port);
    throw new WorkError(
      `port ${port} (${name}, leased to this session) is in use by ${holder ? `pid ${holder}` : 'another process'}`,
      { hint: holder ? `stop pid ${holder}, then run sess up again` : 'stop whatever listens on it, then run sess up again' },
    );
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
    const rec = services[name]!;
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
    if (seen.has(name) || !services[name]) return;
    seen.add(name);
    for (const dep of services[name]!.def.dependsOn) visit(dep);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order.filter((n) => names.includes(n)).reverse();
}
