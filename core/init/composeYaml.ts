// Reading compose files without compose: only for `sess init` on a machine where no compose is
// installed (or compose refused the files). It is an approximation of the few keys init looks at
// (image, build, ports, depends_on, profiles, healthcheck; `extends` and `<<` merges; ${VAR:-default}
// from the environment and .env) and nothing else depends on it: `sess up` always asks compose.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, messageOf } from '../../common/errors.js';
import type { ComposeModel, ComposePort, ComposeService } from '../../adapters/compose.js';
import { dict } from '../../common/records.js';

type Raw = Record<string, unknown>;

/** The services of these files (relative to root), merged in order the way compose roughly does. */
export function readComposeYaml(root: string, files: string[]): ComposeModel {
  const env = { ...dotenvFile(join(root, '.env')), ...process.env };
  const services = dict<ComposeService>(); // service names are the user's: `__proto__` stays a name
  const cache = new Map<string, Raw>();
  const load = (path: string): Raw => {
    let doc = cache.get(path);
    if (!doc) {
      doc = readYamlFile(path, env);
      cache.set(path, doc);
    }
    return doc;
  };
  for (const file of files) {
    const path = join(root, file);
    const fileServices = asRecord(load(path).services);
    for (const name of Object.keys(fileServices)) {
      const resolved = resolveExtends(path, name, load, 0);
      services[name] = Object.hasOwn(services, name) ? mergeService(services[name]!, resolved) : resolved;
    }
  }
  return { services };
}

function readYamlFile(path: string, env: Record<string, string | undefined>): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `cannot be read: ${messageOf(error)}` }]);
  }
  const doc = parseDocument(text, { merge: true });
  if (doc.errors.length)
    throw new ConfigError(
      path,
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0]! })),
    );
  try {
    return asRecord(substitute(doc.toJS({ maxAliasCount: 1000 }), env));
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `could not be read as YAML: ${messageOf(error)}` }]);
  }
}

/** A service with its `extends` chain applied (a base from this file or another), as compose does. */
function resolveExtends(path: string, name: string, load: (path: string) => Raw, depth: number): ComposeService {
  const raw = asRecord(asRecord(load(path).services)[name]);
  const own = normalize(raw, dirname(path));
  const ext = raw.extends;
  if (depth > 10 || ext === undefined) return own;
  const spec = typeof ext === 'string' ? { service: ext } : asRecord(ext);
  if (typeof spec.service !== 'string') return own;
  const basePath = typeof spec.file === 'string' ? join(dirname(path), spec.file) : path;
  return mergeService(resolveExtends(basePath, spec.service, load, depth + 1), own);
}

/** Later wins, except for the lists compose appends to (ports) and the maps it merges (depends_on). */
function mergeService(base: ComposeService, over: ComposeService): ComposeService {
  const merged: ComposeService = { ...base, ...over };
  const ports = [...(base.ports ?? []), ...(over.ports ?? [])];
  if (ports.length) merged.ports = ports;
  if (base.depends_on || over.depends_on) merged.depends_on = { ...base.depends_on, ...over.depends_on };
  return merged;
}

/** The keys init reads, in the shape `docker compose config --format json` gives them. */
function normalize(raw: Raw, dir: string): ComposeService {
  const svc: ComposeService = {};
  if (typeof raw.image === 'string') svc.image = raw.image;
  if (raw.build !== undefined && raw.build !== null) {
    const context = typeof raw.build === 'string' ? raw.build : (asRecord(raw.build).context ?? '.');
    // compose makes a local context absolute; a URL stays as it is
    svc.build = { context: typeof context === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(context) ? join(dir, context) : context };
  }
  if (Array.isArray(raw.ports)) svc.ports = raw.ports.flatMap(parsePort);
  if (Array.isArray(raw.depends_on)) {
    svc.depends_on = Object.fromEntries(raw.depends_on.map((d) => [String(d), { condition: 'service_started' }]));
  } else if (raw.depends_on && typeof raw.depends_on === 'object') {
    svc.depends_on = Object.fromEntries(
      Object.entries(raw.depends_on as Raw).map(([d, how]) => [d, { condition: String(asRecord(how).condition ?? 'service_started') }]),
    );
  }
  if (Array.isArray(raw.profiles)) svc.profiles = raw.profiles.map(String);
  if (raw.healthcheck && typeof raw.healthcheck === 'object') svc.healthcheck = raw.healthcheck as ComposeService['healthcheck'];
  return svc;
}

/**
 * One entry of `ports:`: `3000`, `"8080:80"`, `"127.0.0.1:5432:5432"`, `"[::1]:80:80"`,
 * `"7000-7001:7000-7001/udp"`, or the long syntax.
 */
export function parsePort(entry: unknown): ComposePort[] {
  if (typeof entry === 'number') return [{ target: entry, protocol: 'tcp' }];
  if (entry && typeof entry === 'object') {
    const p = entry as Raw;
    const target = Number(p.target);
    if (!Number.isInteger(target)) return [];
    return [{ target, ...(p.published !== undefined ? { published: String(p.published) } : {}), protocol: String(p.protocol ?? 'tcp') }];
  }
  if (typeof entry !== 'string') return [];
  const [spec, protocol = 'tcp'] = entry.split('/') as [string, string?];
  // an IPv6 host address is in brackets; what is left is [ip:][host:]container
  const parts = spec.replace(/^\[[^\]]*\]:/, 'ip:').split(':');
  const container = parts.pop()!;
  const host = parts.length ? parts.pop()! : '';
  const targets = range(container);
  const published = host === '' ? [] : range(host);
  return targets.map((target, i) => ({
    target,
    ...(published.length ? { published: String(published[i] ?? published[0]) } : {}),
    protocol,
  }));
}

function range(text: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return [];
  const from = Number(m[1]);
  const to = m[2] ? Number(m[2]) : from;
  return to >= from && to - from < 1000 ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : [];
}

/** compose's interpolation, enough for ports and images: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}. */
function substitute(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (all, braced, op, arg, bare) => {
        if (all === '$$') return '$';
        const v = env[braced ?? bare];
        if (op === ':-') return v ? v : arg;
        if (op === '-') return v ?? arg;
        if (op === ':+') return v ? arg : '';
        if (op === '+') return v !== undefined ? arg : '';
        return v ?? '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Raw).map(([k, v]) => [k, substitute(v, env)]));
  }
  return value;
}

/** KEY=value lines of the project's .env (what compose interpolates with), quotes removed. */
function dotenvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

function asRecord(value: unknown): Raw {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : {};
}
