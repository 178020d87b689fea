// Compose services of an up: started in waves (one `compose up --wait` for all that may start
// together), then checked with sess.yaml's own ready probes from the host.
import { containerLogsTail, containersByLabel } from '../adapters/compose.js';
import { WorkError, indent } from '../common/errors.js';
import {
  isComposeServiceUp,
  removeServiceContainers,
  snapshotProject,
  startCompose,
  type ComposeRef,
  type ProjectSnapshot,
} from '../modes/composeRuntime.js';
import { waitReady } from '../modes/readiness.js';
import { failpoint } from './rollback.js';
import type { StartContext, ServicePlanItem } from './services.js';
import type { ServiceRecord } from './store.js';

export async function startInCompose(
  ctx: StartContext,
  item: ServicePlanItem,
  batch: ComposeBatch,
  signal: AbortSignal,
  onStarted: (discard: () => Promise<void>) => void,
): Promise<ServiceRecord> {
  const { def } = item;
  const ref = ctx.compose!.ref;
  onStarted(() => removeServiceContainers(ref, [def.compose!.service], def.stop.grace));
  await batch.start(item);
  failpoint(`service:${def.name}`);
  if (def.ready) {
    await waitReady(def.name, def.ready, {
      alive: () => isComposeServiceUp(ref, def.compose!.service),
      cwd: ref.projectDir,
      env: { ...process.env, ...def.env },
      signal,
    }).catch(async (error) => {
      throw await withContainerLogs(error, ref, def.compose!.service);
    });
  }
  failpoint(`ready:${def.name}`);
  ctx.progress.step(`${def.name} is ready (compose)`);
  return { runtime: 'compose', hash: item.hash, def, wanted: true };
}

async function withContainerLogs(error: unknown, ref: ComposeRef, service: string): Promise<unknown> {
  if (!(error instanceof WorkError)) return error;
  const containers = await containersByLabel(ref.cli.engine, [
    `com.docker.compose.project=${ref.project}`,
    `com.docker.compose.service=${service}`,
  ]).catch(() => []);
  const tail = containers[0] ? await containerLogsTail(ref.cli.engine, containers[0].id, 15) : '';
  if (!tail) return error;
  return new WorkError(`${error.message}\n  last lines of its container log:\n${indent(tail)}`, { cause: error });
}

/**
 * Compose services that become startable together go into one `compose up --wait`: compose starts
 * them in its own order, in parallel where it can, and one call costs far less than several.
 */
export class ComposeBatch {
  private pending: { item: ServicePlanItem; done: (error?: unknown) => void }[] = [];
  private scheduled = false;
  /** the journal steps of this up's `compose up`s */
  private handles: number[] = [];

  constructor(
    private readonly ctx: StartContext,
    private readonly signal: AbortSignal,
  ) {}

  start(item: ServicePlanItem): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /**
   * A service's previous definition came back (a replacement failed or was interrupted): its
   * containers are the session's again, and the rollback of this up's `compose up`s must leave
   * them running as if they had been there before.
   */
  async keep(service: string): Promise<void> {
    const { ref } = this.ctx.compose!;
    const ids = (
      await containersByLabel(ref.cli.engine, [`com.docker.compose.project=${ref.project}`, `com.docker.compose.service=${service}`])
    ).map((c) => c.id);
    for (const handle of this.handles) {
      this.ctx.guard.amendWith(handle, (undo) =>
        undo.kind === 'compose.rollback'
          ? { ...undo, before: { ...undo.before, containers: [...undo.before.containers, ...ids.map((id) => ({ id, running: true }))] } }
          : undo,
      );
    }
  }

  private async flush(): Promise<void> {
    const wave = this.pending.splice(0);
    this.scheduled = false;
    const { ref, env, fresh, volumesBefore } = this.ctx.compose!;
    const services = wave.map((w) => w.item.def.compose!.service);
    try {
      const before: ProjectSnapshot = fresh
        ? { containers: [], volumes: volumesBefore, networks: [] }
        : await snapshotProject(ref.cli.engine, ref.project);
      const grace = Math.max(...wave.map((w) => w.item.def.stop.grace));
      const handle = this.ctx.guard.register(`compose:${services.join('+')}`, {
        kind: 'compose.rollback',
        engine: ref.cli.engine,
        project: ref.project,
        before,
        grace,
      });
      this.handles.push(handle);
      this.ctx.progress.info(`compose up ${services.join(' ')}`);
      const timeout = Math.max(...wave.map((w) => w.item.def.ready?.timeout ?? 60));
      // a service built from a context that changed is rebuilt
      const build = wave.some((w) => w.item.action === 'replace' && (w.item.def.compose?.model as { build?: unknown })?.build);
      await startCompose(ref, env, services, timeout, this.signal, { build });
      for (const w of wave) w.done();
    } catch (error) {
      for (const w of wave) w.done(error);
    }
  }
}
