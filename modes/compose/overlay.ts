// The compose overlay of a session, written as data (yaml library, `!override`/`!reset` tags):
// compose merges it over the user's files so that two sessions of one project never share a port,
// a container name, a network or a volume, and every container carries our labels.
import { createHash } from 'node:crypto';
import { Document, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { ComposeModel, ComposeService } from '../../adapters/compose.js';

import { LABEL_REPO, LABEL_SERVICE, LABEL_SESSION } from './labels.js';
import { own } from '../../common/records.js';

/** Compose services sess runs elsewhere (on the host) get this profile, so compose never starts them. */
export const ON_HOST_PROFILE = 'sess-on-host';

export interface SessComposeService {
  /** the sess.yaml service that names this compose service */
  name: string;
  runtime: 'host' | 'compose';
  /** named port -> [container port, leased host port] */
  ports: Record<string, [number, number]>;
  env: Record<string, string>;
  /** sess.yaml depends_on that are compose services too (compose orders them) */
  dependsOn: string[];
}

export interface OverlayInput {
  project: string;
  model: ComposeModel;
  /** by compose service name */
  managed: Record<string, SessComposeService>;
  labels: { repo: string; session: string };
  /** env for compose services that sess.yaml does not name */
  baseEnv: Record<string, string>;
  /** host ports leased for published ports that are not named ports: `${service}.${target}` -> port */
  extraPorts: Record<string, number>;
  /** the engine runs on another machine (modes/remote): what changes for it */
  elsewhere?: Elsewhere;
}

/**
 * A project whose engine runs on another machine, on a copy of the worktree there. Its ports are
 * published on that machine's loopback on ports its engine picks (the local ends are leased here and
 * forwarded), and bind sources and file secrets name the copy, not the worktree here.
 */
export interface Elsewhere {
  /** the worktree here (as compose resolved paths in it) */
  worktree: string;
  /** its copy on the engine's machine */
  copy: string;
  /** labels every container carries besides sess's own (the client that owns the project) */
  labels: Record<string, string>;
}

/** A path of the worktree here as the engine's machine has it; undefined when it is not in the worktree. */
export function pathElsewhere(path: string, elsewhere: Pick<Elsewhere, 'worktree' | 'copy'>): string | undefined {
  if (path === elsewhere.worktree) return elsewhere.copy;
  if (path.startsWith(`${elsewhere.worktree}/`)) return elsewhere.copy + path.slice(elsewhere.worktree.length);
  return undefined;
}

/**
 * What a project on another machine cannot mount: bind sources and file secrets or configs outside
 * the worktree (compose would hand the engine a path that names nothing there, and it would mount an
 * empty folder without a word). `path` in the compose files, and the source.
 */
export function unreachableSources(model: ComposeModel, worktree: string): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const check = (path: string, source: unknown) => {
    if (typeof source !== 'string' || pathElsewhere(source, { worktree, copy: '' }) !== undefined) return;
    out.push({
      path,
      message: `${source} is not in the worktree: the remote engine cannot mount it (only the worktree is copied there)`,
    });
  };
  for (const [name, svc] of Object.entries(model.services)) {
    for (const [i, v] of (bindMounts(svc) ?? []).entries()) if (v.type === 'bind') check(`services.${name}.volumes[${i}]`, v.source);
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [key, def] of Object.entries(model[kind] ?? {})) {
      if (def?.file) check(`${kind}.${key}.file`, def.file);
    }
  }
  return out;
}

type Mount = { type?: string; source?: string; [k: string]: unknown };
const bindMounts = (svc: ComposeService) => svc.volumes as Mount[] | undefined;

/** How a service is networked: its own network namespace, or another's. */
export type NetworkMode =
  { kind: 'own' } | { kind: 'host' } | { kind: 'none' } | { kind: 'service'; of: string } | { kind: 'container'; of: string };

