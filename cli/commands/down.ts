import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { printJson, red, stderrProgress } from '../output.js';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('down')
    .description('stop the services of a session; keep worktree, volumes and port leases')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .option('--all', 'every session of this repository')
    .option('--json', 'print the session as JSON on stdout (with --all: {"sessions": [...], "failed": [...]})')
    .action(async (session: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      if (opts.all) {
        if (session !== undefined)
          throw new UsageError(`give a session or --all, not both`, { hint: `sess down ${session}, or sess down --all` });
        const { downAll } = await import('../../core/sessions/down.js');
        const result = await downAll({ cwd: process.cwd(), progress: stderrProgress() });
        // a failure of one is reported and the others still went down; the command failed all the same
        process.exitCode = result.failed.length ? 1 : 0;
        if (opts.json) return printJson(result);
        const downs = result.sessions.map((v) => v.name);
        const failed = result.failed.map((f) => f.name);
        const names = [...downs, ...failed];
        process.stderr.write(
          (names.length === 0 ? 'no sessions in this repository\n' : '') +
            (downs.length ? `down: ${downs.join(', ')}\n` : '') +
            (failed.length ? `${red('failed')}: ${failed.join(', ')}\n` : ''),
        );
        return;
      }
      const { down } = await import('../../core/sessions/down.js');
      const view = await down({ cwd: process.cwd(), target: await targetOf(session, 'down'), progress: stderrProgress() });
      if (opts.json) printJson(view);
    });
}
