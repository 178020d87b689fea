// The tools that only read: ls, status, logs, env, history. None takes the session lock, as their
// CLI commands don't (state files are replaced whole, a reader always sees a whole one).
import { z } from 'zod';
import { UsageError } from '../../../common/errors.js';
import { defineTool, schemas } from '../tool.js';
import { describeSession } from './lifecycle.js';

const readOnly = { readOnlyHint: true, openWorldHint: false } as const;

export const ls = defineTool({
  name: 'ls',
  title: 'List sessions',
  description:
    'Every session of this repository: name, branch, status (creating, up, down, partial, failed), mode, ' +
    'worktree, ports, services, when it was last up (and the pull request of a sandbox). Start here to see what runs.',
  input: z.strictObject({
    size: z.boolean().default(false).describe('also the disk use of each session (walks its worktree and volumes: slower)'),
    all: z
      .boolean()
      .default(false)
      .describe(
        'instead, every session of every repository on this machine that holds ports (what holds my ports?), as `sess ls --all --json`: repo, repoId, name, status, ports (each lease)',
      ),
  }),
  annotations: readOnly,
  async run(args, ctx) {
    if (args.all) {
      if (args.size) throw new UsageError('`size` lists the sessions of this repository only: give `all` or `size`');
      const { lsAll } = await import('../../../core/sessions/lsAll.js');
      const sessions = await lsAll();
      const summary = sessions.length
        ? `${sessions.length} session(s) hold ports on this machine: ${sessions.map((s) => `${s.name} of ${s.repo} (${s.status})`).join(', ')}`
        : 'no sessions hold ports on this machine';
      return { document: sessions, listKey: 'sessions', summary };
    }
    const { ls } = await import('../../../core/sessions/inspect.js');
    const sessions = await ls(ctx.cwd, { size: args.size });
    const summary = sessions.length
      ? `${sessions.length} session(s): ${sessions.map((s) => `${s.name} (${s.status})`).join(', ')}`
      : 'no sessions in this repository (start one with the up tool)';
    return { document: sessions, listKey: 'sessions', summary };
  },
});

export const status = defineTool({
  name: 'status',
  title: 'Session status',
  description:
    'One session, service by service: status, worktree, ports, and for each service its runtime (host or ' +
    'compose), state (running, stopped, exited, unhealthy) and pid, and `ready`: true only when every service ' +
    'meant to run is running and passes its ready probe now (the same document as `sess status --json`).',
  input: z.strictObject({ session: schemas.session() }),
  annotations: readOnly,
  async run(args, ctx) {
    const { readiness, notReady } = await import('../../../core/sessions/preflight.js');
    const view = await readiness(ctx.cwd, args.session);
    return { document: view, summary: `${describeSession(view)}; ${view.ready ? 'ready' : `not ready: ${notReady(view)}`}` };
  },
});

export const logs = defineTool({
  name: 'logs',
  title: 'Service logs',
  description:
    "The last lines of the logs of a session's services (host processes and compose containers), each line " +
    'prefixed by its service ("web | ..."). The text is capped at `maxBytes`: when more came, its middle is ' +
    'dropped, marked in the text, and `omittedBytes` says how much; ask for fewer services or a smaller `tail`.',
  input: z.strictObject({
    session: schemas.session(),
    services: z.array(schemas.service()).default([]).describe('only these services (default: all)'),
    tail: z.number().int().min(0).max(10_000).default(200).describe('the last N lines of each service'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(64 * 1024)
      .describe('at most this many bytes of text'),
  }),
  annotations: readOnly,
  async run(args, ctx) {
    const { logsCaptured } = await import('../../../core/sessions/captured.js');
    const result = await logsCaptured({
      cwd: ctx.cwd,
      target: args.session,
      services: args.services,
      tail: args.tail,
      maxBytes: args.maxBytes,
      signal: ctx.signal,
    });
    const capped = result.omittedBytes
      ? `; capped at ${result.limits.maxBytes} bytes, ${result.omittedBytes} bytes omitted from the middle`
      : '';
    const summary = `logs of ${result.session} (${result.services.join(', ')}), last ${result.tail} lines each: ${result.bytes} bytes${capped}`;
    return { document: result, summary };
  },
});

export const env = defineTool({
  name: 'env',
  title: 'Session environment',
  description:
    'The environment of a session, as its services and hooks get it (SESS_SESSION, SESS_PORT_<NAME>, the env ' +
    'of sess.yaml with addresses resolved). The exec tool already runs commands with it.',
  input: z.strictObject({ session: schemas.session() }),
  annotations: readOnly,
  async run(args, ctx) {
    const { env } = await import('../../../core/sessions/inspect.js');
    const vars = JSON.parse(await env(ctx.cwd, args.session, 'json')) as Record<string, string>;
    return { document: vars, summary: `${Object.keys(vars).length} variables` };
  },
});

export const history = defineTool({
  name: 'history',
  title: 'Session history',
  description:
    'Every up of a session, oldest first: when, trigger (fresh, resume), how it ended (completed, rolled_back, ' +
    'failed, partially_failed), what happened to each service, and the error of one that failed.',
  input: z.strictObject({ session: schemas.session() }),
  annotations: readOnly,
  async run(args, ctx) {
    const { history } = await import('../../../core/sessions/inspect.js');
    const releases = await history(ctx.cwd, args.session);
    const last = releases.at(-1);
    const summary = last ? `${releases.length} up(s); the last (#${last.id}, ${last.trigger}) ended ${last.status}` : 'no ups recorded';
    return { document: releases, listKey: 'releases', summary };
  },
});
