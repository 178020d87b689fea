// The route table: its file format (`$SESS_HOME/proxy/routes.json`) and the host names it gives.
// Read by the proxy program on every change and written by the API in routes.ts. A leaf module (no
// imports at all): the proxy program loads it, and must not load the CLI's modules.

/** What the session's service is doing, as sess last knew it: shown by the 502 page. */
export interface RouteStatus {
  /** `running`, `stopped`, `starting`, `failed`... (the session's service states, or the lead's own) */
  state: string;
  detail?: string;
}

export interface RouteEntry {
  /** the service's name in sess.yaml */
  service: string;
  /** its host label (labels.ts hostLabel) */
  label: string;
  /** where requests go: `http://127.0.0.1:PORT` */
  target: string;
  /** the session's own URL routes here too */
  primary?: boolean;
  /** a blue-green candidate, reached at `green.<service>.<session>.<repo>.localhost` only */
  green?: boolean;
  status?: RouteStatus;
}

export interface SessionEntry {
  label: string;
  routes: RouteEntry[];
  updated: string;
}

export interface RepoEntry {
  /** the main checkout's folder name when the label was given */
  name: string;
  label: string;
  /** the main checkout, for the 502 page's `cd ... && sess up` */
  root?: string;
  sessions: Record<string, SessionEntry>;
}

export interface RouteFile {
  version: 1;
  /** Bumped by every write. The proxy reports the one it serves: a drain waits until it has the switch. */
  generation: number;
  /** By repository id. A repository stays here (with its label) after its last session is gone: labels are stable. */
  repos: Record<string, RepoEntry>;
}

/** One host name of the table, resolved: what the proxy serves and `sess proxy routes` lists. */
export interface HostRoute {
  host: string;
  repoId: string;
  repo: string;
  repoLabel: string;
  root?: string;
  session: string;
  service: string;
  target: string;
  /** `service`: <service>.<session>.<repo>; `primary`: <session>.<repo>; `green`: green.<service>.<session>.<repo> */
  kind: 'service' | 'primary' | 'green';
  status?: RouteStatus;
}

/** What is in flight through the proxy to one target. */
export interface ActiveCounts {
  requests: number;
  websockets: number;
}

/** The proxy's status document, at `http://sess-proxy.localhost:<port>/status` (any path of that host). */
export interface StatusDocument {
  sessProxy: 1;
  pid: number;
  port: number;
  /** the $SESS_HOME whose table it serves: tells our proxy from another user's or a test's */
  home: string;
  started: string;
  /** the table generation being served: a switch is live once this reaches the switch's */
  generation: number;
  hosts: number;
  /** why routes.json is not what is served, when it is not */
  tableError?: string;
  /** per target, what is in flight (targets with nothing in flight are left out) */
  active: Record<string, ActiveCounts>;
}

export const TLD = 'localhost';
/** The proxy's own host name: its status document. One label, so no session's host can be it. */
export const STATUS_HOST = `sess-proxy.${TLD}`;

export function emptyTable(): RouteFile {
  return { version: 1, generation: 0, repos: Object.create(null) };
}

/**
 * Parse the file's text; throws (a plain SyntaxError or TypeError, caught by both readers) on
 * anything that is not a table. Records come back without prototypes: their keys are names of
 * branches, which may be `__proto__`.
 */
export function parseTable(text: string): RouteFile {
  const raw = JSON.parse(text) as Partial<RouteFile>;
  if (!raw || typeof raw !== 'object' || raw.version !== 1 || typeof raw.repos !== 'object' || raw.repos === null) {
    throw new TypeError('not a sess route table (version 1)');
  }
  const repos: Record<string, RepoEntry> = Object.create(null);
  for (const [id, repo] of Object.entries(raw.repos)) {
    if (!repo || typeof repo.label !== 'string' || typeof repo.sessions !== 'object' || repo.sessions === null) {
      throw new TypeError(`repository ${id}: no label or sessions`);
    }
    const sessions: Record<string, SessionEntry> = Object.create(null);
    for (const [name, session] of Object.entries(repo.sessions)) {
      if (!session || typeof session.label !== 'string' || !Array.isArray(session.routes)) {
        throw new TypeError(`session ${name}: no label or routes`);
      }
      for (const r of session.routes) {
        if (!r || typeof r.service !== 'string' || typeof r.label !== 'string' || typeof r.target !== 'string') {
          throw new TypeError(`session ${name}: a route without service, label or target`);
        }
      }
      sessions[name] = session;
    }
    repos[id] = { ...repo, sessions };
  }
  return { version: 1, generation: Number(raw.generation) || 0, repos };
}

/**
 * Every host name of the table. Should two routes make the same host (two names whose labels
 * collide, a 1 in 16 million chance per pair), the first keeps it: the table is in write order,
 * so an existing URL is never taken over by a newer one.
 */
export function hostRoutes(table: RouteFile): Map<string, HostRoute> {
  const hosts = new Map<string, HostRoute>();
  const add = (host: string, route: HostRoute) => {
    if (!hosts.has(host)) hosts.set(host, { ...route, host });
  };
  for (const [repoId, repo] of Object.entries(table.repos)) {
    for (const [session, entry] of Object.entries(repo.sessions)) {
      const base = `${entry.label}.${repo.label}.${TLD}`;
      for (const r of entry.routes) {
        const route: HostRoute = {
          host: '',
          repoId,
          repo: repo.name,
          repoLabel: repo.label,
          root: repo.root,
          session,
          service: r.service,
          target: r.target,
          kind: r.green ? 'green' : 'service',
          status: r.status,
        };
        if (r.green) {
          add(`green.${r.label}.${base}`, route);
          continue;
        }
        add(`${r.label}.${base}`, route);
        if (r.primary) add(base, { ...route, kind: 'primary' });
      }
    }
  }
  return hosts;
}

/**
 * The host name a request asked for, as the table spells it: lowercase, without the port or a
 * trailing dot (`WEB.x.app.localhost.:7377` is `web.x.app.localhost`).
 */
export function normalizeHost(header: string | undefined): string {
  if (!header) return '';
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1); // an IPv6 literal
  const colon = host.lastIndexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.replace(/\.+$/, '');
}

/**
 * The repository label a host names (`app` in `web.x.app.localhost`, and in `app.localhost`, the
 * repository's own index), or undefined for any other host.
 */
export function repoLabelOf(host: string): string | undefined {
  const labels = host.split('.');
  if (labels.length < 2 || labels[labels.length - 1] !== TLD) return undefined;
  return labels[labels.length - 2];
}
