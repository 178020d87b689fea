import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { printJson, printOut } from '../output.js';

export function register(program: Command): void {
  program
    .command('ls')
    .description('every session of this repository: status, mode, branch, ports')
    .option('--json', 'print the sessions as a JSON array on stdout')
    .option('--all', 'every session of every repository on this machine that holds port leases: what holds my ports')
    .option('--size', 'also the disk use of each session (worktree and volumes; walks them, so slower)')
    .action(async (opts: { all?: boolean; json?: boolean; size?: boolean }) => {
      if (opts.all) {
        if (opts.size)
          throw new UsageError('--size lists the sessions of this repository only', { hint: 'sess ls --all, or sess ls --size' });
        const { lsAll } = await import('../../core/sessions/lsAll.js');
        const sessions = await lsAll();
        if (opts.json) return printJson(sessions);
        const { renderMachine } = await import('../render.js');
        return printOut(renderMachine(sessions));
      }
      const { ls } = await import('../../core/sessions/inspect.js');
      const views = await ls(process.cwd(), { size: !!opts.size });
      if (opts.json) return printJson(views);
      const { renderList } = await import('../render.js');
      printOut(renderList(views));
    });
}
