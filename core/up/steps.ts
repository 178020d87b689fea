// `sess up` as a list of named steps. Each step says what it changes and what its inverse is; the
// transaction (up.ts) runs the list, each step registering its inverse with the rollback guard
// before it acts. The step names are the journal's labels and SESS_FAILPOINT's names: README's list
// of failpoints and the fault tests come from `failpointsOf`, not from copies.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '../../adapters/fs.js';
import { addWorktree, readHead, resetHard, worktreeGitDir } from '../../adapters/git.js';
import { CancelledError } from '../../common/errors.js';
import { failpoint } from '../../common/failpoint.js';
import { dependencyOrder } from '../../config/order.js';
import { runtimeOf, runtimesImplying, runtimesIn, RUNTIMES } from '../../modes/placement.js';
import type { Journal, PreparedUp } from '../../modes/runtime.js';
import type { RuntimeName, ServiceRecord } from '../../modes/service.js';
import { dotenv } from '../dotenv.js';
import type { RollbackGuard } from '../journal/guard.js';
import type { Undo } from '../journal/undo.js';
import { definitionHash, movablePortVariables, planServices, type ServicePlanItem, type StrategyName } from '../release/plan.js';
import { startServices, type StartContext, type StartOutcome } from '../release/start.js';
import { stopServices } from '../release/stop.js';
import type { ReleaseService } from '../state/history.js';
import { lease, leasesOf } from '../state/ledger.js';
import { lookAt, stashOf } from '../state/liveness.js';
import { leaseOwner, paths, sessHome, withWorktreesLock, type Repo } from '../state/repo.js';
import type { SessionRecord } from '../state/store.js';
import { runHooks } from './hooks.js';
import type { Prepared, UpRequest } from './prepare.js';
import { resolveAll, type Resolved } from './resolve.js';
import { ensureProxyFor, routesFor, urlsOf } from './routes.js';
import { routedServices } from '../../config/routing.js';
import type { RouteInput, SessionUrls } from '../proxy/index.js';
import type { RouteEntry } from '../../proxy/table.js';
import type { Green } from '../release/blueGreen.js';
import { copyIncludes, linkPaths } from './worktree.js';
import { checkWorktreePaths } from './worktreePaths.js';
import type { Progress } from '../../common/progress.js';
import { hasOwn, own } from '../../common/records.js';

/** One up of one session, as its steps see it: what it was given, and what earlier steps found. */
export interface UpContext {
  repo: Repo;
  name: string;
  branch: string;
  prepared: Prepared;
  /** the session as the last up left it; none for a fresh session */
  existing: SessionRecord | undefined;
  request: UpRequest;
  /** the commit a sandbox moves to */
  moveTo: string | undefined;
  guard: RollbackGuard;
  progress: Progress;
  signal: AbortSignal;
  /** what happened to each service, filled as it happens (a rollback reads it too) */
  actions: ReleaseService[];
  /** what a rollback of a resume writes back: the previous record, with services brought back since */
  fallback: SessionRecord | undefined;
  // found by the steps, in order
  links: string[];
  ports: Record<string, number>;
  leases: Record<string, number>;
  resolved?: Resolved;
  runtimes: Partial<Record<RuntimeName, PreparedUp>>;
  hookEnv: NodeJS.ProcessEnv;
  plan?: { items: ServicePlanItem[]; removed: string[] };
  /** services this up leaves as they are (--only, --skip, a restart of others): their records, by name */
  leftAlone: Record<string, ServiceRecord>;
  outcome?: StartOutcome;
  /** the session's stable URLs (none when nothing of it is routed) */
  urls?: SessionUrls;
  /** blue-green candidates that wait at their manual gate, by service (with the env they bring) */
  pending: Record<string, Green & { env: Record<string, string> }>;
  /** services promoted blue-green in this up: their named ports moved to the new instance's */
  moved: Record<string, Record<string, number>>;
}

export interface UpStep {
  /** its label in the journal and in SESS_FAILPOINT */
  name: string;
  /** what it changes, and the inverse it registers first (README's list) */
  does: string;
  /** whether it runs in this up (default: always) */
  when?: (ctx: UpContext) => boolean;
  run: (ctx: UpContext) => Promise<void>;
}

