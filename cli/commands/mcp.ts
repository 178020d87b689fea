import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';

export function register(program: Command): void {
  program
    .command('mcp')
    .description('a Model Context Protocol server on stdio: the commands of sess as tools for coding agents')
    .option('--repo <path>', 'serve this repository (default: the one of the current folder)')
    .action(async (opts, command: Command) => {
      const cwd = resolve(opts.repo ?? process.cwd());
      if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--repo ${opts.repo}: no such folder`);
      // fail at start, not at the first tool call: a client shows a server that did not start
      const { openRepo } = await import('../../core/state/repo.js');
      await openRepo(cwd);
      const { serveMcp } = await import('../mcp/server.js');
      process.exitCode = await serveMcp({ cwd, version: command.parent?.version() ?? '0' });
    });
}
