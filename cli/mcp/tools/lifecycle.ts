// The tools that change sessions: up, down, restart, rm, promote. Each calls the core function its CLI command calls,
// under the same session lock, with the call's abort signal and a progress that reaches the client.
import { z } from 'zod';
import { UsageError } from '../../../common/errors.js';
import type { SessionView } from '../../../core/sessions/view.js';
import { own } from '../../../common/records.js';
import { defineTool, schemas } from '../tool.js';

export const up = defineTool({
  name: 'up',
  title: 'Bring a session up',
  description:
    'Create or resume the session of a git branch (its own worktree, leased ports, host processes and compose ' +
    'services) and return when every service is ready. Give `branch` (a new branch starts from `base`, default ' +
    "the main checkout's HEAD) or `pr` (a pull request sandbox, session pr-N). Resuming a running, unchanged " +
    'session is a no-op; a changed service is replaced. On failure or cancellation everything this call created ' +
    'is rolled back. Returns the session: status, worktree (run your edits and commands there), ports and ' +
    'services. `mode`, `host`, `container` and `ports` stick to the session for later ups; `only` and `skip` ' +
    'apply to this call (the services left out are left as they are).',
  input: z.strictObject({
    branch: schemas.ref().optional().describe('branch (or session name) to bring up; omit when giving `pr`'),
    pr: z.number().int().min(1).max(2147483647).optional().describe('a pull request number: its sandbox session pr-N'),
    remote: schemas.ref().optional().describe('the remote of `pr` (default origin)'),
    mode: z.enum(['container', 'hybrid', 'host']).optional().describe("where services run (default: sess.yaml's mode)"),
    base: schemas.ref().optional().describe('where a new branch starts (a branch, tag or commit)'),
    host: z.array(schemas.service()).optional().describe('services to run on the host in this session'),
    container: z.array(schemas.service()).optional().describe('services to run in compose in this session'),
    only: z.array(schemas.service()).optional().describe('start only these services and what they depend on'),
    skip: z.array(schemas.service()).optional().describe('start everything but these services and what depends on them'),
    ports: z
      .record(schemas.ref(), z.number().int().min(1).max(65535))
      .optional()
      .describe('named port -> the exact port to lease (sticks to the session); taken: the call fails naming the holder'),
    adopt: z
      .boolean()
      .default(false)
      .describe('the branch is checked out in a worktree sess did not make: use that folder (sess never deletes it)'),
    remote_host: z
      .string()
      .optional()
      .describe("user@box[:port]: run the compose services on that machine's Docker engine over ssh (sticks), as --remote-host"),
    context: z.string().optional().describe('a Docker context (ssh://) whose machine runs them, as --context'),
  }),
  annotations: { destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    if (args.remote && args.pr === undefined) throw new UsageError('`remote` goes with `pr`');
    if (args.remote_host !== undefined && args.context !== undefined) throw new UsageError('`remote_host` and `context`: name one');
    const { up } = await import('../../../core/up/up.js');
    const result = await up({
      cwd: ctx.cwd,
      ...(args.branch !== undefined ? { target: args.branch } : {}),
      ...(args.pr !== undefined ? { pr: args.pr, ...(args.remote ? { remote: args.remote } : {}) } : {}),
      ...(args.mode ? { mode: args.mode } : {}),
      ...(args.base ? { base: args.base } : {}),
      host: args.host ?? [],
      container: args.container ?? [],
      only: args.only ?? [],
      skip: args.skip ?? [],
      ...(args.ports ? { ports: args.ports } : {}),
      adopt: args.adopt,
      ...(args.remote_host !== undefined || args.context !== undefined
        ? { engine: args.remote_host !== undefined ? { host: args.remote_host } : { context: args.context! } }
        : {}),
      signal: ctx.signal,
      progress: ctx.progress,
    });
    const how = result.noop ? ' (already up and unchanged: nothing was restarted)' : '';
    return { document: result.view, summary: describeSession(result.view, result.urls) + how };
  },
});

export const down = defineTool({
  name: 'down',
  title: 'Stop a session',
  description:
    'Stop every service of a session. Its worktree, port leases and volumes are kept: `up` brings it back on ' +
    'the same ports. Waits for another command working on the session to finish first.',
  input: z.strictObject({
    session: schemas.session().optional(),
    all: z
      .boolean()
      .default(false)
      .describe(
        'instead, every session of this repository, as `sess down --all --json`: {sessions: [...], failed: [{name, error}]}; one that fails does not stop the others',
      ),
  }),
  annotations: { destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    if (args.all === (args.session !== undefined)) throw new UsageError('give a session or `all`, one of the two');
    const { down, downAll } = await import('../../../core/sessions/down.js');
    if (args.all) {
      const result = await downAll({ cwd: ctx.cwd, progress: ctx.progress });
      const names = result.sessions.map((v) => v.name);
      const summary =
        (names.length ? `down: ${names.join(', ')}` : 'no session went down') +
        (result.failed.length ? `; failed: ${result.failed.map((f) => `${f.name} (${f.error.message})`).join(', ')}` : '');
      return { document: result, summary };
    }
    const view = await down({ cwd: ctx.cwd, target: args.session!, progress: ctx.progress });
    return { document: view, summary: `${view.name} is down: services stopped; worktree, ports and volumes kept` };
  },
});

