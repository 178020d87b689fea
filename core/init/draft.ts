// From findings to a sess.yaml: which compose services become sess services, what runs on the
// host, the names of services and ports, probes, depends_on and the mode; and a comment wherever a
// guess was made. Pure: the scanners read the disk, render.ts writes the YAML.
import type { Mode } from '../../config/schema.js';
import { UsageError } from '../../common/errors.js';
import { own } from '../../common/records.js';
import type { ComposeFindings, ComposeServiceFinding, HostCandidate, HostFindings } from './findings.js';
import { looksLikeStore, toName } from './guess.js';
import { DraftState, draftComposeService, draftHostService, type Note } from './draftServices.js';

export type { Note };

export interface DraftInput {
  /** --mode, if given */
  mode?: Mode;
  compose?: ComposeFindings;
  host: HostFindings;
  /** what can run on the host in each compose build context, by context folder */
  buildContexts: Record<string, { candidates: HostCandidate[]; from?: string }>;
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

const ONE_SHOT = 'service_completed_successfully';

export function draftConfig(input: DraftInput): Draft {
  const { compose, host } = input;
  if (!compose && input.mode && input.mode !== 'host') {
    throw new UsageError(`--mode ${input.mode} needs compose files, and none was found (compose.yaml, docker-compose.yml, ...)`, {
      hint: 'leave --mode out: without compose, everything runs on the host',
    });
  }
  const state = new DraftState(input.mode, host);
  const left: string[] = [];

  // compose services that sess should not start by name: a one-shot step others wait for (compose
  // runs it before them), and services behind a profile (compose starts those only when asked)
  const oneShots = new Set(
    (compose?.services ?? []).flatMap((s) => s.dependsOn.filter((d) => d.condition === ONE_SHOT).map((d) => d.name)),
  );
  const kept: ComposeServiceFinding[] = [];
  for (const svc of compose?.services ?? []) {
    if (oneShots.has(svc.name)) left.push(`${svc.name}: a one-shot step others wait for (${ONE_SHOT}); compose runs it before them`);
    else if (svc.profiles.length)
      left.push(
        `${svc.name}: in profile ${svc.profiles.join(', ')}; add \`${toName(svc.name, 'svc')}: { compose: ${svc.name} }\` to run it`,
      );
    else kept.push(svc);
  }
  const names = new Map<string, string>(kept.map((s) => [s.name, state.serviceNames.take(toName(s.name, 'svc'))]));

  // a compose service built from this checkout gets a host definition when its build context says
  // how to run it; what it runs is then not a service of its own
  const consumed = new Set<string>();
  const onHost: string[] = [];
  const attached: string[] = [];
  for (const svc of kept) {
    const name = names.get(svc.name)!;
    const runner = svc.build ? hostRunner(svc, input, consumed) : undefined;
    if (runner) {
      consumed.add(runner.source);
      onHost.push(name);
      attached.push(`${name} on the host: ${runner.source}${state.packageManager(runner.source)}, in its build context`);
    } else if (svc.build !== undefined && input.mode && input.mode !== 'container') {
      left.push(`${svc.name} stays in compose: nothing in ${svc.build ?? 'its build context'} says how to run it on the host`);
    }
    draftComposeService(state, name, svc, runner, names);
  }
  const stores = kept.filter((s) => looksLikeStore(s)).map((s) => names.get(s.name)!);
  const standalone = host.candidates.filter((c) => !consumed.has(c.source));
  for (const candidate of standalone) draftHostService(state, candidate, stores);

  const { services, warnings } = state;
  if (Object.keys(services).length === 0) {
    throw new UsageError(
      compose
        ? `nothing in ${compose.files.join(', ')} for sess to run:\n${left.map((l) => `  - ${l}`).join('\n')}`
        : 'nothing found to run: no compose file, no package.json dev or start script, no Procfile, no Makefile dev target',
      { hint: 'run sess init at the root of a project that has one of them, or write sess.yaml by hand (see the README, "Configuration")' },
    );
  }
  if (compose?.approximate) warnings.unshift(`the compose files were read with ${compose.readWith}: check the services against them`);
  for (const w of warnings) state.note(['services'], { before: `check: ${w}` });

  const mode: Mode = input.mode ?? (compose ? 'container' : 'host');
  const config: Record<string, unknown> = { version: 1, mode };
  state.note(['mode'], { after: modeNote(mode, Boolean(compose)) });
  if (compose) config.compose = { files: compose.files };
  config.ports = state.ports;
  state.note(['ports'], { before: 'named ports, leased per session (the same on every resume)' });
  config.services = services;
  if (mode === 'hybrid' && onHost.length) {
    config.hybrid = { host: onHost };
    state.note(['hybrid'], { before: 'built in compose, run on the host in hybrid mode (sess up --container NAME moves one back)' });
  }
  const summary = Object.entries(services).map(([name, svc]) => {
    const inCompose =
      svc.compose && (mode === 'container' || (mode === 'hybrid' && !onHost.includes(name)) || (mode === 'host' && !svc.host));
    if (inCompose) return `${name}: in compose (service ${svc.compose})`;
    return `${name}: on the host, \`${svc.host!.command}\`${svc.host!.cwd !== '.' ? ` in ${svc.host!.cwd}` : ''}`;
  });
  const header = headerLines(input, { left, attached, standalone: standalone.length > 0 });
  return { mode, config, header, notes: state.notes, summary, warnings };
}

/** The host command of a compose service built here: from its build context, else a root Procfile process of its name. */
function hostRunner(svc: ComposeServiceFinding, input: DraftInput, consumed: Set<string>): HostCandidate | undefined {
  const inContext = svc.build ? (own(input.buildContexts, svc.build)?.candidates ?? []) : [];
  const free = inContext.filter((c) => !consumed.has(c.source));
  const chosen = free.find((c) => c.name === svc.name) ?? free.find((c) => c.web && c.listens) ?? free[0];
  if (chosen) return chosen;
  return input.host.candidates.find(
    (c) => c.cwd === '.' && c.name === svc.name && c.source.startsWith('Procfile') && !consumed.has(c.source),
  );
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
  lines.push(...used.attached.map((a) => `  ${a}`));
  if (used.standalone) {
    const pm = host.packageManager;
    for (const source of host.sources)
      lines.push(`  host: ${source}${pm && /package\.json/.test(source) ? ` (${pm.name}, from ${pm.from})` : ''}`);
    lines.push(...host.notes.map((n) => `    ${n}`));
  }
  if (left.length) lines.push('Left out:', ...left.map((l) => `  ${l}`));
  lines.push(
    'Comments say where a guess was made: check those, commit the file (sess up reads sess.yaml from',
    'the branch), then `sess up <branch>`. Every key: `sess config schema`.',
  );
  return lines;
}