const fresh = (ctx: UpContext) => !!ctx.prepared.fresh;
/** a worktree this up makes (not one it adopts): includes are copied into it, post_create runs */
const made = (ctx: UpContext) => !!ctx.prepared.fresh && !ctx.prepared.fresh.adopted;
const starting = (ctx: UpContext) => ctx.plan!.items.filter((i) => i.action !== 'unchanged');
const hookOptions = (ctx: UpContext) => ({ signal: ctx.signal, progress: ctx.progress, owner: `${ctx.repo.id}/${ctx.name}` });

export const UP_STEPS: UpStep[] = [
  {
    name: 'session',
    does: 'the session folder (fresh: removed again; resume: the session record written back)',
    async run(ctx) {
      const { guard, repo, name, existing } = ctx;
      if (existing) await guard.run('session', { kind: 'session.restore', record: existing }, async () => undefined);
      else
        await guard.run('session', { kind: 'session.remove', session: name }, async () =>
          mkdirSync(paths.logsDir(repo, name), { recursive: true }),
        );
    },
  },
  {
    name: 'move',
    does: "a sandbox moved to its pull request's newest commit (moved back)",
    when: (ctx) => !!ctx.moveTo,
    async run(ctx) {
      const { worktree } = ctx.prepared;
      const from = readHead(worktreeGitDir(worktree), ctx.repo.commonDir)!;
      await ctx.guard.run('move', { kind: 'worktree.reset', worktree, commit: from }, () => resetHard(worktree, ctx.moveTo!, ctx.signal));
      ctx.progress.step(`sandbox ${ctx.name} moved ${from.slice(0, 8)} -> ${ctx.moveTo!.slice(0, 8)}`);
    },
  },
  {
    name: 'worktree',
    does: 'the git worktree, and the branch when sess creates it (both removed)',
    when: fresh,
    async run(ctx) {
      const { repo, branch, guard, signal, progress } = ctx;
      const { worktree } = ctx.prepared;
      const { source, branchTip, describe, adopted } = ctx.prepared.fresh!;
      // an adopted worktree is the user's: nothing to make, and nothing for a rollback to remove
      if (adopted) return progress.step(`worktree ${worktree} (adopted, branch ${branch}: sess never deletes it)`);
      const createdBranch = source.kind !== 'existing';
      const undo: Undo = {
        kind: 'worktree.remove',
        path: worktree,
        branch: createdBranch ? branch : null,
        branchTip,
        ...(existsSync(dirname(worktree)) ? {} : { parent: dirname(worktree) }),
      };
      // the lock outside the step: a wait that times out or is interrupted leaves nothing to undo
      await withWorktreesLock(repo, () => guard.run('worktree', undo, () => addWorktree(worktree, source, repo.mainRoot, signal)), {
        signal,
        progress,
      });
      progress.step(`worktree ${worktree} (${createdBranch ? `new branch ${branch} from ${describe}` : describe})`);
    },
  },
  {
    name: 'include',
    does: 'ignored files of the main checkout copied into a new worktree (removed with it)',
    async run(ctx) {
      const { config, placement, worktree, configFile } = ctx.prepared;
      // the branch's files are on disk now: no path sess writes may lead out of them
      checkWorktreePaths(config, placement, worktree, configFile);
      if (made(ctx)) await ctx.guard.run('include', { kind: 'none' }, () => copyIncludes(ctx.repo, config, worktree, ctx.progress));
    },
  },
  {
    name: 'link',
    does: 'symlinks from the main checkout into the worktree (removed)',
    async run(ctx) {
      ctx.links = await linkPaths(ctx.repo, ctx.prepared.config, ctx.prepared.worktree, ctx.guard);
    },
  },
  {
    name: 'implied',
    does: 'nothing yet: services the mode runs that sess.yaml does not list (container mode: every compose service), with named ports for what they publish',
    when: (ctx) => runtimesImplying(ctx.prepared.config, ctx.prepared.mode).length > 0,
    async run(ctx) {
      const { prepared, signal } = ctx;
      for (const runtime of runtimesImplying(prepared.config, prepared.mode)) {
        const implied = await runtime.implied!({
          ...runtimeSession(ctx, runtime.name),
          config: prepared.config,
          placement: prepared.placement,
          signal,
        });
        // listed services first (sess.yaml's order), then the implied ones in their files' order
        prepared.config = {
          ...prepared.config,
          ports: { ...prepared.config.ports, ...implied.ports },
          services: { ...prepared.config.services, ...implied.services },
        };
        prepared.placement = { ...prepared.placement, ...Object.fromEntries(Object.keys(implied.services).map((s) => [s, runtime.name])) };
      }
    },
  },
  {
    name: 'ports',
    does: 'named ports leased in the machine-wide ledger (released)',
    async run(ctx) {
      const { repo, name, guard, signal, progress } = ctx;
      const { config } = ctx.prepared;
      const owner = leaseOwner(repo, name);
      const held = leasesOf(owner);
      const pins = ctx.prepared.overrides.ports ?? {};
      const wanted = Object.entries(config.ports).map(([portName, p]) => ({ name: portName, prefer: p.prefer, pin: own(pins, portName) }));
      // a pin moves a name the session holds on another port: a rollback gives it back that port
      const moved = Object.fromEntries(
        wanted.flatMap((w) =>
          w.pin !== undefined && hasOwn(held, w.name) && own(held, w.name) !== w.pin ? [[w.name, own(held, w.name)!]] : [],
        ),
      );
      const newNames = wanted.map((w) => w.name).filter((n) => !hasOwn(held, n) || hasOwn(moved, n));
      const undo: Undo = {
        kind: 'ports.release',
        owner,
        names: newNames,
        ...(Object.keys(moved).length ? { restore: { stateDir: repo.stateDir, leases: moved } } : {}),
      };
      const { ports } = await guard.runAtomic('ports', undo, () => lease(owner, repo.stateDir, wanted, signal));
      ctx.ports = Object.fromEntries(Object.keys(config.ports).map((n) => [n, own(ports, n)!]));
      ctx.leases = { ...ctx.ports };
      if (newNames.length) progress.step(`ports ${newNames.map((n) => `${n}=${own(ctx.ports, n)}`).join(' ')}`);
    },
  },
  {
    name: 'runtimes',
    does: "each runtime's part of the session (compose: its extra port leases and overlay; see its prepareSteps)",
    async run(ctx) {
      const { repo, name, prepared } = ctx;
      // the URLs first: `${svc.NAME.url}` may stand in any definition
      const urls = await urlsOf(repo, name, prepared.config);
      if (urls) ctx.urls = urls;
      const resolved = resolveFor(ctx, ctx.ports);
      ctx.resolved = resolved;
      ctx.hookEnv = { ...process.env, ...resolved.hostEnv };
      const journal = runtimeJournal(ctx);
      for (const runtime of runtimesIn(prepared.placement)) {
        const up = await runtime.prepare({
          ...runtimeSession(ctx, runtime.name),
          config: prepared.config,
          placement: prepared.placement,
          ports: ctx.ports,
          defs: resolved.services,
          hostEnv: resolved.hostEnv,
          unnamedEnv: resolved.unnamedEnv[runtime.name],
          journal,
          progress: ctx.progress,
          signal: ctx.signal,
          ...(prepared.overrides.engine ? { engine: prepared.overrides.engine } : {}),
        });
        await up.describe(Object.values(resolved.services).filter((d) => d.runtime === runtime.name));
        ctx.runtimes[runtime.name] = up;
        Object.assign(ctx.leases, up.leases);
        if (ctx.signal.aborted) throw CancelledError.from(ctx.signal);
      }
    },
  },
  {
    name: 'env-file',
    does: 'the env file in the worktree (its previous text written back)',
    run: writeEnvFile,
  },
  {
    name: 'post_create',
    does: 'the post_create hook of a new worktree (what it left running is stopped)',
    when: made,
    run: (ctx) => runHooks('post_create', ctx.resolved!.hooks.post_create, ctx.prepared.worktree, ctx.hookEnv, ctx.guard, hookOptions(ctx)),
  },
  {
    name: 'plan',
    does: 'nothing yet: what each service needs (unchanged, start, replace), and services gone from sess.yaml stopped',
    async run(ctx) {
      const { repo, name, existing, prepared } = ctx;
      const live = existing ? (own(await lookAt(repo, [existing]), name) ?? {}) : {};
      const order = dependencyOrder(prepared.config);
      const { selected } = prepared;
      const defs = ctx.resolved!.services;
      const strategies = strategiesOf(prepared.config);
      ctx.plan = planServices(
        selected ? order.filter((n) => selected.includes(n)) : order,
        defs,
        strategies,
        existing?.services ?? {},
        live,
        prepared.force,
      );
      // what is left out keeps its record as it is; one that never ran is recorded as not meant to run
      const movable = movablePortVariables(defs, strategies);
      for (const n of order.filter((o) => selected && !selected.includes(o))) {
        const def = own(defs, n)!;
        ctx.leftAlone[n] = own(existing?.services ?? {}, n) ?? {
          runtime: def.runtime,
          hash: definitionHash(def, movable),
          def,
          wanted: false,
        };
      }
      if (ctx.plan.removed.length && existing) await stopServices(repo, existing, ctx.progress, { names: ctx.plan.removed });
    },
  },
  {
    name: 'pre_spawn',
    does: 'the pre_spawn hook, when a service of this machine is about to start (what it left running is stopped)',
    when: (ctx) => starting(ctx).some((i) => runtimeOf(i.def.runtime).spawnsOnThisMachine),
    run: (ctx) => runHooks('pre_spawn', ctx.resolved!.hooks.pre_spawn, ctx.prepared.worktree, ctx.hookEnv, ctx.guard, hookOptions(ctx)),
  },
  {
    name: 'services',
    does: 'each service started (service:<name>, then ready:<name>), or replaced by its strategy (restore:<name> first): stopped, or its previous instance back',
    async run(ctx) {
      const { guard, fallback } = ctx;
      const undecided: Record<string, Pick<SessionRecord, 'ports' | 'leases'> & { service: SessionRecord['services'][string] }> = {};
      const start: StartContext = {
        repo: ctx.repo,
        session: ctx.name,
        guard,
        progress: ctx.progress,
        signal: ctx.signal,
        ...(ctx.existing ? { previous: ctx.existing } : {}),
        prepared: ctx.runtimes,
        sessionEnv: ctx.resolved!.hostEnv,
        leases: ctx.leases,
        routePortOf: (service) => own(routedServices(ctx.prepared.config), service),
        redefine: async (service, ports) => {
          const defs = resolveFor(ctx, { ...ctx.ports, ...ports }).services;
          const def = own(defs, service)!;
          await ctx.runtimes[def.runtime]!.describe([def]);
          return { def, hash: definitionHash(def, movablePortVariables(defs, strategiesOf(ctx.prepared.config))) };
        },
        ensureRoutes: async () => {
          await ensureProxyFor(ctx.progress, ctx.signal);
          const proxy = await import('../proxy/index.js');
          if (proxy.routesOf({ repoId: ctx.repo.id, session: ctx.name }).length === 0) {
            await writeRoutes(ctx, routesFor(ctx.prepared.config, ctx.ports));
          }
        },
        promoteOf: (service) => own(ctx.prepared.config.services, service)!.promote,
        onPending: (service, green) => (ctx.pending[service] = { ...green, env: envChange(ctx, green.ports) }),
        sessionUndoAfterPromotion: (service, green) => {
          ctx.moved[service] = green.ports;
          if (!fallback) return undefined;
          undecided[service] = structuredClone({ service: fallback.services[service]!, ports: fallback.ports, leases: fallback.leases });
          // a rollback after this promotion puts back a session that runs green, on green's ports
          fallback.services[service] = { ...green.record, wanted: true };
          Object.assign(fallback.ports, green.ports);
          fallback.leases = { ...(fallback.leases ?? fallback.ports), ...green.ports };
          return { kind: 'session.restore', record: fallback };
        },
        promotionNotDecided: (service) => {
          delete ctx.moved[service];
          const saved = own(undecided, service);
          if (!fallback || !saved) return;
          fallback.services[service] = saved.service;
          fallback.ports = saved.ports;
          if (saved.leases) fallback.leases = saved.leases;
          else delete fallback.leases;
          guard.amendLabel('session', { kind: 'session.restore', record: fallback });
        },
        ...(fallback
          ? {
              resume: {
                onRestored: (service: string, rec: SessionRecord['services'][string]) => {
                  fallback.services[service] = rec;
                  guard.amendLabel('session', { kind: 'session.restore', record: fallback });
                },
              },
            }
          : {}),
      };
      const outcome = await startServices(start, ctx.plan!.items, ctx.actions);
      // the session's services in the config's dependency order, those left alone among them
      const records = { ...outcome.records, ...ctx.leftAlone };
      outcome.records = Object.fromEntries(
        dependencyOrder(ctx.prepared.config)
          .filter((n) => hasOwn(records, n))
          .map((n) => [n, own(records, n)!]),
      );
      ctx.outcome = outcome;
      ctx.actions.push(...Object.keys(ctx.leftAlone).map((n) => ({ name: n, action: 'unchanged' as const })));
      ctx.actions.push(...ctx.plan!.removed.map((n) => ({ name: n, action: 'stopped' as const })));
      if (Object.keys(ctx.moved).length) await portsMoved(ctx);
    },
  },
  {
    name: 'routes',
    does: "the session's routes in the machine's proxy, which is started if it does not run (the routes it had written back)",
    when: (ctx) => Object.keys(routedServices(ctx.prepared.config)).length > 0 || !!ctx.existing?.urls,
    async run(ctx) {
      const routes = routesFor(ctx.prepared.config, ctx.ports, pendingPorts(ctx.pending));
      if (routes.length) await ensureProxyFor(ctx.progress, ctx.signal);
      await writeRoutes(ctx, routes);
    },
  },
  {
    name: 'post_up',
    does: 'the post_up hook, when every service is ready and something started (what it left running is stopped)',
    when: (ctx) => ctx.outcome!.failures.length === 0 && (starting(ctx).length > 0 || !ctx.existing),
    run: (ctx) => runHooks('post_up', ctx.resolved!.hooks.post_up, ctx.prepared.worktree, ctx.hookEnv, ctx.guard, hookOptions(ctx)),
  },
];

