// The whole of sess.yaml as a zod schema: container and hybrid keys included, so the JSON Schema
// generated from it (`sess config schema`, schema/sess.schema.json) is complete.
import { z } from 'zod';

const NAME = /^[a-zA-Z][a-zA-Z0-9_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGKILL', 'SIGUSR1', 'SIGUSR2'] as const;

const name = (what: string) => z.string().regex(NAME, `a ${what} name: a letter, then letters, digits, _ or -`);

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'a path inside the repository (relative, without ..)',
  });

/** A path sess writes into the worktree: never into git's own files there (`.git` is a gitfile). */
const worktreePath = relativePath.refine((p) => !p.split('/').includes('.git'), {
  message: "a path outside .git (sess never writes into git's own files)",
});

const seconds = z.number().positive();

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const envMap = z.record(z.string().regex(ENV_NAME, 'an environment variable name'), envValue);

const Port = z
  .strictObject({
    prefer: z.number().int().min(1).max(65535).optional().describe('try this port first; any free port otherwise'),
  })
  .describe('a named port, leased per session and kept across resumes');

const Ready = z
  .strictObject({
    http: z.string().optional().describe('GET this URL; any 2xx or 3xx (redirects not followed) is ready'),
    tcp: z.union([z.string(), z.number().int()]).optional().describe('a port (or host:port) that accepts a TCP connection'),
    cmd: z.string().optional().describe('a shell command that exits 0 when ready'),
    log: z.string().optional().describe("a regular expression matched against the service's output"),
    timeout: seconds.default(60).describe('seconds before the service counts as failed'),
    interval: seconds.default(0.25).describe('longest wait between attempts, in seconds (the first attempts come sooner)'),
  })
  .refine((r) => [r.http, r.tcp, r.cmd, r.log].filter((v) => v !== undefined).length === 1, {
    message: 'exactly one of http, tcp, cmd, log',
  })
  .describe('when the service counts as ready');

const Host = z
  .strictObject({
    command: z.string().min(1).describe('run through /bin/sh in the worktree'),
    cwd: relativePath.default('.').describe('working folder, relative to the worktree'),
  })
  .describe('how the service runs as a host process');

const Stop = z.strictObject({
  signal: z.enum(SIGNALS).default('SIGTERM').describe('sent to the process group'),
  grace: z.number().min(0).default(10).describe('seconds to wait before SIGKILL'),
});

export const ServiceSchema = z.strictObject({
  compose: z.string().min(1).optional().describe("the service's name in the compose files"),
  ports: z
    .record(name('port'), z.number().int().min(1).max(65535))
    .default({})
    .describe('named port -> container port (published on 127.0.0.1 only)'),
  host: Host.optional(),
  depends_on: z.array(name('service')).default([]),
  env: envMap.default({}).describe('for this service only, on top of the top-level env'),
  ready: Ready.optional(),
  stop: Stop.prefault({}),
  replace: z
    .enum(['recreate', 'blue-green'])
    .default('recreate')
    .describe(
      'how a changed service is replaced on re-up: recreate (stop old, then start new) | blue-green (start new beside old, switch its route, drain and stop old)',
    ),
  promote: z
    .strictObject({
      gate: z.enum(['auto', 'manual']).default('auto').describe('manual: the release waits for `sess promote`'),
      delay: z.number().min(0).default(0).describe('seconds the new instance must stay ready before it is promoted'),
    })
    .prefault({})
    .describe('blue-green only: when the new instance takes over'),
  proxy: z
    .union([z.literal(false), z.strictObject({ port: name('port').describe('the named port its stable URL routes to') })])
    .optional()
    .describe(
      'its stable URL through the local proxy; false for none (default: services with an http ready probe, on their first named port)',
    ),
});

const hookList = z.array(z.string()).default([]);

