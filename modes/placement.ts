// Where each service runs: the table of SPEC.md "Three modes", plus --host/--container for one
// session, and the runtimes that the names in it stand for.
import type { Config, Mode, ServiceConfig } from '../config/schema.js';
import { UsageError, WorkError } from '../common/errors.js';
import { hasOwn } from '../common/records.js';
import type { Runtime } from './runtime.js';
import { RUNTIMES } from './runtimes.js';
import type { Placement, RuntimeName } from './service.js';

export { RUNTIMES };

/**
 * The runtime whose services run where sess runs: hooks, ready probes, the env file and `sess exec`
 * see the session as its services do.
 */
export const LOCAL: RuntimeName = 'host';

export function runtimeOf(name: RuntimeName): Runtime {
  const runtime = (RUNTIMES as Record<string, Runtime | undefined>)[name];
  if (!runtime) throw new WorkError(`no runtime named ${name}`, { hint: 'a newer sess wrote this session: use that sess' });
  return runtime;
}

/** The runtime that wrote an undo record of this kind into a journal. */
export function runtimeForUndo(kind: string): Runtime | undefined {
  return Object.values(RUNTIMES).find((r) => r.undoKinds.includes(kind));
}

/** The runtimes a placement uses, in table order. */
export function runtimesIn(placement: Placement | RuntimeName[]): Runtime[] {
  const used = new Set(Array.isArray(placement) ? placement : Object.values(placement));
  return Object.values(RUNTIMES).filter((r) => used.has(r.name));
}

/** The runtimes that run services sess.yaml does not list in this mode (compose in container mode). */
export function runtimesImplying(config: Config, mode: Mode): Runtime[] {
  return Object.values(RUNTIMES).filter((r) => r.impliesServices?.(config, mode));
}

export interface Overrides {
  host: string[];
  container: string[];
}

const byMode: Record<Mode, (svc: ServiceConfig, name: string, config: Config) => RuntimeName> = {
  // compose: everything that has a compose definition; host: only services without one.
  container: (svc) => (svc.compose ? 'compose' : 'host'),
  // compose: the dependencies; host: the services named in hybrid.host.
  hybrid: (svc, name, config) => ((config.hybrid?.host ?? []).includes(name) || !svc.compose ? 'host' : 'compose'),
  // host: everything that has a host definition; compose: only services without one.
  host: (svc) => (svc.host ? 'host' : 'compose'),
};

export function placeServices(config: Config, mode: Mode, overrides: Overrides): Placement {
  for (const name of [...overrides.host, ...overrides.container]) {
    if (!hasOwn(config.services, name)) {
      throw new UsageError(`no service named "${name}" in sess.yaml`, {
        hint: `services: ${Object.keys(config.services).join(', ')}`,
      });
    }
  }
  const both = overrides.host.filter((n) => overrides.container.includes(n));
  if (both.length) throw new UsageError(`--host and --container both name ${both.join(', ')}`);

  const placement: Placement = {};
  for (const [name, svc] of Object.entries(config.services)) {
    let runtime = byMode[mode](svc, name, config);
    if (overrides.host.includes(name)) {
      if (!svc.host) throw new UsageError(`--host ${name}: service "${name}" has no host: definition`);
      runtime = 'host';
    }
    if (overrides.container.includes(name)) {
      if (!svc.compose) throw new UsageError(`--container ${name}: service "${name}" has no compose: definition`);
      runtime = 'compose';
    }
    placement[name] = runtime;
  }
  return placement;
}
