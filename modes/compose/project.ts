// Compose services of a session: find, start (one `compose up --wait` per batch), stop, read state.
import {
  anonymousVolumes,
  composeStop,
  COMPOSE_ONEOFF,
  COMPOSE_SERVICE,
  projectLabel,
  composeDown,
  composeBuild,
  composeUp,
  containerLogsTail,
  containersByLabel,
  projectImages,
  projectNetworks,
  projectVolumes,
  removeImages,
  removeContainers,
  removeNetworks,
  removeVolumes,
  stopContainers,
  type ComposeCli,
  type Container,
  type Engine,
} from '../../adapters/compose.js';
import { CancelledError, indent, SessError, WorkError } from '../../common/errors.js';
import { sleep } from '../../common/sleep.js';
import { LABEL_REPO, LABEL_SERVICE, LABEL_SESSION } from './labels.js';
import type { Orphan, SessionLookup } from '../runtime.js';
import { dict, own } from '../../common/records.js';

/** What down/rm/status/logs need of a session's compose project, kept in its state. */
export interface ComposeRef {
  project: string;
  cli: ComposeCli;
  files: string[];
  projectDir: string;
}

export type ContainerState = 'running' | 'exited' | 'unhealthy';

/** State of each sess service of each session of a repository, from one `docker ps`. */
export async function composeStatesOfRepo(
  engine: Engine,
  repoId: string,
  /** more labels they must carry (a remote engine: this client's) */
  labels: string[] = [],
): Promise<Record<string, Record<string, ContainerState>>> {
  const out = dict<Record<string, ContainerState>>();
  for (const c of await containersByLabel(engine, [`${LABEL_REPO}=${repoId}`, ...labels])) {
    const session = c.labels[LABEL_SESSION];
    const service = c.labels[LABEL_SERVICE];
    if (!session || !service) continue;
    const state = containerState(c);
    const bySession = own(out, session) ?? (out[session] = dict());

    const previous = own(bySession, service);

    // a service with several containers is as well as its worst one
    if (!previous || rank(state) > rank(previous)) bySession[service] = state;
  }
  return out;
}

const rank = (s: ContainerState) => ({ running: 0, unhealthy: 1, exited: 2 })[s];

function containerState(c: Container): ContainerState {
  if (c.state !== 'running') return 'exited';
  return c.health === 'unhealthy' ? 'unhealthy' : 'running';
}

/** Everything of the project that exists now: what a rollback must leave in place. */
export interface ProjectSnapshot {
  containers: { id: string; running: boolean }[];
  volumes: string[];
  networks: string[];
  /** images compose had built for the project (absent in journals of an older sess: none removed) */
  images?: string[];
}

export async function snapshotProject(engine: Engine, project: string): Promise<ProjectSnapshot> {
  const [containers, volumes, networks, images] = await Promise.all([
    containersByLabel(engine, [projectLabel(project)]),
    projectVolumes(engine, project),
    projectNetworks(engine, project),
    projectImages(engine, project),
  ]);
  // the anonymous volumes of its containers are the session's data as much as its named ones
  const anonymous = await anonymousVolumes(
    engine,
    containers.map((c) => c.id),
  );
  return {
    containers: containers.map((c) => ({ id: c.id, running: c.state === 'running' })),
    volumes: [...volumes, ...anonymous],
    networks,
    images,
  };
}

/**
 * Undo a `compose up`: containers it created go, containers it started are stopped again, volumes
 * and networks it created go; what existed before stays as it was (a resumed session keeps its
 * volumes and the services it already had running).
 */
