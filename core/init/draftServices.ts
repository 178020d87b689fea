// One sess service at a time, for draft.ts: a compose service (named ports, probe, depends_on, and a
// host definition when its build context says how to run it), or a command found on the host.
import type { Mode } from '../../config/schema.js';
import type { ComposeServiceFinding, HostCandidate, HostFindings } from './findings.js';
import { NamePool, looksLikeStore, probeForCompose } from './guess.js';

export interface ServiceDraft {
  compose?: string;
  ports?: Record<string, number>;
  host?: { command: string; cwd: string };
  depends_on?: string[];
  env?: Record<string, string>;
  ready?: Record<string, string>;
}

/** A comment on the key at `path` (above it) or after its value (on the same line). */
export interface Note {
  path: string[];
  before?: string;
  after?: string;
}

/** What the services drafted so far share: names taken, ports, comments, warnings. */
export class DraftState {
  readonly services: Record<string, ServiceDraft> = {};
  readonly ports: Record<string, Record<string, never>> = {};
  readonly notes: Note[] = [];
  readonly warnings: string[] = [];
  readonly serviceNames = new NamePool();
  private readonly portNames = NamePool.forPorts();

  constructor(
    readonly mode: Mode | undefined,
    readonly host: HostFindings,
  ) {}

  note(path: string[], note: Omit<Note, 'path'>): void {
    this.notes.push({ path, ...note });
  }

  port(wanted: string): string {
    const name = this.portNames.take(wanted);
    this.ports[name] = {};
    return name;
  }

  /** `npm, from package-lock.json`, for comments on package scripts */
  packageManager(source: string): string {
    const pm = this.host.packageManager;
    return source.includes('package.json') ? ` (${pm ? `${pm.name}, from ${pm.from}` : 'npm'})` : '';
  }
}

/**
 * A compose service as a sess service named `name`; `runner`, when its build context says how to run
 * it on the host. `names` maps compose names to sess names (depends_on on services left out is dropped).
 */
export function draftComposeService(
  state: DraftState,
  name: string,
  svc: ComposeServiceFinding,
  runner: HostCandidate | undefined,
  names: Map<string, string>,
): void {
  const draft: ServiceDraft = { compose: svc.name };
  state.services[name] = draft;
  const at = (key: string) => ['services', name, key];
  const [first, ...rest] = svc.ports;
  const firstPort = first === undefined ? undefined : state.port(name);
  if (firstPort)
    draft.ports = { [firstPort]: first!, ...Object.fromEntries(rest.map((target) => [state.port(`${name}-${target}`), target])) };

  if (runner) {
    draft.host = { command: withPort(runner, firstPort && `\${ports.${firstPort}}`), cwd: runner.cwd };
    const when =
      state.mode === 'container' || state.mode === undefined ? `with \`sess up --host ${name}\` or in hybrid mode` : 'in this mode';
    state.note(at('host'), {
      before:
        `on the host ${when}: guessed from ${runner.source};\n` +
        "there it gets none of compose's environment: add what it needs under env",
    });
    if (!firstPort)
      state.warnings.push(`${name}: compose publishes no port of it, so on the host it gets no $PORT of its own: give it a named port`);
    state.warnings.push(...runner.warnings);
  }
  const deps = svc.dependsOn.map((d) => names.get(d.name)).filter((d): d is string => d !== undefined);
  if (deps.length) {
    draft.depends_on = deps;
    state.note(at('depends_on'), { after: "from compose's depends_on" });
  }
  if (runner && firstPort) {
    // not ${ports.NAME}: ${svc.NAME.port} follows placement, so the container gets the container
    // port it listens on (as before), and the host process its leased port
    draft.env = { PORT: `\${svc.${name}.port}` };
    state.note(at('env'), { after: 'the container port in compose, the leased port on the host' });
  }
  if (firstPort) {
    let probe = probeForCompose(svc, first!);
    if (probe.kind === 'tcp' && runner?.web && !looksLikeStore(svc))
      probe = { kind: 'http', path: '/', reason: `a web server: it runs ${runner.source}` };
    draft.ready =
      probe.kind === 'http' ? { http: `http://127.0.0.1:\${ports.${firstPort}}${probe.path}` } : { tcp: `\${ports.${firstPort}}` };
    state.note(at('ready'), { after: `guessed: ${probe.reason}` });
  }
  const what = svc.build !== undefined ? `built from ${svc.build ?? 'elsewhere'}` : svc.image ? `image ${svc.image}` : 'compose';
  state.note(['services', name], { before: `compose service ${svc.name} (${what})` });
  if (svc.otherPorts.length) {
    state.note(['services', name], {
      before: `not named (sess names TCP ports): ${svc.otherPorts.join(', ')}; sess leases their host ports itself`,
    });
  }
}

/** Something found on the host, as a host-only service: a port wired into PORT, a probe, the data stores it likely needs. */
export function draftHostService(state: DraftState, candidate: HostCandidate, stores: string[]): string {
  const name = state.serviceNames.take(candidate.name);
  const draft: ServiceDraft = {};
  state.services[name] = draft;
  const at = (key: string) => ['services', name, key];
  const port = candidate.listens ? state.port(name) : undefined;
  if (port) draft.ports = { [port]: candidate.containerPort };
  draft.host = { command: withPort(candidate, port && `\${ports.${port}}`), cwd: candidate.cwd };
  state.note(at('host'), { before: `guessed from ${candidate.source}${state.packageManager(candidate.source)}` });
  if (stores.length) {
    draft.depends_on = stores;
    state.note(at('depends_on'), { after: `guessed; reach them at \${svc.NAME.host}:\${svc.NAME.port}` });
  }
  if (port) {
    draft.env = { PORT: `\${ports.${port}}` };
    state.note(at('env'), { after: 'its leased port: the command must listen on $PORT' });
    draft.ready = candidate.web ? { http: `http://127.0.0.1:\${ports.${port}}/` } : { tcp: `\${ports.${port}}` };
    state.note(at('ready'), {
      after: `guessed: ${candidate.web ? 'a web server' : 'it listens on $PORT'}; point it at a health path if / is not one`,
    });
  } else {
    state.note(at('host'), { before: 'no port: nothing says it listens on one' });
  }
  state.warnings.push(...candidate.warnings);
  return name;
}

function withPort(candidate: HostCandidate, expr: string | undefined): string {
  return expr && candidate.portArgs ? `${candidate.command} ${candidate.portArgs(expr)}` : candidate.command;
}
