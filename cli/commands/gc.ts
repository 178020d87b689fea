import type { Command } from 'commander';
import { parseCount } from '../options.js';
import { printJson, printOut, stderrProgress } from '../output.js';

export function register(program: Command): void {
  program
    .command('gc')
    .description('remove finished sessions (merged, remote gone, or idle too long), never one with work of its own')
    .option('--dry-run', 'say what would be removed, remove nothing')
    .option('--merged', 'only sessions whose branch is merged into the base')
    .option('--older-than <days>', 'only sessions whose last up is at least this many days ago', parseCount)
    .option('--force', 'remove even sessions that run or hold uncommitted or unpushed work')
    .option('--volumes', 'also delete the compose volumes of the sessions it removes')
    .option('--json', 'print the decisions as JSON on stdout')
    .action(async (opts) => {
      const { gc } = await import('../../core/sessions/gc.js');
      const decisions = await gc({
        cwd: process.cwd(),
        dryRun: !!opts.dryRun,
        merged: !!opts.merged,
        ...(opts.olderThan !== undefined ? { olderThan: opts.olderThan } : {}),
        force: !!opts.force,
        volumes: !!opts.volumes,
        progress: stderrProgress(),
      });
      if (opts.json) return printJson(decisions);
      if (decisions.length === 0) return printOut('nothing to collect');
      printOut(
        decisions
          .map((d) => `${d.action.padEnd(12)} ${d.session}: ${d.reasons.join('; ')}${d.kept ? ` (kept: ${d.kept})` : ''}`)
          .join('\n'),
      );
    });
}