export const ConfigSchema = z
  .strictObject({
    version: z.literal(1).describe('format version of this file'),
    mode: z.enum(['container', 'hybrid', 'host']).default('host'),
    worktree: z
      .strictObject({
        dir: z.string().min(1).default('../{repo}.sess').describe('parent folder of the worktrees; {repo} = repo folder name'),
        base: z.string().min(1).optional().describe("where a new branch starts (default: the main checkout's HEAD)"),
        include: z.array(worktreePath).default([]).describe('ignored paths copied into a new worktree (copy-on-write where the fs allows)'),
        link: z.array(worktreePath).default([]).describe('paths symlinked from the main checkout into the worktree'),
      })
      .prefault({}),
    compose: z
      .strictObject({
        files: z.array(relativePath).min(1).default(['compose.yaml']).describe('base compose files, relative to the repo root'),
        shared_volumes: z
          .array(z.string().min(1))
          .default([])
          .describe('external volumes that sessions may mount at the same time (otherwise the second up is refused)'),
      })
      .optional(),
    ports: z
      .record(
        name('port'),
        Port.nullable().transform((p) => p ?? {}),
      )
      .default({}),
    env: envMap.default({}).describe('for every service and hook, and written to the env file'),
    env_from: z
      .array(relativePath)
      .default([])
      .describe(
        "the project's own env files (paths in the worktree; missing ones skipped, later ones win), read into every service's and hook's env below `env` and the service's own `env`",
      ),
    env_file: worktreePath.default('.env.sess').describe('written into the worktree (mode 0600)'),
    services: z
      .record(name('service'), ServiceSchema)
      .default({})
      .describe(
        'the services of a session; in container mode every service of compose.files runs even when not listed here, and a listed one refines it (ports, env, ready)',
      ),
    remote: z
      .strictObject({
        host: z
          .string()
          .regex(
            /^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/,
            'user@box or user@box:port',
          )
          .optional()
          .describe('run the compose services on the Docker engine of this machine, over ssh (container mode)'),
        context: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, 'a Docker context name')
          .optional()
          .describe('or: the Docker context (an ssh:// one) whose machine runs them'),
        dir: z
          .string()
          .regex(/^(?:\/|~\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]*$/, 'an absolute path or ~/path without ..')
          .default('~/.cache/sess/worktrees')
          .describe("where the worktrees are copied on that machine (bind mounts mount the copy); ~/ is the remote user's home"),
        socket: z
          .string()
          .regex(/^\/[A-Za-z0-9._/-]+$/, 'an absolute path')
          .default('/var/run/docker.sock')
          .describe("the Docker engine's socket on that machine"),
      })
      .refine((r) => !(r.host && r.context), { message: 'host and context: name one' })
      .optional()
      .describe('a remote Docker engine for the compose services (README, "Running on another machine")'),
    hybrid: z
      .strictObject({ host: z.array(name('service')).default([]).describe('services that run on the host in hybrid mode') })
      .optional(),
    hooks: z
      .strictObject({
        pre_up: hookList.describe(
          'before anything is created, in the main checkout (no ports yet: ${ports.*}, ${svc.*} and ${session.url} are refused); a failure aborts up with nothing changed',
        ),
        post_create: hookList.describe('only after a worktree was created (not on resume)'),
        pre_spawn: hookList.describe('before host services start'),
        post_up: hookList.describe('after every service is ready'),
        pre_down: hookList.describe('before services stop'),
        post_down: hookList.describe('after services stopped (down, rm); a failure is reported as a warning, down still completes'),
      })
      .prefault({}),
    proxy: z
      .strictObject({
        primary: name('service').optional().describe("the service behind the session's own URL (default: the first routed one)"),
      })
      .optional()
      .describe('stable URLs through the local proxy'),
    sandboxes: z
      .strictObject({
        max: z.number().int().positive().optional(),
        ttl_days: z.number().positive().optional(),
      })
      .optional()
      .describe('pull request sandboxes (`sess up --pr N`)'),
  })
  .describe('sess.yaml: how sess runs this repository, one copy per branch');

export type Config = z.output<typeof ConfigSchema>;
export type ServiceConfig = Config['services'][string];
export type Mode = Config['mode'];

export function jsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' });
}
