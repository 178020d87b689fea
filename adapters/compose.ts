// Compose (docker compose v2, standalone docker-compose v2, podman compose) and the few plain
// docker/podman calls that work by label. Compose merges the user's files; we never re-implement it.
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { WorkError } from '../common/errors.js';
import { readJson, writeJsonAtomic } from './fs.js';
import { run, type RunOptions } from './process.js';

/** The labels compose puts on what it creates: how sess finds a project's containers, volumes, networks. */
export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';
/** on containers of `compose run`: one-off, not the service's */
export const COMPOSE_ONEOFF = 'com.docker.compose.oneoff';

/** The label filter of one compose project. */
export const projectLabel = (project: string) => `${COMPOSE_PROJECT}=${project}`;

export interface ComposeCli {
  /** How to call compose: ['docker', 'compose'], ['docker-compose'], ['podman', 'compose']. */
  command: string[];
  /** The engine CLI for label queries: docker or podman. */
  engine: string;
  version: string;
  /** DOCKER_HOST of the engine it talks to, when not the local default (a remote engine's forwarded socket) */
  host?: string;
}

/** The engine a docker call goes to: its CLI (`docker`), and where that engine listens when not the default. */
export type Engine = string | Pick<ComposeCli, 'engine' | 'host'>;

/** `docker ...` against this engine (DOCKER_HOST set for an engine elsewhere). */
function runEngine(engine: Engine, args: string[], options: RunOptions = {}) {
  if (typeof engine === 'string') return run(engine, args, options);
  return run(engine.engine, args, { ...options, env: withHost(options.env ?? process.env, engine.host) });
}

/** The environment of a docker or compose call to an engine at `host` (none: the default one). */
export function withHost(env: NodeJS.ProcessEnv, host: string | undefined): NodeJS.ProcessEnv {
  return host ? { ...env, DOCKER_HOST: host, DOCKER_CONTEXT: '' } : env;
}

/** `!override` (ports) needs Compose 2.24.4. */
const MIN_VERSION = [2, 24, 4];

const CANDIDATES: { command: string[]; engine: string }[] = [
  { command: ['docker', 'compose'], engine: 'docker' },
  { command: ['docker-compose'], engine: 'docker' },
  { command: ['podman', 'compose'], engine: 'podman' },
];

function versionAtLeast(version: string, min: number[]): boolean {
  const parts = version
    .replace(/^v/, '')
    .split(/[.-]/)
    .map((p) => parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    if (Number.isNaN(a)) return false;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/**
 * The first usable compose, remembered in `cacheDir` (keyed by PATH and the binaries' mtimes) so that
 * only the first `up` after an upgrade pays for asking.
 */
export async function detectCompose(cacheDir: string): Promise<ComposeCli> {
  const cacheFile = join(cacheDir, 'compose.json');
  const key = `${process.env.PATH}|${CANDIDATES.map((c) => mtimeOnPath(c.command[0]!)).join(',')}`;
  const cached = readJson<{ key: string; cli: ComposeCli }>(cacheFile);
  if (cached?.key === key) return cached.cli;
  const found: string[] = [];
  for (const candidate of CANDIDATES) {
    const r = await run(candidate.command[0]!, [...candidate.command.slice(1), 'version', '--short'], {
      allowFailure: true,
    }).catch(() => undefined);
    if (!r || r.exitCode !== 0) continue;
    const version = r.stdout.trim().split('\n').pop()!.trim();
    found.push(`${candidate.command.join(' ')} ${version}`);
    if (versionAtLeast(version, MIN_VERSION)) {
      const cli = { ...candidate, version };
      writeJsonAtomic(cacheFile, { key, cli }, 0o644);
      return cli;
    }
  }
  throw new WorkError(
    found.length
      ? `no usable compose: found ${found.join(', ')}; sess needs Compose v2.24.4 or newer (for !override)`
      : 'no compose found: sess needs `docker compose` (v2), `docker-compose` v2 or `podman compose`',
    { hint: 'install Docker Compose v2 (see README: scripts/setup-docker.sh)' },
  );
}

function mtimeOnPath(bin: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      return String(statSync(join(dir, bin)).mtimeMs);
    } catch {
      /* not here */
    }
  }
  return '-';
}

