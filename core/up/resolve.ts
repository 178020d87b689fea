// From config + placement + leased ports to the fully resolved definition of every service: what
// runs, where, with which env. Re-up compares hashes of these, so everything that changes what a
// service does must be in here, and nothing that does not (no timestamps, no pids).
import { createHash } from 'node:crypto';
import type { Config, Mode } from '../../config/schema.js';
import { interpolate, portVariable, SESSION_VARS, type Address, type Scope } from '../../config/interpolate.js';
import { LOCAL, RUNTIMES, runtimeOf } from '../../modes/placement.js';
import type { Placement, ResolvedReady, ResolvedService, RuntimeName } from '../../modes/service.js';

export type { ResolvedReady, ResolvedService };
import { own } from '../../common/records.js';
import { readEnvFrom } from './envFrom.js';

export interface SessionInfo {
  name: string;
  branch: string;
  mode: Mode;
  worktree: string;
  dir: string;
  repoRoot: string;
}

export interface Resolved {
  services: Record<string, ResolvedService>;
  /** The env of hooks, `sess env`, `sess exec` and the env file: as seen from the host. */
  hostEnv: Record<string, string>;
  /** Hook commands, interpolated as shell text (branch-derived values as env references). */
  hooks: Config['hooks'];
  /** The env of services sess.yaml does not name (a compose profile's tools), as each runtime's services see it. */
  unnamedEnv: Record<RuntimeName, Record<string, string>>;
}

export function sessionVars(session: SessionInfo, ports: Record<string, number>): Record<string, string> {
  const vars: Record<string, string> = {
    SESS_SESSION: session.name,
    SESS_BRANCH: session.branch,
    SESS_MODE: session.mode,
    SESS_WORKTREE: session.worktree,
    SESS_DIR: session.dir,
    SESS_REPO_ROOT: session.repoRoot,
  };
  for (const [name, port] of Object.entries(ports)) vars[portVariable(name)] = String(port);
  return vars;
}

export function resolveAll(
  config: Config,
  placement: Placement,
  ports: Record<string, number>,
  session: SessionInfo,
  /** the stable URLs of the session's routed services (`${svc.NAME.url}`, `${session.url}`) */
  urls: Scope['urls'] = { services: {} },
): Resolved {
  const base = sessionVars(session, ports);
  // the project's env files lie below everything sess sets (core/up/envFrom.ts)
  const fromFiles = readEnvFrom(config.env_from, session.worktree, session.repoRoot);
  const values: Record<string, string> = {};
  for (const [expr, variable] of Object.entries(SESSION_VARS)) values[expr] = own(base, variable)!;

  const scopeFor = (reader: RuntimeName): Scope => ({
    ports,
    values,
    urls,
    svc: (name) => address(config, placement, ports, reader, name),
  });
  const envFor = (reader: RuntimeName, extra: Record<string, string>) => {
    const scope = scopeFor(reader);
    const env: Record<string, string> = { ...fromFiles, ...base };
    for (const [k, v] of Object.entries({ ...config.env, ...extra })) env[k] = interpolate(v, scope, false);
    return env;
  };

  // commands, probes and hooks as sess itself sees the session: from this machine
  const localScope = scopeFor(LOCAL);
  const services: Record<string, ResolvedService> = {};
  for (const [name, svc] of Object.entries(config.services)) {
    const runtime = own(placement, name)!;
    const servicePorts: Record<string, number> = {};
    for (const portName of Object.keys(svc.ports)) servicePorts[portName] = own(ports, portName)!;
    const resolved: ResolvedService = {
      name,
      runtime,
      dependsOn: [...svc.depends_on],
      ports: servicePorts,
      containerPorts: { ...svc.ports },
      env: envFor(runtime, svc.env),
      stop: { signal: svc.stop.signal as NodeJS.Signals, grace: svc.stop.grace },
    };
    // the part of its definition its runtime runs (`host:`, `compose:`)
    Object.assign(
      resolved,
      runtimeOf(runtime).definitionOf(svc, { worktree: session.worktree, shell: (text) => interpolate(text, localScope, true) }),
    );
    if (svc.ready) resolved.ready = resolveReady(svc.ready, localScope);
    services[name] = resolved;
  }
  const hooks = Object.fromEntries(
    Object.entries(config.hooks).map(([hook, commands]) => [hook, commands.map((c) => interpolate(c, localScope, true))]),
  ) as Config['hooks'];
  const unnamedEnv = Object.fromEntries(Object.keys(RUNTIMES).map((r) => [r, envFor(r as RuntimeName, {})])) as Resolved['unnamedEnv'];
  return { services, hostEnv: envFor(LOCAL, {}), hooks, unnamedEnv };
}

/**
 * A hook command that runs before the session has ports or routes (pre_up): `${session.*}` and
 * `${repo.root}` become references to their variables; config rules keep the rest out of it.
 */
export function interpolateHook(command: string): string {
  const none = (): never => {
    throw new Error('no ports or services before the session exists');
  };
  return interpolate(command, { ports: {}, values: {}, urls: { services: {} }, svc: none }, true);
}

function resolveReady(ready: NonNullable<Config['services'][string]['ready']>, scope: Scope): ResolvedReady {
  const { timeout, interval } = ready;
  if (ready.http !== undefined) return { kind: 'http', url: interpolate(ready.http, scope, false), timeout, interval };
  if (ready.cmd !== undefined) return { kind: 'cmd', script: interpolate(ready.cmd, scope, true), timeout, interval };
  if (ready.log !== undefined) return { kind: 'log', pattern: interpolate(ready.log, scope, false), timeout, interval };
  const target = interpolate(String(ready.tcp), scope, false);
  const m = /^(?:(.+):)?(\d+)$/.exec(target);
  return { kind: 'tcp', host: m?.[1] ?? '127.0.0.1', port: Number(m?.[2] ?? NaN), timeout, interval };
}

/** Where `reader` reaches service `name`: SPEC.md's `${svc.NAME.host}` / `${svc.NAME.port}`. */
function address(config: Config, placement: Placement, ports: Record<string, number>, reader: RuntimeName, name: string): Address {
  const svc = own(config.services, name)!;
  const portName = Object.keys(svc.ports)[0]!;
  return runtimeOf(reader).reach({
    runtime: own(placement, name)!,
    ...(svc.compose ? { composeName: svc.compose } : {}),
    containerPort: own(svc.ports, portName)!,
    leasedPort: own(ports, portName)!,
  });
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
