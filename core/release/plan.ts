// What an up does to each service: leave it (running, same definition), start it, or replace it.
import { own } from '../../common/records.js';
import type { LiveStates, ResolvedService, ServiceRecord } from '../../modes/service.js';
import { hashOf } from '../up/resolve.js';
import { isAlive } from '../state/liveness.js';
import type { ServiceConfig } from '../../config/schema.js';

/** sess.yaml's `replace:` of a service: the name of a strategy in strategies.ts */
export type StrategyName = ServiceConfig['replace'];

export interface ServicePlanItem {
  name: string;
  def: ResolvedService;
  hash: string;
  action: 'unchanged' | 'start' | 'replace';
  /** how it is replaced (sess.yaml's `replace:`); not part of its definition: changing it restarts nothing */
  strategy: StrategyName;
}

/** For each wanted service: unchanged (running, same definition), start, or replace. */
export function planServices(
  order: string[],
  defs: Record<string, ResolvedService>,
  strategies: Record<string, StrategyName>,
  previous: Record<string, ServiceRecord>,
  live: LiveStates,
): { items: ServicePlanItem[]; removed: string[] } {
  const items = order.map((name): ServicePlanItem => {
    const def = own(defs, name)!;
    const hash = hashOf(def);
    const prev = own(previous, name);
    const strategy = own(strategies, name) ?? 'recreate';
    // what does not run is started (with its new definition, if that changed): only a running
    // service is replaced, and only a replacement has a previous instance to go back to
    if (!prev || !prev.wanted || !isAlive(prev, live)) return { name, def, hash, action: 'start', strategy };
    return { name, def, hash, action: prev.hash === hash ? 'unchanged' : 'replace', strategy };
  });
  const removed = Object.keys(previous).filter((n) => !own(defs, n));
  return { items, removed };
}
