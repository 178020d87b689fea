// The compose runtime: a service is a service of the session's own compose project (its files plus
// sess's overlay), on the local Docker engine. What the session keeps of it between commands (its
// stash) is the project: name, compose command and files.
import { imageIds, volumeSizes } from '../../adapters/compose.js';
import { streamLines } from '../../adapters/process.js';
import { killProcessesWithArgs } from '../../adapters/proc.js';
import { WorkError } from '../../common/errors.js';
import { own } from '../../common/records.js';
import type { LiveStates } from '../service.js';
import type { Runtime } from '../runtime.js';
import { ComposeBatch, type ComposeRollbackUndo } from './batch.js';
import { LABEL_CLIENT, LABEL_REPO } from './labels.js';
import {
  composeStatesOfRepo,
  downProject,
  orphanProjects,
  removeProjectImages,
  removeServiceContainers,
  stopServiceContainers,
  rollbackProject,
  stopProject,
  type ComposeRef,
} from './project.js';
import { composeFilesOf } from './files.js';
import { composeTcpProbe } from './probe.js';

const refOf = (stash: unknown): ComposeRef | undefined => stash as ComposeRef | undefined;

function requireRef(stash: unknown, what: string): ComposeRef {
  const ref = refOf(stash);
  if (!ref) throw new WorkError(`no compose project recorded to ${what}`);
  return ref;
}

