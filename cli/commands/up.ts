import type { Command } from 'commander';
import { collect, collectList, collectPort, parseMode, withSignals } from '../options.js';
import { UsageError } from '../../common/errors.js';
import { printJson, printOut, stderrProgress } from '../output.js';

export function register(program: Command): void {
  program
    .command('up')
    .description('create or resume the session of a branch and return when every service is ready')
    .argument('[branch]', 'branch (or session name) to bring up')
    .option('--mode <mode>', 'container | hybrid | host (sticks to the session)', parseMode)
    .option('--base <ref>', 'where a new branch starts')
    .option('--pr <number>', "a pull request sandbox: session pr-N runs the pull request's head")
    .option('--remote <name>', 'the remote of --pr (default origin)')
    .option('--host <service>', 'run this service on the host for this session (repeatable)', collect, [])
    .option('--container <service>', 'run this service in compose for this session (repeatable)', collect, [])
    .option('--only <services>', 'start only these services (comma-separated) and what they depend on', collectList, [])
    .option('--skip <services>', 'start everything but these services (comma-separated) and what depends on them', collectList, [])
    .option('--port <name=port>', 'lease exactly this port for a named port (repeatable; sticks to the session)', collectPort, {})
    .option('--remote-host <user@box[:port]>', "run the compose services on that machine's Docker engine, over ssh (sticks)")
    .option('--context <name>', 'run them on the machine of this Docker context (an ssh:// one; sticks)')
    .option('--adopt', 'use the worktree of the branch that sess did not make (never deleted by sess)')
    .option('--json', 'print the session as JSON on stdout')
    .action(async (branch: string | undefined, opts) => {
      const { up } = await import('../../core/up/up.js');
      const { parsePrNumber } = await import('../../core/sessions/sandbox.js');
      if (opts.remote && opts.pr === undefined) throw new UsageError('--remote goes with --pr');
      if (opts.remoteHost && opts.context) throw new UsageError('--remote-host and --context: name one');
      const result = await withSignals((signal) =>
        up({
          cwd: process.cwd(),
          ...(branch ? { target: branch } : {}),
          ...(opts.pr !== undefined ? { pr: parsePrNumber(opts.pr), remote: opts.remote } : {}),
          mode: opts.mode,
          base: opts.base,
          host: opts.host,
          container: opts.container,
          only: opts.only,
          ports: opts.port,
          adopt: !!opts.adopt,
          ...(opts.remoteHost || opts.context ? { engine: opts.remoteHost ? { host: opts.remoteHost } : { context: opts.context } } : {}),
          skip: opts.skip,
          signal,
          progress: stderrProgress(),
        }),
      );
      if (opts.json) return printJson(result.view);
      const { renderUp } = await import('../render.js');
      printOut(renderUp(result.view, result.urls));
    });
}
