// Config: parse (YAML) -> validate (zod) -> rules that span keys. All of it before anything changes.
import { LineCounter, isScalar, parseDocument, visit, type Document } from 'yaml';
import { ConfigSchema, type Config } from './schema.js';
import { ConfigError, messageOf } from '../common/errors.js';
import { hasOwn, own } from '../common/records.js';
import { badReferences, portVariable } from './interpolate.js';
import { routedServices } from './routing.js';
import { CONFIG_MAX_ALIASES, checkConfigSize } from './limits.js';

type Problem = { path: string; message: string };

export function parseConfig(text: string, file: string): Config {
  checkConfigSize(Buffer.byteLength(text), file);
  const result = ConfigSchema.safeParse(readYaml(text, file) ?? {});
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.'),
        message: describeIssue(issue),
      })),
    );
  }
  const problems = crossKeyRules(result.data);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return result.data;
}

/**
 * The YAML text as plain data; every way it can fail is a ConfigError naming the file. Duplicate keys
 * are our own check: the yaml library's `uniqueKeys` compares every key of a map with every other
 * (a 2 MiB map took 25 s, 32 MiB ran for minutes).
 */
export function readYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const problems: Problem[] = doc.errors.map((e) => ({
    path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
    // the yaml library repeats the position at the end of its first line: said once, in path
    message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
  }));
  if (problems.length === 0) problems.push(...badKeys(doc).map((k) => ({ path: at(k.offset), message: k.message })));
  if (problems.length > 0) throw new ConfigError(file, problems);
  try {
    return doc.toJS();
  } catch (error) {
    // toJS refuses an alias bomb (billion laughs) with a ReferenceError; whatever else it throws
    // is a file we cannot read either
    const message = /alias count/i.test(messageOf(error))
      ? 'its aliases expand too much (an anchor referred to over and over: a YAML alias bomb?)'
      : `could not be read as YAML: ${messageOf(error)}`;
    throw new ConfigError(file, [{ path: '', message }]);
  }
}

/**
 * What the yaml library would read slowly or lose: a key a map repeats (one Set per map, so linear;
 * keys count as they will once read, `1` and "1" are one key), `__proto__` as a key (assigning it
 * sets an object's prototype, so it would vanish without a word), and more aliases than any config
 * needs (the library looks up each alias among every anchor and alias before it: quadratic).
 */
function badKeys(doc: Document): { offset: number; message: string }[] {
  const found: { offset: number; message: string }[] = [];
  let aliases = 0;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue; // aliases and collections as keys: rare, and never ours
        const key = String(pair.key.value);
        const offset = pair.key.range?.[0] ?? 0;
        if (seen.has(key)) found.push({ offset, message: 'Map keys must be unique' });
        else if (key === '__proto__') found.push({ offset, message: '__proto__ cannot be a key' });
        seen.add(key);
      }
    },
    Alias(_key, alias) {
      if (++aliases === CONFIG_MAX_ALIASES + 1) {
        found.push({ offset: alias.range?.[0] ?? 0, message: `more than ${CONFIG_MAX_ALIASES} aliases (*name): sess reads no more` });
      }
    },
  });
  return found;
}

function describeIssue(issue: { code: string; message: string }): string {
  const nested = (issue as { issues?: { message: string }[] }).issues;
  if (issue.code === 'invalid_key' && nested?.[0]) return `bad key: ${nested[0].message}`;
  if (issue.code === 'invalid_union') return 'expected a string, a number or a boolean';
  return issue.message;
}

