// Hooks: shell commands of sess.yaml, run in the worktree with the session env (pre_up: in the main
// checkout, before anything of the session exists).
import { randomBytes } from 'node:crypto';
import { runShell } from '../../adapters/process.js';
import { WorkError, indent } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { HOOK_MARKER, sweepMarked } from '../../modes/host/process.js';
import type { ProcessStopUndo } from '../../modes/host/runtime.js';
import type { RollbackGuard } from '../journal/guard.js';

interface HookOptions {
  signal: AbortSignal;
  progress: Progress;
  /** `<repo id>/<session>`: the start of the marker its processes carry */
  owner: string;
}

const markerOf = (hook: string, owner: string) => `${owner}/hook:${hook}/${randomBytes(4).toString('hex')}`;
/** How a hook's leftovers are stopped: the group of each process that carries its marker. */
const HOOK_STOP = { signal: 'SIGTERM' as const, grace: 5 };

/**
 * A hook's commands, one after the other. Their processes carry a marker, and the journal says to
 * stop them: a rollback (or the command after a sess killed mid-hook) ends whatever they left running.
 */
export async function runHooks(
  hook: string,
  commands: string[],
  worktree: string,
  env: NodeJS.ProcessEnv,
  guard: RollbackGuard,
  options: HookOptions,
): Promise<void> {
  if (commands.length === 0) return;
  const marker = markerOf(hook, options.owner);
  // a hook's processes are host processes: the host runtime's inverse stops them by their marker
  const undo: ProcessStopUndo = { kind: 'process.stop', marker, env: HOOK_MARKER, ...HOOK_STOP };
  await guard.run(hook, undo, () => runCommands(hook, commands, worktree, env, marker, options));
}

/**
 * pre_up: before the session has anything (no journal to register with), so a failure or Ctrl+C
 * stops what its commands left running right here, and nothing else needs undoing.
 */
export async function runPreUp(commands: string[], cwd: string, env: NodeJS.ProcessEnv, options: HookOptions): Promise<void> {
  if (commands.length === 0) return;
  const marker = markerOf('pre_up', options.owner);
  try {
    await runCommands('pre_up', commands, cwd, env, marker, options);
  } catch (error) {
    await sweepMarked(HOOK_MARKER, [marker], HOOK_STOP);
    throw error;
  }
}

async function runCommands(
  hook: string,
  commands: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  marker: string,
  options: HookOptions,
): Promise<void> {
  for (const command of commands) {
    options.progress.info(`${hook}: ${command}`);
    const r = await runShell(command, {
      cwd,
      env: { ...env, [HOOK_MARKER]: marker },
      signal: options.signal,
      echo: true,
      allowFailure: true,
    });
    if (r.exitCode !== 0) throw new WorkError(hookFailure(hook, command, r));
  }
}

/** "<hook> hook `<command>` exited with N:" and the end of what it said. */
export function hookFailure(
  hook: string,
  command: string,
  r: { exitCode: number | null; signal: string | null; stdout: string; stderr: string },
): string {
  const tail = (r.stderr.trim() ? r.stderr : r.stdout).trim().split('\n').slice(-20).join('\n');
  return `${hook} hook \`${command}\` exited with ${r.exitCode ?? r.signal}${tail ? `:\n${indent(tail)}` : ''}`;
}
