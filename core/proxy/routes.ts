// The route table's writers: every change is one read-modify-write of routes.json under its own
// lock, put in place whole (the proxy reads the old table or the new one, never half of each).
import { readFileSync } from 'node:fs';
import { acquireLock, writeJsonAtomic } from '../../adapters/fs.js';
import { CorruptStateError, WorkError } from '../../common/errors.js';
import { lockTimeoutMs } from '../state/repo.js';
import { hostLabel, uniqueRepoLabel } from './labels.js';
import { proxyPaths, proxyPort, proxyUrl } from './paths.js';
import {
  emptyTable,
  hostRoutes,
  parseTable,
  TLD,
  type HostRoute,
  type RouteEntry,
  type RouteFile,
  type RouteStatus,
} from '../../proxy/table.js';

export interface RouteInput {
  service: string;
  /** `http://127.0.0.1:PORT`: where the service listens */
  target: string;
  /** the session's own URL routes here; default: the first route that is not green */
  primary?: boolean;
  /** a blue-green candidate: only `green.<service>.<session>.<repo>.localhost` routes here */
  green?: boolean;
  /** shown by the 502 page when the target does not answer */
  status?: RouteStatus;
}

export interface SessionRef {
  /** the repository's stable id (`Repo.id`) */
  repoId: string;
  session: string;
}

export interface SessionRoutesInput extends SessionRef {
  /** the main checkout's folder name (`Repo.name`): the repository's label is made from it */
  repoName: string;
  /** the main checkout, shown by the 502 page beside `sess up` */
  repoRoot?: string;
  routes: RouteInput[];
}

export interface SessionUrls {
  /** the session's own URL (its primary service); undefined when nothing of it is routed */
  url?: string;
  /** service name -> its URL */
  services: Record<string, string>;
  /** service name -> its green URL (where a blue-green candidate is seen before promotion) */
  green: Record<string, string>;
}

/** A route as `sess proxy routes` lists it. */
export interface ListedRoute extends HostRoute {
  url: string;
}

/**
 * Replace every route of one session in one write: what `up` calls once it knows the session's
 * ports (and again with new statuses after `down`). An empty list removes the session's routes.
 * Gives the repository its label on first use. Returns the session's URLs.
 */
export async function setSessionRoutes(input: SessionRoutesInput): Promise<SessionUrls> {
  const routes = checkRoutes(input.session, input.routes);
  // the same routes again (a re-up that moved no port): no write, no new generation. Read without
  // the table's lock: only commands holding this session's lock write its routes.
  const known = readTable().repos[input.repoId];
  const current = known?.sessions[input.session];
  if (
    known &&
    current &&
    routes.length > 0 &&
    known.name === input.repoName &&
    (input.repoRoot === undefined || known.root === input.repoRoot) &&
    JSON.stringify(current.routes) === JSON.stringify(routes)
  ) {
    return sessionUrls(known.label, current.label, routes);
  }
  return updateTable((table) => {
    const repo = claimRepo(table, input.repoId, input.repoName, input.repoRoot);
    if (routes.length === 0) delete repo.sessions[input.session];
    else repo.sessions[input.session] = { label: hostLabel(input.session), routes, updated: new Date().toISOString() };
    return sessionUrls(repo.label, hostLabel(input.session), routes);
  });
}

/** Forget a session's routes (`rm`); says whether it had any. The repository keeps its label. */
export async function removeSessionRoutes(repoId: string, session: string): Promise<boolean> {
  // nothing to remove: no write (and no table generation) for a session that was never routed
  if (!Object.hasOwn(readTable().repos[repoId]?.sessions ?? {}, session)) return false;
  return updateTable((table) => {
    const repo = table.repos[repoId];
    if (!repo || !Object.hasOwn(repo.sessions, session)) return false;
    delete repo.sessions[session];
    return true;
  });
}

/**
 * Give every route of a session this status and drop its green routes, in one write (`down`: the
 * 502 page then says the service is stopped and how to bring it up). Nothing when it has no routes.
 */
