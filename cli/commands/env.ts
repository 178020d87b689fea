import { Option, type Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('env')
    .description('the env of a session')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .addOption(new Option('--format <format>', 'output format').choices(['dotenv', 'shell', 'json']).default('dotenv'))
    .option('--json', 'the same as --format json')
    .action(async (session: string | undefined, opts, command: Command) => {
      if (opts.json && command.getOptionValueSource('format') === 'cli' && opts.format !== 'json') {
        throw new UsageError(`--json and --format ${opts.format} ask for two formats: give one`);
      }
      const { env } = await import('../../core/sessions/inspect.js');
      process.stdout.write(await env(process.cwd(), await targetOf(session, 'env'), opts.json ? 'json' : opts.format));
    });
}
