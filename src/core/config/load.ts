// Config: parse (YAML) -> validate (zod) -> rules that span keys. All of it before anything changes.
import { parseDocument } from 'yaml';
import { ConfigSchema, type Config } from './schema.js';
import { ConfigError } from '../../errors.js';
import { badReferences } from './interpolate.js';

type Problem = { path: string; message: string };

export function parseConfig(text: string, file: string): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        // the yaml library repeats the position at the end of its first line: said once, in path
        message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  const result = ConfigSchema.safeParse(doc.toJS() ?? {});
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

  for (const [svcName, svc] of Object.entries(config.services)) {
    const at = `services.${svcName}`;
    if (!svc.host && !svc.compose) {
      problems.push({ path: at, message: 'needs a host: or a compose: definition (or both)' });
    }
    for (const portName of Object.keys(svc.ports)) {
      if (!ports.has(portName)) {
        problems.push({ path: `${at}.ports.${portName}`, message: `no port named "${portName}" in the top-level ports` });
      } else if (owner.has(portName)) {
        problems.push({ path: `${at}.ports.${portName}`, message: `port "${portName}" already belongs to service "${owner.get(portName)}"` });
      } else owner.set(portName, svcName);
    }
    if (Object.keys(svc.ports).length > 0) servicesWithPorts.add(svcName);
    for (const dep of svc.depends_on) {
      if (!services.has(dep)) problems.push({ path: `${at}.depends_on`, message: `no service named "${dep}"` });
      if (dep === svcName) problems.push({ path: `${at}.depends_on`, message: 'a service cannot depend on itself' });
    }
  }
  const cycle = findCycle(config);
  if (cycle) problems.push({ path: 'services', message: `depends_on has a cycle: ${cycle.join(' -> ')}` });

  for (const name of config.hybrid?.host ?? []) {
    if (!services.has(name)) problems.push({ path: 'hybrid.host', message: `no service named "${name}"` });
    else if (!config.services[name]!.host) {
      problems.push({ path: 'hybrid.host', message: `service "${name}" has no host: definition` });
    }
  }

  const known = { ports, servicesWithPorts, services };
  const check = (path: string, text: string | number | undefined) => {
    if (typeof text !== 'string') return;
    for (const message of badReferences(text, known)) problems.push({ path, message });
  };
  for (const [k, v] of Object.entries(config.env)) check(`env.${k}`, v);
  for (const [hook, list] of Object.entries(config.hooks)) list.forEach((cmd, i) => check(`hooks.${hook}.${i}`, cmd));
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

function findCycle(config: Config): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of config.services[name]?.depends_on ?? []) {
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
