import type { Command } from 'commander';
import { parseMode } from '../options.js';
import { printJson, printOut, yellow } from '../output.js';
import type { Mode } from '../../config/schema.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('write a commented sess.yaml from what the repository has (compose files, package scripts, Procfile)')
    .option('--mode <mode>', 'container | hybrid | host (default: container when compose files are found, else host)', parseMode)
    .option('--print', 'print the file on stdout instead of writing it')
    .option('--force', 'replace an existing sess.yaml')
    .option('--json', 'print {file, written, config} on stdout')
    .action(async (opts: { mode?: Mode; print?: boolean; force?: boolean; json?: boolean }) => {
      // reads only: no lock, no rollback, no Ctrl+C handling needed (the file is written in one rename)
      const { initConfig } = await import('../../core/init/init.js');
      const result = await initConfig({ cwd: process.cwd(), ...opts });
      if (opts.json) printJson({ file: result.file, written: result.written, config: result.config });
      else if (opts.print) printOut(result.text);
      for (const warning of result.warnings) process.stderr.write(`${yellow('!')} ${warning}\n`);
      if (!result.written) return;
      process.stderr.write(
        `wrote ${result.file} (${result.mode} mode):\n${result.summary.map((s) => `  ${s}`).join('\n')}\n` +
          'check the guesses (comments say where), commit it, then `sess up <branch>`\n',
      );
    });
}