function crossKeyRules(config: Config): Problem[] {
  const problems: Problem[] = [];
  const services = new Set(Object.keys(config.services));
  const ports = new Set(Object.keys(config.ports));
  const servicesWithPorts = new Set<string>();
  const owner = new Map<string, string>();
  if (services.size === 0 && !config.compose && config.mode !== 'container') {
    problems.push({
      path: 'services',
      message: 'at least one service (or mode: container, which runs every service of the compose files)',
    });
  }

  for (const [svcName, svc] of Object.entries(config.services)) {
    const at = `services.${svcName}`;
    if (!svc.host && !svc.compose) {
      problems.push({ path: at, message: 'needs a host: or a compose: definition (or both)' });
    }
    for (const portName of Object.keys(svc.ports)) {
      if (!ports.has(portName)) {
        problems.push({ path: `${at}.ports.${portName}`, message: `no port named "${portName}" in the top-level ports` });
      } else if (owner.has(portName)) {
        problems.push({
          path: `${at}.ports.${portName}`,
          message: `port "${portName}" already belongs to service "${owner.get(portName)}"`,
        });
      } else owner.set(portName, svcName);
    }
    if (Object.keys(svc.ports).length > 0) servicesWithPorts.add(svcName);
    for (const dep of svc.depends_on) {
      if (!services.has(dep)) problems.push({ path: `${at}.depends_on`, message: `no service named "${dep}"` });
      if (dep === svcName) problems.push({ path: `${at}.depends_on`, message: 'a service cannot depend on itself' });
    }
  }
  problems.push(...portVariableClashes(config));
  const cycle = findCycle(config);
  if (cycle) problems.push({ path: 'services', message: `depends_on has a cycle: ${cycle.join(' -> ')}` });

  for (const name of config.hybrid?.host ?? []) {
    if (!services.has(name)) problems.push({ path: 'hybrid.host', message: `no service named "${name}"` });
    else if (!own(config.services, name)!.host) {
      problems.push({ path: 'hybrid.host', message: `service "${name}" has no host: definition` });
    }
  }

  problems.push(...routingRules(config));
  const known = { ports, servicesWithPorts, services, routed: new Set(Object.keys(routedServices(config))) };
  const check = (path: string, text: string | number | undefined) => {
    if (typeof text !== 'string') return;
    for (const message of badReferences(text, known)) problems.push({ path, message });
  };
  for (const [k, v] of Object.entries(config.env)) check(`env.${k}`, v);
  for (const [hook, list] of Object.entries(config.hooks)) list.forEach((cmd, i) => check(`hooks.${hook}.${i}`, cmd));
  // pre_up runs before the session has ports or routes: nothing of them to interpolate
  config.hooks.pre_up.forEach((cmd, i) => {
    for (const m of cmd.matchAll(/\$\{(?:ports\.|svc\.|session\.url\})[^}]*\}?/g)) {
      problems.push({ path: `hooks.pre_up.${i}`, message: `${m[0]}: pre_up runs before ports are leased and routes made` });
    }
  });
  for (const [svcName, svc] of Object.entries(config.services)) {
    const at = `services.${svcName}`;
    for (const [k, v] of Object.entries(svc.env)) check(`${at}.env.${k}`, v);
    check(`${at}.host.command`, svc.host?.command);
    for (const probe of ['http', 'tcp', 'cmd', 'log'] as const) check(`${at}.ready.${probe}`, svc.ready?.[probe]);
    if (svc.ready?.log !== undefined) {
      try {
        new RegExp(svc.ready.log);
      } catch (error) {
        problems.push({ path: `${at}.ready.log`, message: `not a regular expression: ${(error as Error).message}` });
      }
    }
  }
  return problems;
}

/** Routes name a port of their own service; the primary is routed; blue-green needs a route. */
function routingRules(config: Config): Problem[] {
  const problems: Problem[] = [];
  const routed = routedServices(config);
  for (const [svcName, svc] of Object.entries(config.services)) {
    const at = `services.${svcName}`;
    if (svc.proxy && !hasOwn(svc.ports, svc.proxy.port)) {
      problems.push({
        path: `${at}.proxy.port`,
        message: `"${svc.proxy.port}" is not a named port of ${svcName} (its ports: ${Object.keys(svc.ports).join(', ') || 'none'})`,
      });
    }
    if (svc.replace === 'blue-green' && !hasOwn(routed, svcName)) {
      problems.push({
        path: `${at}.replace`,
        message:
          'blue-green switches the stable URL from the old instance to the new one: the service needs a route (proxy: { port: NAME }, or an http ready probe)',
      });
    }
    if (svc.replace === 'blue-green' && !svc.host) {
      problems.push({
        path: `${at}.replace`,
        message: 'blue-green runs the new instance beside the old one on the host: the service needs a host: definition',
      });
    }
  }
  const primary = config.proxy?.primary;
  if (primary !== undefined && !hasOwn(routed, primary)) {
    problems.push({
      path: 'proxy.primary',
      message: `service "${primary}" has no stable URL (routed: ${Object.keys(routed).join(', ') || 'none'})`,
    });
  }
  return problems;
}

/** `web-1` and `web_1` would both be SESS_PORT_WEB_1: one would silently hide the other. */
function portVariableClashes(config: Config): Problem[] {
  const problems: Problem[] = [];
  const first = new Map<string, string>();
  for (const name of Object.keys(config.ports)) {
    const variable = portVariable(name);
    const earlier = first.get(variable);
    if (earlier === undefined) first.set(variable, name);
    else problems.push({ path: `ports.${name}`, message: `ports "${earlier}" and "${name}" both become ${variable}` });
  }
  return problems;
}

function findCycle(config: Config): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of own(config.services, name)?.depends_on ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(config.services)) {
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}
