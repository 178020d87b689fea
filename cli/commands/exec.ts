import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command in the worktree of a session with its env')
    .argument('<session>')
    .argument('<command...>', 'the command, after --')
    .passThroughOptions()
    .action(async (session: string, command: string[]) => {
      const { exec } = await import('../../core/sessions/inspect.js');
      // commander passes the `--` through along with what follows it
      const argv = command[0] === '--' ? command.slice(1) : command;
      process.exitCode = await exec(process.cwd(), session, argv);
    });
}
