// The entry point: commander wiring and the one top-level catch that turns errors into a message,
// a hint and an exit code (SPEC.md "Exit codes"). Command modules load their core lazily, so
// `sess ls` never pays for the config validator or the compose code.
import { Command, CommanderError } from 'commander';
import { SessError, ConfigError } from '../common/errors.js';
import { red, dim } from './output.js';
import { register as up } from './commands/up.js';
import { register as down } from './commands/down.js';
import { register as promote } from './commands/promote.js';
import { register as restart } from './commands/restart.js';
import { register as rm } from './commands/rm.js';
import { register as ls } from './commands/ls.js';
import { register as status } from './commands/status.js';
import { register as logs } from './commands/logs.js';
import { register as exec } from './commands/exec.js';
import { register as env } from './commands/env.js';
import { register as history } from './commands/history.js';
import { register as config } from './commands/config.js';
import { register as doctor } from './commands/doctor.js';
import { register as gc } from './commands/gc.js';
import { register as mcp } from './commands/mcp.js';
import { register as init } from './commands/init.js';
import { register as proxy } from './commands/proxy.js';

const USAGE = 2;

function program(): Command {
  const p = new Command('sess')
    .description('every git branch its own running copy of the project')
    .version('0.1.0')
    .enablePositionalOptions()
    .showHelpAfterError('(run sess --help for usage)')
    .exitOverride();
  for (const register of [up, down, restart, promote, rm, ls, status, logs, exec, env, history, doctor, gc, config, init, proxy, mcp])
    register(p);
  for (const sub of p.commands) {
    sub.exitOverride();
    for (const subsub of sub.commands) subsub.exitOverride();
  }
  return p;
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json') && !argv.slice(0, argv.indexOf('--json')).includes('--');
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return report(error, wantsJson(argv));
  }
}

function report(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // help and --version end up here too, with exit code 0; commander has said what was wrong on stderr
    if (error.exitCode === 0) return 0;
    if (json) {
      const message = error.message.replace(/^error: /, '');
      process.stdout.write(JSON.stringify({ error: { message, exitCode: USAGE, hint: 'run sess --help for usage' } }, null, 2) + '\n');
    }
    return USAGE;
  }
  const exitCode = error instanceof SessError ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof SessError ? error.hint : undefined;
  process.stderr.write(`${red('sess:')} ${message}\n`);
  if (hint) process.stderr.write(`${dim('hint:')} ${hint}\n`);
  if (!(error instanceof SessError) && error instanceof Error && error.stack) {
    process.stderr.write(dim(error.stack.split('\n').slice(1).join('\n')) + '\n');
  }
  if (json) {
    const problems = error instanceof ConfigError ? { file: error.file, problems: error.problems } : {};
    process.stdout.write(JSON.stringify({ error: { message, exitCode, ...(hint ? { hint } : {}), ...problems } }, null, 2) + '\n');
  }
  return exitCode;
}

// A reader that went away (`sess up | head -1`) must not kill a command half way through its
// transaction: writes to a closed pipe are dropped, the command finishes (or rolls back) as usual.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
