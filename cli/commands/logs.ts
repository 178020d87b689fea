import type { Command } from 'commander';
import { parseCount } from '../options.js';

export function register(program: Command): void {
  program
    .command('logs')
    .description('host and compose logs of a session, prefixed by service')
    .argument('[session]', 'the session (default: the one whose worktree this is)')
    .argument('[services...]', 'only these services')
    .option('-f, --follow', 'keep printing new output')
    .option('--tail <n>', 'only the last N lines of each service', parseCount)
    .action(async (session: string | undefined, services: string[], opts) => {
      // before anything loads: a Ctrl+C that comes early still ends the command as an interrupt
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop).once('SIGTERM', stop);
      const { logs } = await import('../../core/sessions/inspect.js');
      const { logsTarget } = await import('../../core/sessions/current.js');
      const target = await logsTarget(process.cwd(), session === undefined ? [] : [session, ...services]);
      await logs({
        cwd: process.cwd(),
        ...target,
        follow: !!opts.follow,
        tail: opts.tail,
        signal: controller.signal,
        write: (text) => process.stdout.write(text),
      });
      // followed until Ctrl+C (or SIGTERM): ended by an interrupt, as SPEC's 130 says
      if (controller.signal.aborted) process.exitCode = 130;
    });
}
