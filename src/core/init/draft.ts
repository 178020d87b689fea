// From findings to a sess.yaml: which compose services become sess services, what runs on the
// host, the names of services and ports, probes, depends_on and the mode; and a comment wherever a
// guess was made. Pure: the scanners read the disk, render.ts writes the YAML.
import type { Mode } from '../config/schema.js';
import { UsageError } from '../../errors.js';
import { own } from '../../records.js';
import type { ComposeFindings, ComposeServiceFinding, HostCandidate, HostFindings } from './findings.js';
import { NamePool, looksLikeStore, probeForCompose, toName } from './guess.js';

export interface DraftInput {
  /** --mode, if given */
  mode?: Mode;
  compose?: ComposeFindings;
  host: HostFindings;
  /** what can run on the host in each compose build context, by context folder */
  buildContexts: Record<string, { candidates: HostCandidate[]; from?: string }>;
}

/** A comment on the key at `path` (above it) or after its value (on the same line). */
export interface Note {
  path: string[];
  before?: string;
  after?: string;
}

export interface Draft {
  mode: Mode;
  /** sess.yaml as data, keys in the order of SPEC's example */
  config: Record<string, unknown>;
  header: string[];
  notes: Note[];
  /** one line per service, for the message of `sess init` */
  summary: string[];
  /** what the user should check, also printed on stderr */
  warnings: string[];
}

interface ServiceDraft {
  compose?: string;
  ports?: Record<string, number>;
  host?: { command: string; cwd: string };
  depends_on?: string[];
  env?: Record<string, string>;
  ready?: Record<string, string>;
}

const ONE_SHOT = 'service_completed_successfully';