export async function rollbackProject(engine: Engine, project: string, before: ProjectSnapshot, grace: number): Promise<void> {
  const known = new Map(before.containers.map((c) => [c.id, c.running]));
  // anonymous volumes of the containers it created: those that were not there before go with them
  // (one that compose carried over from a container it recreated was, and stays)
  const anonymous = new Set<string>();
  // A compose client cut off mid-way (Ctrl+C, SIGKILL) can leave the engine finishing a container
  // it was creating: look again until a look finds nothing more to take away.
  for (let round = 0; round < 6; round++) {
    const now = await containersByLabel(engine, [projectLabel(project)]);
    const created = now.filter((c) => !known.has(c.id)).map((c) => c.id);
    const started = now.filter((c) => known.get(c.id) === false && c.state === 'running').map((c) => c.id);
    if (created.length === 0 && started.length === 0 && round > 0) break;
    for (const v of await anonymousVolumes(engine, created)) anonymous.add(v);
    await stopContainers(engine, [...created, ...started], grace);
    await removeContainers(engine, created);
    await sleep(round === 0 ? 200 : 400);
  }
  const volumes = [...(await projectVolumes(engine, project)), ...anonymous].filter((v) => !before.volumes.includes(v));
  await removeVolumes(engine, volumes);
  const networks = (await projectNetworks(engine, project)).filter((n) => !before.networks.includes(n));
  await removeNetworks(engine, networks);
  if (before.images) {
    const images = (await projectImages(engine, project)).filter((i) => !before.images!.includes(i) && ownImage(i, project));
    await removeImages(engine, images);
  }
}

/**
 * Compose's own work besides the wait (create, start, network): the part of the bound of a
 * `compose up` that is not the services' ready timeout.
 */
const COMPOSE_OVERHEAD_S = 15;

/**
 * Compose operations of one project, one at a time (within this sess; the session lock serializes
 * sess processes): two `compose up`s at once recreate a shared dependency together ("the container
 * name is already in use"), and a restore could start what the other call wrote.
 */
const running = new Map<string, Promise<unknown>>();
export async function inComposeTurn<T>(project: string, work: () => Promise<T>): Promise<T> {
  const before = running.get(project) ?? Promise.resolve();
  const mine = before.catch(() => {}).then(work);
  const settled = mine.catch(() => {});
  running.set(project, settled);
  try {
    return await mine;
  } finally {
    if (running.get(project) === settled) running.delete(project);
  }
}

/**
 * `compose up --wait` of these services, inside the project's turn (`inComposeTurn`), bounded as a
 * whole by `waitTimeout` (plus compose's own work): a `service_healthy` dependency with long retries
 * holds compose before its wait begins. Services in `build` are built first, outside that bound. On
 * failure the error names the services that are not up, with their state and log tail.
 */
export async function startCompose(
  ref: ComposeRef,
  env: NodeJS.ProcessEnv,
  services: string[],
  waitTimeout: number,
  signal?: AbortSignal,
  options: { noDeps?: boolean; build?: string[] } = {},
): Promise<void> {
  if (signal?.aborted) throw CancelledError.from(signal); // stopped while it waited its turn
  const project = { cli: ref.cli, name: ref.project, files: ref.files, projectDir: ref.projectDir, env };
  if (options.build?.length) {
    try {
      await composeBuild(project, options.build, signal);
    } catch (error) {
      if (signal?.aborted || !(error instanceof SessError)) throw error;
      throw new WorkError(`compose could not build ${options.build.join(', ')}: ${error.message}`, { cause: error });
    }
  }
  const started = Date.now();
  const timeoutMs = (waitTimeout + COMPOSE_OVERHEAD_S) * 1000;
  try {
    await composeUp(project, services, { waitTimeout, timeoutMs, signal, noDeps: !!options.noDeps });
  } catch (error) {
    if (signal?.aborted || !(error instanceof SessError)) throw error;
    const timedOut = Date.now() - started >= timeoutMs;
    if (!timedOut) throw await notStarted(ref, services, '', error);
    throw await notStarted(ref, services, `within ${waitTimeout}s (the longest ready timeout of these services)`);
  }
  // Compose 2.26 can end `up --wait` with success when its deadline passes while it still waits
  // for a dependency: a call that took the whole wait is checked against the engine.
  if (Date.now() - started >= waitTimeout * 1000 * 0.9) {
    const notUp = await servicesNotUp(ref, services);
    if (notUp.length) throw await notStarted(ref, services, `after ${waitTimeout}s (compose's wait ended without saying so)`);
  }
}

