import type { Command } from 'commander';
import { targetOf } from '../target.js';

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command in the worktree of a session with its env')
    .argument('[session]', 'the session (default: the one whose worktree this is; then the command follows --)')
    .argument('[command...]', 'the command, after --')
    .passThroughOptions()
    .action(async (session: string | undefined, command: string[], _opts, cmd: Command) => {
      const { exec } = await import('../../core/sessions/inspect.js');
      // commander swallows a `--` that comes first (`sess exec -- npm test`): the raw words say
      // whether the first word is a session or already the command
      const raw = (cmd.parent as { rawArgs?: string[] } | null)?.rawArgs ?? []; // commander keeps them, untyped
      const noSession = raw[raw.indexOf('exec') + 1] === '--';
      const words = session === undefined ? command : [session, ...command];
      const [target, rest] = noSession ? [undefined, words] : [words[0], words.slice(1)];
      // commander passes a later `--` through along with what follows it
      const argv = rest[0] === '--' ? rest.slice(1) : rest;
      process.exitCode = await exec(process.cwd(), await targetOf(target, 'exec'), argv);
    });
}
