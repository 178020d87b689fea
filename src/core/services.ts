// Bringing a session's services to what its config says, and stopping them: the service steps of
// up, down and rm, over both runtimes.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { findPortHolder } from '../adapters/process.js';
import { isPortFree } from '../adapters/ports.js';
import { WorkError, CancelledError } from '../errors.js';
import { startHostProcess, stopHostProcess, isRunning, logTail } from '../modes/hostProcess.js';
import { waitReady } from '../modes/readiness.js';
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

/** For each wanted service: unchanged (running, same definition), start, or replace. */
export function planServices(
  order: string[],
  defs: Record<string, ResolvedService>,
  previous: Record<string, ServiceRecord>,
): { items: ServicePlanItem[]; removed: string[] } {
  const items = order.map((name): ServicePlanItem => {
    const def = defs[name]!;
    const hash = hashOf(def);
    const prev = previous[name];
    if (!prev || !prev.wanted || !isAlive(prev)) return { name, def, hash, action: 'start' };
    return { name, def, hash, action: prev.hash === hash ? 'unchanged' : 'replace' };
  });
  const removed = Object.keys(previous).filter((n) => !defs[n]);
  return { items, removed };
}

function isAlive(rec: ServiceRecord): boolean {
  return rec.runtime === 'host' ? isRunning(rec) : true;
}

export interface StartContext {
  repo: Repo;
  session: string;
  guard: RollbackGuard;
  progress: Progress;
  signal: AbortSignal;
  previous: Record<string, ServiceRecord>;
}

export interface StartOutcome {
  records: Record<string, ServiceRecord>;
  actions: { name: string; action: ServiceAction; ms: number }[];
}

/**
 * Start (or replace) what the plan says, each service once everything it depends on is ready;
 * independent services come up in parallel. The first failure stops the waits of the others; the
 * guard's journal holds every process started, so the caller's rollback stops them.
 */
export async function startServices(ctx: StartContext, items: ServicePlanItem[]): Promise<StartOutcome> {
  const records: Record<string, ServiceRecord> = {};
  const actions: StartOutcome['actions'] = [];
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort();
  ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
  const byName = new Map(items.map((i) => [i.name, i]));
  const ready = new Map<string, Promise<void>>();

  const bring = async (item: ServicePlanItem): Promise<void> => {
    await Promise.all(item.def.dependsOn.filter((d) => byName.has(d)).map((d) => ready.get(d)!));
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
      await stopRecorded(prev);
    }
    records[item.name] = await startOne(ctx, item, inner.signal);
    actions.push({ name: item.name, action: item.action === 'replace' ? 'replaced' : 'started', ms: Date.now() - started });
  };

  for (const item of items) {
    const p = bring(item);
    p.catch(() => inner.abort());
    ready.set(item.name, p);
  }
  try {
    const results = await Promise.allSettled(ready.values());
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw pickCause(results, ctx.signal);
    return { records, actions };
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

async function startOne(ctx: StartContext, item: ServicePlanItem, signal: AbortSignal): Promise<ServiceRecord> {
  const { def } = item;
  if (def.runtime !== 'host') throw new WorkError(`service ${def.name}: compose services need container support`);
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

export async function stopRecorded(rec: ServiceRecord): Promise<void> {
  if (rec.runtime === 'host') await stopHostProcess(rec, rec.def.stop);
}

/** Stop services, dependents before what they depend on. */
export async function stopServices(
  services: Record<string, ServiceRecord>,
  progress: Progress,
  names: string[] = Object.keys(services),
): Promise<void> {
  for (const name of reverseDependencyOrder(services, names)) {
    const rec = services[name]!;
    if (rec.runtime === 'host' && !isRunning(rec)) continue;
    await stopRecorded(rec);
    progress.step(`stopped ${name}`);
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