export async function markSessionRoutes(repoId: string, session: string, status: RouteStatus): Promise<boolean> {
  if (!Object.hasOwn(readTable().repos[repoId]?.sessions ?? {}, session)) return false;
  return updateTable((table) => {
    const entry = table.repos[repoId]?.sessions[session];
    if (!entry) return false;
    entry.routes = entry.routes.filter((r) => !r.green).map((r) => ({ ...r, status }));
    entry.updated = new Date().toISOString();
    return true;
  });
}

/**
 * The URLs a session's services have (or will have once routed), for `${svc.NAME.url}`,
 * `${session.url}` and `--json`: computable before anything runs. Gives the repository its label on
 * first use (a write, once per repository), so that the URL never changes afterwards.
 * `primary` defaults to the first service.
 */
export async function urlsFor(input: {
  repoId: string;
  repoName: string;
  repoRoot?: string;
  session: string;
  services: string[];
  primary?: string;
}): Promise<SessionUrls> {
  const known = readTable().repos[input.repoId];
  const label =
    known && known.name === input.repoName
      ? known.label
      : await updateTable((table) => claimRepo(table, input.repoId, input.repoName, input.repoRoot).label);
  const primary = input.primary ?? input.services[0];
  const routes = input.services.map((service) => ({ service, label: hostLabel(service), target: '', primary: service === primary }));
  const urls = sessionUrls(label, hostLabel(input.session), routes);
  const port = proxyPort();
  for (const r of routes) urls.green[r.service] = proxyUrl(`green.${r.label}.${hostLabel(input.session)}.${label}.${TLD}`, port);
  return urls;
}

/**
 * Point a service's route at a new target in one write: blue-green promotion. The service's green
 * route, if it has one, goes in the same write (green is now the service). Returns the target it
 * had (the old instance, to drain with `waitDrained(previous, { generation })`) and the table's
 * generation that holds the switch. Throws when the session has no route for the service.
 */
export async function switchRoute(
  input: SessionRef & { service: string; target: string; status?: RouteStatus },
): Promise<{ previous: string; generation: number }> {
  const target = normalizeTarget(input.target);
  return updateTable((table) => {
    const entry = table.repos[input.repoId]?.sessions[input.session];
    const route = entry?.routes.find((r) => r.service === input.service && !r.green);
    if (!entry || !route) throw new WorkError(`session ${input.session} has no proxy route for ${input.service}`);
    const previous = route.target;
    route.target = target;
    if (input.status) route.status = input.status;
    entry.routes = entry.routes.filter((r) => !(r.service === input.service && r.green));
    entry.updated = new Date().toISOString();
    return { previous, generation: table.generation + 1 };
  });
}

/**
 * Route `green.<service>.<session>.<repo>.localhost` to a candidate (`target`), or stop routing it
 * (`target: null`: the release was aborted). The service's own route is untouched.
 */
export async function setGreenRoute(
  input: SessionRef & { service: string; target: string | null; status?: RouteStatus },
): Promise<{ url?: string }> {
  const target = input.target === null ? null : normalizeTarget(input.target);
  return updateTable((table) => {
    const repo = table.repos[input.repoId];
    const entry = repo?.sessions[input.session];
    if (!repo || !entry) {
      if (target === null) return {};
      throw new WorkError(`session ${input.session} has no proxy routes: set them before its green route`);
    }
    entry.routes = entry.routes.filter((r) => !(r.service === input.service && r.green));
    entry.updated = new Date().toISOString();
    if (target === null) return {};
    entry.routes.push({
      service: input.service,
      label: hostLabel(input.service),
      target,
      green: true,
      ...(input.status ? { status: input.status } : {}),
    });
    return { url: proxyUrl(`green.${hostLabel(input.service)}.${entry.label}.${repo.label}.${TLD}`, proxyPort()) };
  });
}

/** Every route of the machine, or of one repository, or of one session of it, with its URL. */
export function routesOf(filter: { repoId?: string; session?: string } = {}): ListedRoute[] {
  const port = proxyPort();
  return [...hostRoutes(readTable()).values()]
    .filter(
      (r) => (filter.repoId === undefined || r.repoId === filter.repoId) && (filter.session === undefined || r.session === filter.session),
    )
    .map((r) => ({ ...r, url: proxyUrl(r.host, port) }));
}

