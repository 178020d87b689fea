// What the steps of a release share: the up's context, and starting and stopping one instance.
import { WorkError } from '../../common/errors.js';
import { failpoint } from '../../common/failpoint.js';
import type { Progress } from '../../common/progress.js';
import type { PreparedUp, Started } from '../../modes/runtime.js';
import type { ResolvedService, RuntimeName, ServiceRecord } from '../../modes/service.js';
import type { Undo } from '../journal/undo.js';
import type { Green } from './blueGreen.js';
import type { RollbackGuard } from '../journal/guard.js';
import { stashOf } from '../state/liveness.js';
import type { Repo } from '../state/repo.js';
import type { SessionRecord } from '../state/store.js';
import type { ServicePlanItem } from './plan.js';
import { stopInstance } from './stop.js';

export interface StartContext {
  repo: Repo;
  session: string;
  guard: RollbackGuard;
  progress: Progress;
  signal: AbortSignal;
  /** The session as the last up left it (a resume): its instances, and what its runtimes kept. */
  previous?: SessionRecord;
  /** This up's part in each runtime it uses. */
  prepared: Partial<Record<RuntimeName, PreparedUp>>;
  /**
   * A resumed session: a service that fails is put back as it was (its previous definition
   * started again when it ran before) and the others go on; a fresh session is all or nothing.
   */
  resume?: {
    /** The session record a rollback restores: restored services get their new pids in it. */
    onRestored: (name: string, record: ServiceRecord) => void;
  };
  /** The session env (as the host sees it): what a runtime's files are interpolated with, besides ours. */
  sessionEnv: Record<string, string>;
  /** Every lease of the session. */
  leases: Record<string, number>;
  // What blue-green (blueGreen.ts) asks of the up it runs in:
  /** the named port a service's stable URL routes to (none: it has no route) */
  routePortOf(service: string): string | undefined;
  /** a service's definition on other ports (the new instance's own), described, with its hash */
  redefine(service: string, ports: Record<string, number>): Promise<{ def: ResolvedService; hash: string }>;
  /** the session's routes are in the proxy's table, and the proxy runs */
  ensureRoutes(): Promise<void>;
  promoteOf(service: string): { gate: 'auto' | 'manual'; delay: number };
  /** a new instance waits at its manual gate */
  onPending(service: string, green: Green): void;
  /** a new instance is being promoted: the session's record after a rollback must have it (its undo) */
  sessionUndoAfterPromotion(service: string, green: Green): Undo | undefined;
  /** the switch failed after all: what sessionUndoAfterPromotion changed goes back */
  promotionNotDecided(service: string): void;
}

/** Start a new instance through this up's part in its runtime, and wait until it is ready. */
export async function startNew(
  ctx: StartContext,
  item: ServicePlanItem,
  signal: AbortSignal,
  onStarted: (started: Started) => void,
): Promise<ServiceRecord> {
  const up = ctx.prepared[item.def.runtime];
  if (!up) throw new WorkError(`${item.def.runtime} was not prepared for this up (a bug of sess)`);
  const started = await up.start({ def: item.def, hash: item.hash, replacing: item.action === 'replace' }, signal);
  onStarted(started);
  failpoint(`service:${item.name}`);
  await started.ready(signal);
  failpoint(`ready:${item.name}`);
  return started.record;
}

/** Stop an instance the session's last up recorded (its runtime's stash is that up's). */
export function stopPrevious(ctx: StartContext, previous: ServiceRecord, successor?: ResolvedService): Promise<boolean> {
  // the same instance of the same runtime comes next: the runtime may hand over what it keeps
  const replacing = successor?.runtime === previous.runtime && successor.compose?.service === previous.def.compose?.service;
  return stopInstance(ctx.repo, ctx.previous!, previous, ctx.progress, { replacing });
}

/** What the previous instance's runtime keeps for the session: this up's, else the last up's. */
export function stashFor(ctx: StartContext, previous: ServiceRecord): unknown {
  return ctx.prepared[previous.runtime]?.stash ?? (ctx.previous ? stashOf(ctx.previous, previous.runtime) : undefined);
}