export const composeRuntime: Runtime = {
  name: 'compose',
  undoKinds: ['compose.rollback'],
  startsTogether: true,
  startReplacesLeftovers: true,
  spawnsOnThisMachine: false,
  sideBySide: false,
  stopsAsWhole: true,
  prepareSteps: ['compose-ports', 'compose-overlay'],

  // between compose services: the compose name and the container port; to anything else: the
  // host's gateway and the leased port
  reach: (target) =>
    target.runtime === 'compose' && target.composeName
      ? { host: target.composeName, port: target.containerPort }
      : { host: 'host.docker.internal', port: target.leasedPort },
  impliesServices: (_config, mode) => mode === 'container',
  async implied(input) {
    const { impliedServices } = await import('./implied.js');
    return impliedServices(input);
  },
  requiredFiles: (config) => ({ key: 'compose.files', files: composeFilesOf(config) }),
  definitionOf: (service) => (service.compose ? { compose: { service: service.compose } } : {}),

  async look(repoId, stashes) {
    const engine = stashes.map(refOf).find(Boolean)?.cli;
    if (!engine) return {};
    // no engine answering: its services count as not running, the listing still works
    return (await composeStatesOfRepo(engine, repoId).catch(() => ({}))) as Record<string, LiveStates>;
  },
  alive: (record, live) => own(live, record.def.name) === 'running',
  // without a look at the engine: what is meant to run may be running
  mayRun: (record) => record.wanted,
  state(record, live) {
    const state = own(live, record.def.name);
    if (!record.wanted) return state === 'running' ? 'running' : 'stopped';
    return state ?? 'exited';
  },

  tcpProbe(session, def) {
    const ref = refOf(session.stash);
    return ref ? composeTcpProbe(ref, def) : undefined;
  },

  /** An image rebuilt under the same tag is a change no file shows: its id is asked again. */
  async stillCurrent(records, session) {
    const images = records.flatMap((s) =>
      s.def.compose?.image ? [{ tag: (s.def.compose.model as { image: string }).image, id: s.def.compose.image }] : [],
    );
    const ref = refOf(session.stash);
    if (!images.length || !ref) return true;
    const ids = await imageIds(
      ref.cli,
      images.map((i) => i.tag),
    );
    return images.every((i) => own(ids, i.tag) === i.id);
  },

  async prepare(input) {
    // loaded only when a service runs in compose: it brings the yaml writer
    const { describeComposeServices, setUpCompose, writeOverlay } = await import('./setup.js');
    const setup = await setUpCompose(input, { project: refOf(input.session.stash)?.project });
    await writeOverlay(setup, input);
    const batch = new ComposeBatch({
      runtime: 'compose',
      undoKind: 'compose.rollback',
      ref: setup.ref,
      env: { ...process.env, ...input.hostEnv },
      fresh: input.session.fresh,
      volumesBefore: setup.volumesBefore,
      journal: input.journal,
      progress: input.progress,
    });
    return {
      stash: setup.ref,
      leases: Object.fromEntries(Object.entries(setup.extraPorts).map(([key, port]) => [`compose:${key}`, port])),
      // what compose reads besides its files (.env, env_file, extends, include) counts for the no-op too
      inputFiles: [...composeFilesOf(input.config), ...setup.alsoRead],
      describe: (defs) => describeComposeServices(defs, setup, input.session.worktree),
      start: (item, signal) => batch.start(item, signal),
      keep: (record) => batch.keep(record.def.compose!.service),
    };
  },

  async stop(session, record, _progress, options) {
    const ref = refOf(session.stash);
    if (!ref || !record.def.compose) return true;
    // replaced: stopped, not removed, so that compose recreates it and carries its anonymous
    // volumes over to the new container (data of an image's VOLUME, as `docker compose up` keeps it)
    if (options?.replacing) await stopServiceContainers(ref, [record.def.compose.service], record.def.stop.grace);
    else await removeServiceContainers(ref, [record.def.compose.service], record.def.stop.grace);
    return true;
  },

  async stopSession(session, options, progress) {
    const ref = refOf(session.stash);
    if (!ref) return;
    if (!options.gone) {
      await stopProject(ref);
      progress.step(`compose project ${ref.project} stopped (containers and their volumes kept)`);
      return;
    }
    await downProject(ref, options.volumes);
    progress.step(`compose project ${ref.project} down${options.volumes ? ', volumes removed' : ''}`);
    const images = await removeProjectImages(ref);
    if (images.length) progress.step(`removed the images it built: ${images.join(', ')}`);
  },

  async restore(session, previous) {
    const ref = requireRef(session.stash, `bring ${previous.def.name} back in`);
    const { restoreComposeService } = await import('./setup.js');
    await restoreComposeService(session, ref, previous, session.env, new AbortController().signal);
    return { ...previous, wanted: true };
  },

  async undo(undo, progress) {
    const u = undo as ComposeRollbackUndo;
    // a `compose up` that a killed sess left behind would go on creating containers
    if (await killProcessesWithArgs(['-p', u.project])) progress(`stopped a compose command still working on ${u.project}`);
    progress(`removing what compose started for ${u.project}`);
    await rollbackProject(u.engine, u.project, u.before, u.grace);
  },

  async logs(session, services, options) {
    const ref = requireRef(session.stash, 'read logs from');
    const { composeLogsArgs, withHost } = await import('../../adapters/compose.js');
    const streams: Promise<void>[] = [];
    for (const record of services) {
      const args = composeLogsArgs(
        { cli: ref.cli, name: ref.project, projectDir: ref.projectDir, env: process.env },
        record.def.compose!.service,
        options.follow,
        options.tail,
      );
      // compose writes terminal control sequences even into a pipe
      const clean = (line: string) => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      // once interrupted, what compose still says ("canceled") is not the service's log
      const write = (line: string) => {
        if (!options.signal?.aborted) options.write(record.def.name, clean(line));
      };
      const done = streamLines(args[0]!, args.slice(1), write, options.signal, withHost(process.env, ref.cli.host));
      // without -f, one service's log after the other
      if (options.follow) streams.push(done);
      else await done;
    }
    await Promise.all(streams);
  },

  async orphans(repoId, sessions, stashes) {
    const { containersByLabel } = await import('../../adapters/compose.js');
    const engine = stashes.map(refOf).find(Boolean)?.cli.engine ?? 'docker';
    let containers;
    try {
      containers = await containersByLabel(engine, [`${LABEL_REPO}=${repoId}`]);
    } catch {
      return []; // no engine here: nothing of ours can run in it
    }
    // a project of a remote engine's client (modes/remote) is that runtime's to judge
    return orphanProjects(
      engine,
      containers.filter((c) => !c.labels[LABEL_CLIENT]),
      sessions,
    );
  },

  async diskUse(sessions) {
    const ref = sessions.map((s) => refOf(s.stash)).find(Boolean);
    if (!ref) return {};
    const volumes = await volumeSizes(ref.cli);
    const out: Record<string, number> = {};
    for (const s of sessions) {
      const project = refOf(s.stash)?.project;
      out[s.name] = project
        ? Object.entries(volumes)
            .filter(([n]) => n.startsWith(`${project}_`))
            .reduce((a, [, b]) => a + b, 0)
        : 0;
    }
    return out;
  },
};
