// Stopping a session's services: dependents before what they depend on, each by its runtime; a
// runtime that takes a whole session down in one call (compose down) does that instead.
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import { runtimeOf, RUNTIMES } from '../../modes/placement.js';
import type { ServiceRecord } from '../../modes/service.js';
import { sessionCtx, stashOf } from '../state/liveness.js';
import type { Repo } from '../state/repo.js';
import type { SessionRecord } from '../state/store.js';

/** Stop one recorded instance. false when nothing was left of it to stop. */
export function stopInstance(
  repo: Repo,
  record: SessionRecord,
  service: ServiceRecord,
  progress: Progress,
  options?: { replacing?: boolean },
): Promise<boolean> {
  return runtimeOf(service.runtime).stop(sessionCtx(repo, record, service.runtime), service, progress, options);
}

/**
 * Stop services of a session (`names`, or all). With `whole`, the session is going away or down
 * altogether: runtimes that stop a session as a whole do (volumes only with `volumes`); `gone`: it
 * goes away (rm), and what only it used goes too.
 */
export async function stopServices(
  repo: Repo,
  record: SessionRecord,
  progress: Progress,
  options: { names?: string[]; whole?: boolean; volumes?: boolean; gone?: boolean } = {},
): Promise<void> {
  const { services } = record;
  const names = options.names ?? Object.keys(services);
  for (const name of reverseDependencyOrder(services, names)) {
    const service = own(services, name)!;
    if (options.whole && runtimeOf(service.runtime).stopsAsWhole) continue;
    // a host service whose leader died may still have helpers running: always looked for
    if (await stopInstance(repo, record, service, progress)) progress.step(`stopped ${name}`);
  }
  if (!options.whole) return;
  // every runtime a service runs in, and every one the session has kept something in (its stash)
  const used = Object.values(RUNTIMES).filter(
    (rt) => Object.values(services).some((s) => s.runtime === rt.name) || stashOf(record, rt.name) !== undefined,
  );
  for (const runtime of used) {
    await runtime.stopSession(sessionCtx(repo, record, runtime.name), { volumes: !!options.volumes, gone: !!options.gone }, progress);
  }
}

function reverseDependencyOrder(services: Record<string, ServiceRecord>, names: string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !own(services, name)) return;
    seen.add(name);
    for (const dep of own(services, name)!.def.dependsOn) visit(dep);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order.filter((n) => names.includes(n)).reverse();
}
