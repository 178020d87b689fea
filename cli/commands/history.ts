import type { Command } from 'commander';
import { printJson, printOut } from '../output.js';

export function register(program: Command): void {
  program
    .command('history')
    .description('every up of a session and how it ended')
    .argument('<session>')
    .option('--json', 'print the releases as JSON on stdout, newest last')
    .action(async (session: string, opts) => {
      const { history } = await import('../../core/sessions/inspect.js');
      const releases = await history(process.cwd(), session);
      if (opts.json) return printJson(releases);
      const { renderHistory } = await import('../render.js');
      printOut(renderHistory(releases));
    });
}
