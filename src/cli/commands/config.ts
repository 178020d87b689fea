import type { Command } from 'commander';
import { printOut } from '../output.js';

export function register(program: Command): void {
  const config = program.command('config').description('check sess.yaml, or print its JSON Schema');
  config
    .command('validate')
    .description('validate the sess.yaml of this checkout')
    .action(async () => {
      const { validateConfig } = await import('../../core/configCommand.js');
      const file = await validateConfig(process.cwd());
      process.stderr.write(`${file}: valid\n`);
    });
  config
    .command('schema')
    .description('print the JSON Schema of sess.yaml')
    .action(async () => {
      const { schemaText } = await import('../../core/configCommand.js');
      printOut(schemaText());
    });
}
