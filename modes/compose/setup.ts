// The compose part of `up`: ask compose for the merged model of the session's files, check that
// sess.yaml's `compose:` names exist in it, lease ports for every other published port, write the
// overlay. All before a container starts.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Document, parse } from 'yaml';
import { detectCompose, imageIds, projectVolumes, type ComposeModel, type ComposeService } from '../../adapters/compose.js';
import { writeFileAtomic } from '../../adapters/fs.js';
import { git } from '../../adapters/git.js';
import { ConfigError, WorkError } from '../../common/errors.js';
import { hasOwn, own } from '../../common/records.js';
import type { Config } from '../../config/schema.js';
import type { PrepareInput, SessionCtx } from '../runtime.js';
import type { Placement, ResolvedService, ServiceRecord } from '../service.js';
import { composeFilesOf } from './files.js';
import { readComposeModel } from './model.js';
import {
  buildOverlay,
  builtImages,
  type Elsewhere,
  networkModeOf,
  projectName,
  unnamedPublishedPorts,
  type SessComposeService,
} from './overlay.js';
import { inComposeTurn, startCompose, type ComposeRef } from './project.js';
import { refuseWhatSessionsCannotShare } from './sharing.js';

/** Lease names of host ports compose publishes that are not named ports (`compose:web.8080`). */
export const EXTRA_PORT_PREFIX = 'compose:';

export interface ComposeSetup {
  ref: ComposeRef;
  model: ComposeModel;
  /** leased host ports of published ports that are not named ports */
  extraPorts: Record<string, number>;
  /**
   * Volumes the project already had before this up: a session removed with `rm` (volumes kept) and
   * made again under its name finds its data there, and a rollback must leave them.
   */
  volumesBefore: string[];
  /** Files compose reads besides the compose files (.env, env_file, extends, include), from the worktree. */
  alsoRead: string[];
  /** the engine is on another machine, on a copy of the worktree */
  elsewhere?: Elsewhere;
}

/** Where the project runs: its name (a recorded one, or else the default), and an engine elsewhere. */
export interface ProjectPlace {
  project?: string;
  /** DOCKER_HOST of the engine, when it is not the local one */
  host?: string;
  elsewhere?: Omit<Elsewhere, 'worktree'>;
}

export async function setUpCompose(input: PrepareInput, place: ProjectPlace = {}): Promise<ComposeSetup> {
  const { config, placement, session, repo, signal } = input;
  const worktree = session.worktree;
  const fileNames = composeFilesOf(config);
  const project = place.project ?? projectName(repo.name, repo.id, session.name);
  // looked up while compose reads the files (no time added); awaited, so a failure fails the up
  const volumesBefore = projectVolumes({ engine: (await detectCompose(repo.home)).engine, host: place.host }, project);
  volumesBefore.catch(() => undefined);
  const read = await readComposeModel({
    home: repo.home,
    config,
    worktree,
    project,
    env: { ...process.env, ...input.hostEnv },
    signal,
  });
  const { files, model } = read;
  const cli = { ...read.cli, ...(place.host ? { host: place.host } : {}) };
  const problems = Object.entries(config.services)
    .filter(([, s]) => s.compose && !hasOwn(model.services, s.compose))
    .map(([n, s]) => ({ path: `services.${n}.compose`, message: `no service "${s.compose}" in ${fileNames.join(', ')}` }));
  if (problems.length) throw new ConfigError(join(worktree, 'sess.yaml'), problems);
  await refuseWhatSessionsCannotShare(cli, model, project, fileNames.join(', '), config.compose?.shared_volumes ?? []);

  const skeleton = managedServices(config, placement, {}, {});
  requireNetworkable(model, skeleton, fileNames.join(', '), join(worktree, 'sess.yaml'));
  const keys = unnamedPublishedPorts(model, skeleton);
  const leased = keys.length
    ? await input.journal.leasePorts(
        'compose-ports',
        keys.map((key) => EXTRA_PORT_PREFIX + key),
      )
    : {};
  const extraPorts = Object.fromEntries(keys.map((key) => [key, own(leased, EXTRA_PORT_PREFIX + key)!]));
  const overlayPath = join(session.dir, 'compose.overlay.yaml');
  return {
    ref: { project, cli, files: [...files, overlayPath], projectDir: worktree },
    model,
    extraPorts,
    volumesBefore: await volumesBefore,
    alsoRead: alsoRead(files, worktree),
    ...(place.elsewhere ? { elsewhere: { ...place.elsewhere, worktree } } : {}),
  };
}