export function draftConfig(input: DraftInput): Draft {
  const { compose, host } = input;
  if (!compose && input.mode && input.mode !== 'host') {
    throw new UsageError(`--mode ${input.mode} needs compose files, and none was found (compose.yaml, docker-compose.yml, ...)`, {
      hint: 'leave --mode out: without compose, everything runs on the host',
    });
  }
  const notes: Note[] = [];
  const warnings: string[] = [];
  const left: string[] = [];
  const services: Record<string, ServiceDraft> = {};
  const ports: Record<string, Record<string, never>> = {};
  const serviceNames = new NamePool();
  const portNames = NamePool.forPorts();
  const add = (path: string[], note: Omit<Note, 'path'>) => notes.push({ path, ...note });

  // compose services that sess should not start by name: a one-shot step others wait for (compose
  // runs it before them), and services behind a profile (compose starts those only when asked)
  const oneShots = new Set((compose?.services ?? []).flatMap((s) => s.dependsOn.filter((d) => d.condition === ONE_SHOT).map((d) => d.name)));
  const kept: ComposeServiceFinding[] = [];
  for (const svc of compose?.services ?? []) {
    if (oneShots.has(svc.name)) left.push(`${svc.name}: a one-shot step others wait for (${ONE_SHOT}); compose runs it before them`);
    else if (svc.profiles.length) left.push(`${svc.name}: in profile ${svc.profiles.join(', ')}; add \`${toName(svc.name, 'svc')}: { compose: ${svc.name} }\` to run it`);
    else kept.push(svc);
  }
  const nameOf = new Map<string, string>(kept.map((s) => [s.name, serviceNames.take(toName(s.name, 'svc'))]));

  // a compose service built from this checkout gets a host definition when its build context says
  // how to run it (hybrid and host modes run it there); the candidate is then not a service of its own
  const consumed = new Set<string>();
  const onHost: string[] = [];
  const attached: string[] = [];
  for (const svc of kept) {
    const name = nameOf.get(svc.name)!;
    const draft: ServiceDraft = { compose: svc.name };
    services[name] = draft;
    const [first, ...rest] = svc.ports;
    if (first !== undefined) {
      draft.ports = {};
      draft.ports[portNames.take(name)] = first;
      for (const target of rest) draft.ports[portNames.take(`${name}-${target}`)] = target;
      for (const p of Object.keys(draft.ports)) ports[p] = {};
    }
    const runner = svc.build ? hostRunner(svc, input, consumed) : undefined;
    if (runner) {
      consumed.add(runner.source);
      onHost.push(name);
      const firstPort = draft.ports ? Object.keys(draft.ports)[0] : undefined;
      draft.host = { command: withPort(runner, firstPort && `\${ports.${firstPort}}`), cwd: runner.cwd };
      attached.push(`${name} on the host: ${runner.source}${runner.source.includes('package.json') ? ` (${pmText(input.host)})` : ''}`);
      add(['services', name, 'host'], {
        before:
          `guessed from ${runner.source}, for ${input.mode === 'hybrid' ? 'hybrid mode' : '`sess up --host ' + name + '` or hybrid mode'};\n` +
          "there it gets none of compose's environment: add what it needs under env",
      });
      warnings.push(...runner.warnings);
    } else if (svc.build !== undefined && input.mode === 'hybrid') {
      left.push(`${svc.name} stays in compose in hybrid mode: nothing in ${svc.build ?? 'its build context'} says how to run it on the host`);
    }
    const deps = svc.dependsOn.map((d) => nameOf.get(d.name)).filter((d): d is string => d !== undefined);
    if (deps.length) {
      draft.depends_on = deps;
      add(['services', name, 'depends_on'], { after: "from compose's depends_on" });
    }
    if (draft.host && first !== undefined) {
      // not ${ports.NAME}: ${svc.NAME.port} follows placement, so the container (which listens on
      // the container port) gets that one, and the host process its leased port
      draft.env = { PORT: `\${svc.${name}.port}` };
      add(['services', name, 'env'], { after: 'the container port in compose, the leased port on the host' });
    }
    if (first !== undefined) {
      const firstPort = Object.keys(draft.ports!)[0]!;
      let probe = probeForCompose(svc, first);
      if (probe.kind === 'tcp' && runner?.web && !looksLikeStore(svc)) probe = { kind: 'http', path: '/', reason: `a web server: it runs ${runner.source}` };
      draft.ready = probe.kind === 'http' ? { http: `http://127.0.0.1:\${ports.${firstPort}}${probe.path}` } : { tcp: `\${ports.${firstPort}}` };
      add(['services', name, 'ready'], { after: `guessed: ${probe.reason}` });
    }
    const what = svc.build !== undefined ? `built from ${svc.build ?? 'elsewhere'}` : svc.image ? `image ${svc.image}` : 'compose';
    add(['services', name], { before: `compose service ${svc.name} (${what})` });
    if (svc.otherPorts.length) {
      add(['services', name], { before: `not named (sess names TCP ports): ${svc.otherPorts.join(', ')}; sess leases their host ports itself` });
    }
  }

  // what runs on the host and is not in compose
  const stores = kept.filter((s) => looksLikeStore(s)).map((s) => nameOf.get(s.name)!);
  for (const candidate of host.candidates) {
    if (consumed.has(candidate.source)) continue;
    const name = serviceNames.take(candidate.name);
    const draft: ServiceDraft = {};
    services[name] = draft;
    const port = candidate.listens ? portNames.take(name) : undefined;
    if (port) {
      ports[port] = {};
      draft.ports = { [port]: candidate.containerPort };
    }
    draft.host = { command: withPort(candidate, port && `\${ports.${port}}`), cwd: candidate.cwd };
    add(['services', name, 'host'], { before: `guessed from ${candidate.source}${candidate.source.includes('package.json') ? ` (${pmText(host)})` : ''}` });
    if (stores.length) {
      draft.depends_on = stores;
      add(['services', name, 'depends_on'], { after: `guessed; reach them at \${svc.NAME.host}:\${svc.NAME.port}` });
    }
    if (port) {
      draft.env = { PORT: `\${ports.${port}}` };
      add(['services', name, 'env'], { after: 'its leased port: the command must listen on $PORT' });
      draft.ready = candidate.web ? { http: `http://127.0.0.1:\${ports.${port}}/` } : { tcp: `\${ports.${port}}` };
      add(['services', name, 'ready'], { after: `guessed: ${candidate.web ? 'a web server' : 'it listens on $PORT'}; point it at a health path if / is not one` });
    } else {
      add(['services', name, 'host'], { before: 'no port: nothing says it listens on one' });
    }
    warnings.push(...candidate.warnings);
  }
  if (compose?.approximate) warnings.unshift(`the compose files were read with ${compose.readWith}: check the services against them`);
  for (const w of warnings) add(['services'], { before: `check: ${w}` });

  if (Object.keys(services).length === 0) {
    throw new UsageError(
      compose
        ? `nothing in ${compose.files.join(', ')} for sess to run:\n${left.map((l) => `  - ${l}`).join('\n')}`
        : 'nothing found to run: no compose file, no package.json dev or start script, no Procfile, no Makefile dev target',
      { hint: 'run sess init at the root of a project that has one of them, or write sess.yaml by hand (see the README, "Configuration")' },
    );
  }

  const mode: Mode = input.mode ?? (compose ? 'container' : 'host');
  const config: Record<string, unknown> = { version: 1, mode };
  add(['mode'], { after: modeNote(mode, Boolean(compose)) });
  if (compose) {
    config.compose = { files: compose.files };
  }
  config.ports = ports;
  add(['ports'], { before: 'named ports, leased per session (the same on every resume)' });
  config.services = services;
  if (mode === 'hybrid' && onHost.length) {
    config.hybrid = { host: onHost };
    add(['hybrid'], { before: 'built in compose, run on the host in hybrid mode (sess up --container NAME moves one back)' });
  }
  const summary = Object.entries(services).map(([name, svc]) => {
    const where = svc.compose && (mode === 'container' || (mode === 'hybrid' && !onHost.includes(name)) || (mode === 'host' && !svc.host));
    if (where) return `${name}: in compose (service ${svc.compose})`;
    return `${name}: on the host, \`${svc.host!.command}\`${svc.host!.cwd !== '.' ? ` in ${svc.host!.cwd}` : ''}`;
  });
  const standalone = host.candidates.some((c) => !consumed.has(c.source));
  const header = headerLines(input, { left, attached, standalone });
  return { mode, config, header, notes, summary, warnings };
}

