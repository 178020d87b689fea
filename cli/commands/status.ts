import { InvalidArgumentError, type Command } from 'commander';
import { printJson, printOut, out, stderrProgress } from '../output.js';
import { targetOf } from '../target.js';

const DEFAULT_WAIT_SECONDS = 60;

function parseSeconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected seconds (put the session before --wait)');
  return Number(value);
}

export function register(program: Command): void {
  program
    .command('status')
    .description('one session, service by service; exit 0 only when every service meant to run is running and ready')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .option('--wait [seconds]', `wait until every service is running and ready (default ${DEFAULT_WAIT_SECONDS}s)`, parseSeconds)
    .option('--json', 'print the session as JSON on stdout')
    .action(async (session: string | undefined, opts: { wait?: number | true; json?: boolean }) => {
      const { readiness, waitForReady, notReady } = await import('../../core/sessions/preflight.js');
      const target = await targetOf(session, 'status');
      const view =
        opts.wait === undefined
          ? await readiness(process.cwd(), target)
          : await waitForReady(process.cwd(), target, opts.wait === true ? DEFAULT_WAIT_SECONDS : opts.wait, stderrProgress());
      process.exitCode = view.ready ? 0 : 1;
      if (opts.json) return printJson(view);
      const { renderStatus } = await import('../render.js');
      printOut(renderStatus(view));
      printOut(view.ready ? `${out.green('ready')}: every service is running and ready` : `${out.red('not ready')}: ${notReady(view)}`);
    });
}
