import type { Command } from 'commander';
import { printJson, printOut } from '../output.js';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('history')
    .description('every up of a session and how it ended')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .option('--json', 'print the releases as JSON on stdout, newest last')
    .action(async (session: string | undefined, opts) => {
      const { history } = await import('../../core/sessions/inspect.js');
      const releases = await history(process.cwd(), await targetOf(session, 'history'));
      if (opts.json) return printJson(releases);
      const { renderHistory } = await import('../render.js');
      printOut(renderHistory(releases));
    });
}
