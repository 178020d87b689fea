import type { Command } from 'commander';
import { printJson, stderrProgress } from '../output.js';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('rm')
    .description('remove services, worktree, port leases and built images of a session')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .option('--volumes', 'also delete its compose volumes (named and anonymous)')
    .option('--force', 'remove even with uncommitted changes or unpushed commits')
    .option('--json', 'print what was removed as JSON on stdout')
    .action(async (session: string | undefined, opts) => {
      const { rm } = await import('../../core/sessions/rm.js');
      const result = await rm({
        cwd: process.cwd(),
        target: await targetOf(session, 'rm'),
        force: !!opts.force,
        volumes: !!opts.volumes,
        progress: stderrProgress(),
      });
      if (opts.json) printJson(result);
    });
}
