// What an up does to each service: leave it (running, same definition), start it, or replace it.
import { own } from '../../common/records.js';
import type { LiveStates, ResolvedService, ServiceRecord } from '../../modes/service.js';
import { portVariable } from '../../config/interpolate.js';
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
  /** replaced although its definition did not change (`sess restart`) */
  forced?: boolean;
}

/** For each wanted service: unchanged (running, same definition), start, or replace. */
export function planServices(
  order: string[],
  defs: Record<string, ResolvedService>,
  strategies: Record<string, StrategyName>,
  previous: Record<string, ServiceRecord>,
  live: LiveStates,
  /** services replaced even when unchanged (`sess restart`) */
  force: string[] = [],
): { items: ServicePlanItem[]; removed: string[] } {
  const movable = movablePortVariables(defs, strategies);
  const items = order.map((name): ServicePlanItem => {
    const def = own(defs, name)!;
    const hash = definitionHash(def, movable);
    const prev = own(previous, name);
    const strategy = own(strategies, name) ?? 'recreate';
    // what does not run is started (with its new definition, if that changed): only a running
    // service is replaced, and only a replacement has a previous instance to go back to
    if (!prev || !prev.wanted || !isAlive(prev, live)) return { name, def, hash, action: 'start', strategy };
    if (force.includes(name)) return { name, def, hash, action: 'replace', strategy, forced: true };
    return { name, def, hash, action: prev.hash === hash ? 'unchanged' : 'replace', strategy };
  });
  // services of the config left out of `order` (--only, --skip, a restart of some) are no item
  const removed = Object.keys(previous).filter((n) => !own(defs, n));
  return { items, removed };
}

/**
 * The `SESS_PORT_<NAME>` variables every service's env carries for the named ports of blue-green
 * services: those ports move at each promotion, without any change of sess.yaml.
 */
export function movablePortVariables(defs: Record<string, ResolvedService>, strategies: Record<string, StrategyName>): Set<string> {
  const vars = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    if (own(strategies, name) === 'blue-green') for (const port of Object.keys(def.ports)) vars.add(portVariable(port));
  }
  return vars;
}

/**
 * A service's definition hash: what decides whether a re-up replaces it. The automatic variables of
 * ports that move (see movablePortVariables) are left out: a promotion would otherwise replace every
 * other service of the session at the next up. A service that reads such a port by name
 * (`${ports.NAME}` in its command or env) still changes with it; the service that owns the port has
 * it in its `ports`.
 */
export function definitionHash(def: ResolvedService, movable: Set<string>): string {
  if (movable.size === 0) return hashOf(def);
  const env = Object.fromEntries(Object.entries(def.env).filter(([k]) => !movable.has(k)));
  return hashOf({ ...def, env });
}