/**
 * What Docker would refuse, or what two sessions side by side would fight over, among the services
 * this session starts (and what they depend on): refused before anything is created.
 */
function requireNetworkable(
  model: ComposeModel,
  managed: Record<string, SessComposeService>,
  composeFiles: string,
  sessFile: string,
): void {
  const started = new Set<string>();
  const visit = (name: string) => {
    const svc = own(model.services, name);
    if (!svc || started.has(name)) return;
    started.add(name);
    for (const dep of Object.keys(svc.depends_on ?? {})) visit(dep);
    const network = networkModeOf(svc);
    if (network.kind === 'service') visit(network.of);
  };
  for (const [name, m] of Object.entries(managed)) if (m.runtime === 'compose') visit(name);
  const inFiles: { path: string; message: string }[] = [];
  const inSess: { path: string; message: string }[] = [];
  for (const name of started) {
    const network = networkModeOf(own(model.services, name)!);
    const mine = own(managed, name);
    if (network.kind === 'host') {
      inFiles.push({
        path: `services.${name}.network_mode`,
        message:
          "host: its container listens on the machine's own ports, the same in every session, so two sessions cannot run side by side (publish its ports instead)",
      });
    }
    if (network.kind === 'service' && own(managed, network.of)?.runtime === 'host') {
      inFiles.push({
        path: `services.${name}.network_mode`,
        message: `service:${network.of} shares the network of ${network.of}, which this session runs on the host (run both in compose, or neither)`,
      });
    }
    if (network.kind !== 'own' && mine && Object.keys(mine.ports).length) {
      inSess.push({
        path: `services.${mine.name}.ports`,
        message: `compose service ${name} has network_mode ${network.kind}${'of' in network ? `:${network.of}` : ''}: it publishes no port of its own (name the port on the service whose network it uses)`,
      });
    }
  }
  if (inFiles.length) throw new ConfigError(composeFiles, inFiles);
  if (inSess.length) throw new ConfigError(sessFile, inSess);
}

/** The compose-side view of each sess.yaml service that has a compose definition. */
export function managedServices(
  config: Config,
  placement: Placement,
  ports: Record<string, number>,
  defs: Record<string, ResolvedService>,
): Record<string, SessComposeService> {
  const out: Record<string, SessComposeService> = {};
  for (const [name, svc] of Object.entries(config.services)) {
    if (!svc.compose) continue;
    const named: Record<string, [number, number]> = {};
    for (const [portName, target] of Object.entries(svc.ports)) named[portName] = [target, own(ports, portName) ?? 0];
    out[svc.compose] = {
      name,
      // runs in this project (on whichever engine), or on the host
      runtime: own(placement, name) === 'host' ? 'host' : 'compose',
      ports: named,
      env: own(defs, name)?.env ?? {},
      dependsOn: svc.depends_on
        .filter((d) => own(placement, d) === 'compose' && own(config.services, d)?.compose)
        .map((d) => own(config.services, d)!.compose!),
    };
  }
  return out;
}

/** Write the overlay into the session folder (its inverse puts back what was there). */
export async function writeOverlay(setup: ComposeSetup, input: PrepareInput): Promise<void> {
  const { yaml, notes } = buildOverlay({
    project: setup.ref.project,
    model: setup.model,
    managed: managedServices(input.config, input.placement, input.ports, input.defs),
    labels: { repo: input.repo.id, session: input.session.name },
    baseEnv: input.unnamedEnv,
    extraPorts: setup.extraPorts,
    ...(setup.elsewhere ? { elsewhere: setup.elsewhere } : {}),
  });
  for (const note of notes) input.progress.info(note);
  await input.journal.writeFile('compose-overlay', setup.ref.files.at(-1)!, yaml, 0o600);
}

