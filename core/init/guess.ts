// The guesses of `sess init` that need no file: is a service a web server or a data store, what to
// call it, which names are still free. Pure functions, so every guess is unit-tested.
import { portVariable } from '../../config/interpolate.js';

/** Names (of services or images) that say "database, cache, broker": probed with tcp. */
const STORE =
  /(^|[/_.-])(postgres(ql)?|postgis|pg|mysql|mariadb|mongo(db)?|redis|valkey|keydb|dragonfly|memcached?|rabbitmq|kafka|zookeeper|cassandra|scylla|cockroach(db)?|nats|db|database|cache|queue|broker|pgredis)([/:_.-]|\d|$)/i;
/** Service names that say "web server". */
const WEB_NAMES =
  /^(web|www|app|api|frontend|front|backend|server|site|ui|client|nginx|node|httpd|caddy|proxy|gateway|admin|dashboard|docs)([_-].*)?$/i;
/** Images that serve HTTP. */
const WEB_IMAGES = /(^|\/)(nginx|httpd|caddy|node|traefik|apache|php|python|ruby|deno|bun)([:@]|$)/i;
/** Container ports web servers listen on (not 443: a probe speaks plain HTTP). */
const WEB_PORTS = new Set([80, 3000, 3001, 4000, 4200, 4321, 5000, 5173, 8000, 8008, 8080, 8081, 8888, 9000]);

const NAME = /^[a-zA-Z][a-zA-Z0-9_-]*$/;

export interface ProbeGuess {
  kind: 'http' | 'tcp';
  /** the path of an http probe */
  path: string;
  /** why, for the comment */
  reason: string;
}

/** How to tell that a compose service is ready on its first port. */
export function probeForCompose(service: { name: string; image?: string; healthUrl?: string }, port: number): ProbeGuess {
  const health = healthPath(service.healthUrl, port);
  if (health) return { kind: 'http', path: health, reason: 'its healthcheck asks this URL' };
  const image = service.image ?? '';
  if (STORE.test(service.name)) return { kind: 'tcp', path: '', reason: `a data store, from its name ${service.name}` };
  if (image && STORE.test(image)) return { kind: 'tcp', path: '', reason: `a data store, from its image ${image}` };
  if (WEB_NAMES.test(service.name)) return { kind: 'http', path: '/', reason: `a web server, from its name ${service.name}` };
  if (image && WEB_IMAGES.test(image)) return { kind: 'http', path: '/', reason: `a web server, from its image ${image}` };
  if (WEB_PORTS.has(port)) return { kind: 'http', path: '/', reason: `a web server, from its port ${port}` };
  return { kind: 'tcp', path: '', reason: 'nothing says it speaks HTTP' };
}

/** Does a compose service look like a dependency (database, cache) rather than an app? */
export function looksLikeStore(service: { name: string; image?: string }): boolean {
  return STORE.test(service.name) || (service.image !== undefined && STORE.test(service.image));
}

/** Is a name (a Procfile process, a package folder) one a web server would have? */
export function looksLikeWeb(name: string): boolean {
  return WEB_NAMES.test(name);
}

/**
 * The path of a healthcheck URL that reaches this container port (`http://localhost:3000/health`
 * for port 3000; no port in the URL is port 80), or undefined.
 */
export function healthPath(url: string | undefined, port: number): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:') return undefined;
  const urlPort = parsed.port === '' ? 80 : Number(parsed.port);
  return urlPort === port ? parsed.pathname + parsed.search : undefined;
}

/** The first http(s) URL in a healthcheck's test (a list or a shell string). */
export function urlInHealthcheck(test: unknown): string | undefined {
  const text = Array.isArray(test) ? test.map(String).join(' ') : typeof test === 'string' ? test : '';
  return /https?:\/\/[^\s"'`;|&)]+/.exec(text)?.[0];
}

/**
 * A service or port name sess accepts (a letter, then letters, digits, _ or -) made from any name:
 * `my.app` -> `my-app`, `1st` -> `s-1st`, `@acme/web` -> `web`.
 */
export function toName(raw: string, fallback: string): string {
  const base = raw
    .replace(/^@[^/]*\//, '')
    .replace(/[^a-zA-Z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (base === '') return fallback;
  return NAME.test(base) ? base : `${fallback}-${base}`.replace(/-+/g, '-');
}

/**
 * Hands out names that are unique, and for ports also unique as `SESS_PORT_<NAME>` (`web-1` and
 * `web_1` are one variable, which sess refuses): the wanted name, else name-2, name-3...
 */
export class NamePool {
  private readonly taken = new Set<string>();

  constructor(private readonly variable: (name: string) => string = (n) => n.toLowerCase()) {}

  static forPorts(): NamePool {
    return new NamePool(portVariable);
  }

  take(wanted: string): string {
    for (let i = 1; ; i++) {
      const name = i === 1 ? wanted : `${wanted}-${i}`;
      if (!this.taken.has(this.variable(name))) {
        this.taken.add(this.variable(name));
        return name;
      }
    }
  }
}
