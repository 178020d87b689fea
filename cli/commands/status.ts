import type { Command } from 'commander';
import { printJson, printOut } from '../output.js';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('one session, service by service')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .option('--json', 'print the session as JSON on stdout')
    .action(async (session: string | undefined, opts) => {
      const { status } = await import('../../core/sessions/inspect.js');
      const view = await status(process.cwd(), await targetOf(session, 'status'));
      if (opts.json) return printJson(view);
      const { renderStatus } = await import('../render.js');
      printOut(renderStatus(view));
    });
}
