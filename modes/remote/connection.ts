// One connection per remote machine (per client home): a supervised ssh master that forwards the
// engine's socket to a local one, and the TCP forwards of every session on that machine. The
// registry in $SESS_HOME says which sessions use the connection and which forwards they hold, so
// that a master started again (it died, it was killed) gets every session's forwards back, and the
// last session to go closes it.
import { existsSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { acquireLock } from '../../adapters/fs.js';
import { readJson, writeJsonAtomic } from '../../adapters/fs.js';
import { run } from '../../adapters/process.js';
import { cancelForward, forwardPort, masterPid, startMaster, stopMaster, sshRun } from '../../adapters/ssh.js';
import { WorkError } from '../../common/errors.js';
import { sleep } from '../../common/sleep.js';
import { connectionPaths, engineHost, linkOf, privateDir, type RemotePlace } from './place.js';

type Where = Pick<RemotePlace, 'target' | 'home' | 'key'>;

/** A local port forwarded to a port of the remote's loopback, for one session (`repo/session`). */
export interface Forward {
  local: number;
  remote: number;
  user: string;
}

interface Registry {
  users: string[];
  forwards: Forward[];
  /** the remote user's home (for `~/` in remote.dir) */
  remoteHome?: string;
}

const readRegistry = (where: Where): Registry => ({
  users: [],
  forwards: [],
  ...readJson<Registry>(connectionPaths(where).registry),
});

/** Read and change the registry of a connection under its lock (the master's start and stop happen under it too). */
export async function withRegistry<T>(where: Where, work: (registry: Registry) => Promise<T>): Promise<T> {
  const paths = connectionPaths(where);
  const lock = await acquireLock(paths.lock, { timeoutMs: 60_000, what: `the connection to ${where.target}`, maxPollMs: 50 });
  try {
    const registry = readRegistry(where);
    const out = await work(registry);
    writeJsonAtomic(paths.registry, registry, 0o600);
    return out;
  } finally {
    lock.release();
  }
}

/** Is the connection's master running? (its pid, as it says on its control socket) */
export async function connectionPid(where: Where): Promise<number | undefined> {
  if (!(await connectionUp(where))) return undefined;
  return masterPid(linkOf(where));
}

/**
 * Does the connection's master answer on its control socket? A connect to it, no ssh spawned: the
 * question of every command that reaches the engine (one of a no-op up).
 */
export function connectionUp(where: Where): Promise<boolean> {
  const control = connectionPaths(where).control;
  if (!existsSync(control)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = createConnection(control);
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2_000, () => done(false));
  });
}

/**
 * The connection, running: a master answering on its socket, or a new one started (what is left of
 * a dead one cleared), every session's forwards set again, and the engine answering through it.
 * Call inside `withRegistry`.
 */
export async function connectIn(where: Where & Pick<RemotePlace, 'socket'>, registry: Registry): Promise<'running' | 'started'> {
  const paths = connectionPaths(where);
  if (await connectionUp(where)) return 'running';
  privateDir(paths.run);
  rmSync(paths.control, { force: true });
  rmSync(paths.socket, { force: true });
  const link = linkOf(where);
  await startMaster(link, { local: paths.socket, remote: where.socket }, paths.log);
  for (const f of registry.forwards) await forwardPort(link, f.local, f.remote).catch(() => undefined);
  // the master is up; the engine behind the forwarded socket answers too
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await run('docker', ['-H', engineHost(where), 'version', '--format', '{{.Server.Version}}'], {
      allowFailure: true,
      timeoutMs: 10_000,
    });
    if (r.exitCode === 0) return 'started';
    if (Date.now() > deadline) {
      throw new WorkError(`the Docker engine of ${where.target} does not answer on ${where.socket}: ${r.stderr.trim()}`, {
        hint: 'Docker must run there, and its socket be reachable by the ssh user',
      });
    }
    await sleep(200);
  }
}

/** The connection, running (see `connectIn`), for work that needs the engine (a rollback, a down). */
export async function connect(where: Where & Pick<RemotePlace, 'socket'>): Promise<void> {
  if (await connectionUp(where)) return; // decided again under the lock when it is not
  await withRegistry(where, (registry) => connectIn(where, registry));
}

/** The remote user's home, asked once. */
async function remoteHome(where: Where, registry: Registry): Promise<string> {
  if (registry.remoteHome) return registry.remoteHome;
  const r = await sshRun(linkOf(where), ['printenv', 'HOME']);
  const home = r.stdout.trim();
  if (r.exitCode !== 0 || !/^\/[A-Za-z0-9._/-]*$/.test(home)) {
    throw new WorkError(`cannot tell the home folder of ${where.target} (${r.stderr.trim() || home}): set remote.dir to an absolute path`);
  }
  registry.remoteHome = home;
  return home;
}

/**
 * Set a session's forwards to exactly `wanted` (local -> remote port): those that changed or went
 * are cancelled, new ones added. The connection must run.
 */
export async function setForwards(where: Where, user: string, wanted: { local: number; remote: number }[]): Promise<void> {
  await withRegistry(where, async (registry) => {
    const link = linkOf(where);
    const mine = registry.forwards.filter((f) => f.user === user);
    const keep = (f: { local: number; remote: number }) => wanted.some((w) => w.local === f.local && w.remote === f.remote);
    for (const f of mine.filter((f) => !keep(f))) await cancelForward(link, f.local, f.remote);
    for (const w of wanted.filter((w) => !mine.some((f) => f.local === w.local && f.remote === w.remote))) {
      await forwardPort(link, w.local, w.remote);
    }
    registry.forwards = [...registry.forwards.filter((f) => f.user !== user), ...wanted.map((w) => ({ ...w, user }))];
  });
}

export async function forwardsOf(where: Where, user: string): Promise<{ local: number; remote: number }[]> {
  return readRegistry(where)
    .forwards.filter((f) => f.user === user)
    .map(({ local, remote }) => ({ local, remote }));
}

/**
 * A session uses the connection (its up began): whether it did already, and (`home`) the remote
 * user's home folder when asked for.
 */
export async function addUser(
  where: Where & Pick<RemotePlace, 'socket'>,
  user: string,
  options: { home?: boolean } = {},
): Promise<{ was: boolean; home?: string }> {
  return withRegistry(where, async (registry) => {
    await connectIn(where, registry);
    const was = registry.users.includes(user);
    if (!was) registry.users.push(user);
    return { was, ...(options.home ? { home: await remoteHome(where, registry) } : {}) };
  });
}

/**
 * A session no longer uses the connection (down, rm, a failed first up): its forwards are cancelled,
 * and the last session to go closes the master.
 */
export async function dropUser(where: Where, user: string): Promise<'closed' | 'open'> {
  return withRegistry(where, async (registry) => {
    const link = linkOf(where);
    const alive = await connectionUp(where);
    for (const f of registry.forwards.filter((f) => f.user === user)) if (alive) await cancelForward(link, f.local, f.remote);
    registry.forwards = registry.forwards.filter((f) => f.user !== user);
    registry.users = registry.users.filter((u) => u !== user);
    if (registry.users.length > 0) return 'open';
    if (alive) await stopMaster(link);
    const paths = connectionPaths(where);
    rmSync(paths.run, { recursive: true, force: true });
    return 'closed';
  });
}