/** The table as it is on disk (an empty one when there is none). Throws CorruptStateError. */
export function readTable(file = proxyPaths().routes): RouteFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyTable();
    throw error;
  }
  try {
    return parseTable(text);
  } catch (error) {
    throw new CorruptStateError(file, `the proxy's route table ${file} cannot be read: ${(error as Error).message}`, {
      hint: `move it aside; each session's routes are written again by its next \`sess up\` (the running proxy keeps serving the last good table meanwhile)`,
    });
  }
}

async function updateTable<T>(change: (table: RouteFile) => T): Promise<T> {
  const paths = proxyPaths();
  const lock = await acquireLock(paths.routesLock, { timeoutMs: lockTimeoutMs(), what: "the proxy's route table", maxPollMs: 10 });
  try {
    const table = readTable(paths.routes);
    const result = change(table);
    table.generation += 1;
    // durable: the table is the only record of which repository got which label
    writeJsonAtomic(paths.routes, table, 0o600, { durable: true });
    return result;
  } finally {
    lock.release();
  }
}

/** The repository's entry, made on first use with a label no other repository has. */
function claimRepo(table: RouteFile, repoId: string, repoName: string, root: string | undefined) {
  let repo = table.repos[repoId];
  // a repository whose folder was renamed gets a label from its new name: its URLs say what it is
  if (!repo || repo.name !== repoName) {
    const taken = new Set(Object.entries(table.repos).flatMap(([id, r]) => (id === repoId ? [] : [r.label])));
    repo = { name: repoName, label: uniqueRepoLabel(repoName, repoId, taken), sessions: repo?.sessions ?? Object.create(null) };
    table.repos[repoId] = repo;
  }
  if (root !== undefined) repo.root = root;
  return repo;
}

function sessionUrls(
  repoLabel: string,
  sessionLabel: string,
  routes: Pick<RouteEntry, 'service' | 'label' | 'primary' | 'green'>[],
): SessionUrls {
  const port = proxyPort();
  const base = `${sessionLabel}.${repoLabel}.${TLD}`;
  const urls: SessionUrls = { services: Object.create(null), green: Object.create(null) };
  for (const r of routes) {
    if (r.green) {
      urls.green[r.service] = proxyUrl(`green.${r.label}.${base}`, port);
      continue;
    }
    urls.services[r.service] = proxyUrl(`${r.label}.${base}`, port);
    if (r.primary) urls.url = proxyUrl(base, port);
  }
  return urls;
}

/** Routes as stored: targets normalised, labels made, one primary, no service twice. */
function checkRoutes(session: string, input: RouteInput[]): RouteEntry[] {
  const seen = new Set<string>();
  const routes: RouteEntry[] = input.map((r) => {
    const key = `${r.green ? 'green ' : ''}${r.service}`;
    if (seen.has(key)) throw new WorkError(`session ${session}: two ${r.green ? 'green ' : ''}routes for ${r.service}`);
    seen.add(key);
    if (r.primary && r.green) throw new WorkError(`session ${session}: the green route of ${r.service} cannot be the primary`);
    return {
      service: r.service,
      label: hostLabel(r.service),
      target: normalizeTarget(r.target),
      ...(r.primary ? { primary: true } : {}),
      ...(r.green ? { green: true } : {}),
      ...(r.status ? { status: r.status } : {}),
    };
  });
  const primaries = routes.filter((r) => r.primary);
  if (primaries.length > 1)
    throw new WorkError(`session ${session}: more than one primary route (${primaries.map((r) => r.service).join(', ')})`);
  const first = routes.find((r) => !r.green);
  if (primaries.length === 0 && first) first.primary = true;
  return routes;
}

/** `http://host:port` with nothing after it: the proxy keeps the request's own path. */
export function normalizeTarget(target: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new WorkError(`proxy target ${target} is not a URL`);
  }
  if (url.protocol !== 'http:' || !url.port || (url.pathname !== '/' && url.pathname !== '') || url.search || url.username) {
    throw new WorkError(`proxy target ${target} must be http://HOST:PORT`);
  }
  return `http://${url.host}`;
}
