// Where each service runs: the table of SPEC.md "Three modes", plus --host/--container for one
// session, and the runtimes that the names in it stand for.
import type { Config, Mode, ServiceConfig } from '../config/schema.js';
import { ConfigError, UsageError, WorkError } from '../common/errors.js';
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
  /** the compose services run on another machine's engine (`remote:`, `--remote-host`, `--context`) */
  remote?: boolean;
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
  if (overrides.remote) return onRemote(placement, mode);
  return placement;
}

/**
 * With a remote engine every service runs in compose there: a session that needs services on this
 * machine (hybrid or host mode, a service without a compose definition, `--host`) is refused, since
 * its containers and its processes would be on two machines that do not share a network.
 */
function onRemote(placement: Placement, mode: Mode): Placement {
  const hint = 'README, "Running on another machine", says what runs there and what does not yet';
  if (mode !== 'container') {
    throw new UsageError(`a remote engine runs container mode only: this session is in ${mode} mode`, { hint });
  }
  const onHost = Object.keys(placement).filter((n) => placement[n] === 'host');
  if (onHost.length) {
    throw new ConfigError('sess.yaml', [
      {
        path: `services.${onHost[0]}`,
        message: `runs on this machine (no compose: definition, or --host), but the compose services run on a remote engine: ${onHost.join(', ')} cannot reach them there`,
      },
    ]);
  }
  return Object.fromEntries(Object.keys(placement).map((n) => [n, 'remote' as RuntimeName]));
}