export interface ComposeProject {
  cli: ComposeCli;
  name: string;
  files: string[];
  projectDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Compose runs in the project folder (the session's worktree) with PWD set to it, as a user typing
 * `docker compose up` there would: `${PWD}` in the files (`${PWD}/state:/data`) is the session's
 * folder, not wherever sess was called from.
 */
function compose(p: ComposeProject, args: string[], options: RunOptions = {}) {
  const fileArgs = p.files.flatMap((f) => ['-f', f]);
  return run(p.cli.command[0]!, [...p.cli.command.slice(1), '-p', p.name, '--project-directory', p.projectDir, ...fileArgs, ...args], {
    cwd: p.projectDir,
    ...options,
    env: withHost({ ...p.env, ...options.env, PWD: p.projectDir }, p.cli.host),
  });
}

/**
 * The merged model of the user's files, every profile enabled: compose's own view of the project.
 * `activeOnly`: only the services a plain `compose up` starts (the profiles COMPOSE_PROFILES enables).
 */
export async function composeModel(p: ComposeProject, signal?: AbortSignal, activeOnly = false): Promise<ComposeModel> {
  const r = await compose(p, [...(activeOnly ? [] : ['--profile', '*']), 'config', '--format', 'json'], { signal });
  return JSON.parse(r.stdout) as ComposeModel;
}

export interface ComposeModel {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, { name?: string; external?: boolean } | null>;
  networks?: Record<string, { name?: string; external?: boolean } | null>;
  secrets?: Record<string, { file?: string } | null>;
  configs?: Record<string, { file?: string } | null>;
}

export interface ComposePort {
  target: number;
  published?: string | number;
  host_ip?: string;
  protocol?: string;
  mode?: string;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  container_name?: string;
  ports?: ComposePort[];
  depends_on?: Record<string, { condition?: string; required?: boolean; restart?: boolean }>;
  healthcheck?: { disable?: boolean; test?: unknown };
  profiles?: string[];
  restart?: string;
  environment?: Record<string, string | null>;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * `up -d --wait` of these services (compose starts what they depend on). `timeoutMs` bounds the whole
 * call: compose waits for a `service_healthy` dependency before it creates the dependent, outside
 * its own `--wait-timeout`.
 */
export async function composeUp(
  p: ComposeProject,
  services: string[],
  options: { waitTimeout: number; timeoutMs?: number; signal?: AbortSignal; noDeps?: boolean },
): Promise<void> {
  const wait = ['--wait', '--wait-timeout', String(Math.ceil(options.waitTimeout))];
  await compose(p, ['up', '--detach', ...wait, ...(options.noDeps ? ['--no-deps'] : []), ...services], {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
}

/** `build` of these services: before `up`, so that a build's time is not taken from the wait. */
export async function composeBuild(p: ComposeProject, services: string[], signal?: AbortSignal): Promise<void> {
  await compose(p, ['build', ...services], { signal });
}

/** `stop` of a project's containers: they stay, with their anonymous volumes, for the next `up`. */
export async function composeStop(p: Omit<ComposeProject, 'files'>): Promise<void> {
  await run(p.cli.command[0]!, [...p.cli.command.slice(1), '-p', p.name, 'stop'], { env: withHost(p.env, p.cli.host) });
}

export async function composeDown(p: Omit<ComposeProject, 'files'>, volumes: boolean): Promise<void> {
  await run(p.cli.command[0]!, [...p.cli.command.slice(1), '-p', p.name, 'down', ...(volumes ? ['--volumes'] : [])], {
    env: withHost(p.env, p.cli.host),
  });
}

/**
 * The host ports each running container of the project publishes, by service: `target/protocol` ->
 * the published ports of its replicas, in replica order (compose's container number).
 */
export async function publishedPorts(engine: Engine, project: string): Promise<Record<string, Record<string, number[]>>> {
  const containers = (await containersByLabel(engine, [projectLabel(project)]))
    .filter((c) => c.state === 'running' && c.labels[COMPOSE_ONEOFF] !== 'True')
    .sort(
      (a, b) => Number(a.labels['com.docker.compose.container-number'] ?? 0) - Number(b.labels['com.docker.compose.container-number'] ?? 0),
    );
  if (containers.length === 0) return {};
  const r = await runEngine(engine, [
    'container',
    'inspect',
    '--format',
    '{{json .NetworkSettings.Ports}}',
    ...containers.map((c) => c.id),
  ]);
  const out: Record<string, Record<string, number[]>> = {};
  r.stdout
    .split('\n')
    .filter(Boolean)
    .forEach((line, i) => {
      const bySvc = (out[containers[i]!.service] ??= {});
      // {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}], "81/udp": null}
      for (const [port, bindings] of Object.entries((JSON.parse(line) ?? {}) as Record<string, { HostPort: string }[] | null>)) {
        const [target, protocol] = port.split('/');
        const key = protocol === 'tcp' ? target! : port;
        for (const b of bindings ?? []) (bySvc[key] ??= []).push(Number(b.HostPort));
      }
    });
  return out;
}

export function composeLogsArgs(p: Omit<ComposeProject, 'files'>, service: string, follow: boolean, tail?: number): string[] {
  return [
    ...p.cli.command,
    '-p',
    p.name,
    'logs',
    '--no-color',
    '--no-log-prefix',
    ...(follow ? ['--follow'] : []),
    ...(tail !== undefined ? ['--tail', String(tail)] : []),
    service,
  ];
}

export interface Container {
  id: string;
  name: string;
  project: string;
  service: string;
  state: string;
  /** healthy, unhealthy, starting, or '' without a healthcheck */
  health: string;
  exitCode: number | null;
  labels: Record<string, string>;
}

/** Containers (running or not) carrying all these labels (`key=value` or `key`). */
export function containersByLabel(engine: Engine, labels: string[]): Promise<Container[]> {
  return listContainers(engine, ['-a', ...labels.flatMap((l) => ['--filter', `label=${l}`])]);
}

/** Running containers that mount this volume (by its engine name). */
export function containersMounting(engine: Engine, volume: string): Promise<Container[]> {
  return listContainers(engine, ['--filter', `volume=${volume}`]);
}

async function listContainers(engine: Engine, filters: string[]): Promise<Container[]> {
  const r = await runEngine(engine, ['ps', '--no-trunc', ...filters, '--format', '{{json .}}']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const raw = JSON.parse(line) as { ID: string; Names: string; State: string; Status: string; Labels: string };
      const parsed = parseLabels(raw.Labels);
      const health = /\((healthy|unhealthy|health: starting)\)/.exec(raw.Status)?.[1]?.replace('health: ', '') ?? '';
      const exit = /Exited \((\d+)\)/.exec(raw.Status);
      return {
        id: raw.ID,
        name: raw.Names,
        project: parsed[COMPOSE_PROJECT] ?? '',
        service: parsed[COMPOSE_SERVICE] ?? '',
        state: raw.State,
        health,
        exitCode: exit ? Number(exit[1]) : null,
        labels: parsed,
      };
    });
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // values may contain commas (config_files): split only before "key=" of a new label
  for (const part of text.split(/,(?=[a-zA-Z0-9_.-]+=)/)) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export async function stopContainers(engine: Engine, ids: string[], graceSeconds: number): Promise<void> {
  if (ids.length) await runEngine(engine, ['stop', '--time', String(Math.ceil(graceSeconds)), ...ids], { allowFailure: true });
}

export async function removeContainers(engine: Engine, ids: string[]): Promise<void> {
  if (ids.length) await runEngine(engine, ['rm', '--force', '--volumes=false', ...ids], { allowFailure: true });
}

export async function projectVolumes(engine: Engine, project: string): Promise<string[]> {
  const r = await runEngine(engine, ['volume', 'ls', '--quiet', '--filter', `label=${projectLabel(project)}`]);
  return r.stdout.split('\n').filter(Boolean);
}

export async function removeVolumes(engine: Engine, names: string[]): Promise<void> {
  if (names.length) await runEngine(engine, ['volume', 'rm', '--force', ...names]);
}

/** Names (`repo:tag`) of the images compose built for a project (it labels them with the project). */
export async function projectImages(engine: Engine, project: string): Promise<string[]> {
  const r = await runEngine(engine, ['image', 'ls', '--filter', `label=${projectLabel(project)}`, '--format', '{{.Repository}}:{{.Tag}}']);
  return r.stdout.split('\n').filter((l) => l && !l.includes('<none>'));
}

export async function removeImages(engine: Engine, names: string[]): Promise<void> {
  // untagging only: layers another image still uses stay; an image a container still runs stays too
  for (const name of names) await runEngine(engine, ['image', 'rm', name], { allowFailure: true });
}

/**
 * Anonymous volumes the containers mount (a `- /data` in the files, an image's VOLUME). They carry
 * no project label: the containers are the only way to them. Named volumes are not among them.
 */
export async function anonymousVolumes(engine: Engine, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await runEngine(
    engine,
    ['container', 'inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids],
    {
      allowFailure: true,
    },
  );
  // a container gone meanwhile: the others are still answered
  const names = r.stdout.split(/\s+/).filter((n) => /^[0-9a-f]{64}$/.test(n));
  if (names.length === 0) return [];
  const labelled = await runEngine(engine, ['volume', 'ls', '--quiet', '--filter', 'label=com.docker.volume.anonymous'], {
    allowFailure: true,
  });
  // an engine that labels anonymous volumes (Docker 23+) says which they are; an older one: the 64-hex name
  const anonymous = new Set(labelled.stdout.split('\n').filter(Boolean));
  return [...new Set(names)].filter((n) => anonymous.size === 0 || anonymous.has(n));
}

export async function projectNetworks(engine: Engine, project: string): Promise<string[]> {
  const r = await runEngine(engine, ['network', 'ls', '--quiet', '--filter', `label=${projectLabel(project)}`]);
  return r.stdout.split('\n').filter(Boolean);
}

export async function removeNetworks(engine: Engine, ids: string[]): Promise<void> {
  // a network still used by a container of the session is kept: that is the one case where rm fails
  for (const id of ids) await runEngine(engine, ['network', 'rm', id], { allowFailure: true });
}

export async function containerLogsTail(engine: Engine, id: string, lines: number): Promise<string> {
  const r = await runEngine(engine, ['logs', '--tail', String(lines), id], { allowFailure: true });
  return (r.stdout + r.stderr).trim();
}

/** Ids of local images (by name); an image that is not there has none. */
export async function imageIds(engine: Engine, images: string[]): Promise<Record<string, string>> {
  const unique = [...new Set(images)];
  if (unique.length === 0) return {};
  const r = await runEngine(engine, ['image', 'inspect', '--format', '{{.Id}}', ...unique], { allowFailure: true });
  const ids = r.stdout.split('\n').filter(Boolean);
  // inspect prints only the images it found, in order: ask one by one when some are missing
  if (ids.length === unique.length) return Object.fromEntries(unique.map((img, i) => [img, ids[i]!]));
  const out: Record<string, string> = {};
  for (const img of unique) {
    const one = await runEngine(engine, ['image', 'inspect', '--format', '{{.Id}}', img], { allowFailure: true });
    if (one.exitCode === 0) out[img] = one.stdout.trim();
  }
  return out;
}

/** Size in bytes of every volume (`system df -v`, which walks them: slow, only for `ls --size`). */
export async function volumeSizes(engine: Engine): Promise<Record<string, number>> {
  const r = await runEngine(engine, ['system', 'df', '-v', '--format', '{{json .Volumes}}'], { allowFailure: true });
  if (r.exitCode !== 0) return {};
  const units: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  const out: Record<string, number> = {};
  for (const v of JSON.parse(r.stdout || '[]') as { Name: string; Size: string }[]) {
    const m = /^([\d.]+)\s*([a-zA-Z]+)$/.exec(v.Size ?? '');
    out[v.Name] = m ? Math.round(Number(m[1]) * (units[m[2]!] ?? 1)) : 0;
  }
  return out;
}

/** Every network of the engine with the subnets of its IPAM config and its labels. */
export async function networkSubnets(engine: Engine): Promise<{ name: string; subnets: string[]; labels: Record<string, string> }[]> {
  const ids = (await runEngine(engine, ['network', 'ls', '--quiet'])).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const r = await runEngine(engine, ['network', 'inspect', '--format', '{{json .}}', ...ids], { allowFailure: true });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const raw = JSON.parse(line) as {
        Name: string;
        IPAM?: { Config?: { Subnet?: string }[] | null };
        Labels?: Record<string, string> | null;
      };
      return {
        name: raw.Name,
        subnets: (raw.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
        labels: raw.Labels ?? {},
      };
    });
}

/**
 * The TCP ports something listens on inside a running container (IPv4 and IPv6), read from its own
 * /proc/net/tcp{,6} with `cat`: the container's network namespace, whatever tools its image has
 * besides. undefined when the container cannot run `cat` (a distroless image), so the caller can
 * say it could not look.
 */
export async function listeningPorts(engine: Engine, container: string, signal?: AbortSignal): Promise<Set<number> | undefined> {
  const r = await runEngine(engine, ['exec', container, 'cat', '/proc/net/tcp', '/proc/net/tcp6'], {
    allowFailure: true,
    signal,
    timeoutMs: 10_000,
  });
  // 126/127: no cat in the image; a host without IPv6 has no tcp6 (cat says so, exit 1, tcp printed)
  if (r.exitCode === 126 || r.exitCode === 127) return undefined;
  const ports = new Set<number>();
  for (const line of r.stdout.split('\n')) {
    // "  0: 00000000:1538 00000000:0000 0A ...": local address, remote address, state (0A = LISTEN)
    const fields = line.trim().split(/\s+/);
    if (fields[3] !== '0A') continue;
    const port = parseInt(fields[1]?.split(':').pop() ?? '', 16);
    if (Number.isInteger(port)) ports.add(port);
  }
  return ports;
}
