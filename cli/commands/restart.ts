import type { Command } from 'commander';
import { withSignals } from '../options.js';
import { printJson, printOut, stderrProgress } from '../output.js';

export function register(program: Command): void {
  program
    .command('restart')
    .description('replace services of a session with their current definition, even when nothing changed (a release with trigger restart)')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .argument('[services...]', 'only these services (default: all)')
    .option('--json', 'print the session as JSON on stdout')
    .action(async (session: string | undefined, services: string[], opts) => {
      const { up } = await import('../../core/up/up.js');
      const { sessionAndServices } = await import('../../core/sessions/current.js');
      const target = await sessionAndServices(process.cwd(), session === undefined ? [] : [session, ...services], 'restart');
      const result = await withSignals((signal) =>
        up({ cwd: process.cwd(), target: target.target, restart: target.services, signal, progress: stderrProgress() }),
      );
      if (opts.json) return printJson(result.view);
      const { renderUp } = await import('../render.js');
      printOut(renderUp(result.view, result.urls));
    });
}