export function networkModeOf(svc: ComposeService): NetworkMode {
  const mode = typeof svc.network_mode === 'string' ? svc.network_mode : '';
  if (mode === 'host' || mode === 'none') return { kind: mode };
  if (mode.startsWith('service:')) return { kind: 'service', of: mode.slice('service:'.length) };
  if (mode.startsWith('container:')) return { kind: 'container', of: mode.slice('container:'.length) };
  return { kind: 'own' };
}

/**
 * The protocol a named port is published with: what the compose file publishes that container port
 * with (tcp when it publishes it as tcp too, or not at all). A port published with both protocols
 * gets its other protocol leased apart.
 */
export function namedProtocol(svc: ComposeService | undefined, target: number): string {
  const protocols = (svc?.ports ?? []).filter((p) => p.target === target).map((p) => p.protocol ?? 'tcp');
  return protocols.length === 0 || protocols.includes('tcp') ? 'tcp' : protocols[0]!;
}

const portKey = (target: number, protocol: string | undefined) => `${target}${protocol && protocol !== 'tcp' ? `/${protocol}` : ''}`;

/** How many host ports a published port is: a range `8000-8001` is two (one per replica). */
export function rangeSpan(published: string | number | undefined): number {
  const m = /^(\d+)-(\d+)$/.exec(String(published ?? ''));
  return m && Number(m[2]) >= Number(m[1]) ? Number(m[2]) - Number(m[1]) + 1 : 1;
}

/** Published ports of the base files that no named port covers: each needs a lease of its own. */
export function unnamedPublishedPorts(model: ComposeModel, managed: Record<string, SessComposeService>): string[] {
  const keys: string[] = [];
  for (const [name, svc] of Object.entries(model.services)) {
    if (own(managed, name)?.runtime === 'host') continue;
    const named = new Set(Object.values(own(managed, name)?.ports ?? {}).map(([target]) => portKey(target, namedProtocol(svc, target))));
    for (const port of svc.ports ?? []) {
      if (port.published === undefined || port.published === '' || named.has(portKey(port.target, port.protocol))) continue;
      const key = `${name}.${portKey(port.target, port.protocol)}`;
      // a range ("8000-8001:80", one port per replica): a lease per port of it, `key+i` after the first
      keys.push(key, ...Array.from({ length: rangeSpan(port.published) - 1 }, (_, i) => `${key}+${i + 1}`));
    }
  }
  return [...new Set(keys)];
}