/** The host command of a compose service built here: from its build context, else a root Procfile process of its name. */
function hostRunner(svc: ComposeServiceFinding, input: DraftInput, consumed: Set<string>): HostCandidate | undefined {
  const inContext = svc.build ? (own(input.buildContexts, svc.build)?.candidates ?? []) : [];
  const free = inContext.filter((c) => !consumed.has(c.source));
  const chosen = free.find((c) => c.name === svc.name) ?? free.find((c) => c.web && c.listens) ?? free[0];
  if (chosen) return chosen;
  return input.host.candidates.find((c) => c.cwd === '.' && c.name === svc.name && c.source.startsWith('Procfile') && !consumed.has(c.source));
}

function withPort(candidate: HostCandidate, expr: string | undefined): string {
  return expr && candidate.portArgs ? `${candidate.command} ${candidate.portArgs(expr)}` : candidate.command;
}

function pmText(host: HostFindings): string {
  const pm = host.packageManager;
  return pm ? `${pm.name}, from ${pm.from}` : 'npm';
}

function modeNote(mode: Mode, compose: boolean): string {
  if (mode === 'container') return 'compose: definitions in compose, the rest on the host';
  if (mode === 'hybrid') return 'hybrid.host on the host, the rest in compose';
  return compose ? 'host: definitions on the host, the rest in compose' : 'no compose files: everything on the host';
}

function headerLines(input: DraftInput, used: { left: string[]; attached: string[]; standalone: boolean }): string[] {
  const lines = ['sess.yaml, written by `sess init` from what this repository has:'];
  const { compose, host } = input;
  const { left } = used;
  if (compose) {
    lines.push(`  compose: ${compose.files.join(', ')}, read with ${compose.readWith}`);
    lines.push(...compose.notes.map((n) => `    ${n}`));
  }
  lines.push(...used.attached.map((a) => `  ${a}, in its build context`));
  if (used.standalone) {
    for (const source of host.sources) lines.push(`  host: ${source}${host.packageManager && /package\.json/.test(source) ? ` (${pmText(host)})` : ''}`);
    lines.push(...host.notes.map((n) => `    ${n}`));
  }
  if (left.length) lines.push('Left out:', ...left.map((l) => `  ${l}`));
  lines.push(
    'Comments say where a guess was made: check those, commit the file (sess up reads sess.yaml from',
    'the branch), then `sess up <branch>`. Every key: `sess config schema`.',
  );
  return lines;
}
