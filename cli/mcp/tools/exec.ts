// exec over MCP: the command is an argument array, run as it is (no shell ever reads it), with the
// session env in its worktree; output captured and capped, a deadline, the exit code returned. A
// command that fails is the tool's answer (`exitCode`), not a failure of the tool.
import { z } from 'zod';
import { defineTool, schemas } from '../tool.js';

const MiB = 1024 * 1024;

export const exec = defineTool({
  name: 'exec',
  title: 'Run a command in a session',
  description:
    'Run a command in the worktree of a session with the session env (its ports, SESS_* variables and the env ' +
    'of sess.yaml). `command` is an argument array run without a shell: ["npm", "test"], or ["sh", "-c", "..."] ' +
    'if you want a shell. stdin is empty. Returns exitCode, stdout and stderr; each stream is capped at ' +
    '`maxOutputBytes` (its middle dropped and marked, `omittedBytes` says how much), and the command (with ' +
    'everything it started) is killed after `timeoutSeconds` (`timedOut` true, exitCode 137).',
  input: z.strictObject({
    session: schemas.session(),
    command: z.array(schemas.text()).min(1).describe('the program and its arguments, e.g. ["npm", "run", "test"]'),
    timeoutSeconds: z.number().positive().max(3600).default(120).describe('kill the command after this long'),
    maxOutputBytes: z
      .number()
      .int()
      .min(1024)
      .max(4 * MiB)
      .default(64 * 1024)
      .describe('keep at most this much of each of stdout and stderr'),
  }),
  annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async run(args, ctx) {
    const { execCaptured } = await import('../../../core/sessions/captured.js');
    const r = await execCaptured({
      cwd: ctx.cwd,
      target: args.session,
      argv: args.command,
      timeoutMs: Math.round(args.timeoutSeconds * 1000),
      maxOutputBytes: args.maxOutputBytes,
      signal: ctx.signal,
    });
    const notes = [
      r.timedOut ? `killed after the ${args.timeoutSeconds}s timeout` : '',
      r.omittedBytes.stdout ? `stdout capped: ${r.omittedBytes.stdout} bytes omitted` : '',
      r.omittedBytes.stderr ? `stderr capped: ${r.omittedBytes.stderr} bytes omitted` : '',
    ].filter(Boolean);
    const summary =
      `${JSON.stringify(r.command)} in ${r.session} exited with ${r.exitCode} after ${(r.durationMs / 1000).toFixed(1)}s` +
      (notes.length ? ` (${notes.join('; ')})` : '');
    return { document: r, summary };
  },
});