export function buildOverlay(input: OverlayInput): { yaml: string; notes: string[] } {
  const { model, managed } = input;
  const notes: string[] = [];
  const doc = new Document({});
  const onHost = new Set(
    Object.entries(managed)
      .filter(([, m]) => m.runtime === 'host')
      .map(([n]) => n),
  );
  const set = (path: (string | number)[], value: unknown, tag?: string) => {
    const node = value instanceof Scalar || value instanceof YAMLMap || value instanceof YAMLSeq ? value : doc.createNode(value);
    if (tag) node.tag = tag;
    doc.setIn(path, node);
  };
  const reset = () => {
    const s = new Scalar(null);
    s.tag = '!reset';
    return s;
  };

  // `container:NAME` of a container_name sess drops: the service of that name in the session's own project
  const byContainerName = new Map(
    Object.entries(model.services).flatMap(([n, s]) => (s.container_name ? [[s.container_name, n] as const] : [])),
  );
  const built = builtImages(model);
  for (const [name, svc] of Object.entries(model.services)) {
    const at = ['services', name];
    const mine = own(managed, name);
    const network = networkModeOf(svc);
    if (svc.container_name) {
      set([...at, 'container_name'], reset());
      // what other services call it by: an alias on each of its networks (they are the session's own)
      // (never on an external network: every session shares it, and the name would answer for all of them)
      const networks = Object.keys((svc.networks as Record<string, unknown> | undefined) ?? {}).filter(
        (net) => !own(model.networks ?? {}, net)?.external,
      );
      if (network.kind === 'own' && mine?.runtime !== 'host') {
        for (const net of networks) set([...at, 'networks', net, 'aliases'], [svc.container_name]);
      }
      notes.push(
        `compose service ${name}: container_name ${svc.container_name} dropped (each session names its own)${
          network.kind === 'own' && networks.length ? `, kept as its network alias` : ''
        }`,
      );
    }
    if (network.kind === 'container') {
      const target = byContainerName.get(network.of);
      if (target) set([...at, 'network_mode'], `service:${target}`);
      else
        notes.push(`compose service ${name}: shares the network of container ${network.of}, outside the project: every session shares it`);
    }
    set([...at, 'labels'], {
      [LABEL_REPO]: input.labels.repo,
      [LABEL_SESSION]: input.labels.session,
      [LABEL_SERVICE]: mine?.name ?? name,
      ...input.elsewhere?.labels,
    });
    if (mine?.runtime === 'host') {
      notes.push(
        `compose service ${name} runs on the host: containers still reach it as ${name}, on its leased port (\${svc.${mine.name}.port}), not its container port`,
      );
      set([...at, 'profiles'], [ON_HOST_PROFILE], '!override');
      set([...at, 'ports'], [], '!override');
      continue;
    }
    if (svc.image && built.has(svc.image)) {
      const image = sessionImage(svc.image, input.project);
      set([...at, 'image'], image);
      if (svc.build) notes.push(`compose service ${name}: image ${svc.image} is built as ${image} (each session builds its own)`);
    }
    set([...at, 'environment'], escapeDollars(mine?.env ?? input.baseEnv));
    // a container in another's network (service:, container:) has no ports or hosts of its own: Docker refuses both
    if (network.kind === 'own' || network.kind === 'host' || network.kind === 'none') {
      set([...at, 'ports'], portsOf(name, svc, mine, input.extraPorts, notes, !!input.elsewhere), '!override');
    }
    // on another machine, a bind mount of the worktree mounts its copy there
    const mounts = bindMounts(svc);
    if (input.elsewhere && mounts?.some((m) => m.type === 'bind')) {
      const there = input.elsewhere;
      set(
        [...at, 'volumes'],
        mounts.map((m) => (m.type === 'bind' && m.source ? { ...m, source: pathElsewhere(m.source, there) ?? m.source } : m)),
        '!override',
      );
    }
    // a compose service sess runs on the host keeps its name for the containers (`http://backend:8000`):
    // it resolves to the host, where it listens on its leased port
    if (network.kind === 'own' || network.kind === 'host')
      set([...at, 'extra_hosts'], ['host.docker.internal:host-gateway', ...[...onHost].map((h) => `${h}:host-gateway`)]);
    const deps = dependsOn(svc, mine, onHost, model);
    if (deps) set([...at, 'depends_on'], deps, '!override');
  }

  if (input.elsewhere) {
    for (const kind of ['secrets', 'configs'] as const) {
      for (const [key, def] of Object.entries(model[kind] ?? {})) {
        const there = def?.file ? pathElsewhere(def.file, input.elsewhere) : undefined;
        if (there) set([kind, key, 'file'], there);
      }
    }
  }
  for (const kind of ['volumes', 'networks'] as const) {
    for (const [key, def] of Object.entries(model[kind] ?? {})) {
      if (!def || def.external) {
        if (def?.external) notes.push(`${kind.slice(0, -1)} ${def.name ?? key} is external: every session shares it`);
        continue;
      }
      if (def.name && def.name !== `${input.project}_${key}`) {
        set([kind, key, 'name'], reset());
        notes.push(`${kind.slice(0, -1)} ${key}: fixed name ${def.name} dropped (each session has its own)`);
      }
    }
  }
  return { yaml: doc.toString(), notes };
}