/**
 * The error of a `compose up` that failed: the services that are not up (of those asked for, and
 * any other of the project, a dependency), not the list compose printed, with their state and the
 * tail of their logs; what compose said comes last.
 */
async function notStarted(ref: ComposeRef, services: string[], when: string, error?: SessError): Promise<WorkError> {
  const containers = await containersByLabel(ref.cli, [projectLabel(ref.project)]).catch(() => []);
  const others = [...new Set(containers.map((c) => c.service))].filter((s) => !services.includes(s));
  const notUp = await servicesNotUp(ref, [...services, ...others]).catch(() => []);
  const names = notUp.length ? notUp.map((n) => n.service) : services;
  const states = notUp.map((n) => `${n.service} (${n.state})`).join(', ');
  const said = error ? `${states ? '; ' : ''}compose said: ${error.message}` : '';
  return new WorkError(
    `compose could not start ${names.join(', ')}: ${when ? `${when}: ` : ''}${states}${said}${await failingLogs(ref, names)}`,
    error ? { cause: error } : {},
  );
}

/**
 * Services of these that have no container running and healthy (a one-shot that exited 0 is up),
 * with what the engine says of them. One-off containers (`compose run`) are not the service's.
 */
async function servicesNotUp(ref: ComposeRef, services: string[]): Promise<{ service: string; state: string }[]> {
  const containers = (await containersByLabel(ref.cli, [projectLabel(ref.project)])).filter((c) => c.labels[COMPOSE_ONEOFF] !== 'True');
  const up = (c: Container) =>
    (c.state === 'running' && (c.health === '' || c.health === 'healthy')) || (c.state === 'exited' && c.exitCode === 0);
  const describe = (c: Container) =>
    c.state === 'running'
      ? `health ${c.health}`
      : c.state === 'exited'
        ? `exited ${c.exitCode ?? '?'}`
        : c.state === 'created'
          ? 'created, never started'
          : c.state;
  const out: { service: string; state: string }[] = [];
  for (const service of services) {
    const own = containers.filter((c) => c.service === service);
    if (own.length === 0) out.push({ service, state: 'no container' });
    else if (!own.every(up))
      out.push({
        service,
        state: own
          .filter((c) => !up(c))
          .map(describe)
          .join(', '),
      });
  }
  return out;
}

/** The tail of the logs of containers that are not running or not healthy, for the error message. */
async function failingLogs(ref: ComposeRef, alsoStarting: string[] = []): Promise<string> {
  const containers = await containersByLabel(ref.cli, [projectLabel(ref.project)]).catch(() => []);
  const bad = containers.filter(
    (c) =>
      (c.state !== 'running' && c.exitCode !== 0) ||
      c.health === 'unhealthy' ||
      (alsoStarting.includes(c.service) && c.health === 'starting'),
  );
  const parts: string[] = [];
  for (const c of bad.slice(0, 3)) {
    const tail = await containerLogsTail(ref.cli, c.id, 15);
    parts.push(
      `\n${c.service} (${c.state}${c.health ? `, ${c.health}` : ''}${c.exitCode !== null ? `, exit ${c.exitCode}` : ''})${tail ? `:\n${indent(tail)}` : ''}`,
    );
  }
  return parts.join('');
}

/** Stop and remove the containers of some services (a replacement, a service that left the config). */
export function removeServiceContainers(ref: ComposeRef, composeServices: string[], grace: number): Promise<void> {
  return inComposeTurn(ref.project, () => removeServiceContainersNow(ref, composeServices, grace));
}

async function removeServiceContainersNow(ref: ComposeRef, composeServices: string[], grace: number): Promise<void> {
  const containers = await containersByLabel(ref.cli, [projectLabel(ref.project)]);
  const ids = containers.filter((c) => composeServices.includes(c.service)).map((c) => c.id);
  await stopContainers(ref.cli, ids, grace);
  await removeContainers(ref.cli, ids);
}

