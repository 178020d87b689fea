// Blue-green replacement (`replace: blue-green`): the new instance ("green") starts beside the
// running one ("blue") on ports of its own, without traffic; it must become ready and stay ready for
// `promote.delay`; at a manual gate the release waits for `sess promote`. Promotion switches the
// service's route in the local proxy to green (atomically: no request is refused), waits until what
// was in flight to blue has finished (up to its `stop.grace`), stops blue, and gives green's leases
// the service's port names. Before promotion, any failure takes green away and leaves blue and its
// route as they were; from the moment promotion is decided, whatever ends the command finishes it.
import { CancelledError, messageOf, WorkError } from '../../common/errors.js';
import { failpoint } from '../../common/failpoint.js';
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import { runtimeOf } from '../../modes/placement.js';
import { holdReady } from '../../modes/readiness.js';
import type { ServiceRecord } from '../../modes/service.js';
import type { Undo } from '../journal/undo.js';
import { settlePromotion } from '../state/history.js';
import { lease, release, renameLease } from '../state/ledger.js';
import { isAlive } from '../state/liveness.js';
import { leaseOwner, paths, type Repo } from '../state/repo.js';
import type { SessionRecord } from '../state/store.js';
import { startNew, stashFor, type StartContext } from './context.js';
import type { Replacement } from './strategies.js';

type FinishUndo = Extract<Undo, { kind: 'bluegreen.finish' }>;

const target = (port: number) => `http://127.0.0.1:${port}`;

/** What a waiting green needs to be promoted or aborted later (kept in the session record). */
export interface Green {
  record: ServiceRecord;
  ports: Record<string, number>;
  leaseNames: Record<string, string>;
  /** the named port its route goes to */
  routePort: string;
}

export async function blueGreen({ ctx, item, previous, signal, onStarted }: Replacement): Promise<ServiceRecord> {
  const { repo, session, guard, progress } = ctx;
  const owner = leaseOwner(repo, session);
  const routePort = ctx.routePortOf(item.name);
  if (routePort === undefined) throw new WorkError(`${item.name} has no route of the local proxy: blue-green cannot switch it`);

  // 1. ports of its own for green, under names that say so until promotion
  const portNames = Object.keys(item.def.ports);
  const leaseNames = Object.fromEntries(portNames.map((p) => [p, `green:${p}`]));
  const names = Object.values(leaseNames);
  const { ports: leased } = await guard.runAtomic(`green-ports:${item.name}`, { kind: 'ports.release', owner, names }, () =>
    lease(
      owner,
      repo.stateDir,
      names.map((n) => ({ name: n })),
      signal,
    ),
  );
  const ports = Object.fromEntries(portNames.map((p) => [p, own(leased, leaseNames[p]!)!]));

  try {
    // 2. green: the new definition on green's ports, started beside blue, ready, then steady
    const { def, hash } = await ctx.redefine(item.name, ports);
    progress.info(`replacing ${item.name} blue-green: the new instance starts beside the running one, on port ${own(ports, routePort)}`);
    const record = await startNew(ctx, { ...item, def, hash }, signal, onStarted);
    await ctx.ensureRoutes();
    guard.register(`green-route:${item.name}`, { kind: 'route.green', repoId: repo.id, session, service: item.name });
    const proxy = await import('../proxy/index.js');
    const { url } = await proxy.setGreenRoute({
      repoId: repo.id,
      session,
      service: item.name,
      target: target(own(ports, routePort)!),
      status: { state: 'starting' },
    });
    const promote = ctx.promoteOf(item.name);
    if (promote.delay > 0) {
      progress.info(`${item.name}: the new instance must stay ready for ${promote.delay}s`);
      await holdReady(
        def.name,
        def.ready,
        { alive: () => isAlive(record, {}), cwd: def.host!.cwd, env: process.env, signal },
        promote.delay,
      );
    }
    failpoint(`promote:${item.name}`, 'before');
    failpoint(`promote:${item.name}`);
    const green: Green = { record, ports, leaseNames, routePort };
    if (promote.gate === 'manual') {
      progress.step(
        `${item.name}: the new instance is ready and waits for \`sess promote ${session}\` (see it at ${url ?? 'its green URL'})`,
      );
      ctx.onPending(item.name, green);
      return previous; // blue serves on until then
    }
    return promoteNow(promotionOf(ctx), item.name, previous, green);
  } catch (error) {
    // before the switch: blue serves as it did; the candidate's process goes (the caller discards
    // it), and here its leases and its green route. Ctrl+C leaves that to the up's rollback.
    if (!(error instanceof CancelledError)) await forgetCandidate(ctx, item.name, owner, names);
    throw error;
  }
}