/**
 * The labels SESS_FAILPOINT knows for an up of this shape, in the order they happen: the steps'
 * own, and those the runtimes and services add. `hooks`: the hooks that have commands (a hook
 * without any is no step); `replaced`: services a resume replaces.
 */
export function failpointsOf(shape: {
  fresh: boolean;
  runtimes: RuntimeName[];
  services: string[];
  hooks: (keyof Resolved['hooks'])[];
  replaced?: string[];
}): string[] {
  const labels: string[] = [];
  const runtimes = runtimesIn(shape.runtimes);
  const hook = (name: string) => (shape.hooks as string[]).includes(name);
  for (const step of UP_STEPS) {
    if (step.name === 'move' || step.name === 'plan' || step.name === 'implied') continue;
    if (!shape.fresh && ['worktree', 'include', 'post_create'].includes(step.name)) continue;
    if (['post_create', 'pre_spawn', 'post_up'].includes(step.name) && !hook(step.name)) continue;
    if (step.name === 'pre_spawn' && !runtimes.some((r) => r.spawnsOnThisMachine)) continue;
    if (step.name === 'runtimes') labels.push(...runtimes.flatMap((r) => r.prepareSteps));
    else if (step.name === 'services') {
      for (const s of shape.services) {
        if (shape.replaced?.includes(s)) labels.push(`restore:${s}`);
        labels.push(`service:${s}`, `ready:${s}`);
      }
    } else labels.push(step.name);
  }
  return labels;
}

