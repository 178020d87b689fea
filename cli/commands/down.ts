import type { Command } from 'commander';
import { printJson, stderrProgress } from '../output.js';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('down')
    .description('stop the services of a session; keep worktree, volumes and port leases')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .option('--json', 'print the session as JSON on stdout')
    .action(async (session: string | undefined, opts) => {
      const { down } = await import('../../core/sessions/down.js');
      const view = await down({ cwd: process.cwd(), target: await targetOf(session, 'down'), progress: stderrProgress() });
      if (opts.json) printJson(view);
    });
}
