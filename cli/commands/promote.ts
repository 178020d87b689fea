import type { Command } from 'commander';
import { withSignals } from '../options.js';
import { printJson, stderrProgress } from '../output.js';

export function register(program: Command): void {
  program
    .command('promote')
    .description('let the blue-green candidates waiting at their manual gate take over (or, with --abort, take them away)')
    .argument('<session>')
    .argument('[services...]', 'only these services (default: every one that waits)')
    .option('--abort', 'stop the waiting candidates; what runs serves on')
    .option('--json', 'print the session and what was promoted or aborted as JSON on stdout')
    .action(async (session: string, services: string[], opts) => {
      const { promote } = await import('../../core/sessions/promote.js');
      const result = await withSignals((signal) =>
        promote({ cwd: process.cwd(), target: session, services, abort: !!opts.abort, signal, progress: stderrProgress() }),
      );
      if (opts.json) printJson(result);
    });
}