/** Every label a failpoint may name, for README's list: the steps, the runtimes' own, and the per-service ones. */
export function allFailpoints(): string[] {
  return [
    ...UP_STEPS.filter((s) => !['runtimes', 'plan', 'implied', 'services'].includes(s.name)).map((s) => s.name),
    ...Object.values(RUNTIMES).flatMap((r) => r.prepareSteps),
    'restore:<name>',
    'service:<name>',
    'ready:<name>',
    'promote:<name>',
    'switch:<name>',
  ];
}

/** The guard as runtimes use it: their own inverses, and the session's files and leases. */
function runtimeJournal(ctx: UpContext): Journal {
  const { guard, repo, name, signal } = ctx;
  return {
    register: (label, undo) => guard.register(label, undo),
    amend: (handle, undo) => guard.amend(handle, undo),
    amendWith: (handle, change) => guard.amendWith(handle, (undo) => change(undo as never)),
    async writeFile(label, path, text, mode) {
      const previous = readTextIfExists(path) ?? null;
      await guard.run(label, { kind: 'file.restore', path, previous, mode }, async () => writeFileAtomic(path, text, mode));
    },
    async leasePorts(label, names) {
      const owner = leaseOwner(repo, name);
      const held = leasesOf(owner);
      const fresh = names.filter((n) => !hasOwn(held, n));
      const { ports } = await guard.runAtomic(label, { kind: 'ports.release', owner, names: fresh }, () =>
        lease(
          owner,
          repo.stateDir,
          names.map((n) => ({ name: n })),
          signal,
        ),
      );
      return Object.fromEntries(names.map((n) => [n, own(ports, n)!]));
    },
  };
}

