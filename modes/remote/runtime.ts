// The remote runtime: a compose service of the session's own compose project, on another machine's
// Docker engine, reached over ssh (modes/remote/connection.ts). It is the compose runtime on an
// engine elsewhere: the same project, overlay and batches (modes/compose/), plus what the distance
// adds: the connection, a copy of the worktree there (bind mounts mount it), and ports published on
// that machine's loopback where its engine likes, each forwarded to the port leased here.
import { containersByLabel, publishedPorts } from '../../adapters/compose.js';
import { targetText } from '../../adapters/ssh.js';
import { ConfigError, UsageError, WorkError } from '../../common/errors.js';
import { own } from '../../common/records.js';
import { failpoint } from '../../common/failpoint.js';
import { dirname } from 'node:path';
import { ComposeBatch, type ComposeRollbackUndo } from '../compose/batch.js';
import { composeFilesOf } from '../compose/files.js';
import { projectName, unreachableSources } from '../compose/overlay.js';
import { composeStatesOfRepo, orphanProjects, type ComposeRef } from '../compose/project.js';
import { composeRuntime } from '../compose/runtime.js';
import type { LiveStates } from '../service.js';
import type { Runtime, RuntimeUndo, SessionCtx } from '../runtime.js';
import { LABEL_CLIENT, LABEL_REPO } from '../compose/labels.js';
import { addUser, connect, connectionUp, dropUser, forwardsOf, setForwards } from './connection.js';
import { clientId, connectionKey, engineAt, engineHost, targetOf, type RemotePlace } from './place.js';
import { removeCopy, syncWorktree } from './sync.js';

/** What a remote session keeps: its compose project (on the remote engine) and where that is. */
interface RemoteRef extends ComposeRef {
  remote: RemotePlace;
  /** local ends of its published ports: `service.target[/protocol][+replica]` -> leased port here */
  local: Record<string, number>;
  /** the session's name (doctor's repairs take its lock) */
  session: string;
  /** worktree.include: ignored paths the copy gets all the same */
  include: string[];
}

const refOf = (stash: unknown) => stash as RemoteRef | undefined;
/** One session's stash for each machine the stashes use. */
const byPlace = (stashes: unknown[]) => new Map(stashes.map(refOf).flatMap((r) => (r ? [[r.remote.key, r] as const] : []))).values();
const userOf = (session: Pick<SessionCtx, 'repoId' | 'name'>) => `${session.repoId}/${session.name}`;

type UserUndo = RuntimeUndo & { kind: 'remote.user'; place: RemotePlace; user: string; was: boolean };
type CopyUndo = RuntimeUndo & { kind: 'remote.copy'; place: RemotePlace };
type ForwardsUndo = RuntimeUndo & {
  kind: 'remote.forwards';
  place: RemotePlace;
  user: string;
  before: { local: number; remote: number }[];
};

/** Forward each published port of the project that has a local end to it (and only those). */
async function refreshForwards(ref: RemoteRef, user: string): Promise<void> {
  const published = await publishedPorts(ref.cli, ref.project);
  const wanted: { local: number; remote: number }[] = [];
  for (const [service, byKey] of Object.entries(published)) {
    for (const [key, remotes] of Object.entries(byKey)) {
      remotes.forEach((remote, i) => {
        const local = own(ref.local, `${service}.${key}${i ? `+${i}` : ''}`);
        if (local !== undefined && !wanted.some((w) => w.local === local)) wanted.push({ local, remote });
      });
    }
  }
  await setForwards(ref.remote, user, wanted);
}

/** Ports that ssh cannot forward (it forwards TCP only): refused before anything starts. */
function udpPorts(model: { services: Record<string, { ports?: { target: number; protocol?: string }[] }> }) {
  return Object.entries(model.services).flatMap(([name, svc]) =>
    (svc.ports ?? [])
      .filter((p) => p.protocol === 'udp')
      .map((p) => ({
        path: `services.${name}.ports`,
        message: `${p.target}/udp: a remote engine's ports reach this machine through ssh, which forwards TCP only`,
      })),
  );
}

