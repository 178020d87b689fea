import type { Command } from 'commander';
import { printJson, printOut } from '../output.js';
import { ConfigError } from '../../common/errors.js';

export function register(program: Command): void {
  const config = program.command('config').description('check sess.yaml, or print its JSON Schema');
  config
    .command('validate')
    .description('validate the sess.yaml of this checkout')
    .option('--json', 'print the result as JSON on stdout: valid, the file, and every problem with its key path')
    .action(async (opts) => {
      const { validateConfig } = await import('../../core/configCommand.js');
      if (!opts.json) {
        const file = await validateConfig(process.cwd());
        process.stderr.write(`${file}: valid\n`);
        return;
      }
      // an invalid file is this command's answer, not a failure of it: the answer's document, with
      // exit 2; anything else (not in a repository) is the usual `{"error": ...}` of main.ts
      try {
        const file = await validateConfig(process.cwd());
        printJson({ valid: true, file, problems: [] });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`sess: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);

        printJson({ valid: false, file: error.file, problems: error.problems });
        process.exitCode = error.exitCode;
      }
    });
  config
    .command('schema')
    .description('print the JSON Schema of sess.yaml')
    .action(async () => {
      const { schemaText } = await import('../../core/configCommand.js');
      printOut(schemaText());
    });
}
