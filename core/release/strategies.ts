// How a running service whose definition changed is replaced: a function chosen by sess.yaml's
// `replace:`. Each one journals its inverse before it changes anything, so that whatever ends the
// up early (a failure after it, Ctrl+C, a sess killed half way) leaves the service as it was.
import type { Started } from '../../modes/runtime.js';
import type { ServiceRecord } from '../../modes/service.js';
import { stashFor, startNew, stopPrevious, type StartContext } from './context.js';
import type { ServicePlanItem, StrategyName } from './plan.js';
import { blueGreen } from './blueGreen.js';

export interface Replacement {
  ctx: StartContext;
  item: ServicePlanItem;
  /** the instance that runs now */
  previous: ServiceRecord;
  signal: AbortSignal;
  /** the journal step that brings the previous instance back (disarmed when that is done in place) */
  onInverse: (step: number) => void;
  /** the new instance, as soon as it was started (to take it away again if it fails) */
  onStarted: (started: Started) => void;
}

/** Replace `previous` with `item`'s definition; resolves with the new instance's record once it serves. */
export type Strategy = (replacement: Replacement) => Promise<ServiceRecord>;

/**
 * Stop first, then start: the old instance gets `stop.signal`, `stop.grace`, is gone, and only then
 * the new one starts (a single-writer store holding a lock never races its successor).
 */
const recreate: Strategy = async ({ ctx, item, previous, signal, onInverse, onStarted }) => {
  ctx.progress.info(`replacing ${item.name}: ${item.forced ? 'restart' : 'its definition changed'} (stopping the old one first)`);
  onInverse(
    ctx.guard.register(`restore:${item.name}`, {
      kind: 'service.restore',
      session: ctx.session,
      previous,
      ...(stashFor(ctx, previous) !== undefined ? { stash: stashFor(ctx, previous) } : {}),
      env: ctx.sessionEnv,
      leases: ctx.leases,
    }),
  );
  await stopPrevious(ctx, previous, item.def);
  return startNew(ctx, item, signal, onStarted);
};

export const STRATEGIES: Record<StrategyName, Strategy> = { recreate, 'blue-green': blueGreen };

/**
 * Strategies whose failure leaves the previous instance serving as it was (the new one ran beside
 * it and was never switched to): nothing to bring back. Once blue-green has switched, it does not
 * fail: what is left of the promotion is finished with warnings.
 */
export const KEEPS_PREVIOUS_ON_FAILURE: ReadonlySet<StrategyName> = new Set(['blue-green']);
