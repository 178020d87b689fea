import type { Command } from 'commander';
import { printJson, printOut } from '../output.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('one session, service by service')
    .argument('<session>')
    .option('--json', 'print the session as JSON on stdout')
    .action(async (session: string, opts) => {
      const { status } = await import('../../core/sessions/inspect.js');
      const view = await status(process.cwd(), session);
      if (opts.json) return printJson(view);
      const { renderStatus } = await import('../render.js');
      printOut(renderStatus(view));
    });
}