export const remoteRuntime: Runtime = {
  ...composeRuntime,
  name: 'remote',
  undoKinds: ['remote.user', 'remote.copy', 'remote.forwards', 'remote.rollback'],
  prepareSteps: ['remote-connect', 'compose-ports', 'remote-sync', 'compose-overlay', 'remote-forwards'],

  reach: (target) =>
    target.runtime === 'remote' && target.composeName
      ? { host: target.composeName, port: target.containerPort }
      : { host: 'host.docker.internal', port: target.leasedPort },

  async look(repoId, stashes) {
    const out: Record<string, LiveStates> = {};
    for (const ref of byPlace(stashes)) {
      const place = ref.remote;
      // a connection that is down: its services count as not running (doctor says why)
      if (!(await connectionUp(place))) continue;
      // another client's sessions of the same repository (a copy of it) there are not ours
      const engine = engineAt(ref.cli, place);
      const states = await composeStatesOfRepo(engine, repoId, [`${LABEL_CLIENT}=${place.client}`]).catch(() => ({}));
      Object.assign(out, states);
    }
    return out;
  },

  async prepare(input) {
    const { session, config, journal, progress } = input;
    const previous = refOf(session.stash);
    const target = await targetOf(input.engine, config);
    const home = input.repo.home;
    const key = connectionKey(home, target);
    if (previous && previous.remote.key !== key) {
      throw new UsageError(`session ${session.name} runs on ${previous.remote.target}, not ${targetText(target)}`, {
        hint: `\`sess rm ${session.name}\` first, or up it without naming another machine`,
      });
    }
    const user = userOf(session);
    const client = previous?.remote.client ?? clientId(home);
    const where = { target: targetText(target), home, key, socket: config.remote?.socket ?? '/var/run/docker.sock' };

    // the connection (its inverse: a session that did not use it before lets go of it again)
    const handle = journal.register('remote-connect', {
      kind: 'remote.user',
      place: { ...where, copy: '', client },
      user,
      was: !session.fresh,
    });
    const dir = config.remote?.dir ?? '~/.cache/sess/worktrees';
    failpoint('remote-connect', 'before');
    const { was, home: remoteHome } = await addUser(where, user, { home: dir.startsWith('~/') });
    failpoint('remote-connect');
    progress.step(`connected to ${where.target}`);
    const base = remoteHome !== undefined ? `${remoteHome}${dir.slice(1)}` : dir;
    const place: RemotePlace = {
      ...where,
      client,
      copy: previous?.remote.copy ?? `${base.replace(/\/$/, '')}/${client}/${session.repoId}/${session.name}`,
    };
    journal.amend(handle, { kind: 'remote.user', place, user, was });

    const { setUpCompose, writeOverlay, describeComposeServices } = await import('../compose/setup.js');
    const project = previous?.project ?? `${projectName(input.repo.name, input.repo.id, session.name)}-${client.slice(0, 8)}`;
    const setup = await setUpCompose(input, {
      project,
      host: engineHost(place),
      elsewhere: { copy: place.copy, labels: { [LABEL_CLIENT]: client } },
    });
    const problems = [...unreachableSources(setup.model, session.worktree), ...udpPorts(setup.model)];
    if (problems.length) throw new ConfigError(composeFilesOf(config).join(', '), problems);

    // the copy there: made on the first up (and removed by its rollback), brought up to date on every up
    if (session.fresh) journal.register('remote-sync', { kind: 'remote.copy', place });
    failpoint('remote-sync', 'before');
    const sent = await syncWorktree(place, session, config.worktree.include, { always: session.fresh, signal: input.signal });
    failpoint('remote-sync');
    progress.step(sent ? `worktree copied to ${place.target}:${place.copy}` : `its copy on ${place.target} is up to date`);
    await writeOverlay(setup, input);

    const local: Record<string, number> = { ...setup.extraPorts };
    for (const def of Object.values(input.defs)) {
      if (def.runtime !== 'remote' || !def.compose) continue;
      for (const [name, port] of Object.entries(def.ports)) {
        const targetPort = own(def.containerPorts, name);
        if (targetPort !== undefined) local[`${def.compose.service}.${targetPort}`] = port;
      }
    }
    const ref: RemoteRef = { ...setup.ref, remote: place, local, session: session.name, include: config.worktree.include };
    journal.register('remote-forwards', { kind: 'remote.forwards', place, user, before: await forwardsOf(place, user) });
    // services of one `compose up` finish together: one look at their ports and one change of the forwards
    let refreshing: Promise<void> | undefined;
    const refreshOnce = () =>
      (refreshing ??= Promise.resolve().then(() => {
        refreshing = undefined;
        return refreshForwards(ref, user);
      }));
    const batch = new ComposeBatch({
      runtime: 'remote',
      undoKind: 'remote.rollback',
      undoExtra: { place },
      ref,
      env: { ...process.env, ...input.hostEnv },
      fresh: session.fresh,
      volumesBefore: setup.volumesBefore,
      journal,
      progress,
    });
    return {
      stash: ref,
      leases: Object.fromEntries(Object.entries(setup.extraPorts).map(([k, port]) => [`compose:${k}`, port])),
      inputFiles: [...composeFilesOf(config), ...setup.alsoRead],
      describe: (defs) => describeComposeServices(defs, setup, session.worktree),
      async start(item, signal) {
        const started = await batch.start(item, signal);
        failpoint('remote-forwards', 'before');
        await refreshOnce();
        failpoint('remote-forwards');
        return started;
      },
      keep: (record) => batch.keep(record.def.compose!.service),
    };
  },

  async refresh(session, signal) {
    const ref = refOf(session.stash);
    if (!ref) return;
    await connect(ref.remote);
    await syncWorktree(ref.remote, session, ref.include, signal ? { signal } : {});
  },

  async stop(session, record, progress, options) {
    const ref = refOf(session.stash);
    if (!ref) return true;
    await connect(ref.remote);
    const stopped = await composeRuntime.stop(session, record, progress, options);
    await refreshForwards(ref, userOf(session));
    return stopped;
  },

  async stopSession(session, options, progress) {
    const ref = refOf(session.stash);
    if (!ref) return;
    await connect(ref.remote);
    await composeRuntime.stopSession(session, options, progress);
    if (options.gone && options.volumes) {
      await removeCopy(ref.remote, session.dir);
      progress.step(`removed the worktree's copy ${ref.remote.target}:${ref.remote.copy}`);
    }
    if ((await dropUser(ref.remote, userOf(session))) === 'closed') progress.step(`closed the connection to ${ref.remote.target}`);
  },

  async restore(session, previous) {
    const ref = refOf(session.stash);
    if (!ref) throw new WorkError(`no remote compose project recorded to bring ${previous.def.name} back in`);
    await connect(ref.remote);
    const { restoreComposeService } = await import('../compose/setup.js');
    await restoreComposeService(session, ref, previous, session.env, new AbortController().signal, {
      worktree: ref.projectDir,
      copy: ref.remote.copy,
      labels: { [LABEL_CLIENT]: ref.remote.client },
    });
    await refreshForwards(ref, userOf(session));
    return { ...previous, wanted: true };
  },

  async undo(undo, progress) {
    switch (undo.kind) {
      case 'remote.rollback': {
        // compose's own rollback (its undo record carries the engine), once the engine is reachable
        await connect((undo as ComposeRollbackUndo & { place: RemotePlace }).place);
        return composeRuntime.undo(undo, progress);
      }
      case 'remote.forwards': {
        const u = undo as ForwardsUndo;
        if (await connectionUp(u.place)) await setForwards(u.place, u.user, u.before);
        return;
      }
      case 'remote.copy': {
        const u = undo as CopyUndo;
        await connect(u.place);
        progress(`removing the worktree's copy ${u.place.target}:${u.place.copy}`);
        await removeCopy(u.place);
        return;
      }
      case 'remote.user': {
        const u = undo as UserUndo;
        if (!u.was && (await dropUser(u.place, u.user)) === 'closed') progress(`closed the connection to ${u.place.target}`);
        return;
      }
    }
  },

  async orphans(repoId, sessions, stashes) {
    const out: Awaited<ReturnType<Runtime['orphans']>> = [];
    for (const ref of byPlace(stashes)) {
      const place = ref.remote;
      if (await connectionUp(place)) {
        // containers of this client and repository there whose session no longer exists (its state lost)
        const engine = engineAt(ref.cli, place);
        const labels = [`${LABEL_REPO}=${repoId}`, `${LABEL_CLIENT}=${place.client}`];
        const containers = await containersByLabel(engine, labels).catch(() => []);
        const alsoFix = async (session: string) => {
          // its copy there (beside the other sessions' copies) and its forwards go too
          if (/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(session)) await removeCopy({ ...place, copy: `${dirname(place.copy)}/${session}` });
          await dropUser(place, `${repoId}/${session}`);
        };
        out.push(...orphanProjects(engine, containers, sessions, { where: place.target, alsoFix }));
        continue;
      }
      out.push({
        kind: 'dead-connection',
        session: ref.session,
        subject: `ssh connection to ${place.target}`,
        detail: `its master is not running: the sessions there are unreachable (their ports are not forwarded); \`sess up\` or \`doctor --fix\` connects again`,
        fix: () => connect(place),
      });
    }
    return out;
  },
};
