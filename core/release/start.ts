// Bringing a session's services to what its config says: each one started (or replaced, by its
// strategy) once everything it depends on is ready, through the runtime the placement chose.
import { CancelledError } from '../../common/errors.js';
import { own } from '../../common/records.js';
import { runtimeOf } from '../../modes/placement.js';
import type { Started } from '../../modes/runtime.js';
import type { ServiceRecord } from '../../modes/service.js';
import { sessionCtx } from '../state/liveness.js';
import type { ReleaseService } from '../state/history.js';
import { stashFor, startNew, stopPrevious, type StartContext } from './context.js';
import type { ServicePlanItem } from './plan.js';
import { KEEPS_PREVIOUS_ON_FAILURE, STRATEGIES } from './strategies.js';

export type { StartContext };

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
 * independent services come up in parallel, and services of a runtime that starts several at once
 * (compose) in one call per wave (it orders them among themselves). A fresh session stops at the
 * first failure (the guard's journal holds everything started, the caller unwinds it); a resumed
 * session puts a failed replacement back as it was and carries on with the others.
 */
export async function startServices(
  ctx: StartContext,
  items: ServicePlanItem[],
  /** filled as things happen, so that the caller knows them when this throws */
  actions: ReleaseService[] = [],
): Promise<StartOutcome> {
  const records: Record<string, ServiceRecord> = {};
  const failures: ServiceFailure[] = [];
  const previous = ctx.previous?.services ?? {};
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
  const byName = new Map(items.map((i) => [i.name, i]));
  const ready = new Map<string, Promise<void>>();

  const bring = async (item: ServicePlanItem): Promise<void> => {
    // A runtime that starts several services at once orders them itself (the overlay carries
    // sess.yaml's depends_on) when they start in one call. A replacement first stops the old one,
    // so it reaches the runtime later, on its own: then a dependent waits here for what it depends
    // on, or two calls at once would both create the dependency.
    const sameWave = (d: string) => {
      const dep = byName.get(d)!;
      return (
        dep.def.runtime === item.def.runtime &&
        runtimeOf(item.def.runtime).startsTogether &&
        item.action !== 'replace' &&
        dep.action !== 'replace'
      );
    };
    const waitFor = item.def.dependsOn.filter((d) => byName.has(d) && !sameWave(d));
    const prev = own(previous, item.name);
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
    const replacing = item.action === 'replace';
    const entry: ReleaseService = {
      name: item.name,
      action: replacing ? 'replaced' : prev?.wanted && prev.hash === item.hash ? 'restarted' : 'started',
      ...(replacing && item.strategy !== 'recreate' ? { strategy: item.strategy } : {}),
    };
    let instance: Started | undefined;
    let restoreStep: number | undefined;
    try {
      if (replacing) {
        actions.push(entry);
        records[item.name] = await STRATEGIES[item.strategy]({
          ctx,
          item,
          previous: prev!,
          signal: inner.signal,
          onInverse: (step) => (restoreStep = step),
          onStarted: (s) => (instance = s),
        });
      } else {
        // a service meant to run whose instance died: what is left of it goes first (a child of a
        // host service holding its port), unless its runtime's start takes care of that itself
        if (prev?.wanted && !runtimeOf(prev.runtime).startReplacesLeftovers) await stopPrevious(ctx, prev);
        records[item.name] = await startNew(ctx, item, inner.signal, (s) => (instance = s));
        actions.push(entry);
      }
      entry.ms = Date.now() - started;
    } catch (error) {
      // A fresh session is all or nothing, and so is bringing up what did not run before: the
      // caller's rollback takes this up away (and brings back what a replacement stopped). A
      // failed replacement of a running service goes back to what it was, and the others carry on.
      if (!(error instanceof CancelledError)) {
        entry.action = 'failed';
        entry.ms = Date.now() - started;
        if (!replacing) actions.push(entry);
      }
      if (!ctx.resume || !replacing || error instanceof CancelledError) throw error;
      if (instance) await instance.discard().catch(() => undefined);
      // a strategy that starts the new one beside the old one failed before it switched: the old one never stopped
      const restored = KEEPS_PREVIOUS_ON_FAILURE.has(item.strategy)
        ? ((records[item.name] = prev!), true)
        : await restorePrevious(ctx, item, prev, records);
      // brought back here (or it would not come back): nothing left for a rollback to do
      if (restoreStep !== undefined) ctx.guard.amend(restoreStep, { kind: 'none' });
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
): Promise<boolean> {
  if (!previous) {
    const before = own(ctx.previous?.services ?? {}, item.name);
    if (before) records[item.name] = before;
    return true;
  }
  ctx.progress.info(`bringing back the previous ${item.name}`);
  try {
    const session = { ...sessionCtx(ctx.repo, ctx.previous!, previous.runtime), stash: stashFor(ctx, previous) };
    const rec = await runtimeOf(previous.runtime).restore(
      { ...session, env: { ...process.env, ...ctx.sessionEnv }, leases: ctx.leases },
      previous,
    );
    // this up's rollback must leave it running (a runtime that started it in a batch of this up)
    await ctx.prepared[previous.runtime]?.keep(rec);
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

/** The real failure, not the cancellations it caused in the services waiting beside it. */
function pickCause(results: PromiseSettledResult<void>[], outer: AbortSignal): unknown {
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (outer.aborted) return errors.find((e) => e instanceof CancelledError) ?? errors[0];
  return errors.find((e) => !(e instanceof CancelledError)) ?? errors[0];
}