async function forgetCandidate(ctx: StartContext, service: string, owner: string, names: string[]): Promise<void> {
  const { repo, session, guard, progress } = ctx;
  try {
    await release(owner, names);
    guard.amendLabel(`green-ports:${service}`, { kind: 'none' });
    const proxy = await import('../proxy/index.js');
    await proxy.setGreenRoute({ repoId: repo.id, session, service, target: null });
    guard.amendLabel(`green-route:${service}`, { kind: 'none' });
  } catch (error) {
    progress.warn(`${service}: could not take away all of the candidate that failed (its rollback will): ${messageOf(error)}`);
  }
}

/**
 * Switch to green, drain and stop blue, give green the service's port names. The journal is
 * rewritten first, in one write: green's inverses go, and the promotion's own "finish" comes in.
 */
export async function promoteNow(ctx: PromotionContext, service: string, blue: ServiceRecord, green: Green): Promise<ServiceRecord> {
  const { repo, session, guard, progress } = ctx;
  const finish: FinishUndo = {
    kind: 'bluegreen.finish',
    repoId: repo.id,
    session,
    service,
    ...(ctx.release !== undefined ? { release: ctx.release } : {}),
    greenTarget: target(own(green.ports, green.routePort)!),
    blue,
    ...(ctx.blueStash(blue) !== undefined ? { blueStash: ctx.blueStash(blue) } : {}),
    owner: leaseOwner(repo, session),
    renames: Object.entries(green.leaseNames).map(([to, from]) => ({ from, to })),
  };
  const greenLabels = new Set([`green-ports:${service}`, `service:${service}`, `green-route:${service}`]);
  const sessionUndo = ctx.sessionUndoAfterPromotion?.(service, green);
  let before: Parameters<Parameters<typeof guard.rewrite>[0]>[0] = [];
  guard.rewrite((steps) => {
    before = steps;
    return [
      ...steps.map((s) =>
        greenLabels.has(s.label)
          ? { ...s, undo: { kind: 'none' as const } }
          : s.label === 'session' && sessionUndo
            ? { ...s, undo: sessionUndo }
            : s,
      ),
      { label: `promote:${service}`, undo: finish },
    ];
  });
  const proxy = await import('../proxy/index.js');
  let switched: { previous: string; generation: number };
  try {
    failpoint(`switch:${service}`, 'before');
    failpoint(`switch:${service}`);
    switched = await proxy.switchRoute({ repoId: repo.id, session, service, target: finish.greenTarget, status: { state: 'running' } });
  } catch (error) {
    // the switch did not happen: green is still only a candidate, and its inverses come back
    guard.rewrite(() => before);
    ctx.promotionNotDecided?.(service);
    throw error;
  }
  const { previous, generation } = switched;
  progress.step(`${service}: its route goes to the new instance`);
  // decided: what follows is finished whatever fails in it (a step that fails is said, and the rest done)
  const attempt = async (what: string, fn: () => Promise<unknown>) =>
    fn().catch((error: unknown) => progress.warn(`${service}: could not ${what}: ${messageOf(error)} (\`sess doctor\` looks at it)`));
  const grace = blue.def.stop.grace * 1000;
  const drained = await proxy.waitDrained(previous, { timeoutMs: grace, generation });
  if (!drained.drained)
    progress.warn(
      `${service}: ${drained.requests} request(s) and ${drained.websockets} WebSocket(s) to the old instance were still open after its stop.grace: it stops anyway`,
    );
  await attempt('stop the old instance', () =>
    runtimeOf(blue.runtime).stop(
      { repoId: repo.id, name: session, dir: paths.sessionDir(repo, session), stash: finish.blueStash },
      blue,
      progress,
    ),
  );
  for (const r of finish.renames)
    await attempt(`give its new instance the port name ${r.to}`, () => renameLease(finish.owner, r.from, r.to));
  if (finish.release !== undefined) {
    const id = finish.release;
    await attempt('settle its release in the history', async () => settlePromotion(repo, session, id, service, 'promoted'));
  }
  guard.rewrite((steps) => steps.map((s) => (s.label === `promote:${service}` ? { ...s, undo: { kind: 'none' as const } } : s)));
  progress.step(`${service}: promoted (the old instance is drained and stopped)`);
  return { ...green.record, wanted: true };
}

