import type { Command } from 'commander';
import { out, printJson, stderrProgress } from '../output.js';

const { green, red, yellow } = out;

export function register(program: Command): void {
  program
    .command('doctor')
    .description('find where state and reality disagree; with --fix, repair it (exit 0 when nothing is left wrong)')
    .option('--fix', 'repair what it finds')
    .option('--json', 'print the findings as JSON on stdout')
    .action(async (opts) => {
      const { doctor } = await import('../../core/doctor/doctor.js');
      const report = await doctor({ cwd: process.cwd(), fix: !!opts.fix, progress: stderrProgress() });
      if (opts.json) printJson(report);
      else if (report.findings.length === 0) process.stdout.write(`${green('✓')} nothing to repair: state and reality agree\n`);
      else {
        for (const f of report.findings) {
          const mark = f.fixed ? green('fixed') : f.fixError ? red('not fixed') : yellow('found');
          process.stdout.write(`${mark}  ${f.kind}  ${f.subject}: ${f.detail}${f.fixError ? ` (${f.fixError})` : ''}\n`);
        }
        if (!opts.fix) process.stdout.write('run `sess doctor --fix` to repair\n');
      }
      process.exitCode = report.clean ? 0 : 1;
    });
}