function portsOf(
  name: string,
  svc: ComposeService,
  mine: SessComposeService | undefined,
  extra: Record<string, number>,
  notes: string[],
  elsewhere = false,
): object[] {
  // on another machine: published on its loopback where its engine likes; the leased port here is forwarded to it
  if (elsewhere) {
    const keys = new Set<string>();
    for (const [target] of Object.values(mine?.ports ?? {})) keys.add(portKey(target, namedProtocol(svc, target)));
    for (const port of svc.ports ?? []) keys.add(portKey(port.target, port.protocol));
    return [...keys].map((key) => {
      const [target, protocol] = key.split('/');
      return { target: Number(target), host_ip: '127.0.0.1', protocol: protocol ?? 'tcp' };
    });
  }
  const out: object[] = [];
  const named = new Map<string, number>();
  for (const [target, leased] of Object.values(mine?.ports ?? {})) {
    const protocol = namedProtocol(svc, target);
    if (named.has(portKey(target, protocol))) continue;
    named.set(portKey(target, protocol), leased);
    out.push({ target, published: String(leased), host_ip: '127.0.0.1', protocol });
  }
  for (const port of svc.ports ?? []) {
    const key = portKey(port.target, port.protocol);
    if (named.has(key)) continue;
    if (port.published === undefined || port.published === '') {
      // a random host port cannot collide; it still stays off the network
      out.push({ ...port, host_ip: '127.0.0.1' });
      continue;
    }
    const leased = own(extra, `${name}.${key}`);
    if (leased === undefined) continue;
    const span = rangeSpan(port.published);
    const published = span > 1 ? `${leased}-${leased + span - 1}` : String(leased);
    out.push({ target: port.target, published, host_ip: '127.0.0.1', protocol: port.protocol ?? 'tcp' });
    notes.push(`compose service ${name}: published port ${port.published}->${key} moved to 127.0.0.1:${published}`);
  }
  return out;
}

/** depends_on without services that run on the host, plus sess.yaml's compose-to-compose depends_on. */
function dependsOn(
  svc: ComposeService,
  mine: SessComposeService | undefined,
  onHost: Set<string>,
  model: ComposeModel,
): Record<string, object> | undefined {
  const base = svc.depends_on ?? {};
  const deps: Record<string, object> = {};
  let changed = false;
  for (const [dep, how] of Object.entries(base)) {
    if (onHost.has(dep)) changed = true;
    else deps[dep] = how;
  }
  for (const dep of mine?.dependsOn ?? []) {
    const target = own(model.services, dep);
    if (own(deps, dep) || onHost.has(dep) || !target) continue;
    const healthy = target.healthcheck && !target.healthcheck.disable;

    deps[dep] = { condition: healthy ? 'service_healthy' : 'service_started', required: true };
    changed = true;
  }
  return changed ? deps : undefined;
}

/** Compose interpolates `$` in the files it reads, the overlay included: values are ours, literal. */
function escapeDollars(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('$', '$$$$')]));
}

/**
 * Image names that services of the files build (`build:` with `image:`). Such a tag is global to
 * the engine: a session would run whatever another branch built under it last. Each session
 * builds them under a name of its own, and services that run the built image use that name too.
 */
export function builtImages(model: ComposeModel): Set<string> {
  return new Set(
    Object.values(model.services)
      .filter((s) => s.build && s.image)
      .map((s) => s.image!),
  );
}

/** `shop/api:dev` built for project P is `shop/api:P` (a tag is at most 128 of [a-z0-9_.-], as P is). */
export function sessionImage(image: string, project: string): string {
  const name = image.replace(/@.*$/, '');
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return `${colon > slash ? name.slice(0, colon) : name}:${project}`;
}

/** A compose project name of the repository's stable id and the session: lowercase, [a-z0-9_-]. */
export function projectName(repoName: string, repoId: string, session: string): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[-_]+|[-_]+$/g, '');
  const name = slug(session) || 'session';
  // Session names that make the same slug (x.y and x-y, Foo and foo) must not share a project:
  // a name the slug changed (or cut) gets a short hash of itself. The repository id stays whole.
  const distinct = name === session && name.length <= 50 ? '' : `-${createHash('sha256').update(session).digest('hex').slice(0, 6)}`;
  return `sess-${(slug(repoName) || 'repo').slice(0, 30)}-${name.slice(0, 50)}${distinct}-${repoId.slice(0, 8)}`;
}
