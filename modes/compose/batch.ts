// Compose services of an up: started in waves (one `compose up --wait` for all that may start
// together), then checked with sess.yaml's own ready probes from the host.
import { COMPOSE_SERVICE, containerLogsTail, containersByLabel, imageIds, projectLabel, type Engine } from '../../adapters/compose.js';
import { own } from '../../common/records.js';
import { WorkError, indent } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { waitReady } from '../readiness.js';
import { sessionImage } from './overlay.js';
import type { Journal, RuntimeUndo, Started, StartItem } from '../runtime.js';
import type { RuntimeName, ServiceRecord } from '../service.js';
import { composeTcpProbe } from './probe.js';
import {
  isComposeServiceUp,
  removeServiceContainers,
  snapshotProject,
  inComposeTurn,
  startCompose,
  type ComposeRef,
  type ProjectSnapshot,
} from './project.js';

/** The inverse of a `compose up`: what it created or started, found by comparing with the project as it was. */
export interface ComposeRollbackUndo extends RuntimeUndo {
  /** `compose.rollback`, or the kind of a runtime that runs compose on an engine it must reach first */
  kind: string;
  engine: Engine;
  project: string;
  before: ProjectSnapshot;
  grace: number;
}

export interface BatchContext {
  /** the runtime whose services these are (compose, or one that runs compose elsewhere) */
  runtime: RuntimeName;
  /** the kind of the undo records of its `compose up`s, and what else they carry (where the engine is) */
  undoKind: string;
  undoExtra?: Record<string, unknown>;
  ref: ComposeRef;
  /** what compose interpolates the files with */
  env: NodeJS.ProcessEnv;
  /** a fresh session: its project had nothing but (maybe) the volumes below before this up */
  fresh: boolean;
  volumesBefore: string[];
  journal: Journal;
  progress: Progress;
}

/**
 * Compose services that become startable together go into one `compose up --wait`: compose starts
 * them in its own order, in parallel where it can, and one call costs far less than several.
 */
export class ComposeBatch {
  private pending: { item: StartItem; signal: AbortSignal; done: (error?: unknown) => void }[] = [];
  private scheduled = false;
  /** the journal steps of this up's `compose up`s */
  private handles: number[] = [];

  constructor(private readonly ctx: BatchContext) {}

  async start(item: StartItem, signal: AbortSignal): Promise<Started> {
    const { def } = item;
    const { ref, progress } = this.ctx;
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ item, signal, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
    const record: ServiceRecord = { runtime: this.ctx.runtime, hash: item.hash, def, wanted: true };
    return {
      record,
      ready: async (readySignal) => {
        if (def.ready) {
          await waitReady(def.name, def.ready, {
            alive: () => isComposeServiceUp(ref, def.compose!.service),
            cwd: ref.projectDir,
            env: { ...process.env, ...def.env },
            signal: readySignal,
            tcp: composeTcpProbe(ref, def),
          }).catch(async (error) => {
            throw await withContainerLogs(error, ref, def.compose!.service);
          });
        }
        progress.step(`${def.name} is ready (compose)`);
      },
      discard: () => removeServiceContainers(ref, [def.compose!.service], def.stop.grace),
    };
  }

  /**
   * A service's previous definition came back (a replacement failed or was interrupted): its
   * containers are the session's again, and the rollback of this up's `compose up`s must leave
   * them running as if they had been there before.
   */
  async keep(service: string): Promise<void> {
    const { ref, journal } = this.ctx;
    const ids = (await containersByLabel(ref.cli, [projectLabel(ref.project), `${COMPOSE_SERVICE}=${service}`])).map((c) => c.id);
    for (const handle of this.handles) {
      journal.amendWith(handle, (undo) => {
        const u = undo as ComposeRollbackUndo;
        return { ...u, before: { ...u.before, containers: [...u.before.containers, ...ids.map((id) => ({ id, running: true }))] } };
      });
    }
  }

  /**
   * One `compose up` for what is pending when the project's turn comes: services that became
   * startable while another compose call of the project ran go together.
   */
  private flush(): Promise<void> {
    return inComposeTurn(this.ctx.ref.project, () => this.flushInTurn());
  }

  private async flushInTurn(): Promise<void> {
    const wave = this.pending.splice(0);
    this.scheduled = false;
    if (wave.length === 0) return;
    const { ref, env, fresh, volumesBefore, journal, progress } = this.ctx;
    const services = wave.map((w) => w.item.def.compose!.service);
    try {
      const before: ProjectSnapshot = fresh
        ? { containers: [], volumes: volumesBefore, networks: [], images: [] }
        : await snapshotProject(ref.cli, ref.project);
      const grace = Math.max(...wave.map((w) => w.item.def.stop.grace));
      const undo: ComposeRollbackUndo = {
        ...this.ctx.undoExtra,
        kind: this.ctx.undoKind,
        engine: ref.cli,
        project: ref.project,
        before,
        grace,
      };
      this.handles.push(journal.register(`compose:${services.join('+')}`, undo));
      progress.info(`compose up ${services.join(' ')}`);
      const timeout = Math.max(...wave.map((w) => w.item.def.ready?.timeout ?? 60));
      const build = await servicesToBuild(
        ref,
        wave.map((w) => w.item),
      );
      await startCompose(ref, env, services, timeout, wave[0]!.signal, { build });
      for (const w of wave) w.done();
    } catch (error) {
      for (const w of wave) w.done(error);
    }
  }
}

/**
 * Services of a wave that are built before their `compose up`: one replaced from a context that
 * changed, and one whose image is not there yet (compose would build it inside the bounded `up`).
 */
async function servicesToBuild(ref: ComposeRef, items: StartItem[]): Promise<string[]> {
  const built = items.filter((i) => (i.def.compose?.model as { build?: unknown } | undefined)?.build);
  if (built.length === 0) return [];
  // the name the overlay gives it: a fixed tag becomes the session's own, no tag is compose's <project>-<service>
  const imageOf = (i: StartItem) => {
    const image = (i.def.compose!.model as { image?: string }).image;
    return image ? sessionImage(image, ref.project) : `${ref.project}-${i.def.compose!.service}`;
  };
  const present = await imageIds(ref.cli, built.filter((i) => !i.replacing).map(imageOf));
  return built.filter((i) => i.replacing || !own(present, imageOf(i))).map((i) => i.def.compose!.service);
}

async function withContainerLogs(error: unknown, ref: ComposeRef, service: string): Promise<unknown> {
  if (!(error instanceof WorkError)) return error;
  const containers = await containersByLabel(ref.cli, [projectLabel(ref.project), `${COMPOSE_SERVICE}=${service}`]).catch(() => []);
  const tail = containers[0] ? await containerLogsTail(ref.cli, containers[0].id, 15) : '';
  if (!tail) return error;
  return new WorkError(`${error.message}\n  last lines of its container log:\n${indent(tail)}`, { cause: error });
}