/** The repository and session as a runtime sees them (its `implied` and `prepare`). */
function runtimeSession(ctx: UpContext, runtime: RuntimeName) {
  const { repo, name, prepared, existing } = ctx;
  return {
    repo: { id: repo.id, name: repo.name, home: sessHome() },
    session: {
      repoId: repo.id,
      name,
      dir: paths.sessionDir(repo, name),
      worktree: prepared.worktree,
      fresh: !existing,
      stash: existing ? stashOf(existing, runtime) : undefined,
    },
  };
}

/** Resolve the session's definitions on these ports (with its URLs). */
function resolveFor(ctx: UpContext, ports: Record<string, number>): Resolved {
  const { prepared, repo, name } = ctx;
  return resolveAll(
    prepared.config,
    prepared.placement,
    ports,
    {
      name,
      branch: ctx.branch,
      mode: prepared.mode,
      worktree: prepared.worktree,
      dir: paths.sessionDir(repo, name),
      repoRoot: repo.mainRoot,
    },
    ctx.urls ?? { services: {} },
  );
}

/**
 * A blue-green promotion moved named ports to the new instance: the session's ports, env and env
 * file say so now. Services that read `${ports.NAME}` keep what they started with until the next
 * `sess up` replaces them (their definitions changed); those that read `${svc.NAME.url}` never see it.
 */