/** Finish a promotion that was decided (the inverse of `bluegreen.finish`: run by a rollback or the next command). */
export async function finishPromotion(repo: Repo, u: FinishUndo, progress: (line: string) => void): Promise<void> {
  const proxy = await import('../proxy/index.js');
  await proxy.switchRoute({ repoId: u.repoId, session: u.session, service: u.service, target: u.greenTarget }).catch(() => undefined);
  const quiet: Progress = { step: progress, info: progress, warn: progress };
  await runtimeOf(u.blue.runtime).stop(
    { repoId: u.repoId, name: u.session, dir: paths.sessionDir(repo, u.session), stash: u.blueStash },
    u.blue,
    quiet,
  );
  for (const r of u.renames) await renameLease(u.owner, r.from, r.to);
  if (u.release !== undefined) settlePromotion(repo, u.session, u.release, u.service, 'promoted');
  progress(`finished promoting ${u.service}: the new instance serves, the old one is stopped`);
}

/** What promotion needs of the command that runs it (an up, or `sess promote`). */
export interface PromotionContext {
  repo: Repo;
  session: string;
  guard: StartContext['guard'];
  progress: Progress;
  /** the release (history id) that waited at its gate: `sess promote` settles it */
  release?: number;
  blueStash(blue: ServiceRecord): unknown;
  /** what the journal's `session` step writes back once this promotion is decided (the up's record with green) */
  sessionUndoAfterPromotion?(service: string, green: Green): Undo | undefined;
  /** the switch failed after all: what sessionUndoAfterPromotion changed goes back */
  promotionNotDecided?(service: string): void;
}

/** The up's StartContext as promotion sees it. */
export function promotionOf(ctx: StartContext): PromotionContext {
  return { ...ctx, blueStash: (blue) => stashFor(ctx, blue) };
}

/**
 * Take a waiting candidate away (`sess promote --abort`, `down`, `rm`): its instance stopped, its
 * leases released, its green route gone; the record (changed here, written by the caller) forgets
 * it. What runs (blue) and its route are untouched. Safe to repeat after an interruption.
 */
export async function abortPending(repo: Repo, record: SessionRecord, service: string, progress: Progress): Promise<void> {
  const pending = own(record.pending ?? {}, service);
  if (!pending) return;
  const session = { repoId: repo.id, name: record.name, dir: paths.sessionDir(repo, record.name), stash: record[pending.green.runtime] };
  await runtimeOf(pending.green.runtime).stop(session, pending.green, progress);
  const names = Object.values(pending.leaseNames);
  await release(leaseOwner(repo, record.name), names);
  const proxy = await import('../proxy/index.js');
  await proxy.setGreenRoute({ repoId: repo.id, session: record.name, service, target: null }).catch((error: unknown) => {
    progress.warn(`${service}: could not remove its green route from the local proxy: ${messageOf(error)}`);
  });
  settlePromotion(repo, record.name, pending.release, service, 'aborted');
  delete record.pending![service];
  if (Object.keys(record.pending!).length === 0) delete record.pending;
  if (record.leases) for (const n of names) delete record.leases[n];
  progress.info(`${service}: the waiting new instance is stopped; the one that ran before serves on`);
}
