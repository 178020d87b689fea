// Container mode runs a compose project as `docker compose up` would: every service compose starts
// by default (profiles as COMPOSE_PROFILES says) runs, listed in sess.yaml or not. An unlisted one
// becomes a sess service of its own, and each container port it publishes on the host a named port:
// `<service>` for the first, `<service>-<container port>` for the others (a listed service: for
// those of its ports sess.yaml does not name).
import { portVariable } from '../../config/interpolate.js';
import { ServiceSchema, type Config, type ServiceConfig } from '../../config/schema.js';
import type { ComposeModel, ComposeService } from '../../adapters/compose.js';
import type { ImpliedInput, ImpliedServices } from '../runtime.js';
import type { Placement } from '../service.js';
import { own } from '../../common/records.js';
import { readComposeModel } from './model.js';
import { projectName, rangeSpan } from './overlay.js';

export async function impliedServices(input: ImpliedInput): Promise<ImpliedServices> {
  const { repo, session, config, placement, signal } = input;
  const recorded = (session.stash as { project?: string } | undefined)?.project;
  const { model } = await readComposeModel({
    home: repo.home,
    config,
    worktree: session.worktree,
    project: recorded ?? projectName(repo.name, repo.id, session.name),
    env: process.env,
    signal,
    activeOnly: true,
  });
  return unlistedServices(model, config, placement);
}

/**
 * The services of the model that sess.yaml does not list and compose would start, as sess services;
 * and the listed ones that run in compose with a named port for each host port they publish that
 * sess.yaml does not name.
 */
export function unlistedServices(model: ComposeModel, config: Config, placement: Placement = {}): ImpliedServices {
  const listed = new Set(Object.values(config.services).flatMap((s) => (s.compose ? [s.compose] : [])));
  const oneShots = new Set<string>();
  for (const svc of Object.values(model.services)) {
    for (const [dep, how] of Object.entries(svc.depends_on ?? {})) {
      // a migration its dependents wait for: compose runs it before them, it is not meant to stay up
      if (how.condition === 'service_completed_successfully') oneShots.add(dep);
    }
  }
  const serviceNames = new Set(Object.keys(config.services));
  const portVariables = new Set(Object.keys(config.ports).map(portVariable));
  const out: ImpliedServices = { services: {}, ports: {} };
  /** named ports for the published container ports of `svc` that `named` does not cover */
  const namePorts = (name: string, svc: ComposeService, named: Record<string, number>): Record<string, number> => {
    const covered = new Set(Object.values(named));
    const ports: Record<string, number> = {};
    // a published range (one port per replica) is no single named port: it stays a lease per port
    const targets = [
      ...new Set(
        (svc.ports ?? [])
          .filter((p) => p.published !== undefined && p.published !== '' && rangeSpan(p.published) === 1)
          .map((p) => p.target),
      ),
    ];
    for (const target of targets.filter((t) => !covered.has(t))) {
      const first = Object.keys(named).length === 0 && Object.keys(ports).length === 0;
      const portName = unique(first ? name : `${name}-${target}`, (n) => !portVariables.has(portVariable(n)));
      portVariables.add(portVariable(portName));
      ports[portName] = target;
      out.ports[portName] = {};
    }
    return ports;
  };
  for (const [name, svc] of Object.entries(config.services)) {
    const found = svc.compose ? own(model.services, svc.compose) : undefined;
    if (!found || (own(placement, name) ?? 'compose') !== 'compose') continue;
    const ports = namePorts(name, found, svc.ports);
    if (Object.keys(ports).length) out.services[name] = { ...svc, ports: { ...svc.ports, ...ports } };
  }
  for (const [composeName, svc] of Object.entries(model.services)) {
    if (listed.has(composeName) || oneShots.has(composeName) || scaledToZero(svc)) continue;
    const name = unique(asName(composeName), (n) => !serviceNames.has(n));
    serviceNames.add(name);
    out.services[name] = ServiceSchema.parse({ compose: composeName, ports: namePorts(name, svc, {}) }) as ServiceConfig;
  }
  return out;
}

function scaledToZero(svc: ComposeService): boolean {
  const replicas = (svc.deploy as { replicas?: number } | undefined)?.replicas;
  return svc.scale === 0 || replicas === 0;
}

/** A sess name (a letter, then letters, digits, _ or -) for a compose service name. */
function asName(composeName: string): string {
  const cleaned = composeName.replace(/[^a-zA-Z0-9_-]/g, '-');
  return /^[a-zA-Z]/.test(cleaned) ? cleaned : `s-${cleaned}`;
}

function unique(name: string, free: (n: string) => boolean): string {
  if (free(name)) return name;
  for (let i = 2; ; i++) if (free(`${name}-${i}`)) return `${name}-${i}`;
}
