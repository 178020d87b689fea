import { Option, type Command } from 'commander';

export function register(program: Command): void {
  program
    .command('env')
    .description('the env of a session')
    .argument('<session>')
    .addOption(new Option('--format <format>', 'output format').choices(['dotenv', 'shell', 'json']).default('dotenv'))
    .action(async (session: string, opts) => {
      const { env } = await import('../../core/inspect.js');
      process.stdout.write(await env(process.cwd(), session, opts.format));
    });
}