/** What else decides a compose service's hash: its merged model, its image id, its build context's git tree. */
export async function describeComposeServices(defs: ResolvedService[], setup: ComposeSetup, worktree: string): Promise<void> {
  const models = new Map(defs.filter((d) => d.compose).map((d) => [d, own(setup.model.services, d.compose!.service)!]));
  // an image the session builds is judged by its build context, not by its id
  const built = builtImages(setup.model);
  const pulled = (m: ComposeService) => !!m.image && !m.build && !built.has(m.image);
  const images = [...models.values()].filter(pulled).map((m) => m.image!);
  const ids = await imageIds(setup.ref.cli, images);
  for (const [def, model] of models) {
    def.compose!.model = model;
    if (pulled(model)) def.compose!.image = own(ids, model.image!) ?? '';
    const context = (model.build as { context?: string } | undefined)?.context;
    if (context?.startsWith(worktree)) {
      const rel = context.slice(worktree.length + 1);
      const r = await git(['rev-parse', `HEAD:${rel}`], worktree, { allowFailure: true });
      def.compose!.context = r.exitCode === 0 ? r.stdout.trim() : '';
    }
  }
}

/**
 * Start a compose service again from its previous definition (after its replacement failed): the
 * recorded model of the service replaces the current one as a whole (`!override`), with the
 * overlay it had, in two files of the session folder that follow the session's own.
 */
export async function restoreComposeService(
  session: SessionCtx & { leases: Record<string, number> },
  ref: ComposeRef,
  previous: ServiceRecord,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  elsewhere?: Elsewhere,
): Promise<void> {
  const svc = previous.def.compose?.service;
  const model = previous.def.compose?.model as ComposeService | undefined;
  if (!svc || !model) throw new WorkError(`no recorded compose definition of ${previous.def.name} to go back to`);
  const base = new Document({ services: {} });
  const node = base.createNode(model);
  node.tag = '!override';
  base.setIn(['services', svc], node);
  const extraPorts: Record<string, number> = {};
  for (const [leaseName, port] of Object.entries(session.leases)) {
    if (leaseName.startsWith(EXTRA_PORT_PREFIX)) extraPorts[leaseName.slice(EXTRA_PORT_PREFIX.length)] = port;
  }
  const ports: Record<string, [number, number]> = {};
  for (const [portName, target] of Object.entries(previous.def.containerPorts))
    ports[portName] = [target, own(previous.def.ports, portName)!];
  const { yaml } = buildOverlay({
    project: ref.project,
    model: { services: { [svc]: model } },
    managed: { [svc]: { name: previous.def.name, runtime: 'compose', ports, env: previous.def.env, dependsOn: [] } },
    labels: { repo: session.repoId, session: session.name },
    baseEnv: {},
    extraPorts,
    ...(elsewhere ? { elsewhere } : {}),
  });
  // a file set of its own per restored service: restores of several services run at once
  const files = [join(session.dir, `compose.restore-${svc}-base.yaml`), join(session.dir, `compose.restore-${svc}-overlay.yaml`)];
  writeFileAtomic(files[0]!, base.toString(), 0o600);
  writeFileAtomic(files[1]!, yaml, 0o600);
  await inComposeTurn(ref.project, () =>
    startCompose({ ...ref, files: [...ref.files, ...files] }, env, [svc], previous.def.ready?.timeout ?? 60, signal, { noDeps: true }),
  );
}

/**
 * The files compose reads besides the ones it is given, as written in them: the project's `.env`,
 * `env_file`s, `extends` files and `include`s (followed). Relative to the worktree where they lie in
 * it. For the no-op check only: a change to one of them makes the next up look again.
 */
function alsoRead(files: string[], worktree: string): string[] {
  const found = new Set<string>(['.env']);
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch {
      return; // compose has read it already: what it could not parse it said so
    }
    const dir = dirname(file);
    const add = (p: unknown) => {
      if (typeof p !== 'string' || p.includes('${')) return;
      const abs = resolve(dir, p);
      found.add(abs.startsWith(`${worktree}/`) ? abs.slice(worktree.length + 1) : abs);
      return abs;
    };
    const top = (doc ?? {}) as { services?: Record<string, unknown>; include?: unknown[] };
    for (const svc of Object.values(top.services ?? {})) {
      const s = (svc ?? {}) as { env_file?: unknown; extends?: { file?: unknown } };
      for (const e of [s.env_file].flat()) add(typeof e === 'object' && e !== null ? (e as { path?: unknown }).path : e);
      const ext = add(s.extends?.file);
      if (ext) visit(ext);
    }
    for (const inc of top.include ?? []) {
      for (const p of [typeof inc === 'object' && inc !== null ? (inc as { path?: unknown }).path : inc].flat()) {
        const abs = add(p);
        if (abs) visit(abs);
      }
    }
  };
  for (const f of files) visit(f);
  return [...found];
}