/**
 * `sess down`: the project's containers stop and stay. Their anonymous volumes (an image's VOLUME,
 * a `- /data` in the files) belong to them: removing the containers would leave those behind,
 * unreachable, and the next `up` would start on empty ones.
 */
export async function stopProject(ref: ComposeRef): Promise<void> {
  await composeStop({ cli: ref.cli, name: ref.project, projectDir: ref.projectDir, env: process.env });
}

/** Stop the containers of some services and keep them (a replacement: compose recreates them, anonymous volumes and all). */
export function stopServiceContainers(ref: ComposeRef, composeServices: string[], grace: number): Promise<void> {
  return inComposeTurn(ref.project, async () => {
    const containers = await containersByLabel(ref.cli, [projectLabel(ref.project)]);
    const ids = containers.filter((c) => composeServices.includes(c.service) && c.labels[COMPOSE_ONEOFF] !== 'True').map((c) => c.id);
    await stopContainers(ref.cli, ids, grace);
  });
}

/** `compose down` of the project: containers and networks go, volumes (named and anonymous) only with `volumes`. */
export async function downProject(ref: ComposeRef, volumes: boolean): Promise<void> {
  const engine = ref.cli;
  // looked up while the containers still exist: they are the only way to their anonymous volumes
  const anonymous = volumes
    ? await anonymousVolumes(
        engine,
        (await containersByLabel(engine, [projectLabel(ref.project)])).map((c) => c.id),
      )
    : [];
  await composeDown({ cli: ref.cli, name: ref.project, projectDir: ref.projectDir, env: process.env }, volumes);
  if (volumes) {
    // volumes compose no longer knows of (a service removed from the files) go too
    await removeVolumes(engine, [...new Set([...(await projectVolumes(engine, ref.project)), ...anonymous])]);
  }
}

/**
 * The images sess built for the session: compose labels what it builds with the project, and the
 * session's own names are `<name>:<project>` (overlay) or compose's `<project>-<service>`. An image
 * of another name that carries the label (a global tag built before per-session names) is the
 * user's, and stays.
 */
export async function removeProjectImages(ref: ComposeRef): Promise<string[]> {
  const mine = (await projectImages(ref.cli, ref.project)).filter((name) => ownImage(name, ref.project));
  await removeImages(ref.cli, mine);
  return mine;
}

const ownImage = (name: string, project: string) => name.endsWith(`:${project}`) || name.startsWith(`${project}-`);

export async function isComposeServiceUp(ref: ComposeRef, composeService: string): Promise<boolean> {
  const containers = await containersByLabel(ref.cli, [projectLabel(ref.project), `${COMPOSE_SERVICE}=${composeService}`]);
  return containers.some((c) => c.state === 'running');
}

/**
 * Doctor's findings among a repository's containers: those of a session that no longer exists, by
 * project. Each repair decides again (an up may have made the session meanwhile), removes the
 * project's containers and networks, then does `alsoFix` (a remote session's copy and forwards).
 */
export function orphanProjects(
  engine: Engine,
  containers: Container[],
  sessions: SessionLookup,
  options: { where?: string; alsoFix?: (session: string) => Promise<void> } = {},
): Orphan[] {
  const ours = (session: string) => sessions.busy(session) || sessions.services(session) !== undefined;
  const orphans = new Map<string, { session: string; ids: string[] }>();
  for (const c of containers) {
    const session = c.labels[LABEL_SESSION] ?? '';
    if (ours(session)) continue;
    const entry = orphans.get(c.project) ?? { session, ids: [] };
    entry.ids.push(c.id);
    orphans.set(c.project, entry);
  }
  return [...orphans].map(([project, { session, ids }]): Orphan => ({
    kind: 'orphan-container',
    session,
    subject: `compose project ${project}${options.where ? ` on ${options.where}` : ''}`,
    detail: `${ids.length} container(s) of a session that no longer exists`,
    async fix(now) {
      if (now.busy(session) || now.services(session) !== undefined) return; // an up made it again meanwhile
      await removeContainers(engine, ids);
      await removeNetworks(engine, await projectNetworks(engine, project));
      await options.alsoFix?.(session);
    },
  }));
}
