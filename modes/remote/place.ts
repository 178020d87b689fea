// Where a remote session's compose project runs: the machine (from --remote-host, --context or
// sess.yaml's `remote:`), the folders of its connection here, and its copy of the worktree there.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../adapters/fs.js';
import { run } from '../../adapters/process.js';
import { parseSshTarget, targetText, type SshLink, type SshTarget } from '../../adapters/ssh.js';
import { UsageError, WorkError } from '../../common/errors.js';
import type { Config } from '../../config/schema.js';
import type { EngineChoice } from '../runtime.js';

/** What a remote session keeps of where it runs (in its stash), so that down/rm/ls need no sess.yaml. */
export interface RemotePlace {
  /** `user@box:port` */
  target: string;
  /** $SESS_HOME: the machine's registry of this client's connections lives there */
  home: string;
  /** the connection's id: one per client home and machine */
  key: string;
  /** the engine's socket there */
  socket: string;
  /** where the worktree's copy is there (absolute) */
  copy: string;
  /** this client: labels its containers, and names its projects apart from another client's */
  client: string;
}

/** The folders of a connection: state in $SESS_HOME, sockets in a short private folder (a unix socket path is short). */
export function connectionPaths(place: Pick<RemotePlace, 'home' | 'key'>) {
  const state = join(place.home, 'remote', place.key);
  const run = join(tmpdir(), `sess-${process.getuid?.() ?? 0}`, place.key);
  return {
    state,
    registry: join(state, 'registry.json'),
    lock: join(state, 'registry.lock'),
    log: join(state, 'ssh.log'),
    run,
    control: join(run, 'c'),
    socket: join(run, 'd.sock'),
  };
}

/** The ssh link of a place: its target, its master's control socket, the user's ssh config (`SESS_SSH_CONFIG`). */
export function linkOf(place: Pick<RemotePlace, 'target' | 'home' | 'key'>): SshLink {
  const target = parseSshTarget(place.target);
  if (!target) throw new WorkError(`not an ssh target: ${place.target}`);
  return {
    target,
    control: connectionPaths(place).control,
    ...(process.env.SESS_SSH_CONFIG ? { config: process.env.SESS_SSH_CONFIG } : {}),
  };
}

/** DOCKER_HOST of the engine there, through the connection's forwarded socket. */
export const engineHost = (place: Pick<RemotePlace, 'home' | 'key'>) => `unix://${connectionPaths(place).socket}`;

/**
 * A folder of ours only (made 0700 if missing): a folder in /tmp that another user made, or a
 * symlink, would let them reach the engine through our socket.
 */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  for (const dir of [join(path, '..'), path]) {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid) || (st.mode & 0o077) !== 0) {
      throw new WorkError(`${dir} is not a private folder of this user: sess keeps its ssh sockets there`, {
        hint: 'remove it (or set TMPDIR to a folder of your own)',
      });
    }
  }
}

/** This client's id: random, made once per $SESS_HOME. */
export function clientId(home: string): string {
  const file = join(home, 'client-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
  } catch {
    /* first use */
  }
  const id = randomBytes(8).toString('hex');
  writeFileAtomic(file, `${id}\n`, 0o644);
  return id;
}

/**
 * The machine a session's compose services run on: named for the session (it sticks), else by
 * sess.yaml. A Docker context names it by its ssh:// endpoint.
 */
export async function targetOf(choice: EngineChoice | undefined, config: Config): Promise<SshTarget> {
  const host = choice?.host ?? (choice?.context ? undefined : config.remote?.host);
  const context = choice?.host ? undefined : (choice?.context ?? config.remote?.context);
  if (host) {
    const target = parseSshTarget(host);
    if (!target) throw new UsageError(`--remote-host ${host}: not user@box or user@box:port`);
    return target;
  }
  if (!context) throw new UsageError('no remote engine named: remote.host or remote.context in sess.yaml, or --remote-host / --context');
  requireContextName(context);
  const r = await run('docker', ['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}', context], { allowFailure: true });
  if (r.exitCode !== 0) throw new UsageError(`no Docker context named ${context}`, { hint: '`docker context ls` lists them' });
  const endpoint = r.stdout.trim();
  const target = endpoint.startsWith('ssh://') ? parseSshTarget(endpoint.slice('ssh://'.length).replace(/\/$/, '')) : undefined;
  if (!target) {
    throw new UsageError(`Docker context ${context} points at ${endpoint}: sess reaches a remote engine over ssh only (an ssh:// context)`);
  }
  return target;
}

/** A Docker context's name (never a word docker would take for an option). */
export function requireContextName(context: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(context)) throw new UsageError(`--context ${context}: not a Docker context name`);
}

/** The engine of a place, through its connection: the compose CLI's engine at the forwarded socket. */
export const engineAt = (cli: { engine: string }, place: Pick<RemotePlace, 'home' | 'key'>) => ({
  engine: cli.engine,
  host: engineHost(place),
});

/** The connection id of a client home and a machine. */
export function connectionKey(home: string, target: SshTarget): string {
  return createHash('sha256')
    .update(`${home}\0${targetText(target)}`)
    .digest('hex')
    .slice(0, 16);
}