async function portsMoved(ctx: UpContext): Promise<void> {
  for (const ports of Object.values(ctx.moved)) {
    Object.assign(ctx.ports, ports);
    Object.assign(ctx.leases, ports);
  }
  ctx.resolved = resolveFor(ctx, ctx.ports);
  ctx.hookEnv = { ...process.env, ...ctx.resolved.hostEnv };
  await writeEnvFile(ctx);
  ctx.progress.info(
    `ports moved: ${Object.entries(ctx.moved)
      .flatMap(([, ports]) => Object.entries(ports).map(([n, p]) => `${n}=${p}`))
      .join(' ')} (services that read them get them at the next sess up; stable URLs do not change)`,
  );
}

/** The session env's variables that differ when these named ports move (a promotion to come). */
function envChange(ctx: UpContext, ports: Record<string, number>): Record<string, string> {
  const now = ctx.resolved!.hostEnv;
  const then = resolveFor(ctx, { ...ctx.ports, ...ports }).hostEnv;
  return Object.fromEntries(Object.entries(then).filter(([k, v]) => own(now, k) !== v));
}

/** The env file of the worktree: the session env as the host sees it (its previous text comes back on rollback). */
async function writeEnvFile(ctx: UpContext): Promise<void> {
  const envFile = envFileOf(ctx);
  const envText = dotenv(ctx.resolved!.hostEnv);
  const previous = readTextIfExists(envFile) ?? null;
  if (previous === envText) return;
  await ctx.guard.run('env-file', { kind: 'file.restore', path: envFile, previous, mode: 0o600 }, async () =>
    writeFileAtomic(envFile, envText, 0o600),
  );
}

/** Write the session's routes (its routes before come back on rollback); the session's URLs. */
async function writeRoutes(ctx: UpContext, routes: RouteInput[]): Promise<void> {
  const proxy = await import('../proxy/index.js');
  const { repo, name } = ctx;
  const before = own(proxy.readTable().repos, repo.id)?.sessions[name]?.routes;
  ctx.guard.register('routes', {
    kind: 'routes.restore',
    repoId: repo.id,
    repoName: repo.name,
    repoRoot: repo.mainRoot,
    session: name,
    routes: before?.length ? before.map(asInput) : null,
  });
  if (routes.length === 0) {
    await proxy.removeSessionRoutes(repo.id, name);
    delete ctx.urls;
  } else {
    ctx.urls = await proxy.setSessionRoutes({ repoId: repo.id, repoName: repo.name, repoRoot: repo.mainRoot, session: name, routes });
  }
  failpoint('routes');
}

const asInput = (r: RouteEntry): RouteInput => ({
  service: r.service,
  target: r.target,
  ...(r.primary ? { primary: true } : {}),
  ...(r.green ? { green: true } : {}),
  ...(r.status ? { status: r.status } : {}),
});

function pendingPorts(pending: Record<string, Green>): Record<string, { ports: Record<string, number> }> {
  return Object.fromEntries(Object.entries(pending).map(([s, g]) => [s, { ports: g.ports }]));
}

export const envFileOf = (ctx: UpContext): string => join(ctx.prepared.worktree, ctx.prepared.config.env_file);

const strategiesOf = (config: UpContext['prepared']['config']): Record<string, StrategyName> =>
  Object.fromEntries(Object.entries(config.services).map(([n, s]) => [n, s.replace as StrategyName]));
