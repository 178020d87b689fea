import type { Command } from 'commander';
import { printJson, printOut } from '../output.js';

export function register(program: Command): void {
  program
    .command('ls')
    .description('every session of this repository: status, mode, branch, ports')
    .option('--json', 'print the sessions as a JSON array on stdout')
    .option('--size', 'also the disk use of each session (worktree and volumes; walks them, so slower)')
    .action(async (opts) => {
      const { ls } = await import('../../core/sessions/inspect.js');
      const views = await ls(process.cwd(), { size: !!opts.size });
      if (opts.json) return printJson(views);
      const { renderList } = await import('../render.js');
      printOut(renderList(views));
    });
}