export const rm = defineTool({
  name: 'rm',
  title: 'Remove a session',
  description:
    'Remove a session: stop its services, delete its worktree, release its ports (and delete the branch sess ' +
    'created, if it holds no commit of its own). Refused when the worktree has uncommitted changes or commits ' +
    'no other branch or remote has, saying which, unless `force` is true: with force that work is LOST. ' +
    'Compose volumes are kept unless `volumes` is true.',
  input: z.strictObject({
    session: schemas.session(),
    force: z.boolean().default(false).describe('remove even with uncommitted changes or unpushed commits (they are lost)'),
    volumes: z.boolean().default(false).describe("also delete the session's compose volumes (their data is lost)"),
  }),
  annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, ctx) {
    const { rm } = await import('../../../core/sessions/rm.js');
    const result = await rm({ cwd: ctx.cwd, target: args.session, force: args.force, volumes: args.volumes, progress: ctx.progress });
    return { document: result, summary: `removed session ${result.name}: ${result.removed.join('; ') || 'nothing left to remove'}` };
  },
});

export const restart = defineTool({
  name: 'restart',
  title: 'Restart services of a session',
  description:
    'Replace services of an existing session (all when `services` is omitted) with the definition sess.yaml ' +
    'gives them now, even when nothing changed: a release with trigger restart. The other services are left ' +
    'as they are; ports stay. A restarted service that fails gets its previous instance back (the call fails). ' +
    'Returns the session, as `up` does.',
  input: z.strictObject({
    session: schemas.session(),
    services: z.array(schemas.service()).optional().describe('only these services (default: all)'),
  }),
  annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, ctx) {
    const { up } = await import('../../../core/up/up.js');
    const result = await up({
      cwd: ctx.cwd,
      target: args.session,
      restart: args.services ?? [],
      signal: ctx.signal,
      progress: ctx.progress,
    });
    return { document: result.view, summary: describeSession(result.view, result.urls) };
  },
});

export const promote = defineTool({
  name: 'promote',
  title: 'Promote (or abort) a blue-green release',
  description:
    'A service with `replace: blue-green` and a manual gate waits after `up`: its new instance runs beside the ' +
    "old one, on its own green URL, while the service's stable URL still goes to the old one (the session's " +
    '`awaiting_promotion` lists them). `promote` switches the stable URL to the new instance, lets what was in ' +
    'flight to the old one finish, and stops it. With `abort` true, the new instances are stopped instead and the ' +
    'old ones serve on. `services` limits it to some of the waiting services (default: all). Refused (usage ' +
    'error) when nothing waits. A promotion that has begun switching is finished even if the call is cancelled.',
  input: z.strictObject({
    session: schemas.session(),
    services: z.array(schemas.service()).optional().describe('only these waiting services (default: every one that waits)'),
    abort: z.boolean().default(false).describe('stop the waiting new instances; the old ones serve on'),
  }),
  annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, ctx) {
    const { promote } = await import('../../../core/sessions/promote.js');
    const result = await promote({
      cwd: ctx.cwd,
      target: args.session,
      services: args.services ?? [],
      abort: args.abort,
      signal: ctx.signal,
      progress: ctx.progress,
    });
    const what = result.promoted.length ? `promoted ${result.promoted.join(', ')}` : `aborted ${result.aborted.join(', ')}`;
    return { document: result, summary: `${result.session.name}: ${what}. ${describeSession(result.session)}` };
  },
});

/** One line a person or an agent reads first: what runs where. */
export function describeSession(view: SessionView, urls: Record<string, string> = {}): string {
  const head = `${view.name} is ${view.status} (${view.mode} mode, branch ${view.branch}; worktree ${view.worktree})`;
  const services = view.services.map((s) => {
    const where =
      own(urls, s.name) ??
      Object.values(s.ports)
        .map((p) => `127.0.0.1:${p}`)
        .join(' ');
    return `${s.name} ${s.state}${where ? ` on ${where}` : ''} (${s.runtime}${s.pid ? ` pid ${s.pid}` : ''})`;
  });
  return services.length ? `${head}: ${services.join(', ')}` : head;
}
